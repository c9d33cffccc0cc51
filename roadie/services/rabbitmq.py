"""A RabbitMQ node through its Prometheus endpoint (`prometheus` port, HTTPS verified against the
internal CA): which cluster it is in.

The management API is optional (the `management` port only when the role enables it), so the
toolkit reads what every node serves.
"""

from __future__ import annotations

import re

import httpx

from roadie.services import internal_tls
from roadie.services.registry import Service

TIMEOUT = 2.0
_IDENTITY = re.compile(r'rabbitmq_identity_info\{[^}]*rabbitmq_cluster="([^"]+)"')


def cluster_name(metrics: str) -> str | None:
    """The cluster name in a node's `rabbitmq_identity_info` metric."""
    match = _IDENTITY.search(metrics)
    return match.group(1) if match else None


class RabbitMQ:
    """One RabbitMQ node of the registry (kind rabbitmq)."""

    def __init__(self, node: Service, timeout: float = TIMEOUT) -> None:
        self.metrics_url = node.url("prometheus", "/metrics")
        self.timeout = timeout

    def metrics(self) -> str:
        answer = httpx.get(self.metrics_url, timeout=self.timeout, verify=internal_tls.verify_for(self.metrics_url))
        answer.raise_for_status()
        return answer.text

    def cluster(self) -> str | None:
        return cluster_name(self.metrics())
