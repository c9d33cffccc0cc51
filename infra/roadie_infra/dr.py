"""DR tier (the `dr` stack): link to the primary stack and fail DNS over to this region.

The primary's outputs come through a StackReference: its VPC (peered with this one so the
standby Patroni cluster streams from the primary), its load balancer (the PRIMARY failover
record) and its backup replica bucket (which lives in this region). Route53 health checks on
both load balancers' `/readyz` decide which record answers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from roadie_infra.config import MIN_PROD_AZS
from roadie_infra.settings import DisasterRecoverySettings
from roadie_infra.tagging import tags

HEALTH_CHECK_PATH = "/readyz"
HEALTH_CHECK_INTERVAL_SECONDS = 10
"""Route53's fast interval; with 3 failures the primary is declared down in about 30 s."""
HEALTH_CHECK_FAILURES = 3


@dataclass(frozen=True)
class DisasterRecoveryArgs:
    environment: str
    settings: DisasterRecoverySettings
    vpc_id: pulumi.Input[str]
    vpc_cidr: str
    route_table_ids: Sequence[pulumi.Input[str]]
    load_balancer_dns_name: pulumi.Input[str]
    load_balancer_zone_id: pulumi.Input[str]
    https: bool


class DisasterRecovery(pulumi.ComponentResource):
    """StackReference to prod, VPC peering with routes both ways, failover health checks and records."""

    primary: pulumi.StackReference
    records: list[aws.route53.Record]
    health_checks: list[aws.route53.HealthCheck]

    def __init__(self, name: str, args: DisasterRecoveryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:dr:DisasterRecovery", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._name, self._args = name, args
        self.primary = pulumi.StackReference(f"{name}-primary", stack_name=args.settings.primary_stack, opts=child)
        self._peer(child)
        self.health_checks, self.records = [], []
        sites = (
            (
                "primary",
                "PRIMARY",
                self.primary.require_output("app_lb_dns_name"),
                self.primary.require_output("app_lb_zone_id"),
            ),
            ("secondary", "SECONDARY", args.load_balancer_dns_name, args.load_balancer_zone_id),
        )
        for label, failover, dns_name, zone_id in sites:
            check = self._health_check(label, dns_name, child)
            self.health_checks.append(check)
            self.records.append(
                aws.route53.Record(
                    f"{name}-{label}",
                    zone_id=args.settings.dns_zone_id,
                    name=args.settings.dns_name,
                    type="A",
                    set_identifier=label,
                    failover_routing_policies=[aws.route53.RecordFailoverRoutingPolicyArgs(type=failover)],
                    health_check_id=check.id,
                    aliases=[aws.route53.RecordAliasArgs(name=dns_name, zone_id=zone_id, evaluate_target_health=True)],
                    opts=child,
                )
            )
        self.register_outputs({"records": [record.fqdn for record in self.records]})

    def backup_bucket_arn(self) -> pulumi.Output[str]:
        """The primary's backup replica bucket (in this region): the standby restores from it."""
        return pulumi.Output.from_input(self.primary.require_output("backup_replica_bucket_arn")).apply(str)

    def backup_key_arn(self) -> pulumi.Output[str]:
        """KMS key of the backup replica bucket."""
        return pulumi.Output.from_input(self.primary.require_output("backup_replica_key_arn")).apply(str)

    def _health_check(
        self, label: str, dns_name: pulumi.Input[str], opts: pulumi.ResourceOptions
    ) -> aws.route53.HealthCheck:
        return aws.route53.HealthCheck(
            f"{self._name}-{label}",
            type="HTTPS" if self._args.https else "HTTP",
            fqdn=dns_name,
            port=443 if self._args.https else 80,
            resource_path=HEALTH_CHECK_PATH,
            request_interval=HEALTH_CHECK_INTERVAL_SECONDS,
            failure_threshold=HEALTH_CHECK_FAILURES,
            tags=tags(self._args.environment, "dr", f"roadie-{label}"),
            opts=opts,
        )

    def _peer(self, opts: pulumi.ResourceOptions) -> None:
        args, settings = self._args, self._args.settings
        primary_cidr = self.primary.require_output("vpc_cidr")
        peering = aws.ec2.VpcPeeringConnection(
            f"{self._name}-peering",
            vpc_id=args.vpc_id,
            peer_vpc_id=self.primary.require_output("vpc_id"),
            peer_region=settings.primary_region,
            tags=tags(args.environment, "dr", "roadie-dr-to-primary"),
            opts=opts,
        )
        # pulumi-aws 7 takes a per-resource region: the accepter side needs no second provider.
        aws.ec2.VpcPeeringConnectionAccepter(
            f"{self._name}-peering",
            vpc_peering_connection_id=peering.id,
            auto_accept=True,
            region=settings.primary_region,
            tags=tags(args.environment, "dr", "roadie-primary-to-dr"),
            opts=opts,
        )
        for index, table_id in enumerate(args.route_table_ids):
            aws.ec2.Route(
                f"{self._name}-to-primary-{index + 1}",
                route_table_id=table_id,
                destination_cidr_block=primary_cidr,
                vpc_peering_connection_id=peering.id,
                opts=opts,
            )
        # The primary is prod, which config validation holds to exactly three AZs.
        primary_tables = self.primary.require_output("private_route_table_ids")
        for index in range(MIN_PROD_AZS):
            aws.ec2.Route(
                f"{self._name}-from-primary-{index + 1}",
                route_table_id=primary_tables.apply(lambda ids, i=index: ids[i]),
                destination_cidr_block=args.vpc_cidr,
                vpc_peering_connection_id=peering.id,
                region=settings.primary_region,
                opts=opts,
            )
