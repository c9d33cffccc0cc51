"""The etcd leader placement service's decision (ansible/roles/patroni/files): move etcd's
leadership only when this member is both the PostgreSQL primary and the etcd leader, and only
to a peer that answers. etcdctl is replaced by a recorded table of answers here; the lab test
(tests/lab/test_etcd_leader_placement.py) runs the real one."""

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).parents[3] / "ansible/roles/patroni/files/etcd_leader_placement.py"
spec = importlib.util.spec_from_file_location("etcd_leader_placement", SCRIPT)
placement = importlib.util.module_from_spec(spec)
spec.loader.exec_module(placement)

LOCAL, PEER_UP, PEER_DOWN = "http://127.1.1.11:2379", "http://127.1.2.11:2379", "http://127.1.3.11:2379"


class RecordedEtcd:
    """Answers etcdctl calls from a table: member id 1 is local; 2 answers, 3 does not."""

    def __init__(self, leader: int) -> None:
        self.leader = leader
        self.moves: list[str] = []

    def __call__(self, endpoint: str, args: list[str]):
        if args[:2] == ["endpoint", "status"]:
            member = {LOCAL: 1, PEER_UP: 2}.get(endpoint)
            if member is None:
                raise OSError("connection refused")
            return [{"Status": {"header": {"member_id": member}, "leader": self.leader}}]
        if args[:2] == ["member", "list"]:
            return {
                "members": [
                    {"ID": 3, "clientURLs": [PEER_DOWN]},
                    {"ID": 1, "clientURLs": [LOCAL]},
                    {"ID": 2, "clientURLs": [PEER_UP]},
                ]
            }
        if args[0] == "move-leader":
            self.moves.append(args[1])
            return None
        raise AssertionError(args)


@pytest.fixture
def primary(monkeypatch):
    monkeypatch.setattr(placement, "patroni_role", lambda url, context=None: "primary")


def test_the_primary_hands_etcd_leadership_to_a_peer_that_answers(primary) -> None:
    etcd = RecordedEtcd(leader=1)
    assert placement.place_once(etcd, LOCAL, "http://patroni") == "moved the etcd leadership from 1 to 2"
    assert etcd.moves == ["2"]


def test_nothing_moves_when_the_leader_is_elsewhere(primary) -> None:
    etcd = RecordedEtcd(leader=2)
    assert placement.place_once(etcd, LOCAL, "http://patroni").startswith("ok: the etcd leader is elsewhere")
    assert etcd.moves == []


def test_a_replica_keeps_the_etcd_leadership_without_asking_etcd(monkeypatch) -> None:
    monkeypatch.setattr(placement, "patroni_role", lambda url, context=None: "replica")

    def no_etcd(endpoint, args):
        raise AssertionError(f"a replica called etcdctl {args}")

    assert placement.place_once(no_etcd, LOCAL, "http://patroni") == "ok: this member is not the PostgreSQL primary"


def test_member_ids_go_to_etcdctl_in_hex(primary) -> None:
    etcd = RecordedEtcd(leader=1)
    etcd_members = etcd.__call__

    def big_ids(endpoint, args):
        answer = etcd_members(endpoint, args)
        if args[:2] == ["member", "list"]:
            answer["members"][2]["ID"] = 0x7EE08DE211BE6A00
        return answer

    placement.place_once(big_ids, LOCAL, "http://patroni")
    assert etcd.moves == ["7ee08de211be6a00"]
