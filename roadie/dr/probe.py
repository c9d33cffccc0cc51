"""The DR drills' write workload: like any client, it finds the database through DNS.

Each request inserts one row with a fresh idempotency key through the HAProxy that the
`db` failover record names (resolved again on every reconnect). A request whose outcome
is unknown (the connection died around the commit) is re-sent with the same key together
with the next one (`on conflict do nothing`), so every key counts once. A key is
acknowledged when its commit returned; `ack_times` keeps when, to measure the RPO.
"""

import asyncio
import contextlib
import time

import psycopg

from roadie.dr.dns import FailoverDns
from roadie.drills.probes import PROBE_TABLE, Probe
from roadie.drills.records import Journal

PROBE_DDL = (
    f"create table if not exists {PROBE_TABLE} "
    "(run_id text not null, key text primary key, at timestamptz not null default now())"
)


class DnsWriteProbe(Probe):
    name = "db-write-via-dns"
    kind = "write"

    def __init__(
        self, journal: Journal, interval: float, dns: FailoverDns, *, port: int, password: str, run_id: str
    ) -> None:
        super().__init__(journal, interval)
        self.dns = dns
        self.port = port
        self.password = password
        self.run_id = run_id
        self.conn: psycopg.AsyncConnection | None = None
        self.endpoint = ""
        self.pending: list[str] = []
        self.ack_times: dict[str, float] = {}
        self.endpoints_used: dict[str, int] = {}

    async def attempt(self, key: str) -> None:
        keys = [*self.pending, key]
        try:
            if self.conn is None:
                self.endpoint = await asyncio.to_thread(self.dns.resolve, "db")
                self.conn = await psycopg.AsyncConnection.connect(
                    host=self.endpoint,
                    port=self.port,
                    user="app",
                    password=self.password,
                    dbname="app",
                    connect_timeout=2,
                    autocommit=True,
                    application_name="roadie-dr-drill",
                )
            values = ", ".join(["(%s, %s)"] * len(keys))
            params = [p for k in keys for p in (self.run_id, f"{self.run_id}:{k}")]
            await self.conn.execute(
                f"insert into {PROBE_TABLE} (run_id, key) values {values} on conflict (key) do nothing", params
            )
        except Exception:
            self.pending = keys  # outcome unknown: re-send with the next request
            raise
        now = time.time()
        for done in keys:
            self.ack_times[done] = now
        self.acked.extend(self.pending)  # the current key is appended by Probe.run
        self.pending = []
        self.endpoints_used[self.endpoint] = self.endpoints_used.get(self.endpoint, 0) + 1

    async def reset(self) -> None:
        if self.conn is not None:
            conn, self.conn = self.conn, None
            with contextlib.suppress(Exception):  # the connection is gone either way
                await asyncio.wait_for(conn.close(), 1)


def lost_keys(probe: DnsWriteProbe, present: set[str]) -> list[str]:
    """Acknowledged keys the surviving database does not have."""
    return [k for k in probe.acked if f"{probe.run_id}:{k}" not in present]


def rpo_seconds(probe: DnsWriteProbe, lost: list[str], fault_at: float) -> float:
    """The window of acknowledged writes lost: from the first lost write's acknowledgement
    to the fault (0 when nothing acknowledged was lost)."""
    if not lost:
        return 0.0
    first = min(probe.ack_times.get(k, fault_at) for k in lost)
    return round(max(0.0, fault_at - first), 3)
