"""Checkers over a drill's history: pure functions, no lab. See `drill.check_drill`."""
