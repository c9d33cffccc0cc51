"""The region fence's iptables rules and the DR probe's RPO arithmetic."""

from roadie.dr import fence
from roadie.dr.probe import lost_keys, rpo_seconds


def test_fence_lets_the_region_talk_to_itself_and_the_operator_in_and_refuses_everyone_else():
    rules = fence.rules(1, ["db-2", "db-1"])
    assert rules[0] == ["-d", "127.1.0.0/16", "-m", "cgroup", "--path", "roadie/db-1", "-j", "RETURN"]
    assert rules[1][5] == "roadie/db-2"
    assert rules[2] == ["-d", "127.1.0.0/16", "-p", "tcp", "--dport", "22", "-j", "RETURN"]
    assert rules[-1] == ["-d", "127.1.0.0/16", "-p", "tcp", "-j", "REJECT", "--reject-with", "tcp-reset"]
    assert fence.chain(1) == "ROADIE-FENCE-R1"


class FakeProbe:
    run_id = "r"

    def __init__(self, acked, ack_times):
        self.acked = acked
        self.ack_times = ack_times


def test_lost_writes_and_rpo_window():
    probe = FakeProbe(["a", "b", "c"], {"a": 10.0, "b": 10.5, "c": 10.9})
    lost = lost_keys(probe, {"r:a"})
    assert lost == ["b", "c"]
    assert rpo_seconds(probe, lost, fault_at=11.0) == 0.5
    assert rpo_seconds(probe, [], fault_at=11.0) == 0.0


def test_a_purge_lifts_every_fence_left_behind():
    """With real iptables: a fence chain of a region nobody uses is found and lifted, hooked in
    or not, and a second lift finds nothing (the purge of a lab with no fence changes nothing)."""
    fence.fence(9, [])  # region 9 has no host: the chain only refuses 127.9.0.0/16
    assert fence.is_fenced(9)
    assert 9 in fence.fenced_regions()
    assert 9 in fence.unfence_all()
    assert not fence.is_fenced(9)
    assert 9 not in fence.fenced_regions()
    assert fence.unfence_all() == []
