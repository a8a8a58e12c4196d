"""Persistence: SQLAlchemy Core tables, the engine, and the reads and writes on them."""
