"""What wakes the event streams of a web process (``hub``)."""
