"""The groups every roadie inventory has, lab or cloud, and how AZ groups are named.

Location groups: `region<R>` holds the AZ groups `r<R>_az<Z>` (Z = 1..3) and `r<R>_regional`
(Z = 0: services no single AZ failure takes down). Service groups say what runs on a host.
"""

from __future__ import annotations

import re

REGION_GROUPS: tuple[str, ...] = ("region1", "region2")
AZ_GROUPS: tuple[str, ...] = ("r1_az1", "r1_az2", "r1_az3", "r1_regional", "r2_az1", "r2_regional")
SERVICE_GROUPS: tuple[str, ...] = (
    "etcd",
    "postgres",
    "pg_lb",
    "redis",
    "sentinel",
    "rabbitmq",
    "app",
    "lb",
    "monitoring",
    "suppliers",
    "backup_repo",
    "aerospike",
)
REQUIRED_GROUPS: tuple[str, ...] = (*REGION_GROUPS, *AZ_GROUPS, *SERVICE_GROUPS)
# Service groups that only some inventories have: the DR region's own clusters (suffix _dr,
# separate from the primary region's) and the lab's AWS API stand-in (moto).
OPTIONAL_SERVICE_GROUPS: tuple[str, ...] = (
    "etcd_dr",
    "postgres_dr",
    "pg_lb_dr",
    "redis_dr",
    "sentinel_dr",
    "rabbitmq_dr",
    "app_dr",
    "lb_dr",
    "dns_api",
)

# Groups only the lab fills (roadie/lab/inventory.py add_lab_groups): the hosts of its
# lab-only plays and those that leave out what cannot run on its machine. Every other
# inventory has them empty, so their plays match nothing there.
LAB_GROUPS: tuple[str, ...] = ("alert_recorder", "shared_kernel", "no_vendor_packages")

# Groups made of other groups, the same in every inventory: a service's groups in both regions
# (their group_vars hold what the regions share), the hosts of one tool that several services
# run (pgbackrest) and the exporters' groups (each with its own group_vars).
PARENT_GROUPS: dict[str, tuple[str, ...]] = {
    "etcd_servers": ("etcd", "etcd_dr"),
    "postgres_servers": ("postgres", "postgres_dr"),
    # Every host running pgBackRest: both regions' members and the repository host.
    "pgbackrest": ("postgres_servers", "backup_repo"),
    "pg_lbs": ("pg_lb", "pg_lb_dr"),
    "redis_servers": ("redis", "redis_dr"),
    "sentinel_servers": ("sentinel", "sentinel_dr"),
    "rabbitmq_servers": ("rabbitmq", "rabbitmq_dr"),
    "app_servers": ("app", "app_dr"),
    "app_lbs": ("lb", "lb_dr"),
    "postgres_exporter": ("postgres",),
    "redis_exporter": ("redis",),
}

# Load balancers that pass TLS through to a service group (TCP, no termination): the group's
# certificates name the balancers' hosts and the region's endpoint variable (roadie/tls.py).
# Role haproxy_pg's backend group says the same on the Ansible side (a unit test keeps them equal).
TLS_PASSTHROUGH: dict[str, tuple[str, str]] = {
    "postgres": ("pg_lb", "roadie_pg_endpoint"),
    "postgres_dr": ("pg_lb_dr", "roadie_dr_pg_endpoint"),
}

# Service groups that must hold exactly the same hosts: the roles are co-located by design.
SAME_HOSTS: tuple[tuple[str, str], ...] = (("etcd", "postgres"), ("redis", "sentinel"), ("redis_dr", "sentinel_dr"))

HOST_VARS: tuple[str, ...] = ("roadie_address", "roadie_region", "roadie_az")

_AZ_GROUP = re.compile(r"^r(?P<region>\d+)_(?:az(?P<az>[1-9]\d*)|regional)$")


def az_group(region: int, az: int) -> str:
    """`r1_az2` for region 1, AZ 2; `r1_regional` for AZ 0."""
    return f"r{region}_regional" if az == 0 else f"r{region}_az{az}"


def region_group(region: int) -> str:
    return f"region{region}"


def parse_az_group(name: str) -> tuple[int, int] | None:
    """(region, az) of an AZ group name, or None if `name` is not one."""
    match = _AZ_GROUP.match(name)
    if match is None:
        return None
    return int(match["region"]), int(match["az"] or 0)
