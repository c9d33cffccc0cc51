"""Monthly partitions of `events`: the past is archived, the current and future months are ready.

- future/current: one partition per month, `events_pYYYYMM`, from `keep` months back to
  `ahead` months forward, created ahead of time by `roll` (the migrate command runs it; run it
  monthly in production, e.g. from a timer);
- past/archive: a month that ended more than `keep` months ago is detached and moved to the
  `archive` schema, still queryable there, out of the hot table and its indexes.
An event dated outside the live months has no partition: creating it is refused (4xx).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import psycopg


@dataclass(frozen=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def of(cls, day: date) -> Month:
        return cls(day.year, day.month)

    def plus(self, months: int) -> Month:
        index = self.year * 12 + (self.month - 1) + months
        return Month(index // 12, index % 12 + 1)

    @property
    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def table(self) -> str:
        return f"events_p{self.year:04d}{self.month:02d}"

    @classmethod
    def from_table(cls, name: str) -> Month | None:
        digits = name.removeprefix("events_p")
        if name == digits or len(digits) != 6 or not digits.isdigit():
            return None
        return cls(int(digits[:4]), int(digits[4:]))


@dataclass(frozen=True)
class RollPlan:
    create: tuple[Month, ...]
    archive: tuple[Month, ...]


def plan(existing: set[Month], today: date, ahead: int, keep: int) -> RollPlan:
    """Which partitions to create and which to archive, given the ones attached now."""
    current = Month.of(today)
    wanted = {current.plus(i) for i in range(-keep, ahead + 1)}
    oldest_kept = current.plus(-keep)
    return RollPlan(
        create=tuple(sorted(wanted - existing)),
        archive=tuple(sorted(m for m in existing if m < oldest_kept)),
    )


def live_range(today: date, ahead: int, keep: int) -> tuple[date, date]:
    """First day covered by a live partition, and the first day after the last one."""
    current = Month.of(today)
    return current.plus(-keep).first_day, current.plus(ahead + 1).first_day


async def attached(conn: psycopg.AsyncConnection) -> set[Month]:
    cur = await conn.execute(
        "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = 'public.events'::regclass"
    )
    months = set()
    for row in await cur.fetchall():
        name = row["name"] if isinstance(row, dict) else row[0]
        if (month := Month.from_table(name)) is not None:
            months.add(month)
    return months


async def roll(conn: psycopg.AsyncConnection, today: date, ahead: int, keep: int) -> RollPlan:
    """Create the missing months and archive the old ones; returns what was done."""
    todo = plan(await attached(conn), today, ahead, keep)
    async with conn.transaction():
        for month in todo.create:
            end = month.plus(1)
            await conn.execute(
                f"CREATE TABLE {month.table} PARTITION OF events "
                f"FOR VALUES FROM ('{month.first_day.isoformat()}') TO ('{end.first_day.isoformat()}')"
            )
        for month in todo.archive:
            await conn.execute(f"ALTER TABLE events DETACH PARTITION {month.table}")
            await conn.execute(f"ALTER TABLE {month.table} SET SCHEMA archive")
    return todo
