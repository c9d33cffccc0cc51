"""Typed, validated stack settings: the only shape the rest of the program sees.

Every field comes from one stack config key; validation happens in `config.parse_settings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Environment = Literal["dev", "staging", "prod", "dr"]
ENVIRONMENTS: tuple[Environment, ...] = ("dev", "staging", "prod", "dr")


@dataclass(frozen=True)
class TierSettings:
    """Size of one host tier (`roadie:hosts.<tier>`)."""

    count: int
    instance_type: str
    volume_gib: int


@dataclass(frozen=True)
class AppNodeSettings:
    """The EKS node group that runs the app (`roadie:appNodes`)."""

    instance_type: str
    min_size: int
    max_size: int
    desired_size: int
    target_cpu_percent: int


@dataclass(frozen=True)
class BackupSettings:
    """The pgBackRest bucket (`roadie:backups`)."""

    retention_days: int
    archive_retention_days: int
    replica_region: str | None


@dataclass(frozen=True)
class DisasterRecoverySettings:
    """What the `dr` stack needs to know about the primary (`roadie:dr`)."""

    primary_stack: str
    primary_region: str
    dns_zone_id: str
    dns_name: str


@dataclass(frozen=True)
class StackSettings:
    """Everything one stack is built from."""

    environment: Environment
    region: str
    availability_zones: tuple[str, ...]
    vpc_cidr: str
    nat_per_az: bool
    kubernetes_version: str
    app_image: str
    app_nodes: AppNodeSettings
    tiers: dict[str, TierSettings]
    ansible_user: str
    admin_cidrs: tuple[str, ...]
    internal_ca_certificate: str
    """The internal CA's certificate, PEM: the app verifies PostgreSQL's certificate against it."""
    peer_cidrs: tuple[str, ...] = ()
    backups: BackupSettings | None = None
    dr: DisasterRecoverySettings | None = None
    ami_id: str | None = None
    ssh_key_name: str | None = None
    certificate_arn: str | None = None
    extra_tags: dict[str, str] = field(default_factory=dict)

    @property
    def region_index(self) -> int:
        """The lab's `R`: 1 for the primary region, 2 for the DR region."""
        return 2 if self.environment == "dr" else 1

    @property
    def is_prod_grade(self) -> bool:
        """prod and its DR copy must survive the loss of an AZ; dev and staging may not."""
        return self.environment in ("prod", "dr")
