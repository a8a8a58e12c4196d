"""Unit tests of the pure ``domain`` package: no I/O, no clock, no services."""
