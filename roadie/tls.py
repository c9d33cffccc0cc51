"""The environment's internal CA and every host's certificate, issued from an inventory.

One CA per environment signs one certificate per host. A certificate names what clients
dial to reach the host: its inventory name and address, and, for a host behind a TCP load
balancer that passes TLS through (PostgreSQL behind HAProxy or an NLB), that balancer's
addresses and endpoint name too, so a client that verifies the server's name (libpq's
`sslmode=verify-full`) accepts the member it lands on.

`roadie lab up` issues them into `<lab root>/tls`; for AWS, `roadie tls issue` does the same
from the generated inventory into a directory the operator keeps like the Vault password
(README "Security"). Keys are 0600; a certificate is re-issued when its names change, when it
was signed by another CA or when it expires within RENEW_BEFORE.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from roadie.errors import RoadieError
from roadie.inventory.build import host_groups
from roadie.inventory.groups import TLS_PASSTHROUGH
from roadie.tls_files import TlsFiles

CA_DAYS = 3650
# The toolkit's client certificate's name (TlsFiles.operator_cert).
OPERATOR = "roadie-operator"
HOST_DAYS = 397
RENEW_BEFORE = datetime.timedelta(days=30)


def host_names(inventory: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every host's certificate names: its own name and address, then the addresses and
    endpoint of each load balancer that passes TLS through to its group (TLS_PASSTHROUGH)."""
    variables = _host_vars(inventory)
    groups = host_groups(inventory)
    top = (inventory.get("all") or {}).get("vars") or {}
    names: dict[str, list[str]] = {}
    for host, hostvars in sorted(variables.items()):
        address = str(hostvars["roadie_address"])
        # The address as a DNS name too: pgBackRest matches the host it dials against DNS
        # names only (libpq and OpenSSL check IP entries).
        own = [f"DNS:{host}", f"IP:{address}", f"DNS:{address}"]
        for backend, (balancers, endpoint_var) in TLS_PASSTHROUGH.items():
            if backend in groups.get(host, set()):
                fronts = sorted(lb for lb, lb_groups in groups.items() if balancers in lb_groups)
                own += [f"IP:{variables[lb]['roadie_address']}" for lb in fronts]
                own += [_typed(_endpoint_host(top[endpoint_var]))] if top.get(endpoint_var) else []
        names[host] = list(dict.fromkeys(own))
    return names


def _host_vars(inventory: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found: dict[str, Mapping[str, Any]] = {}

    def walk(group: Mapping[str, Any]) -> None:
        for name, hostvars in (group.get("hosts") or {}).items():
            if hostvars and "roadie_address" in hostvars:
                found[name] = hostvars
        for child in (group.get("children") or {}).values():
            walk(child or {})

    walk(inventory.get("all") or {})
    return found


def _endpoint_host(endpoint: str) -> str:
    """`db.example.internal` of `db.example.internal:5000` (and of a bare name)."""
    return endpoint.rsplit(":", 1)[0] if endpoint.count(":") == 1 else endpoint


def issue(files: TlsFiles, inventory: Mapping[str, Any], now: datetime.datetime | None = None) -> list[str]:
    """Create the CA once, then every host's key and certificate that is missing or stale;
    the hosts whose certificate was (re)issued, in name order."""
    moment = now or datetime.datetime.now(datetime.UTC)
    environment = str(((inventory.get("all") or {}).get("vars") or {}).get("roadie_environment", "lab"))
    ca = _ensure_ca(files, environment, moment)
    issued = []
    wanted = {
        host: (names, files.host_cert(host), files.host_key(host)) for host, names in host_names(inventory).items()
    }
    wanted[OPERATOR] = ([f"DNS:{OPERATOR}"], files.operator_cert, files.operator_key)
    for name, (names, cert_path, key_path) in wanted.items():
        if _current(cert_path, key_path, names, ca.cert, moment):
            continue
        key = _ensure_key(key_path)
        cert = ca.sign(name, names, key.public_key(), moment)
        _write(cert_path, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        issued.append(name)
    return issued


def rotate(files: TlsFiles, inventory: Mapping[str, Any], host: str, now: datetime.datetime | None = None) -> str:
    """A new key and certificate for `host` (the old key is discarded, as after a suspected
    leak); the new certificate's serial number, in hex."""
    moment = now or datetime.datetime.now(datetime.UTC)
    names = host_names(inventory)
    if host not in names:
        raise RoadieError(f"no host named {host!r} in the inventory (hosts: {', '.join(names)})")
    environment = str(((inventory.get("all") or {}).get("vars") or {}).get("roadie_environment", "lab"))
    ca = _ensure_ca(files, environment, moment)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = ca.sign(host, names[host], key.public_key(), moment)
    _write(files.host_key(host), _pem_key(key), 0o600)
    _write(files.host_cert(host), cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return f"{cert.serial_number:x}"


def ensure_ca(files: TlsFiles, environment: str, now: datetime.datetime | None = None) -> x509.Certificate:
    """The environment's CA certificate, created if `files` holds none yet (else the existing
    one, refused when it is about to expire). On AWS the app's stack config needs it before
    the first `pulumi up`, when there is no inventory to `issue` from."""
    return _ensure_ca(files, environment, now or datetime.datetime.now(datetime.UTC)).cert


@dataclass(frozen=True)
class _Ca:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    def sign(
        self, host: str, names: list[str], public: ec.EllipticCurvePublicKey, now: datetime.datetime
    ) -> x509.Certificate:
        return (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(self.cert.subject)
            .public_key(public)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=HOST_DAYS))
            .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # Server and client: replication, etcd peers and Redis replicas are both at once.
            .add_extension(
                x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                critical=False,
            )
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), critical=False)
            .sign(self.key, hashes.SHA256())
        )


