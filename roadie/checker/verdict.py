"""What every checker returns: the anomalies it found, each named by kind, and one line for
the report. A checker is valid exactly when it found no anomaly."""

from dataclasses import dataclass

# Anomaly kinds: tests and reports match on these, never on the wording of `detail`.
LOST = "lost"
UNEXPECTED = "unexpected"
APPLIED_AFTER_FAIL = "applied after fail"
SOLD_TWICE_STATE = "seat sold twice (final state)"
SOLD_TWICE_HISTORY = "seat sold twice (history)"
TWO_ANSWERS_ONE_KEY = "two answers for one key"
TOO_FEW_BEFORE_FAULT = "too few ok before the fault"
TOO_FEW_AFTER_RECOVERY = "too few ok after recovery"
NOT_RECOVERED = "not recovered"
TWO_PRIMARIES = "two writable primaries"
NEVER_SAW_PRIMARY = "never saw a writable primary"
BLIND = "the checker could not see"


@dataclass(frozen=True)
class Anomaly:
    kind: str
    detail: str


@dataclass(frozen=True)
class Verdict:
    """One checker's judgement of one workload."""

    checker: str
    workload: str
    summary: str
    anomalies: tuple[Anomaly, ...] = ()

    @property
    def valid(self) -> bool:
        return not self.anomalies
