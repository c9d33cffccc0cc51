"""The live cluster, as the backup tools see it: its primary (through HAProxy's rw port)
and the archiver's own account of WAL archiving."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

from roadie.errors import RoadieError
from roadie.lab.inventory import Lab
from roadie.services import registry


@dataclass(frozen=True)
class Primary:
    address: str
    port: int
    password: str | None  # None: libpq's password file (PGPASSFILE)
    user: str = "postgres"

    def connect(self, dbname: str = "postgres", **kwargs: Any) -> psycopg.Connection[Any]:
        return psycopg.connect(
            host=self.address,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname,
            connect_timeout=5,
            application_name="roadie-backup",
            **kwargs,
        )


@dataclass(frozen=True)
class ArchiverState:
    """pg_stat_archiver on the primary."""

    archived_count: int
    last_archived_wal: str | None
    last_archived_time: datetime | None
    failed_count: int
    last_failed_wal: str | None
    last_failed_time: datetime | None
    current_wal: str

    @property
    def failing(self) -> bool:
        """The last attempt failed (a later success clears it)."""
        if self.last_failed_time is None:
            return False
        return self.last_archived_time is None or self.last_failed_time > self.last_archived_time


def primary(lab: Lab, secrets: dict[str, str], group: str = "pg_lb") -> Primary:
    entry = registry.first(lab, group, "haproxy_pg")
    if entry is None:
        raise RoadieError(f"no HAProxy for PostgreSQL in group '{group}': is the lab up?")
    rw = entry.endpoint("primary")
    return Primary(rw.address, rw.port, secrets["postgres_superuser"])


def archiver_state(source: Primary) -> ArchiverState:
    with source.connect(autocommit=True) as conn:
        row = conn.execute(
            "select archived_count, last_archived_wal, last_archived_time, failed_count, last_failed_wal,"
            " last_failed_time, pg_walfile_name(pg_current_wal_lsn()) from pg_stat_archiver"
        ).fetchone()
    assert row is not None
    return ArchiverState(int(row[0]), row[1], row[2], int(row[3]), row[4], row[5], str(row[6]))