def _ensure_ca(files: TlsFiles, environment: str, now: datetime.datetime) -> _Ca:
    if files.ca_cert.exists() and files.ca_key.exists():
        ca = _Ca(_load_key(files.ca_key), x509.load_pem_x509_certificate(files.ca_cert.read_bytes()))
        if ca.cert.not_valid_after_utc - now < RENEW_BEFORE:
            expiry = f"{ca.cert.not_valid_after_utc:%Y-%m-%d}"
            raise RoadieError(f"the internal CA {files.ca_cert} expires on {expiry}: replace it")
        return ca
    if files.ca_cert.exists() or files.ca_key.exists():
        half = "ca.crt or ca.key alone"
        raise RoadieError(f"{files.directory} holds half a CA ({half}): restore the other, or remove both")
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"roadie internal CA ({environment})")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=CA_DAYS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write(files.ca_key, _pem_key(key), 0o600)
    _write(files.ca_cert, cert.public_bytes(serialization.Encoding.PEM), 0o644)
    return _Ca(key, cert)


def _current(path: Path, key: Path, names: list[str], ca: x509.Certificate, now: datetime.datetime) -> bool:
    """The certificate at `path` (and its key) exists, names exactly `names`, comes from this
    CA and is not about to expire."""
    if not (path.exists() and key.exists()):
        return False
    cert = x509.load_pem_x509_certificate(path.read_bytes())
    return (
        cert.issuer == ca.subject
        and _signed_by(cert, ca)
        and certificate_names(cert) == names
        and cert.not_valid_after_utc - now >= RENEW_BEFORE
    )


def _signed_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    try:
        cert.verify_directly_issued_by(ca)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def certificate_names(cert: x509.Certificate) -> list[str]:
    """The subject alternative names of `cert`, in their order, as `DNS:<name>` or `IP:<address>`."""
    extension = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return [f"{'IP' if isinstance(entry, x509.IPAddress) else 'DNS'}:{entry.value}" for entry in extension]


def _typed(name: str) -> str:
    """`IP:<name>` for an address, `DNS:<name>` for anything else."""
    try:
        return f"IP:{ipaddress.ip_address(name)}"
    except ValueError:
        return f"DNS:{name}"


def _general_name(entry: str) -> x509.GeneralName:
    kind, _, value = entry.partition(":")
    return x509.IPAddress(ipaddress.ip_address(value)) if kind == "IP" else x509.DNSName(value)


def _ensure_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The host's key, kept across re-issues (a new certificate for the same key)."""
    if path.exists():
        return _load_key(path)
    key = ec.generate_private_key(ec.SECP256R1())
    _write(path, _pem_key(key), 0o600)
    return key


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise RoadieError(f"{path} is readable by others (mode {mode:o}); expected 0600")
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise RoadieError(f"{path} is not an EC private key")
    return key


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    pkcs8 = serialization.PrivateFormat.PKCS8
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())


def _write(path: Path, data: bytes, mode: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)
