"""Benchmarks, run as scripts (``python bench/<name>.py``); a package so that one
benchmark can reuse another's fill and mypy sees each module once."""
