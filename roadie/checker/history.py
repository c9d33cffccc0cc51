"""A drill's history: every probe operation as an invocation and its completion, and every
split-brain sample, in the form the checkers read (in the spirit of Jepsen's histories).

An operation is recorded twice: `invoke` when the request is sent, then exactly one of
- `ok`: the system acknowledged it (a commit returned, a 201, a publisher confirm);
- `fail`: it was definitely not applied (a 4xx, a refused connection, an SQL error that
  aborted the statement): nothing was sent, or the system said no;
- `info`: its outcome is unknown (a timeout, a connection lost after sending): it may have
  been applied, which only the final read can tell.

Times are `time.monotonic()` seconds, so a wall-clock step during a drill cannot reorder
operations; `Clock` converts the drill's wall-clock fault time into the same scale.
"""

import time
from dataclasses import dataclass, field
from typing import Literal

OpType = Literal["invoke", "ok", "fail", "info"]
Completion = Literal["ok", "fail", "info"]
MemberState = Literal["writable", "not writable", "unknown"]

# The functions probes perform; the checkers treat "write" and "book" as writes to check.
WRITE = "write"
READ = "read"
BOOK = "book"
CANCEL = "cancel"
WRITES = frozenset({WRITE, BOOK})


@dataclass(frozen=True)
class OpValue:
    """What an operation was about: the written row or key, and for bookings, the seats, the
    Idempotency-Key sent and the booking id the answer named."""

    key: str = ""
    seats: tuple[int, ...] = ()
    idempotency_key: str = ""
    booking: int | None = None


@dataclass(frozen=True)
class Op:
    """One record of the history: an invocation or a completion of one operation."""

    process: str  # the probe that performed it
    workload: str  # what it exercises; probes racing for the same data share one
    f: str  # WRITE, READ, BOOK or CANCEL
    type: OpType
    at: float  # monotonic seconds
    node: str = ""  # the endpoint it went to
    latency: float = 0.0  # seconds since its invocation (0 for an invocation)
    value: OpValue = field(default_factory=OpValue)
    error: str = ""

    @property
    def completed(self) -> bool:
        return self.type != "invoke"


@dataclass(frozen=True)
class Sample:
    """One member's state in one round of the writable-primaries sampler."""

    at: float  # monotonic start of the round: every member of a round shares it
    member: str
    state: MemberState
    error: str = ""


@dataclass(frozen=True)
class Clock:
    """The moment a drill started on both clocks, to place wall-clock times in the history."""

    wall: float
    monotonic: float

    @classmethod
    def now(cls) -> "Clock":
        return cls(time.time(), time.monotonic())

    def to_monotonic(self, wall: float) -> float:
        return wall - self.wall + self.monotonic
