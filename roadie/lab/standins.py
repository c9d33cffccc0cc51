"""What the lab cannot run on these machines, why, and what stands in for it."""

from typing import NamedTuple


class StandIn(NamedTuple):
    component: str
    why: str
    stand_in: str


NOT_RUNNABLE = (
    StandIn(
        "Aerospike",
        "no server package for Debian 12 in reach; vendor downloads are blocked",
        "offer store uses its Redis backend; the aerospike role and client code are real",
    ),
    StandIn(
        "Grafana",
        "not packaged for Debian 12; vendor repository unreachable",
        "dashboards are checked by running every panel query against the lab Prometheus",
    ),
    StandIn(
        "Loki",
        "not packaged for Debian 12; vendor downloads are blocked",
        "each host's journal (roadie lab logs, roadie lab collect-logs)",
    ),
    StandIn(
        "Jaeger",
        "not packaged for Debian 12; vendor downloads are blocked",
        "OTLP export is off (or to a file); spans are tested in-process",
    ),
    StandIn(
        "Pulumi CLI",
        "the CLI and provider plugins download from vendor sites",
        "the program is unit-tested with pulumi mocks and a tested policy pack",
    ),
    StandIn("Kubernetes", "no API server on this machine", "k8s manifests pass strict schema validation offline"),
)
