"""Stack outputs: what Ansible (through `roadie inventory from-stack`) and the DR stack read.

`hosts` is the contract with `roadie.inventory`: one entry per EC2 host with its `name`,
private `address`, `az` (1-based index into the stack's zones), `zone`, `region` (1 primary,
2 DR) and `roles` (Ansible service groups). `endpoints` is the other part of that contract:
per region, the PostgreSQL read-write/read-only endpoint (`postgres`) and the app's entry
point (`app`), which the inventory hands to the roles (roadie_pg_endpoint, ...) so that no
role looks for a load balancer host that the cloud replaces with a managed one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi

from roadie_infra.backups import ARCHIVE_PREFIX, REPO_PREFIX

if TYPE_CHECKING:
    from roadie_infra.program import Stack


def export(stack: Stack) -> None:
    """Export the outputs of a built stack."""
    settings = stack.settings
    pulumi.export("environment", settings.environment)
    pulumi.export("region", settings.region)
    pulumi.export("region_index", settings.region_index)
    pulumi.export("availability_zones", list(settings.availability_zones))
    pulumi.export("vpc_id", stack.network.vpc.id)
    pulumi.export("vpc_cidr", settings.vpc_cidr)
    pulumi.export("private_route_table_ids", [table.id for table in stack.network.private_route_tables])
    pulumi.export("ansible_user", settings.ansible_user)
    pulumi.export("hosts", [host.record() for host in stack.hosts()])
    pulumi.export("app_lb_dns_name", stack.load_balancer.load_balancer.dns_name)
    pulumi.export("app_lb_zone_id", stack.load_balancer.load_balancer.zone_id)
    pulumi.export("pg_endpoint", stack.database.load_balancer.dns_name)
    pulumi.export(
        "endpoints",
        [
            {
                "region": settings.region_index,
                "postgres": stack.database.load_balancer.dns_name,
                "app": stack.load_balancer.load_balancer.dns_name,
            }
        ],
    )
    pulumi.export("eks_cluster_name", stack.platform.cluster.name)
    if stack.backups is not None:
        pulumi.export("backup_bucket", stack.backups.primary.bucket.bucket)
        # Where pgBackRest's two repositories live (the inventory's roadie_backup_repository):
        # the prefixes are the ones the bucket's lifecycle rules are written for.
        pulumi.export(
            "backup_repository",
            {
                "bucket": stack.backups.primary.bucket.bucket,
                "region": settings.region,
                "repo_prefix": REPO_PREFIX,
                "archive_prefix": ARCHIVE_PREFIX,
            },
        )
        if stack.backups.replica is not None:
            pulumi.export("backup_replica_bucket", stack.backups.replica.bucket.bucket)
            pulumi.export("backup_replica_bucket_arn", stack.backups.replica.bucket.arn)
            pulumi.export("backup_replica_key_arn", stack.backups.replica.key.arn)
    if stack.dr is not None:
        pulumi.export("failover_fqdn", stack.dr.records[0].fqdn)
