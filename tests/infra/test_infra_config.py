"""Stack config validation: every shipped stack file is valid, and each bad value stops the
program with a message that names the key."""

import datetime
import json

import pulumi
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from roadie_infra.config import INTERNAL_CA_KEY, StackConfigError, load_settings, parse_settings

from roadie import tls
from tests.infra.infra_harness import (
    TEST_INTERNAL_CA_CERTIFICATE,
    self_signed_certificate,
    shipped_config,
    stack_config,
)

ENVIRONMENTS = ("dev", "staging", "prod", "dr")


BACKUP_HOST = {"count": 1, "instanceType": "m6i.large", "volumeGiB": 600}


def with_changes(env: str, **changes: object) -> dict[str, str | None]:
    """The stack's config with some keys replaced (None removes a key); `a__b` is `roadie:a.b`."""
    raw: dict[str, str | None] = dict(stack_config(env))
    for name, value in changes.items():
        key, _, field = name.partition("__")
        full_key = key if ":" in key else f"roadie:{key}"
        if field:
            obj = json.loads(raw[full_key] or "{}")
            obj[field] = value
            raw[full_key] = json.dumps(obj)
        elif value is None:
            raw.pop(full_key, None)
        else:
            raw[full_key] = value if isinstance(value, str) else json.dumps(value)
    return raw


def error_of(raw: dict[str, str | None]) -> str:
    with pytest.raises(StackConfigError) as caught:
        parse_settings(raw)
    return str(caught.value)


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_shipped_stack_files_are_valid(env):
    # With the test CA the harness adds, as an operator adds the environment's.
    settings = parse_settings(stack_config(env))
    assert settings.environment == env
    assert len(settings.availability_zones) == 3
    assert settings.region_index == (2 if env == "dr" else 1)
    assert settings.internal_ca_certificate == TEST_INTERNAL_CA_CERTIFICATE


@pytest.mark.parametrize("env", ENVIRONMENTS)
def test_no_stack_file_commits_a_ca_and_none_is_valid_without_one(env):
    # The CA is the environment's: an operator's `pulumi config set` adds it (docs/deploy-aws.md).
    assert INTERNAL_CA_KEY not in shipped_config(env)
    assert error_of(dict(shipped_config(env))).startswith(f"{INTERNAL_CA_KEY}: is required")


def a_private_key() -> str:
    """What `cat DIR/ca.key` would paste instead of the certificate."""
    key = ec.generate_private_key(ec.SECP256R1())
    pkcs8, none = serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    return key.private_bytes(serialization.Encoding.PEM, pkcs8, none).decode()


YESTERDAY = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=1)


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        pytest.param(None, "is required", id="missing"),
        pytest.param("", "is required", id="empty"),
        pytest.param("ca.crt", "is not a PEM X.509 certificate", id="not-pem"),
        pytest.param(a_private_key(), "is not a PEM X.509 certificate", id="the-key"),
        pytest.param(
            self_signed_certificate("db-1", ca=False), "CN=db-1 is not a CA (a host's certificate?)", id="not-a-ca"
        ),
        pytest.param(
            self_signed_certificate("roadie internal CA (expired test CA)", expires=YESTERDAY),
            f"expired on {YESTERDAY:%Y-%m-%d}: move DIR's ca.crt and ca.key aside (then `roadie tls issue`",
            id="expired",
        ),
    ],
)
def test_a_missing_or_wrong_internal_ca_is_refused_with_the_fix(value, problem):
    message = error_of(with_changes("prod", internalCaCertificate=value))
    assert message.startswith(f"{INTERNAL_CA_KEY}: "), message
    assert problem in message
    assert "`roadie tls ca --dir DIR`" in message
    assert '`pulumi config set roadie:internalCaCertificate -- "$(cat DIR/ca.crt)"`' in message


def test_the_ca_roadie_tls_creates_is_accepted_as_canonical_pem(tmp_path):
    files = tls.TlsFiles(tmp_path / "tls")
    tls.ensure_ca(files, "prod")
    # `$(cat ca.crt)` drops the final newline; the ConfigMap gets the certificate as written.
    pasted = files.ca_cert.read_text().rstrip("\n")
    settings = parse_settings(with_changes("prod", internalCaCertificate=pasted))
    assert settings.internal_ca_certificate == files.ca_cert.read_text()


def test_the_program_reads_the_ca_from_the_stack_config():
    pulumi.runtime.set_all_config(stack_config("dev"))
    assert load_settings().internal_ca_certificate == TEST_INTERNAL_CA_CERTIFICATE


def test_prod_has_the_promised_shape():
    settings = parse_settings(stack_config("prod"))
    assert settings.nat_per_az
    assert (settings.app_nodes.min_size, settings.app_nodes.max_size) == (3, 50)
    assert all(settings.tiers[tier].count >= 3 for tier in ("database", "cache", "messaging", "offerStore"))
    assert settings.backups is not None
    assert settings.backups.replica_region == parse_settings(stack_config("dr")).region


def test_dr_region_differs_from_primary():
    dr = parse_settings(stack_config("dr"))
    prod = parse_settings(stack_config("prod"))
    assert dr.dr is not None
    assert dr.region != dr.dr.primary_region == prod.region


