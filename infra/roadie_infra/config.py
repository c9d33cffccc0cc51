"""Stack configuration: read the raw values and validate them before any resource exists.

`parse_settings` is a pure function of the raw config strings (as the Pulumi engine hands them
to the program: scalars as strings, objects as JSON), and of the clock for the internal CA's
expiry, so it is tested without the engine.
Every problem raises `StackConfigError` whose message starts with the config key.
"""

from __future__ import annotations

import datetime
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar, cast

import pulumi
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from roadie_infra.settings import (
    ENVIRONMENTS,
    AppNodeSettings,
    BackupSettings,
    DisasterRecoverySettings,
    Environment,
    StackSettings,
    TierSettings,
)
from roadie_infra.tiers import INSTANCE_STORE_FAMILIES, TIERS, TIERS_BY_KEY, instance_family

# Keys read from the `roadie` namespace; `aws:region` is read from the provider's namespace.
ROADIE_KEYS: tuple[str, ...] = (
    "environment",
    "availabilityZones",
    "vpcCidr",
    "natGateways",
    "kubernetesVersion",
    "appImage",
    "appNodes",
    "hosts",
    "ansibleUser",
    "adminCidrs",
    "peerCidrs",
    "backups",
    "dr",
    "amiId",
    "sshKeyName",
    "certificateArn",
    "internalCaCertificate",
)

# Kubernetes minor versions EKS offers (standard and extended support); the k8s/ manifests are
# schema-checked against each of them (tests/k8s).
EKS_KUBERNETES_VERSIONS: tuple[str, ...] = ("1.30", "1.31", "1.32", "1.33", "1.34", "1.35")

MIN_PROD_AZS = 3
MIN_BACKUP_RETENTION_DAYS = 90
MIN_ARCHIVE_RETENTION_DAYS = 365
PROD_APP_NODES_MIN = 3
PROD_APP_NODES_MAX = 50

# The public load balancer's certificate (ACM), in the stack's region.
CERTIFICATE_ARN = re.compile(r"arn:aws:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]+")
CERTIFICATE_FIX = (
    "request or import a certificate for the app's public name in ACM, in the stack's region, then "
    "`pulumi config set roadie:certificateArn <its ARN>` (the ALB serves HTTPS with it and redirects HTTP)"
)
INTERNAL_CA_KEY = "roadie:internalCaCertificate"
# How an operator makes and sets the CA (docs/deploy-aws.md): every refusal of the key says it.
INTERNAL_CA_FIX = (
    "create the CA with `roadie tls ca --dir DIR` (or `roadie tls issue -i <hosts.yml> -d DIR`), then "
    '`pulumi config set roadie:internalCaCertificate -- "$(cat DIR/ca.crt)"`'
)
# `roadie tls` keeps an existing CA (and refuses an expiring one): a new one needs a clean DIR,
# and every host's certificate is re-issued from it.
INTERNAL_CA_RENEW = "move DIR's ca.crt and ca.key aside (then `roadie tls issue` re-issues the hosts' certificates)"

T = TypeVar("T")


class StackConfigError(pulumi.RunError):
    """A stack config value is missing or invalid; the message names the key."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        super().__init__(f"{key}: {problem}")


def load_settings() -> StackSettings:
    """Read this stack's config through the Pulumi runtime and validate it."""
    roadie = pulumi.Config("roadie")
    raw: dict[str, str | None] = {f"roadie:{key}": roadie.get(key) for key in ROADIE_KEYS}
    raw["aws:region"] = pulumi.Config("aws").get("region")
    return parse_settings(raw)


def parse_settings(raw: Mapping[str, str | None]) -> StackSettings:
    """Validate raw config strings into `StackSettings` or raise `StackConfigError`."""
    reader = _Reader(raw)
    environment = cast(Environment, reader.choice("roadie:environment", ENVIRONMENTS))
    prod_grade = environment in ("prod", "dr")
    region = reader.text("aws:region")
    zones = _availability_zones(reader, region, environment)
    settings = StackSettings(
        environment=environment,
        region=region,
        availability_zones=zones,
        vpc_cidr=_vpc_cidr(reader),
        nat_per_az=_nat_per_az(reader, environment),
        kubernetes_version=reader.choice("roadie:kubernetesVersion", EKS_KUBERNETES_VERSIONS, default="1.33"),
        app_image=_app_image(reader),
        app_nodes=_app_nodes(reader, environment),
        tiers=_tiers(reader, prod_grade=environment == "prod", zone_count=len(zones), has_backups=environment != "dr"),
        ansible_user=reader.text("roadie:ansibleUser", default="admin"),
        admin_cidrs=_cidrs(reader, "roadie:adminCidrs", required=True),
        internal_ca_certificate=_internal_ca_certificate(reader),
        peer_cidrs=_cidrs(reader, "roadie:peerCidrs", required=False),
        backups=None if environment == "dr" else _backups(reader, region, environment),
        dr=_disaster_recovery(reader, region) if environment == "dr" else None,
        ami_id=reader.optional_text("roadie:amiId"),
        ssh_key_name=reader.optional_text("roadie:sshKeyName"),
        certificate_arn=_certificate_arn(reader, region, required=prod_grade),
    )
    if prod_grade and not settings.nat_per_az:
        raise StackConfigError("roadie:natGateways", f"{environment} needs one NAT gateway per AZ (per-az)")
    return settings


