"""Dramatiq pools. Actors are thin: decode the message, call the same code the tests call."""
