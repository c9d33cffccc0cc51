"""Weighted rendezvous (highest random weight) hashing.

Every node scores every key, ``score = -weight / ln(u)`` with ``u`` a uniform hash of
(node, key) in (0, 1); the highest score owns the key. This is the "logarithmic method" for
weighted HRW: a node of weight 2 owns twice the keys of a node of weight 1, and removing a node
moves only the keys it owned (about 1/N of them), each to its own next-best node, so the load of
a lost node spreads over all the others. Ranking is O(N) per key, which is cheap below ~50 nodes.

Search nodes route on supplier + dates (``cache_key.routing_key``), never the hotel, so that
searches for the same supplier and stay meet on one node and can be merged into one call.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

_TWO_64 = float(2**64)


@dataclass(frozen=True, slots=True)
class Node:
    """A search node: a unique ``name``, where to reach it, and its relative ``weight``."""

    name: str
    url: str = ""
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a node needs a name")
        if not self.weight > 0 or math.isinf(self.weight):
            raise ValueError(f"node {self.name}: weight must be a positive number (got {self.weight})")


def score(node: Node, key: str) -> float:
    """The node's weighted score for ``key`` (pure; higher wins)."""
    digest = hashlib.blake2b(f"{node.name}\x00{key}".encode(), digest_size=8).digest()
    unit = (int.from_bytes(digest, "big") + 0.5) / _TWO_64  # strictly inside (0, 1)
    return -node.weight / math.log(unit)


class Rendezvous:
    """A fixed set of nodes; ``rank`` orders them for a key, ``owner`` picks the first usable one."""

    def __init__(self, nodes: Iterable[Node]) -> None:
        self.nodes: tuple[Node, ...] = tuple(nodes)
        names = [node.name for node in self.nodes]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"node names must be unique (repeated: {', '.join(duplicates)})")

    def rank(self, key: str) -> list[Node]:
        """All nodes, best first, for ``key``: the fallback order when nodes are down."""
        return sorted(self.nodes, key=lambda node: (score(node, key), node.name), reverse=True)

    def owner(self, key: str, usable: Callable[[Node], bool] = lambda _node: True) -> Node | None:
        """The best-scoring node that is ``usable`` (e.g. healthy); None if there is none."""
        best: Node | None = None
        best_score = -1.0
        for node in self.nodes:
            if not usable(node):
                continue
            node_score = score(node, key)
            if node_score > best_score or (node_score == best_score and best and node.name > best.name):
                best, best_score = node, node_score
        return best
