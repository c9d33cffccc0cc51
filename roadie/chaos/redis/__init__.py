"""Redis with Sentinel: the master, faults on the master's host."""
