"""A supplier's capacity: at most N accepted calls in any window of W seconds (a sliding log)."""

from __future__ import annotations

from collections import deque


class SlidingWindowCapacity:
    """``admit(now)`` accepts a call if fewer than ``calls`` were accepted in ``(now - per, now]``."""

    def __init__(self, calls: int, per_seconds: float) -> None:
        self.calls = calls
        self.per_seconds = per_seconds
        self._accepted: deque[float] = deque()
        self.peak = 0  # the most calls ever seen in one window, this one included

    def admit(self, now: float) -> bool:
        while self._accepted and self._accepted[0] <= now - self.per_seconds:
            self._accepted.popleft()
        if len(self._accepted) >= self.calls:
            return False
        self._accepted.append(now)
        self.peak = max(self.peak, len(self._accepted))
        return True

    def retry_after(self, now: float) -> float:
        """Seconds until the oldest accepted call leaves the window."""
        if not self._accepted:
            return 0.0
        return max(0.0, self._accepted[0] + self.per_seconds - now)

    def reset(self) -> None:
        self._accepted.clear()
        self.peak = 0
