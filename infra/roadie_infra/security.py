"""Security groups: one per tier, and every allowed flow declared once in `RULES`.

Ingress is tier to tier by security-group reference; CIDR sources are only the internet (the
public load balancer on 80/443), the operators' admin networks (SSH for Ansible, UIs) and peer
VPCs (the DR standby streaming from the primary). Every service port comes from the port table
the roles read (ansible/playbooks/group_vars/all/ports.yml, roadie.inventory.ports), so a port
changed there opens in the cloud firewall too.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from roadie.inventory import ports
from roadie_infra.tagging import tags
from roadie_infra.tiers import TIERS

LB = "lb"
PG_LB = "pgLb"
APP = "app"
HOST_TIERS: tuple[str, ...] = tuple(tier.key for tier in TIERS)
GROUPS: tuple[str, ...] = (LB, PG_LB, APP, *HOST_TIERS)

INTERNET = "internet"
ADMIN = "admin"
PEER = "peer"

APP_NODE_PORT = 30080
"""The app Service's NodePort (k8s/service.yaml): the ALB sends traffic to it on every node."""
SENTINEL_PORT = ports.port("sentinel", "sentinel")
AMQP_PORT = ports.port("rabbitmq", "amqp")
OTLP_GRPC_PORT = ports.port("jaeger", "otlp_grpc")
OTLP_HTTP_PORT = ports.port("jaeger", "otlp_http")
PGBACKREST_TLS_PORT = ports.port("pgbackrest", "tls")
"""The ports the app connects to (its ConfigMap's app.yml names them too)."""
SSH_PORT = 22
LB_HTTPS_PORT = ports.port("loadbalancer", "https")
LB_HTTP_PORT = ports.port("loadbalancer", "http")
"""The public load balancer's listeners (the ALB's, as the lab's HAProxy's)."""


def _one(service: str, name: str) -> tuple[int, int]:
    """The range of one port of the table."""
    number = ports.port(service, name)
    return number, number


def _span(service: str, first: str, last: str) -> tuple[int, int]:
    """The range from one port of a service to another (its adjacent ports in one rule)."""
    return ports.port(service, first), ports.port(service, last)


@dataclass(frozen=True)
class Rule:
    """Allow `source` to reach `target` on TCP ports `ports` (inclusive)."""

    target: str
    ports: tuple[int, int]
    source: str
    why: str


def _exporters() -> tuple[Rule, ...]:
    per_tier = {
        "database": _one("postgres_exporter", "metrics"),
        "cache": _one("redis_exporter", "metrics"),
        "messaging": _one("rabbitmq", "prometheus"),
        "offerStore": _one("aerospike_exporter", "metrics"),
        "backup": _one("pgbackrest_exporter", "http"),
    }
    node = _one("node_exporter", "metrics")
    rules = [Rule(tier, node, "monitoring", "node exporter scrape") for tier in (*HOST_TIERS, APP)]
    rules += [Rule(tier, scraped, "monitoring", "service exporter scrape") for tier, scraped in per_tier.items()]
    rules += [Rule(tier, (SSH_PORT, SSH_PORT), ADMIN, "Ansible over SSH") for tier in HOST_TIERS]
    rules += [
        Rule("monitoring", _one("loki", "http"), source, "log shipping to Loki")
        for source in (*HOST_TIERS, APP)
        if source != "monitoring"
    ]
    return tuple(rules)


