"""The read side: GETs answer straight from the database, never through the command path."""
