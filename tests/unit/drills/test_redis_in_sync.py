"""A drill starts (and counts as healed) only when every Redis replica is in sync, not merely connected."""

from roadie.drills.cluster import REPLICA_SYNC_BYTES, replicas_in_sync


def info(*replicas: dict[str, object], offset: int = 5000) -> dict[str, object]:
    entries = {f"slave{i}": replica for i, replica in enumerate(replicas)}
    return {"role": "master", "connected_slaves": len(replicas), "master_repl_offset": offset, **entries}


ONLINE = {"ip": "127.1.2.21", "port": 6379, "state": "online", "offset": 5000, "lag": 0}


def test_two_online_replicas_that_acknowledged_are_in_sync():
    assert replicas_in_sync(info(ONLINE, {**ONLINE, "ip": "127.1.3.21", "lag": 1}), expected=2)


def test_a_replica_loading_the_snapshot_is_connected_but_not_in_sync():
    syncing = {**ONLINE, "ip": "127.1.3.21", "state": "wait_bgsave", "offset": 0}
    assert info(ONLINE, syncing)["connected_slaves"] == 2
    assert not replicas_in_sync(info(ONLINE, syncing), expected=2)


def test_a_silent_or_far_behind_replica_is_not_in_sync():
    assert not replicas_in_sync(info(ONLINE, {**ONLINE, "lag": 3}), expected=2)
    behind = {**ONLINE, "offset": 5000 - REPLICA_SYNC_BYTES - 1}
    assert not replicas_in_sync(info(ONLINE, behind), expected=2)


def test_a_missing_replica_is_not_in_sync():
    assert not replicas_in_sync(info(ONLINE), expected=2)
