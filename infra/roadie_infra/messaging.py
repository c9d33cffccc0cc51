"""Messaging tier: RabbitMQ hosts carrying booking events on quorum queues."""

from __future__ import annotations

from roadie_infra.host_tier import HostTier


class MessagingTier(HostTier):
    """Quorum queues need a majority of nodes: three nodes over three AZs survive one AZ."""

    TYPE = "roadie:messaging:MessagingTier"