def _certificate_arn(reader: _Reader, region: str, *, required: bool) -> str | None:
    """The ALB's ACM certificate. Required where users buy tickets (prod, dr): without one the
    ALB serves the API, sessions and tokens included, in plain text on port 80."""
    key = "roadie:certificateArn"
    arn = reader.optional_text(key)
    if arn is None:
        if required:
            raise StackConfigError(key, f"is required: {CERTIFICATE_FIX}")
        return None
    if not CERTIFICATE_ARN.fullmatch(arn):
        expected = "arn:aws:acm:REGION:ACCOUNT:certificate/ID"
        raise StackConfigError(key, f"{arn!r} is not an ACM certificate ARN ({expected})")
    if arn.split(":")[3] != region:
        raise StackConfigError(key, f"the certificate is in {arn.split(':')[3]}, the ALB in {region}: ACM's must match")
    return arn


class _Reader:
    """Typed access to raw config strings, each failure naming its key."""

    def __init__(self, raw: Mapping[str, str | None]) -> None:
        self._raw = raw

    def optional_text(self, key: str) -> str | None:
        value = self._raw.get(key)
        return value.strip() or None if value is not None else None

    def text(self, key: str, default: str | None = None) -> str:
        value = self.optional_text(key) or default
        if value is None:
            raise StackConfigError(key, "is required")
        return value

    def choice(self, key: str, allowed: tuple[str, ...], default: str | None = None) -> str:
        value = self.text(key, default)
        if value not in allowed:
            raise StackConfigError(key, f"must be one of {', '.join(allowed)}, got {value!r}")
        return value

    def structured(self, key: str, kind: type[T], default: T | None = None) -> T:
        value = self.optional_text(key)
        if value is None:
            if default is None:
                raise StackConfigError(key, "is required")
            return default
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError as err:
            raise StackConfigError(key, f"is not valid structured config: {err}") from err
        if not isinstance(parsed, kind):
            raise StackConfigError(key, f"must be a {kind.__name__}")
        return parsed


def _field(obj: Mapping[str, Any], key: str, name: str, kind: Callable[[Any], T], default: T | None = None) -> T:
    """One field of a structured value, e.g. `roadie:appNodes.max`."""
    value = obj.get(name, default)
    full_key = f"{key}.{name}"
    if value is None:
        raise StackConfigError(full_key, "is required")
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise StackConfigError(full_key, f"must be an integer, got {value!r}")
    if kind is str and not (isinstance(value, str) and value):
        raise StackConfigError(full_key, f"must be a non-empty string, got {value!r}")
    return kind(value)


def _availability_zones(reader: _Reader, region: str, environment: str) -> tuple[str, ...]:
    key = "roadie:availabilityZones"
    zones = reader.structured(key, list)
    if not zones or not all(isinstance(zone, str) for zone in zones):
        raise StackConfigError(key, "must be a non-empty list of zone names")
    if len(set(zones)) != len(zones):
        raise StackConfigError(key, f"lists a zone twice: {zones}")
    foreign = [zone for zone in zones if not zone.startswith(region)]
    if foreign:
        raise StackConfigError(key, f"zones {foreign} are not in region {region}")
    if environment == "prod" and len(zones) < MIN_PROD_AZS:
        raise StackConfigError(key, f"prod needs at least {MIN_PROD_AZS} availability zones, got {len(zones)}")
    if len(zones) > MIN_PROD_AZS:
        # The address plan and the inventory's AZ groups (r1_az1..r1_az3) stop at three.
        raise StackConfigError(key, f"at most {MIN_PROD_AZS} availability zones are supported")
    return tuple(zones)


