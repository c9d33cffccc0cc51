"""RabbitMQ connection parameters and the topology the app relies on.

The exchange and the counters queue are declared by every client that uses them (declaring is
idempotent), so no deploy step has to run before the first message. The queue is a durable
quorum queue: a message confirmed to the publisher is on a majority of the nodes.
"""

from __future__ import annotations

import pika
from pika.adapters.blocking_connection import BlockingChannel

from app.common.settings import RabbitSettings

ROUTING_KEYS = ("booking.confirmed", "booking.cancelled")


def parameters(settings: RabbitSettings) -> pika.ConnectionParameters:
    return pika.ConnectionParameters(
        host=settings.host,
        port=settings.port,
        virtual_host=settings.vhost,
        credentials=pika.PlainCredentials(settings.user, settings.password),
        heartbeat=10,
        blocked_connection_timeout=10,
        connection_attempts=1,
        socket_timeout=3,
    )


def declare_topology(channel: BlockingChannel, settings: RabbitSettings) -> None:
    channel.exchange_declare(settings.exchange, exchange_type="topic", durable=True)
    channel.queue_declare(settings.counters_queue, durable=True, arguments={"x-queue-type": "quorum"})
    for key in ROUTING_KEYS:
        channel.queue_bind(settings.counters_queue, settings.exchange, routing_key=key)
