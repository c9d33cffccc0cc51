"""The host tiers of the platform, declared once.

Each tier maps to lab hosts with the same name prefix, the same last address octet (the lab's
address plan `127.R.Z.H`, reused as `<data subnet of AZ Z>.H`) and the same Ansible service
groups, so the inventory generated from a stack has the lab's shape.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TierSpec:
    """What the program and the inventory need to know about one tier of EC2 hosts."""

    key: str
    """Key of the tier under the `roadie:hosts` stack config."""
    host_prefix: str
    """Host names are `<prefix>-<n>` as in the lab (db-1, cache-2, ...)."""
    host_octet: int
    """Last octet of the host's private address: the lab's `H` for that role."""
    roles: tuple[str, ...]
    """Ansible service groups the hosts belong to."""
    stateful: bool
    """Holds data of record: must span at least 3 AZs in prod."""
    instance_store: bool = False
    """Data lives on local NVMe instance storage instead of an EBS data volume."""


DATABASE = TierSpec("database", "db", 11, ("etcd", "postgres"), stateful=True)
CACHE = TierSpec("cache", "cache", 21, ("redis", "sentinel"), stateful=True)
MESSAGING = TierSpec("messaging", "mq", 41, ("rabbitmq",), stateful=True)
MONITORING = TierSpec("monitoring", "mon", 61, ("monitoring",), stateful=False)
OFFER_STORE = TierSpec("offerStore", "aero", 91, ("aerospike",), stateful=True, instance_store=True)
# pgBackRest's repository host, as in the lab: it runs the backups (from a standby) and receives
# the members' WAL over pgBackRest's TLS; the repositories themselves are the S3 bucket, so the
# host keeps nothing of record.
BACKUP = TierSpec("backup", "backup", 81, ("backup_repo",), stateful=False)

TIERS: tuple[TierSpec, ...] = (DATABASE, CACHE, MESSAGING, MONITORING, OFFER_STORE, BACKUP)
TIERS_BY_KEY: dict[str, TierSpec] = {tier.key: tier for tier in TIERS}

# Instance families with local NVMe instance storage: Aerospike's hybrid storage writes to
# raw NVMe devices, and an EBS-only type would silently give it network storage instead.
INSTANCE_STORE_FAMILIES: frozenset[str] = frozenset(
    {"i3", "i3en", "i4g", "i4i", "i7i", "i7ie", "i8g", "im4gn", "is4gen", "c6gd", "m6gd", "m6id", "r6id"}
)


def instance_family(instance_type: str) -> str:
    """`i4i.large` -> `i4i`."""
    return instance_type.split(".", 1)[0]