@pytest.mark.parametrize(
    ("env", "changes", "key"),
    [
        ("prod", {"availabilityZones": ["eu-west-1a", "eu-west-1b"]}, "roadie:availabilityZones"),
        ("dev", {"availabilityZones": ["eu-west-1a", "us-east-1b"]}, "roadie:availabilityZones"),
        ("dev", {"appNodes__max": 0}, "roadie:appNodes.max"),
        ("staging", {"appNodes__min": 5, "appNodes__desired": 5, "appNodes__max": 4}, "roadie:appNodes.max"),
        ("prod", {"appNodes__min": 2, "appNodes__desired": 2}, "roadie:appNodes"),
        ("prod", {"appNodes__max": 20}, "roadie:appNodes"),
        ("dev", {"appNodes__min": "three"}, "roadie:appNodes.min"),
        ("prod", {"natGateways": "single"}, "roadie:natGateways"),
        ("dev", {"natGateways": "none"}, "roadie:natGateways"),
        ("dev", {"environment": None}, "roadie:environment"),
        ("dev", {"environment": "qa"}, "roadie:environment"),
        ("dev", {"aws:region": None}, "aws:region"),
        ("dev", {"vpcCidr": "10.30.0.0/20"}, "roadie:vpcCidr"),
        ("dev", {"vpcCidr": "8.8.0.0/16"}, "roadie:vpcCidr"),
        ("dev", {"appImage": "ghcr.io/roadie/app"}, "roadie:appImage"),
        ("dev", {"appImage": "ghcr.io/roadie/app:latest"}, "roadie:appImage"),
        ("dev", {"kubernetesVersion": "1.21"}, "roadie:kubernetesVersion"),
        ("dev", {"adminCidrs": ["0.0.0.0/0"]}, "roadie:adminCidrs"),
        ("dev", {"adminCidrs": None}, "roadie:adminCidrs"),
        ("dev", {"hosts": "not json"}, "roadie:hosts"),
        (
            "dev",
            {"hosts": {"database": {"count": 1, "instanceType": "t3.large", "volumeGiB": 20}, "db": {}}},
            "roadie:hosts",
        ),
        (
            "dev",
            {"hosts": {"database": {"count": 2, "instanceType": "t3.large", "volumeGiB": 20}}},
            "roadie:hosts.database.count",
        ),
        (
            "dev",
            {"hosts": {"database": {"count": 0, "instanceType": "t3.large", "volumeGiB": 20}}},
            "roadie:hosts.database.count",
        ),
        (
            "dev",
            {"hosts": {"database": {"count": 1, "instanceType": "t3.large"}}},
            "roadie:hosts.database.volumeGiB",
        ),
        (
            "prod",
            {"hosts__cache": {"count": 1, "instanceType": "r6i.large", "volumeGiB": 50}},
            "roadie:hosts.cache.count",
        ),
        (
            "prod",
            {"hosts__offerStore": {"count": 3, "instanceType": "r6i.large"}},
            "roadie:hosts.offerStore.instanceType",
        ),
        # Every stack runs the app, whose ConfigMap names its Redis and RabbitMQ.
        (
            "dr",
            {"hosts": {"database": {"count": 1, "instanceType": "r6i.xlarge", "volumeGiB": 500}}},
            "roadie:hosts.cache.count",
        ),
        ("dr", {"hosts__messaging": {"count": 0, "instanceType": "m6i.large"}}, "roadie:hosts.messaging.count"),
        # pgBackRest: exactly one repository host where backups are made, none in dr.
        ("prod", {"hosts__backup": {**BACKUP_HOST, "count": 0}}, "roadie:hosts.backup.count"),
        ("prod", {"hosts__backup": {**BACKUP_HOST, "count": 2}}, "roadie:hosts.backup.count"),
        ("dr", {"hosts__backup": BACKUP_HOST}, "roadie:hosts.backup.count"),
        ("dev", {"backups__retentionDays": 30}, "roadie:backups.retentionDays"),
        ("dev", {"backups__archiveRetentionDays": 90}, "roadie:backups.archiveRetentionDays"),
        ("prod", {"backups__replicaRegion": None}, "roadie:backups.replicaRegion"),
        ("prod", {"backups__replicaRegion": "eu-west-1"}, "roadie:backups.replicaRegion"),
        ("dr", {"dr__primaryRegion": "eu-central-1"}, "roadie:dr.primaryRegion"),
        ("dr", {"dr__primaryStack": None}, "roadie:dr.primaryStack"),
        ("dr", {"dr": None}, "roadie:dr"),
        # Users are served over HTTPS only where they buy tickets: the ALB needs its certificate.
        ("prod", {"certificateArn": None}, "roadie:certificateArn"),
        ("dr", {"certificateArn": None}, "roadie:certificateArn"),
        ("dev", {"certificateArn": "arn:aws:iam::123456789012:server-certificate/x"}, "roadie:certificateArn"),
        ("prod", {"certificateArn": "arn:aws:acm:us-east-1:123456789012:certificate/0a1b"}, "roadie:certificateArn"),
    ],
)
def test_invalid_config_names_the_key(env, changes, key):
    message = error_of(with_changes(env, **changes))
    assert message.startswith(f"{key}:"), message


@pytest.mark.parametrize("env", ["dev", "staging"])
def test_a_certificate_is_optional_before_users_are_served(env):
    assert parse_settings(with_changes(env, certificateArn=None)).certificate_arn is None


def test_program_stops_before_creating_anything_on_bad_config():
    # Through the real Pulumi config path: load_settings reads what the engine hands over.
    pulumi.runtime.set_all_config(with_changes("prod", availabilityZones=["eu-west-1a"]))
    with pytest.raises(StackConfigError, match=r"^roadie:availabilityZones: prod needs at least 3"):
        load_settings()
    assert issubclass(StackConfigError, pulumi.RunError)  # the CLI shows the message, no traceback
