"""Benchmarks: commands that print figures, the last line one JSON object. Not tests."""
