"""Background work between phases: drained only when nothing at all is left."""

import json

from app.tickets.outbox import message_id
from roadie.bench.drain import INBOX_ID, REPLICA_LAG_BYTES, Backlog, replica_lags
from roadie.services.patroni import parse_cluster

QUIET = {"db-2": 0, "db-3": 128}


def test_a_quiet_platform_is_drained():
    assert Backlog(0, 0, 0, QUIET).drained


def test_any_work_left_is_not_drained_and_is_named():
    left = [
        Backlog(12, 0, 0, QUIET),  # relay behind
        Backlog(0, 40, 0, QUIET),  # consumer behind
        Backlog(0, 0, 7, QUIET),  # messages queued
        Backlog(0, 0, 0, {"db-2": REPLICA_LAG_BYTES + 1, "db-3": 0}),  # a replica replaying
        Backlog(0, 0, 0, {"db-2": None, "db-3": 0}),  # a replica whose lag nobody knows
    ]
    assert not any(b.drained for b in left)
    assert "12 outbox rows unpublished" in left[0].describe()
    assert "db-2 unknown" in left[4].describe()


def test_replica_lags_come_from_patronis_members():
    # As Patroni's /cluster lists them: a lag it cannot tell is a string ("unknown").
    body = json.dumps(
        {
            "members": [
                {"name": "db-1", "role": "leader", "state": "running", "lag": 0},
                {"name": "db-2", "role": "sync_standby", "state": "streaming", "lag": 0},
                {"name": "db-3", "role": "replica", "state": "streaming", "lag": "unknown"},
            ]
        }
    )
    assert replica_lags(parse_cluster(body)) == {"db-2": 0, "db-3": None}


def test_the_inbox_ids_the_drain_looks_for_are_the_apps():
    # INBOX_ID builds "<shard>:<outbox id>" in SQL; app.tickets.outbox.message_id must agree.
    assert INBOX_ID == "%(shard)s || ':' || o.id"
    assert message_id("msk", 42) == "msk:42"
