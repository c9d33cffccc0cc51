"""Security groups: one per tier, and every allowed flow declared once in `RULES`.

Ingress is tier to tier by security-group reference; CIDR sources are only the internet (the
public load balancer on 80/443), the operators' admin networks (SSH for Ansible, UIs) and peer
VPCs (the DR standby streaming from the primary).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

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
SENTINEL_PORT = 26379
AMQP_PORT = 5672
OTLP_GRPC_PORT = 4317
OTLP_HTTP_PORT = 4318
PGBACKREST_TLS_PORT = 8432
"""The ports the app connects to (its ConfigMap's app.yml names them too)."""


@dataclass(frozen=True)
class Rule:
    """Allow `source` to reach `target` on TCP ports `ports` (inclusive)."""

    target: str
    ports: tuple[int, int]
    source: str
    why: str


def _exporters() -> tuple[Rule, ...]:
    per_tier = {
        "database": (9187, 9187),
        "cache": (9121, 9121),
        "messaging": (15692, 15692),
        "offerStore": (9145, 9145),
        "backup": (9854, 9854),
    }
    rules = [Rule(tier, (9100, 9100), "monitoring", "node exporter scrape") for tier in (*HOST_TIERS, APP)]
    rules += [Rule(tier, ports, "monitoring", "service exporter scrape") for tier, ports in per_tier.items()]
    rules += [Rule(tier, (22, 22), ADMIN, "Ansible over SSH") for tier in HOST_TIERS]
    rules += [
        Rule("monitoring", (3100, 3100), source, "log shipping to Loki")
        for source in (*HOST_TIERS, APP)
        if source != "monitoring"
    ]
    return tuple(rules)


RULES: tuple[Rule, ...] = (
    Rule(LB, (443, 443), INTERNET, "HTTPS from users"),
    Rule(LB, (80, 80), INTERNET, "HTTP from users (redirected to HTTPS when a certificate is set)"),
    Rule(APP, (APP_NODE_PORT, APP_NODE_PORT), LB, "ALB to the app's NodePort"),
    Rule(PG_LB, (5000, 5001), APP, "app to PostgreSQL read-write (5000) and read-only (5001)"),
    Rule("database", (5432, 5432), PG_LB, "NLB to PostgreSQL"),
    Rule("database", (8008, 8008), PG_LB, "NLB health checks: Patroni /primary and /replica"),
    Rule("database", (5432, 5432), "database", "streaming replication between members"),
    Rule("database", (8008, 8008), "database", "Patroni REST API between members"),
    Rule("database", (2379, 2380), "database", "etcd clients and peers"),
    Rule("database", (8008, 8008), "monitoring", "Patroni metrics"),
    Rule("database", (5432, 5432), PEER, "standby cluster in the peer region"),
    Rule("cache", (6379, 6379), APP, "app to Redis"),
    Rule("cache", (SENTINEL_PORT, SENTINEL_PORT), APP, "app asks Sentinel for the master"),
    Rule("cache", (6379, 6379), "cache", "Redis replication"),
    Rule("cache", (SENTINEL_PORT, SENTINEL_PORT), "cache", "Sentinel gossip"),
    Rule("messaging", (AMQP_PORT, AMQP_PORT), APP, "app to RabbitMQ (AMQP)"),
    Rule("messaging", (4369, 4369), "messaging", "Erlang port mapper"),
    Rule("messaging", (25672, 25672), "messaging", "Erlang distribution (clustering)"),
    Rule("database", (PGBACKREST_TLS_PORT, PGBACKREST_TLS_PORT), "backup", "pgBackRest backups from a standby"),
    Rule("backup", (PGBACKREST_TLS_PORT, PGBACKREST_TLS_PORT), "database", "WAL archiving to the repository host"),
    Rule("offerStore", (3000, 3000), APP, "app to Aerospike"),
    Rule("offerStore", (3001, 3002), "offerStore", "Aerospike fabric and heartbeat"),
    Rule("monitoring", (OTLP_GRPC_PORT, OTLP_HTTP_PORT), APP, "OTLP traces to Jaeger"),
    Rule("monitoring", (3000, 3000), ADMIN, "Grafana for operators"),
    Rule("monitoring", (9090, 9093), ADMIN, "Prometheus and Alertmanager UIs for operators"),
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
