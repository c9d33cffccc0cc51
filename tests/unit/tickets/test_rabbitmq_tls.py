"""The app reaches RabbitMQ over AMQPS only (TLS, no client certificate: it logs in with its user
and password), the broker's certificate verified against the internal CA and the address
dialled: the settings insist on it, `parameters()` hands pika that verification, the Ansible role
renders it, and against an in-process TLS listener with a certificate from roadie/tls.py pika
completes the handshake and speaks AMQP inside it, and refuses another CA's certificate or one
that does not name the address dialled, never falling back to plain text."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from dataclasses import dataclass, field

import pika
import pika.exceptions
import pytest

from app.common.rabbitmq import parameters
from app.common.settings import RabbitSettings, ServerTls, SettingsError, load_settings, settings_from
from roadie.tls import issue
from roadie.tls_files import TlsFiles
from tests.unit.tickets.test_tickets_settings import VALID, write

CA = "/etc/roadie-app/internal-ca.crt"
ADDRESS = "127.78.1.1"  # what the broker's certificate names
UNNAMED = "127.78.1.2"  # where a listener with the same certificate answers, not named in it
# What an AMQP 0-9-1 client sends first (pika's ProtocolHeader).
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"
TLS_HANDSHAKE_RECORD = 0x16


def with_rabbitmq_tls(tls):
    rabbitmq = {key: value for key, value in VALID["rabbitmq"].items() if key != "tls"}
    return {**VALID, "rabbitmq": rabbitmq if tls is None else {**rabbitmq, "tls": tls}}


# --- settings ---------------------------------------------------------------------------------


def test_rabbitmq_without_tls_settings_is_refused_by_name(tmp_path):
    with pytest.raises(SettingsError, match=r"rabbitmq\.tls: missing: set it in .* or as \$ROADIE_APP__RABBITMQ__TLS"):
        load_settings(write(tmp_path, with_rabbitmq_tls(None)))


@pytest.mark.parametrize("tls", [{}, {"enabled": True}, {"enabled": True, "root_cert": None}])
def test_tls_without_the_ca_to_verify_against_is_refused(tmp_path, tls):
    with pytest.raises(
        SettingsError, match=r"rabbitmq\.tls: .*root_cert \(the internal CA's certificate\) is required"
    ):
        load_settings(write(tmp_path, with_rabbitmq_tls(tls)))


def test_tls_is_on_by_default_and_off_only_by_name(tmp_path):
    settings = load_settings(write(tmp_path, with_rabbitmq_tls({"root_cert": CA})))
    assert (settings.rabbitmq.tls.enabled, str(settings.rabbitmq.tls.root_cert)) == (True, CA)
    assert settings.rabbitmq.port == 5671  # AMQPS, when the file names no port
    off = load_settings(write(tmp_path, with_rabbitmq_tls({"enabled": False})))
    assert not off.rabbitmq.tls.enabled


def test_an_unknown_tls_setting_is_refused(tmp_path):
    with pytest.raises(SettingsError, match=r"rabbitmq\.tls\.verify: Extra inputs are not permitted"):
        load_settings(write(tmp_path, with_rabbitmq_tls({"root_cert": CA, "verify": False})))


def test_the_ca_may_come_from_the_environment():
    settings = settings_from(with_rabbitmq_tls({}), {"ROADIE_APP__RABBITMQ__TLS__ROOT_CERT": CA})
    assert str(settings.rabbitmq.tls.root_cert) == CA


# --- parameters() -----------------------------------------------------------------------------


def rabbit_settings(tls: ServerTls, host: str = "10.1.4.14", port: int = 5671) -> RabbitSettings:
    return RabbitSettings(host=host, port=port, vhost="roadie", user="app", password="m", tls=tls)


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory) -> tuple[TlsFiles, TlsFiles]:
    """The internal CA with the broker's certificate, and another CA with one for the same name."""
    work = tmp_path_factory.mktemp("tls-rabbitmq")
    files, other = TlsFiles(work / "tls"), TlsFiles(work / "other-tls")
    inventory = {"all": {"hosts": {"mq-1": {"roadie_address": ADDRESS}}}}
    issue(files, inventory)
    issue(other, inventory)
    return files, other


def test_parameters_verify_the_broker_against_the_ca_only_and_by_the_host_dialled(tls_files):
    files, _ = tls_files
    params = parameters(rabbit_settings(ServerTls(root_cert=files.ca_cert), host="10.1.4.14"))
    options = params.ssl_options
    assert isinstance(options, pika.SSLOptions)
    assert options.server_hostname == params.host == "10.1.4.14"
    context = options.context
    assert (context.verify_mode, context.check_hostname) == (ssl.CERT_REQUIRED, True)
    # The CA file alone, not the system's store: a certificate from a public CA is refused too.
    assert len(context.get_ca_certs()) == 1
    (loaded,) = context.get_ca_certs()
    assert dict(part[0] for part in loaded["subject"]) == dict(part[0] for part in loaded["issuer"])  # the CA
    assert (params.port, params.credentials.username) == (5671, "app")  # still user and password


