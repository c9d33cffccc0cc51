"""Run the Pulumi program of one stack under `pulumi.runtime.set_mocks`, offline.

`run_stack(env)` loads infra/Pulumi.<env>.yaml as the engine would hand it to the program
(scalars as strings, objects as JSON), with this harness's test CA as the internal CA (an
operator sets it with `pulumi config set`, it is never in the committed files), builds the stack
with mocks that record every resource and invoke, and returns the recorded resources and the
resolved stack outputs.
"""

from __future__ import annotations

import datetime
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from roadie_infra import outputs as outputs_module
from roadie_infra import program
from roadie_infra.config import INTERNAL_CA_KEY

INFRA = Path(__file__).resolve().parents[2] / "infra"
PROD_REGION = "eu-west-1"


def self_signed_certificate(common_name: str, *, ca: bool = True, expires: datetime.datetime | None = None) -> str:
    """A throwaway self-signed certificate, PEM: a CA (or not) expiring at `expires` (a day from now)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    not_after = expires or datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_after - datetime.timedelta(days=2))
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# The internal CA every stack run here gets: made for the tests, never a real environment's.
TEST_INTERNAL_CA_CERTIFICATE = self_signed_certificate("roadie internal CA (tests/infra test CA)")


def shipped_config(env: str) -> dict[str, str]:
    """infra/Pulumi.<env>.yaml as the config strings the engine passes to the program."""
    raw = yaml.safe_load((INFRA / f"Pulumi.{env}.yaml").read_text())["config"]
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in raw.items()}


def stack_config(env: str) -> dict[str, str]:
    """The shipped config with what an operator adds by `pulumi config set`: the test CA, and
    where users are served (prod, dr) the ALB's ACM certificate in the stack's region."""
    shipped = shipped_config(env)
    added = {INTERNAL_CA_KEY: TEST_INTERNAL_CA_CERTIFICATE}
    if env in ("prod", "dr"):
        added["roadie:certificateArn"] = f"arn:aws:acm:{shipped['aws:region']}:123456789012:certificate/0a1b2c3d-4e5f"
    return {**shipped, **added}


# What the prod stack exports that the dr stack reads through its StackReference.
PRIMARY_OUTPUTS: dict[str, Any] = {
    "vpc_id": "vpc-prod",
    "vpc_cidr": "10.10.0.0/16",
    "private_route_table_ids": ["rtb-prod-1", "rtb-prod-2", "rtb-prod-3"],
    "app_lb_dns_name": "lb-alb.eu-west-1.elb.amazonaws.com",
    "app_lb_zone_id": "Z32O12XQLNTSW2",
    "backup_replica_bucket_arn": "arn:aws:s3:::backups-replica",
    "backup_replica_key_arn": "arn:aws:kms:eu-central-1:123456789012:key/replica",
}


@dataclass(frozen=True)
class Recorded:
    """One resource as the engine (and the policy pack) sees it: camelCase inputs."""

    type: str
    name: str
    inputs: dict[str, Any]
    urn: str
    outputs: dict[str, Any]
    """Inputs plus what the provider computes (stack policies see these)."""


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Recorded] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        urn = f"urn:pulumi:test::roadie::{args.typ}::{args.name}"
        state = {**args.inputs, **_computed(args.typ, args.name, args.inputs)}
        self.resources.append(Recorded(args.typ, args.name, dict(args.inputs), urn, state))
        # An S3 bucket's id is its name, which is what the bucket's settings resources refer to.
        resource_id = state["bucket"] if args.typ == "aws:s3/bucket:Bucket" else f"{args.name}-id"
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        self.calls.append(args.token)
        if args.token == "kubernetes:yaml:decode":
            # The provider parses manifests; the mock does the same with PyYAML.
            return {"result": [doc for doc in yaml.safe_load_all(args.args["text"]) if doc]}
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-debian12", "architecture": "x86_64"}
        return {}


def _computed(typ: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 - one case per type
    """Outputs the provider would compute, for the resources whose outputs the program reads."""
    arn = {"arn": f"arn:aws:mock:::{name}"}
    if typ == "aws:ec2/instance:Instance":
        return {**arn, "privateIp": inputs.get("privateIp", "10.0.0.1")}
    if typ == "aws:eks/cluster:Cluster":
        return {
            **arn,
            "name": name,
            "endpoint": f"https://{name}.eks.amazonaws.com",
            "certificateAuthority": {"data": "Q0E="},
            "vpcConfig": {**inputs.get("vpcConfig", {}), "clusterSecurityGroupId": "sg-eks-cluster"},
        }
    if typ == "aws:eks/nodeGroup:NodeGroup":
        return {**arn, "resources": [{"autoscalingGroups": [{"name": f"eks-{name}-asg"}]}]}
    if typ == "aws:ec2/launchTemplate:LaunchTemplate":
        return {**arn, "latestVersion": 1}
    if typ == "aws:lb/loadBalancer:LoadBalancer":
        return {**arn, "dnsName": f"{name}.elb.amazonaws.com", "zoneId": "ZLBZONE"}
    if typ == "aws:s3/bucket:Bucket":
        return {"arn": f"arn:aws:s3:::{name}", "bucket": f"{name}-bucket"}
    if typ == "aws:kms/key:Key":
        return {"arn": f"arn:aws:kms:::key/{name}", "keyId": name}
    if typ == "aws:route53/record:Record":
        return {"fqdn": inputs.get("name", "")}
    if typ == "pulumi:pulumi:StackReference":
        return {"name": inputs.get("name"), "outputs": PRIMARY_OUTPUTS, "secretOutputNames": []}
    return arn


@dataclass
class StackRun:
    env: str
    resources: list[Recorded]
    outputs: dict[str, Any]
    calls: list[str]

    def of_type(self, typ: str) -> list[Recorded]:
        return [resource for resource in self.resources if resource.type == typ]

    def one(self, typ: str, name: str) -> Recorded:
        matches = [resource for resource in self.of_type(typ) if resource.name == name]
        assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
        return matches[0]


def run_stack(env: str, config: dict[str, str] | None = None) -> StackRun:
    """Build stack `env` (or `config`) with recording mocks and resolve its outputs."""
    mocks = RecordingMocks()
    pulumi.runtime.set_mocks(mocks, project="roadie", stack=env, preview=False)
    pulumi.runtime.set_all_config(config if config is not None else stack_config(env))
    exported: dict[str, Any] = {}
    resolved: dict[str, Any] = {}

    @pulumi.runtime.test
    def build() -> pulumi.Output[Any]:
        original = outputs_module.pulumi.export
        outputs_module.pulumi.export = exported.__setitem__
        try:
            program.main()
        finally:
            outputs_module.pulumi.export = original
        names = list(exported)
        return pulumi.Output.all(*[exported[name] for name in names]).apply(
            lambda values: resolved.update(zip(names, values, strict=True))
        )

    build()
    return StackRun(env, mocks.resources, resolved, mocks.calls)


_RUNS: dict[str, StackRun] = {}


def shipped_stack(env: str) -> StackRun:
    """`run_stack(env)` of the shipped config, built once per test session (about 1 s each)."""
    if env not in _RUNS:
        _RUNS[env] = run_stack(env)
    return _RUNS[env]
