"""The split-brain checker: never two members acknowledging writes at once, judged only on
what the sampler could see.

The sampler writes to every member directly in rounds. A member is `writable` when the write
was acknowledged, `not writable` when the member (or the network) answered in a way a fenced
or absent primary answers (read-only, refused, starting up, no answer in time), and `unknown`
when the sampler could not tell (a wrong password, a missing table, an unexpected error): an
unknown member might have been a second primary. Any unknown is reported; more than
MAX_UNKNOWN_SHARE of all samples fails the drill, because "at most one writable primary" then
rests on guesses. A sampler that never saw a single writable primary was blind, not clean.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from roadie.checker.history import Sample
from roadie.checker.verdict import BLIND, NEVER_SAW_PRIMARY, TWO_PRIMARIES, Anomaly, Verdict

# A round with a member unreachable for an unforeseen reason is an accident; one in twenty is a
# sampler that does not work.
MAX_UNKNOWN_SHARE = 0.05


@dataclass(frozen=True)
class SplitBrainResult:
    rounds: int
    samples: int
    max_writable: int | None  # None: no samples, not measured
    split_rounds: tuple[tuple[float, tuple[str, ...]], ...]  # rounds with more than one writable
    unknown: int
    unknown_members: tuple[str, ...]

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.samples if self.samples else 1.0

    def verdict(self) -> Verdict:
        anomalies = [Anomaly(TWO_PRIMARIES, f"at {at:.2f}: {', '.join(names)}") for at, names in self.split_rounds]
        if self.unknown_share > MAX_UNKNOWN_SHARE:
            anomalies.append(
                Anomaly(BLIND, f"{self.unknown} of {self.samples} samples unknown (allowed {MAX_UNKNOWN_SHARE:.0%})")
            )
        elif not self.max_writable:
            anomalies.append(Anomaly(NEVER_SAW_PRIMARY, f"{self.rounds} rounds, none with a writable member"))
        most = "not measured" if self.max_writable is None else str(self.max_writable)
        unknown = f", {self.unknown} unknown ({', '.join(self.unknown_members)})" if self.unknown else ""
        summary = f"most writable at once {most} in {self.rounds} rounds{unknown}"
        return Verdict("split brain", "postgres", summary, tuple(anomalies))


def check_split_brain(samples: Iterable[Sample]) -> SplitBrainResult:
    rounds: dict[float, list[Sample]] = {}
    for sample in samples:
        rounds.setdefault(sample.at, []).append(sample)
    writable = {at: tuple(sorted(s.member for s in members if s.state == "writable")) for at, members in rounds.items()}
    every = [s for members in rounds.values() for s in members]
    unknown = [s for s in every if s.state == "unknown"]
    return SplitBrainResult(
        rounds=len(rounds),
        samples=len(every),
        max_writable=max((len(names) for names in writable.values()), default=None),
        split_rounds=tuple((at, names) for at, names in sorted(writable.items()) if len(names) > 1),
        unknown=len(unknown),
        unknown_members=tuple(sorted({s.member for s in unknown})),
    )