def _vpc_cidr(reader: _Reader) -> str:
    key = "roadie:vpcCidr"
    value = reader.text(key)
    try:
        network = ipaddress.IPv4Network(value)
    except ValueError as err:
        raise StackConfigError(key, f"is not an IPv4 network: {err}") from err
    if network.prefixlen != 16:
        raise StackConfigError(key, f"must be a /16, got /{network.prefixlen}")
    if not network.is_private:
        raise StackConfigError(key, f"{value} is not a private range")
    return str(network)


def _nat_per_az(reader: _Reader, environment: str) -> bool:
    default = "per-az" if environment in ("prod", "dr") else "single"
    return reader.choice("roadie:natGateways", ("per-az", "single"), default) == "per-az"


def _app_image(reader: _Reader) -> str:
    key = "roadie:appImage"
    image = reader.text(key)
    name = image.rsplit("/", 1)[-1]
    if "@" not in name and ":" not in name:
        raise StackConfigError(key, f"{image!r} needs an explicit tag or digest")
    if name.endswith(":latest"):
        raise StackConfigError(key, f"{image!r}: ':latest' makes rollouts unrepeatable, pin a version")
    return image


def _app_nodes(reader: _Reader, environment: str) -> AppNodeSettings:
    key = "roadie:appNodes"
    raw = reader.structured(key, dict)
    nodes = AppNodeSettings(
        instance_type=_field(raw, key, "instanceType", str),
        min_size=_field(raw, key, "min", int),
        max_size=_field(raw, key, "max", int),
        desired_size=_field(raw, key, "desired", int, default=raw.get("min")),
        target_cpu_percent=_field(raw, key, "targetCpuPercent", int, default=60),
    )
    if nodes.min_size < 0:
        raise StackConfigError(f"{key}.min", "must be >= 0")
    if nodes.max_size < nodes.min_size:
        raise StackConfigError(f"{key}.max", f"({nodes.max_size}) is below min ({nodes.min_size})")
    if not nodes.min_size <= nodes.desired_size <= nodes.max_size:
        raise StackConfigError(f"{key}.desired", f"({nodes.desired_size}) must lie between min and max")
    if not 10 <= nodes.target_cpu_percent <= 90:
        raise StackConfigError(f"{key}.targetCpuPercent", "must be between 10 and 90")
    if environment == "prod" and (nodes.min_size < PROD_APP_NODES_MIN or nodes.max_size < PROD_APP_NODES_MAX):
        raise StackConfigError(key, f"prod needs min >= {PROD_APP_NODES_MIN} and max >= {PROD_APP_NODES_MAX} app nodes")
    return nodes


def _tiers(reader: _Reader, *, prod_grade: bool, zone_count: int, has_backups: bool) -> dict[str, TierSettings]:
    key = "roadie:hosts"
    raw = reader.structured(key, dict)
    unknown = sorted(set(raw) - {tier.key for tier in TIERS})
    if unknown:
        raise StackConfigError(key, f"unknown tiers {unknown}")
    tiers: dict[str, TierSettings] = {}
    for spec in TIERS:
        tier_key = f"{key}.{spec.key}"
        tier_raw = raw.get(spec.key, {"count": 0, "instanceType": "none", "volumeGiB": 0})
        if not isinstance(tier_raw, dict):
            raise StackConfigError(tier_key, "must be an object")
        tier = TierSettings(
            count=_field(tier_raw, tier_key, "count", int),
            instance_type=_field(tier_raw, tier_key, "instanceType", str),
            volume_gib=_field(tier_raw, tier_key, "volumeGiB", int, default=0),
        )
        _check_tier(tier_key, spec.key, tier, prod_grade=prod_grade, zone_count=zone_count)
        tiers[spec.key] = tier
    if tiers["database"].count < 1:
        raise StackConfigError(f"{key}.database.count", "every stack needs at least one database host")
    # Every stack runs the app (its ConfigMap names these services), and a region's app depends
    # on nothing in another region: the DR region has its own Redis and RabbitMQ, as in the lab.
    for tier, service in (("cache", "Redis and Sentinel"), ("messaging", "RabbitMQ")):
        if tiers[tier].count < 1:
            raise StackConfigError(f"{key}.{tier}.count", f"the app needs {service}: at least one host")
    # pgBackRest has one repository host per stanza; the dr stack backs nothing up (it restores
    # from prod's replica bucket, and archives to prod's repository host once promoted).
    wanted = 1 if has_backups else 0
    if tiers["backup"].count != wanted:
        reason = "pgBackRest's repository host (one per stanza)" if has_backups else "none: dr makes no backups"
        raise StackConfigError(f"{key}.backup.count", f"must be {wanted}: {reason}")
    return tiers


