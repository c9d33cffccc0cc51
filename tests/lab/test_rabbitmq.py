"""RabbitMQ: AMQPS and HTTPS metrics only, verified against the internal CA; clustering over mutual
TLS; the app user publishes with confirms and consumes on its vhost (quorum queues by default);
guest and the app user outside its vhost are refused."""

import socket
import ssl
import uuid

import httpx
import pika
import pytest

from roadie import tls
from roadie.services import internal_tls, registry
from tests.support import manifest

REFUSED = (
    pika.exceptions.ProbableAuthenticationError,
    pika.exceptions.ProbableAccessDeniedError,
    pika.exceptions.ConnectionClosedByBroker,
)


def node(lab, running_hosts):
    host = next(h for h in running_hosts if "rabbitmq" in h.groups)
    entry = manifest(host, "rabbitmq")
    return entry["address"], int(entry["ports"]["amqp"]), entry["vhost"]


def parameters(address, port, vhost, user, password, ssl_options=None):
    return pika.ConnectionParameters(
        address,
        port,
        vhost,
        pika.PlainCredentials(user, password),
        connection_attempts=1,
        socket_timeout=5,
        ssl_options=ssl_options or internal_tls.amqp_ssl_options(address),
    )


def test_app_user_publishes_with_confirms_and_consumes(lab, lab_secrets, running_hosts):
    address, port, vhost = node(lab, running_hosts)
    queue = f"lab-check-{uuid.uuid4().hex[:8]}"
    params = parameters(address, port, vhost, "app", lab_secrets["rabbitmq_app"])
    with pika.BlockingConnection(params) as conn:
        channel = conn.channel()
        channel.confirm_delivery()
        declared = channel.queue_declare(queue, durable=True)
        assert declared.method.queue == queue
        for i in range(50):
            channel.basic_publish("", queue, f"m{i}".encode(), pika.BasicProperties(delivery_mode=2), mandatory=True)
    with pika.BlockingConnection(params) as conn:
        channel = conn.channel()
        received = []
        for method, _, body in channel.consume(queue, inactivity_timeout=5):
            if method is None:
                break
            received.append(body.decode())
            channel.basic_ack(method.delivery_tag)
            if len(received) == 50:
                break
        channel.cancel()
        channel.queue_delete(queue)
    assert received == [f"m{i}" for i in range(50)]


def test_queues_are_quorum_queues_by_default(lab, lab_secrets, running_hosts):
    address, port, vhost = node(lab, running_hosts)
    queue = f"lab-check-{uuid.uuid4().hex[:8]}"
    with pika.BlockingConnection(parameters(address, port, vhost, "app", lab_secrets["rabbitmq_app"])) as conn:
        channel = conn.channel()
        channel.queue_declare(queue, durable=True)
        # A classic-only argument is rejected by a quorum queue: the redeclare proves the type.
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="PRECONDITION_FAILED"):
            channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "classic"})
        conn.channel().queue_delete(queue)


@pytest.mark.parametrize(
    ("user", "secret", "vhost"),
    [("guest", None, None), ("guest", None, "/"), ("app", "wrong-password-12345", None), ("app", "rabbitmq_app", "/")],
)
def test_guest_and_wrong_credentials_are_refused(lab, lab_secrets, running_hosts, user, secret, vhost):
    address, port, app_vhost = node(lab, running_hosts)
    password = lab_secrets.get(secret, secret) if secret else "guest"
    with pytest.raises(REFUSED):
        pika.BlockingConnection(parameters(address, port, vhost or app_vhost, user, password)).close()


def test_plain_amqp_is_refused(lab, lab_secrets, running_hosts):
    address, port, vhost = node(lab, running_hosts)
    plain = pika.ConnectionParameters(
        address,
        port,
        vhost,
        pika.PlainCredentials("app", lab_secrets["rabbitmq_app"]),
        connection_attempts=1,
        socket_timeout=5,
    )
    with pytest.raises(pika.exceptions.AMQPConnectionError):
        pika.BlockingConnection(plain)


def test_a_certificate_from_another_ca_is_refused(lab, lab_secrets, running_hosts, tmp_path):
    address, port, vhost = node(lab, running_hosts)
    other = tls.TlsFiles(tmp_path / "other-ca")
    tls.ensure_ca(other, "other")
    foreign = pika.SSLOptions(ssl.create_default_context(cafile=str(other.ca_cert)), server_hostname=address)
    # pika raises the handshake's own error, not one of its AMQP errors.
    with pytest.raises(ssl.SSLCertVerificationError, match="CERTIFICATE_VERIFY_FAILED"):
        pika.BlockingConnection(parameters(address, port, vhost, "app", lab_secrets["rabbitmq_app"], foreign))


def test_metrics_are_served_over_https_only(lab, running_hosts):
    host = next(h for h in running_hosts if "rabbitmq" in h.groups)
    url = registry.service(host, "rabbitmq").url("prometheus", "/metrics")
    assert url.startswith("https://")
    answer = httpx.get(url, timeout=5, verify=internal_tls.http_verify())
    assert answer.status_code == 200 and "rabbitmq_identity_info" in answer.text
    with pytest.raises(httpx.HTTPError):
        httpx.get(url.replace("https://", "http://"), timeout=5)


def distribution_answer(address: str, port: int, context: ssl.SSLContext) -> str:
    """What a node's Erlang distribution port does with a TLS client: 'refused' (the handshake
    or the first read fails, or the node hangs up), or 'waiting' (TLS is up and the node waits
    for the distribution handshake)."""
    try:
        with (
            socket.create_connection((address, port), timeout=5) as raw,
            context.wrap_socket(raw, server_hostname=address) as wrapped,
        ):
            wrapped.settimeout(2)
            return "refused" if wrapped.recv(1) == b"" else "answered"
    except TimeoutError:
        return "waiting"
    except (ssl.SSLError, ConnectionError):
        return "refused"


def test_clustering_runs_over_mutual_tls(lab, running_hosts):
    """The distribution port (clustering, quorum queue replication, the CLI tools) serves TLS
    with the node's certificate and requires one from the CA: without it the node refuses."""
    host = next(h for h in running_hosts if "rabbitmq" in h.groups)
    dist = registry.service(host, "rabbitmq").endpoint("dist")
    assert distribution_answer(dist.address, dist.port, internal_tls.http_verify()) == "refused"
    # The control: the operator's certificate, from the same CA, is let in.
    assert distribution_answer(dist.address, dist.port, internal_tls.http_client()) == "waiting"
