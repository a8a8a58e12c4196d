"""The HTTP API (Litestar): validate, authorize, enqueue commands, read for GETs. No rules here."""
