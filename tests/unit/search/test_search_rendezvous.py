"""Weighted rendezvous hashing: stable when a node leaves, weights respected, fallback when down."""

from collections import Counter

import pytest

from app.search.membership import Membership
from app.search.rendezvous import Node, Rendezvous

KEYS = [f"supplier-{i % 7}:2030-05-{1 + i % 28:02d}:{1 + i % 14}n:{i}" for i in range(20_000)]


def owners(ring, keys=KEYS):
    return {key: ring.owner(key).name for key in keys}


@pytest.mark.parametrize("n", [3, 5, 10])
def test_removing_one_of_n_nodes_moves_only_its_keys(n):
    nodes = [Node(f"app-{i}") for i in range(n)]
    before = owners(Rendezvous(nodes))
    removed = nodes[1].name
    after = owners(Rendezvous([node for node in nodes if node.name != removed]))
    moved = [key for key in KEYS if before[key] != after[key]]
    # Exactly the removed node's keys move, and they are about 1/N of all keys.
    assert all(before[key] == removed for key in moved)
    assert sum(1 for owner in before.values() if owner == removed) == len(moved)
    assert len(moved) / len(KEYS) == pytest.approx(1 / n, rel=0.1)
    # The lost node's keys spread over all the others, not onto one neighbour.
    assert set(after[key] for key in moved) == {node.name for node in nodes} - {removed}


def test_adding_a_node_takes_about_one_share_from_every_node():
    nodes = [Node(f"app-{i}") for i in range(4)]
    before = owners(Rendezvous(nodes))
    after = owners(Rendezvous([*nodes, Node("app-4")]))
    moved = [key for key in KEYS if before[key] != after[key]]
    assert all(after[key] == "app-4" for key in moved)
    assert len(moved) / len(KEYS) == pytest.approx(1 / 5, rel=0.1)


def test_weights_are_respected():
    ring = Rendezvous([Node("a", weight=1), Node("b", weight=2), Node("c", weight=3)])
    share = Counter(owners(ring).values())
    assert share["a"] / len(KEYS) == pytest.approx(1 / 6, rel=0.08)
    assert share["b"] / len(KEYS) == pytest.approx(2 / 6, rel=0.08)
    assert share["c"] / len(KEYS) == pytest.approx(3 / 6, rel=0.08)


def test_balanced_with_equal_weights():
    ring = Rendezvous([Node(f"app-{i}") for i in range(5)])
    share = Counter(owners(ring).values())
    assert max(share.values()) / min(share.values()) < 1.1


def test_owner_falls_back_to_the_next_ranked_healthy_node():
    membership = Membership([Node(f"app-{i}", url=f"http://10.0.0.{i}:8000") for i in range(3)], self_name="app-0")
    key = KEYS[0]
    ranking = membership.ring.rank(key)
    assert membership.owner(key) == ranking[0]
    membership.mark(ranking[0].name, False)
    if ranking[0].name != "app-0":
        assert membership.owner(key) == ranking[1]
    membership.mark(ranking[0].name, True)
    assert membership.owner(key) == ranking[0]


def test_no_usable_node_gives_none_and_a_node_never_marks_itself_down():
    membership = Membership([Node("a"), Node("b")], self_name="a")
    membership.mark("a", False)
    membership.mark("b", False)
    assert membership.owner("k").name == "a"
    assert Rendezvous([Node("a")]).owner("k", lambda node: False) is None


def test_membership_from_config_and_bad_configs():
    membership = Membership.from_config(
        {
            "self": "app-1",
            "nodes": [{"name": "app-1", "url": "http://127.1.1.31:8000"}, {"name": "app-2", "weight": 2}],
        }
    )
    assert [n.weight for n in membership.ring.nodes] == [1.0, 2.0]
    with pytest.raises(ValueError, match="unique"):
        Rendezvous([Node("a"), Node("a")])
    with pytest.raises(ValueError, match="weight must be a positive number"):
        Node("a", weight=0)
    with pytest.raises(ValueError, match="not among the configured nodes"):
        Membership([Node("a")], self_name="b")
