"""Benchmarks for commonpot: figures printed side by side, never timed assertions."""