def test_tls_turned_off_by_name_connects_in_plain_text():
    assert parameters(rabbit_settings(ServerTls(enabled=False), port=5672)).ssl_options is None


def test_a_missing_ca_file_fails_the_connection_attempt_not_silently_to_plain_text(tmp_path):
    with pytest.raises(FileNotFoundError):
        parameters(rabbit_settings(ServerTls(root_cert=tmp_path / "absent.crt")))


# --- a real handshake, against an in-process TLS listener -----------------------------------


@dataclass
class Seen:
    """What one connection showed the listener: its first byte, then, if the TLS handshake
    succeeded, the first bytes read inside TLS (None when the handshake failed) and the error."""

    first_byte: int | None = None
    received: bytes | None = None
    error: str | None = None


@dataclass
class Listener:
    """A TLS server on `address` presenting `cert`: it reads the client's first bytes inside TLS,
    then hangs up (no broker speaks back)."""

    address: str
    context: ssl.SSLContext
    server: socket.socket = field(init=False)
    seen: list[Seen] = field(default_factory=list)
    served: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.server = socket.create_server((self.address, 0))
        self.server.settimeout(10)
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self.server.getsockname()[1])

    def _serve(self) -> None:
        while True:
            try:
                raw, _ = self.server.accept()
            except OSError:  # closed by the fixture, or nobody came
                return
            with raw:
                self.seen.append(self._one(raw))
            self.served.set()

    def _one(self, raw: socket.socket) -> Seen:
        seen = Seen()
        raw.settimeout(5)
        first = raw.recv(1, socket.MSG_PEEK)
        seen.first_byte = first[0] if first else None
        try:
            with self.context.wrap_socket(raw, server_side=True) as wrapped:
                seen.received = wrapped.recv(len(AMQP_HEADER))
        except (ssl.SSLError, OSError) as exc:
            seen.error = str(exc)
        return seen

    def only_connection(self) -> Seen:
        # The server side may finish after the client gave up: wait for it.
        assert self.served.wait(5), "no connection reached the listener"
        time.sleep(0.2)  # a second attempt, were there one, would have arrived by now
        assert len(self.seen) == 1, self.seen  # one attempt, no retry in plain text
        return self.seen[0]

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def listeners(tls_files):
    files, _ = tls_files
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(files.host_cert("mq-1"), files.host_key("mq-1"))
    started = {address: Listener(address, context) for address in (ADDRESS, UNNAMED)}
    yield started
    for listener in started.values():
        listener.close()


def connect(address: str, port: int, ca) -> Exception:
    """What pika raises connecting to address:port over TLS verified against `ca`."""
    settings = rabbit_settings(ServerTls(root_cert=ca), host=address, port=port)
    try:
        pika.BlockingConnection(parameters(settings)).close()
    except Exception as exc:  # the test looks at which error it is
        return exc
    raise AssertionError("connected: no broker listens there")


def test_pika_completes_the_handshake_with_the_internal_ca_and_speaks_amqp_inside_it(tls_files, listeners):
    files, _ = tls_files
    listener = listeners[ADDRESS]
    # The listener hangs up after the protocol header: the connection fails after TLS succeeded.
    assert isinstance(connect(ADDRESS, listener.port, files.ca_cert), pika.exceptions.AMQPConnectionError)
    seen = listener.only_connection()
    assert (seen.first_byte, seen.received, seen.error) == (TLS_HANDSHAKE_RECORD, AMQP_HEADER, None)


def test_a_certificate_from_another_ca_is_refused_and_nothing_goes_in_plain_text(tls_files, listeners):
    _, other = tls_files
    listener = listeners[ADDRESS]
    error = connect(ADDRESS, listener.port, other.ca_cert)
    assert isinstance(error, ssl.SSLCertVerificationError) and "unable to get local issuer" in str(error), error
    seen = listener.only_connection()
    assert (seen.first_byte, seen.received) == (TLS_HANDSHAKE_RECORD, None), seen


def test_a_certificate_that_does_not_name_the_address_dialled_is_refused(tls_files, listeners):
    files, _ = tls_files
    listener = listeners[UNNAMED]
    error = connect(UNNAMED, listener.port, files.ca_cert)
    assert isinstance(error, ssl.SSLCertVerificationError) and "IP address mismatch" in str(error), error
    seen = listener.only_connection()
    assert (seen.first_byte, seen.received) == (TLS_HANDSHAKE_RECORD, None), seen
