"""RabbitMQ connection parameters and the topology the app relies on.

The exchange and the counters queue are declared by every client that uses them (declaring is
idempotent), so no deploy step has to run before the first message. The queue is a durable
quorum queue: a message confirmed to the publisher is on a majority of the nodes.

The broker serves AMQPS only: the app connects over TLS, verifies the broker's certificate
against the internal CA and the address dialled (`ssl_options`), and logs in with its user and
password; never in plain text unless the settings turn TLS off by name
(`rabbitmq.tls.enabled: false`).
"""

from __future__ import annotations

import os
import ssl

import pika
from pika.adapters.blocking_connection import BlockingChannel

from app.common.settings import RabbitSettings

ROUTING_KEYS = ("booking.confirmed", "booking.cancelled")


def ssl_options(root_cert: str | os.PathLike[str], host: str) -> pika.SSLOptions:
    """pika's TLS options for `host`, its certificate verified against the CA file `root_cert`.

    With `cafile` given, `create_default_context` loads that file only (`load_verify_locations`),
    never the system's store: only a certificate from the internal CA is accepted. The context
    requires the server's certificate (CERT_REQUIRED) and checks it names `server_hostname`, the
    host dialled: Python matches an IP address against the certificate's IP SANs. pika would
    default `server_hostname` to the connection's host; it is passed so that it never differs.
    """
    context = ssl.create_default_context(cafile=os.fspath(root_cert))
    return pika.SSLOptions(context, server_hostname=host)


def parameters(settings: RabbitSettings) -> pika.ConnectionParameters:
    tls = settings.tls
    if tls.enabled:
        assert tls.root_cert is not None  # ServerTls requires it when enabled
        options: pika.SSLOptions | None = ssl_options(tls.root_cert, settings.host)
    else:
        options = None
    return pika.ConnectionParameters(
        host=settings.host,
        port=settings.port,
        virtual_host=settings.vhost,
        credentials=pika.PlainCredentials(settings.user, settings.password),
        heartbeat=10,
        blocked_connection_timeout=10,
        connection_attempts=1,
        socket_timeout=3,
        ssl_options=options,
    )


def declare_topology(channel: BlockingChannel, settings: RabbitSettings) -> None:
    channel.exchange_declare(settings.exchange, exchange_type="topic", durable=True)
    channel.queue_declare(settings.counters_queue, durable=True, arguments={"x-queue-type": "quorum"})
    for key in ROUTING_KEYS:
        channel.queue_bind(settings.counters_queue, settings.exchange, routing_key=key)
