"""Offer-store tier: Aerospike hosts on instance-store NVMe types (hybrid storage).

Aerospike keeps replication factor 2 with rack awareness, the rack being the host's AZ
(`roadie_az` in the inventory): the two copies of every record land in different AZs.
"""

from __future__ import annotations

from roadie_infra.host_tier import HostTier


class OfferStoreTier(HostTier):
    """Aerospike hosts; config validation guarantees an instance type with local NVMe."""

    TYPE = "roadie:offerstore:OfferStoreTier"