def _check_tier(key: str, name: str, tier: TierSettings, *, prod_grade: bool, zone_count: int) -> None:
    spec = TIERS_BY_KEY[name]
    if tier.count < 0:
        raise StackConfigError(f"{key}.count", "must be >= 0")
    if prod_grade and spec.stateful and (tier.count < MIN_PROD_AZS or zone_count < MIN_PROD_AZS):
        raise StackConfigError(f"{key}.count", f"prod spreads {name} over {MIN_PROD_AZS} AZs: needs >= 3 hosts")
    if tier.count == 0:
        return
    if name == "database" and tier.count % 2 == 0:
        # etcd runs on the database hosts: an even member count adds no failure tolerance.
        raise StackConfigError(f"{key}.count", f"must be odd for an etcd quorum, got {tier.count}")
    if spec.instance_store and instance_family(tier.instance_type) not in INSTANCE_STORE_FAMILIES:
        raise StackConfigError(f"{key}.instanceType", f"{tier.instance_type} has no local NVMe instance storage")
    if not spec.instance_store and tier.volume_gib < 10:
        raise StackConfigError(f"{key}.volumeGiB", "needs a data volume of at least 10 GiB")


def _cidrs(reader: _Reader, key: str, *, required: bool) -> tuple[str, ...]:
    values = reader.structured(key, list, default=None if required else [])
    networks: list[str] = []
    for value in values:
        try:
            network = ipaddress.IPv4Network(value)
        except (ValueError, TypeError) as err:
            raise StackConfigError(key, f"{value!r} is not an IPv4 network") from err
        if network.prefixlen == 0:
            raise StackConfigError(key, "must not open hosts to the whole internet (0.0.0.0/0)")
        networks.append(str(network))
    return tuple(networks)


def _internal_ca_certificate(reader: _Reader) -> str:
    """The CA's certificate as canonical PEM. Refused here rather than in the pods: with a wrong
    or expired CA every pod fails to verify PostgreSQL and never gets ready."""
    key = INTERNAL_CA_KEY
    pem = reader.optional_text(key)
    if pem is None:
        raise StackConfigError(key, f"is required (the CA the app verifies PostgreSQL against): {INTERNAL_CA_FIX}")
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        # cryptography's reason (a URL to its FAQ) helps less than the fix.
        problem = "is not a PEM X.509 certificate (expected: DIR/ca.crt's content)"
        raise StackConfigError(key, f"{problem}: {INTERNAL_CA_FIX}") from None
    subject = cert.subject.rfc4514_string()
    if not _is_ca(cert):
        raise StackConfigError(key, f"{subject} is not a CA (a host's certificate?): {INTERNAL_CA_FIX}")
    expiry = cert.not_valid_after_utc
    if expiry <= datetime.datetime.now(datetime.UTC):
        raise StackConfigError(key, f"{subject} expired on {expiry:%Y-%m-%d}: {INTERNAL_CA_RENEW}, {INTERNAL_CA_FIX}")
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


def _backups(reader: _Reader, region: str, environment: str) -> BackupSettings:
    key = "roadie:backups"
    raw = reader.structured(key, dict)
    backups = BackupSettings(
        retention_days=_field(raw, key, "retentionDays", int),
        archive_retention_days=_field(raw, key, "archiveRetentionDays", int),
        replica_region=raw.get("replicaRegion"),
    )
    if backups.retention_days < MIN_BACKUP_RETENTION_DAYS:
        raise StackConfigError(f"{key}.retentionDays", f"must be >= {MIN_BACKUP_RETENTION_DAYS}")
    if backups.archive_retention_days < MIN_ARCHIVE_RETENTION_DAYS:
        raise StackConfigError(f"{key}.archiveRetentionDays", f"must be >= {MIN_ARCHIVE_RETENTION_DAYS}")
    if environment == "prod" and not backups.replica_region:
        raise StackConfigError(f"{key}.replicaRegion", "prod replicates backups to the DR region: required")
    if backups.replica_region == region:
        raise StackConfigError(f"{key}.replicaRegion", f"must differ from the stack's region {region}")
    return backups


def _disaster_recovery(reader: _Reader, region: str) -> DisasterRecoverySettings:
    key = "roadie:dr"
    raw = reader.structured(key, dict)
    dr = DisasterRecoverySettings(
        primary_stack=_field(raw, key, "primaryStack", str),
        primary_region=_field(raw, key, "primaryRegion", str),
        dns_zone_id=_field(raw, key, "dnsZoneId", str),
        dns_name=_field(raw, key, "dnsName", str),
    )
    if dr.primary_region == region:
        raise StackConfigError(f"{key}.primaryRegion", f"the DR region must differ from the primary ({region})")
    return dr
