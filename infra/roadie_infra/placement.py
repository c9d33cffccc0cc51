"""Where each host of a tier goes: name, AZ and fixed private address (pure, no resources)."""

from __future__ import annotations

from dataclasses import dataclass

from roadie_infra import addressing
from roadie_infra.tiers import TierSpec

MAX_HOSTS_PER_AZ = 9
"""Role octets are 10 apart (11, 21, ...): a tenth host in one AZ would take the next role's."""


@dataclass(frozen=True)
class Placement:
    """One host: its inventory name, AZ (1-based index and zone name) and address."""

    name: str
    az_index: int
    zone: str
    address: str


def place_hosts(
    tier: TierSpec, count: int, zones: tuple[str, ...], vpc_cidr: str, *, dr_site: bool = False
) -> list[Placement]:
    """Spread `count` hosts round-robin over `zones`, so any `len(zones)` consecutive hosts
    sit in different AZs and losing one AZ loses at most `ceil(count / len(zones))` of them.

    Names follow the lab: `db-1`, `db-2`, ... and in the DR region `db-dr` (or `db-dr-1`, ...).
    """
    if count > MAX_HOSTS_PER_AZ * len(zones):
        raise ValueError(f"{tier.key}: at most {MAX_HOSTS_PER_AZ} hosts per AZ, asked for {count}")
    placements = []
    for ordinal in range(count):
        az_index = ordinal % len(zones) + 1
        if dr_site:
            name = f"{tier.host_prefix}-dr" if count == 1 else f"{tier.host_prefix}-dr-{ordinal + 1}"
        else:
            name = f"{tier.host_prefix}-{ordinal + 1}"
        placements.append(
            Placement(
                name=name,
                az_index=az_index,
                zone=zones[az_index - 1],
                address=addressing.host_address(vpc_cidr, az_index, tier.host_octet, ordinal // len(zones)),
            )
        )
    return placements
