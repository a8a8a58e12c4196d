"""The application layer: settings, persistence, the command pipeline and its handlers.

Both ``api/`` and ``workers/`` use it; ``domain/`` holds the rules it applies.
"""
