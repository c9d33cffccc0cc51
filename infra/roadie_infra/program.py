"""Compose the tiers of one stack (dev, staging, prod or dr) from its validated settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from roadie.k8s.appconfig import AppEndpoints
from roadie_infra import outputs
from roadie_infra.app_platform import AppPlatform, AppPlatformArgs
from roadie_infra.backup_host import BackupTier
from roadie_infra.backups import Backups, BackupsArgs, bucket_access_policy
from roadie_infra.cache import CacheTier
from roadie_infra.config import load_settings
from roadie_infra.database import ENDPOINTS, DatabaseArgs, DatabaseTier
from roadie_infra.dr import DisasterRecovery, DisasterRecoveryArgs
from roadie_infra.host_tier import HostTier
from roadie_infra.images import host_ami
from roadie_infra.instances import Host, HostsArgs
from roadie_infra.keys import storage_key
from roadie_infra.kubernetes_app import KubernetesApp, KubernetesAppArgs
from roadie_infra.load_balancer import LoadBalancer, LoadBalancerArgs
from roadie_infra.messaging import MessagingTier
from roadie_infra.monitoring import MonitoringTier
from roadie_infra.network import Network, NetworkArgs
from roadie_infra.offer_store import OfferStoreTier
from roadie_infra.security import AMQP_PORT, APP, LB, OTLP_HTTP_PORT, PG_LB, SENTINEL_PORT, SecurityArgs, SecurityGroups
from roadie_infra.settings import StackSettings
from roadie_infra.tiers import BACKUP, CACHE, DATABASE, MESSAGING, MONITORING, OFFER_STORE, TierSpec

HOST_TIER_CLASSES: tuple[tuple[TierSpec, type[HostTier]], ...] = (
    (CACHE, CacheTier),
    (MESSAGING, MessagingTier),
    (MONITORING, MonitoringTier),
    (OFFER_STORE, OfferStoreTier),
    (BACKUP, BackupTier),
)


@dataclass(frozen=True)
class Stack:
    """The components of one stack, for `outputs` and for tests."""

    settings: StackSettings
    network: Network
    security: SecurityGroups
    platform: AppPlatform
    load_balancer: LoadBalancer
    database: DatabaseTier
    host_tiers: dict[str, HostTier]
    app: KubernetesApp
    backups: Backups | None
    dr: DisasterRecovery | None

    def hosts(self) -> list[Host]:
        """Every EC2 host of the stack, database first, in a stable order."""
        return [*self.database.hosts, *(host for tier in self.host_tiers.values() for host in tier.hosts)]


def main() -> Stack:
    """Entry point of `__main__.py`: validate config, build, export outputs."""
    stack = build(load_settings())
    outputs.export(stack)
    return stack


def build(settings: StackSettings) -> Stack:
    """Create every resource of the stack described by `settings`."""
    env = settings.environment
    key = storage_key(env)
    network = Network(
        "network",
        NetworkArgs(env, settings.region, settings.vpc_cidr, settings.availability_zones, settings.nat_per_az),
    )
    security = SecurityGroups(
        "security",
        SecurityArgs(env, network.vpc.id, settings.vpc_cidr, settings.admin_cidrs, settings.peer_cidrs),
    )
    groups = security.groups
    platform = AppPlatform(
        "app",
        AppPlatformArgs(
            environment=env,
            region=settings.region,
            kubernetes_version=settings.kubernetes_version,
            nodes=settings.app_nodes,
            subnet_ids=[subnet.id for subnet in network.app_subnets],
            node_security_group_id=groups[APP].id,
            kms_key_arn=key.arn,
            admin_cidrs=settings.admin_cidrs,
        ),
    )
    load_balancer = LoadBalancer(
        "lb",
        LoadBalancerArgs(
            environment=env,
            vpc_id=network.vpc.id,
            subnet_ids=[subnet.id for subnet in network.public_subnets],
            security_group_id=groups[LB].id,
            autoscaling_group_name=platform.autoscaling_group_name,
            certificate_arn=settings.certificate_arn,
        ),
    )
    backups = Backups("backups", BackupsArgs(env, settings.region, settings.backups)) if settings.backups else None
    dr = _disaster_recovery(settings, network, load_balancer)
    ami = host_ami(settings.ami_id)
    data_subnets = [subnet.id for subnet in network.data_subnets]

    def hosts_args(tier: TierSpec, extra_policy: pulumi.Input[str] | None = None) -> HostsArgs:
        return HostsArgs(
            environment=env,
            region_index=settings.region_index,
            tier=tier,
            size=settings.tiers[tier.key],
            zones=settings.availability_zones,
            vpc_cidr=settings.vpc_cidr,
            subnet_ids=data_subnets,
            security_group_id=groups[tier.key].id,
            ami_id=ami,
            kms_key_arn=key.arn,
            ssh_key_name=settings.ssh_key_name,
            protect=settings.is_prod_grade and tier.stateful,
            dr_site=dr is not None,
            extra_policy=extra_policy,
        )

    # The repository host writes the backup bucket (the members' WAL reaches it over pgBackRest's
    # TLS); dr's database hosts read prod's replica bucket for a restore in their region.
    policies: dict[str, pulumi.Input[str]] = {}
    if backups is not None:
        policies[BACKUP.key] = backups.host_policy
    elif dr is not None:
        policies[DATABASE.key] = bucket_access_policy(dr.backup_bucket_arn(), dr.backup_key_arn())
    database = DatabaseTier(
        "database",
        DatabaseArgs(
            hosts=hosts_args(DATABASE, policies.get(DATABASE.key)),
            vpc_id=network.vpc.id,
            lb_subnet_ids=data_subnets,
            lb_security_group_id=groups[PG_LB].id,
        ),
    )
    host_tiers = {
        spec.key: cls(spec.key, hosts_args(spec, policies.get(spec.key)))
        for spec, cls in HOST_TIER_CLASSES
        if settings.tiers[spec.key].count > 0
    }
    app = KubernetesApp(
        "app",
        KubernetesAppArgs(
            provider=platform.provider,
            image=settings.app_image,
            endpoints=app_config(database, host_tiers),
            internal_ca_certificate=settings.internal_ca_certificate,
        ),
    )
    return Stack(settings, network, security, platform, load_balancer, database, host_tiers, app, backups, dr)


def _disaster_recovery(
    settings: StackSettings, network: Network, load_balancer: LoadBalancer
) -> DisasterRecovery | None:
    if settings.dr is None:
        return None
    return DisasterRecovery(
        "dr",
        DisasterRecoveryArgs(
            environment=settings.environment,
            settings=settings.dr,
            vpc_id=network.vpc.id,
            vpc_cidr=settings.vpc_cidr,
            route_table_ids=[table.id for table in network.private_route_tables],
            load_balancer_dns_name=load_balancer.load_balancer.dns_name,
            load_balancer_zone_id=load_balancer.load_balancer.zone_id,
            https=settings.certificate_arn is not None,
        ),
    )


def app_config(database: DatabaseTier, host_tiers: dict[str, HostTier]) -> pulumi.Output[AppEndpoints]:
    """Where this stack's services answer the app: rendered into the ConfigMap's app.yml.

    PostgreSQL through the database NLB (its listeners: read-write, read-only), the Sentinels of
    every cache host, the first messaging host (as Ansible's role `app` points the hosts' app at
    the first of group `rabbitmq`), and Jaeger's OTLP/HTTP receiver on the first monitoring host
    (none: traces are not exported)."""
    listener = {path: port for port, path in ENDPOINTS}

    def addresses(tier: TierSpec) -> list[pulumi.Output[str]]:
        hosts = host_tiers[tier.key].hosts if tier.key in host_tiers else []
        return [host.instance.private_ip for host in hosts]

    def endpoints(values: list[Any]) -> AppEndpoints:
        pg_host, cache, messaging, monitoring = values
        return AppEndpoints(
            postgres_host=pg_host,
            postgres_primary_port=listener["/primary"],
            postgres_replica_port=listener["/replica"],
            sentinels=tuple((address, SENTINEL_PORT) for address in cache),
            rabbitmq_host=messaging[0] if messaging else "",
            rabbitmq_port=AMQP_PORT,
            otlp_endpoint=f"http://{monitoring[0]}:{OTLP_HTTP_PORT}/v1/traces" if monitoring else "",
        )

    return pulumi.Output.all(
        database.load_balancer.dns_name,
        pulumi.Output.all(*addresses(CACHE)),
        pulumi.Output.all(*addresses(MESSAGING)),
        pulumi.Output.all(*addresses(MONITORING)),
    ).apply(endpoints)
