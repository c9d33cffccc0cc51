"""The booking invariants the platform promises whatever fails: no seat sold twice."""
