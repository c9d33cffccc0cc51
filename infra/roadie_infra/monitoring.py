"""Monitoring tier: Prometheus, Alertmanager, Grafana, Loki and Jaeger hosts."""

from __future__ import annotations

from roadie_infra.host_tier import HostTier


class MonitoringTier(HostTier):
    """Observability hosts; each runs the whole stack, so two in two AZs keep alerting alive."""

    TYPE = "roadie:monitoring:MonitoringTier"
