"""Cache tier: Redis + Sentinel hosts (sessions, cache, Bloom negative cache), one per AZ."""

from __future__ import annotations

from roadie_infra.host_tier import HostTier


class CacheTier(HostTier):
    """Redis and Sentinel share hosts: a Sentinel quorum of 2 survives the loss of one AZ."""

    TYPE = "roadie:cache:CacheTier"
