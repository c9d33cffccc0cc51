"""Reading a replica's priority as Sentinel sees it (the az-outage drill waits for it before
asking Sentinel to fail over): from parsed dicts or raw flat lists."""

from roadie.services.redis import priority_of
from roadie.services.registry import Endpoint


def test_priority_of_the_replica_at_that_address() -> None:
    replicas = [
        {"ip": "127.1.2.21", "port": "6379", "slave-priority": "100"},
        {"ip": "127.1.3.21", "port": "6379", "slave-priority": "1"},
    ]
    assert priority_of(replicas, Endpoint("127.1.3.21", 6379)) == 1
    assert priority_of(replicas, Endpoint("127.1.2.21", 6379)) == 100


def test_raw_flat_list_answers_and_unknown_replicas() -> None:
    replicas = [["ip", "127.1.1.21", "port", "6379", "slave-priority", "7"]]
    assert priority_of(replicas, Endpoint("127.1.1.21", 6379)) == 7
    assert priority_of(replicas, Endpoint("127.1.9.21", 6379)) is None
