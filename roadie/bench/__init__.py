"""Benchmarks: bounded, loopback-only measurements of the lab (not tests: they print numbers)."""
