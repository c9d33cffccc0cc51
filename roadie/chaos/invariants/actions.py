"""The invariants are only read, never changed: no actions."""

__all__: list[str] = []