RULES: tuple[Rule, ...] = (
    Rule(LB, _one("loadbalancer", "https"), INTERNET, "HTTPS from users"),
    Rule(LB, _one("loadbalancer", "http"), INTERNET, "HTTP from users (redirected to HTTPS when a certificate is set)"),
    Rule(APP, (APP_NODE_PORT, APP_NODE_PORT), LB, "ALB to the app's NodePort"),
    Rule(
        PG_LB,
        _span("haproxy_pg", "primary", "replicas"),
        APP,
        "app to PostgreSQL read-write (5000) and read-only (5001)",
    ),
    Rule("database", _one("patroni", "postgresql"), PG_LB, "NLB to PostgreSQL"),
    Rule("database", _one("patroni", "restapi"), PG_LB, "NLB health checks: Patroni /primary and /replica"),
    Rule("database", _one("patroni", "postgresql"), "database", "streaming replication between members"),
    Rule("database", _one("patroni", "restapi"), "database", "Patroni REST API between members"),
    Rule("database", _span("etcd", "client", "peer"), "database", "etcd clients and peers"),
    Rule("database", _one("patroni", "restapi"), "monitoring", "Patroni metrics"),
    Rule("database", _one("patroni", "postgresql"), PEER, "standby cluster in the peer region"),
    Rule("cache", _one("redis", "redis"), APP, "app to Redis"),
    Rule("cache", (SENTINEL_PORT, SENTINEL_PORT), APP, "app asks Sentinel for the master"),
    Rule("cache", _one("redis", "redis"), "cache", "Redis replication"),
    Rule("cache", (SENTINEL_PORT, SENTINEL_PORT), "cache", "Sentinel gossip"),
    Rule("messaging", (AMQP_PORT, AMQP_PORT), APP, "app to RabbitMQ (AMQP)"),
    Rule("messaging", _one("rabbitmq", "epmd"), "messaging", "Erlang port mapper"),
    Rule("messaging", _one("rabbitmq", "dist"), "messaging", "Erlang distribution (clustering)"),
    Rule("database", (PGBACKREST_TLS_PORT, PGBACKREST_TLS_PORT), "backup", "pgBackRest backups from a standby"),
    Rule("backup", (PGBACKREST_TLS_PORT, PGBACKREST_TLS_PORT), "database", "WAL archiving to the repository host"),
    Rule("offerStore", _one("aerospike", "service"), APP, "app to Aerospike"),
    Rule("offerStore", _span("aerospike", "fabric", "heartbeat"), "offerStore", "Aerospike fabric and heartbeat"),
    Rule("monitoring", (OTLP_GRPC_PORT, OTLP_HTTP_PORT), APP, "OTLP traces to Jaeger"),
    Rule("monitoring", _one("grafana", "http"), ADMIN, "Grafana for operators"),
    Rule(
        "monitoring",
        (ports.port("prometheus", "http"), ports.port("alertmanager", "http")),
        ADMIN,
        "Prometheus and Alertmanager UIs for operators",
    ),
    *_exporters(),
)


@dataclass(frozen=True)
class SecurityArgs:
    environment: str
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    admin_cidrs: tuple[str, ...]
    peer_cidrs: tuple[str, ...]


class SecurityGroups(pulumi.ComponentResource):
    """One security group per tier (`groups[tier]`) with the ingress of `RULES`."""

    groups: dict[str, aws.ec2.SecurityGroup]

    def __init__(self, name: str, args: SecurityArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:security:SecurityGroups", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        self.groups = {
            group: aws.ec2.SecurityGroup(
                f"{name}-{group}",
                vpc_id=args.vpc_id,
                description=f"roadie {env} {group}",
                tags=tags(env, group, f"roadie-{env}-{group}"),
                opts=child,
            )
            for group in GROUPS
        }
        for rule in RULES:
            for index, source in enumerate(self._sources(rule, args)):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-{rule.target}-{rule.source}-{rule.ports[0]}-{index}",
                    security_group_id=self.groups[rule.target].id,
                    ip_protocol="tcp",
                    from_port=rule.ports[0],
                    to_port=rule.ports[1],
                    description=rule.why,
                    tags=tags(env, rule.target),
                    opts=child,
                    **source,
                )
        for group in GROUPS:
            self._egress(name, env, group, args, child)
        self.register_outputs({group: sg.id for group, sg in self.groups.items()})

    def _sources(self, rule: Rule, args: SecurityArgs) -> list[dict[str, pulumi.Input[str]]]:
        if rule.source == INTERNET:
            return [{"cidr_ipv4": "0.0.0.0/0"}]
        if rule.source == ADMIN:
            return [{"cidr_ipv4": cidr} for cidr in args.admin_cidrs]
        if rule.source == PEER:
            return [{"cidr_ipv4": cidr} for cidr in args.peer_cidrs]
        return [{"referenced_security_group_id": self.groups[rule.source].id}]

    def _egress(self, name: str, env: str, group: str, args: SecurityArgs, opts: pulumi.ResourceOptions) -> None:
        # Inside the VPC (and peer VPCs) ingress rules are the gate; to the internet only
        # HTTP(S) leaves, for Debian mirrors, container registries and AWS APIs.
        destinations = [
            ("vpc", args.vpc_cidr, "-1", None),
            *[(f"peer-{i}", cidr, "-1", None) for i, cidr in enumerate(args.peer_cidrs)],
        ]
        if group != LB:
            destinations += [("https", "0.0.0.0/0", "tcp", 443), ("http", "0.0.0.0/0", "tcp", 80)]
        for label, cidr, protocol, port in destinations:
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-{group}-egress-{label}",
                security_group_id=self.groups[group].id,
                ip_protocol=protocol,
                cidr_ipv4=cidr,
                from_port=port,
                to_port=port,
                description=f"egress to {label}",
                tags=tags(env, group),
                opts=opts,
            )
