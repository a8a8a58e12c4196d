"""The command side: the pipeline that applies each command exactly once, the envelope it
travels in, the handlers, and the replies and pool jobs a commit sends on."""
