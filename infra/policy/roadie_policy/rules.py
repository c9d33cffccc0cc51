"""The rules of roadie's policy pack as plain functions over engine properties.

Each resource rule takes the resource type and its properties (the engine's camelCase names)
and returns the violations as sentences; `stateful_tiers_span_azs` takes every resource of the
stack. Nothing here starts the policy server, so tests call these directly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Props = Mapping[str, Any]

INSTANCE = "aws:ec2/instance:Instance"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EBS_VOLUME = "aws:ebs/volume:Volume"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
EKS_CLUSTER = "aws:eks/cluster:Cluster"

WORLD = ("0.0.0.0/0", "::/0")
PUBLIC_LB_TIER = "lb"
PUBLIC_LB_PORTS = (80, 443)
MIN_BACKUP_RETENTION_DAYS = 90
MIN_PROD_AZS = 3
STATEFUL_TIERS = ("database", "cache", "messaging", "offerStore")
"""Tiers holding data of record (the program's `TierSpec.stateful`; a test keeps them equal)."""
PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@dataclass(frozen=True)
class Resource:
    """What a stack rule needs of one resource."""

    resource_type: str
    urn: str
    props: Props
    depends_on: frozenset[str] = frozenset()
    """URNs of the resources this one depends on."""


def _tags(props: Props) -> Mapping[str, Any]:
    return props.get("tags") or {}


def _is_true(value: object) -> bool:
    # LaunchTemplate takes its EBS booleans as strings ("true").
    return value is True or value == "true"


def no_open_ingress(resource_type: str, props: Props) -> list[str]:
    """No ingress from the whole internet, except the public load balancer on 80 and 443."""
    if resource_type == SECURITY_GROUP:
        rules: Sequence[Props] = [
            {**rule, "cidrs": [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]}
            for rule in props.get("ingress") or []
        ]
    elif resource_type == INGRESS_RULE:
        rules = [{**props, "cidrs": [props.get("cidrIpv4"), props.get("cidrIpv6")]}]
    elif resource_type == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        rules = [{**props, "cidrs": [*(props.get("cidrBlocks") or []), *(props.get("ipv6CidrBlocks") or [])]}]
    else:
        return []
    exempt_tier = _tags(props).get("roadie:tier") == PUBLIC_LB_TIER
    violations = []
    for rule in rules:
        if not any(cidr in WORLD for cidr in rule["cidrs"]):
            continue
        ports = (rule.get("fromPort"), rule.get("toPort"))
        if exempt_tier and ports[0] == ports[1] and ports[0] in PUBLIC_LB_PORTS:
            continue
        violations.append(
            f"ingress on ports {ports[0]}-{ports[1]} is open to the internet; only the public load "
            f"balancer (tag roadie:tier={PUBLIC_LB_TIER}) may be, on 80 and 443"
        )
    return violations


def storage_encrypted(resource_type: str, props: Props) -> list[str]:
    """Every disk, database and Kubernetes secret store is encrypted at rest."""
    check = _ENCRYPTION_CHECKS.get(resource_type)
    return check(props) if check else []


def _instance_unencrypted(props: Props) -> list[str]:
    problems = []
    if not _is_true((props.get("rootBlockDevice") or {}).get("encrypted")):
        problems.append("root volume is not encrypted (rootBlockDevice.encrypted)")
    for device in props.get("ebsBlockDevices") or []:
        if not _is_true(device.get("encrypted")):
            problems.append(f"EBS volume {device.get('deviceName')} is not encrypted")
    return problems


def _launch_template_unencrypted(props: Props) -> list[str]:
    return [
        f"launch template volume {mapping.get('deviceName')} is not encrypted"
        for mapping in props.get("blockDeviceMappings") or []
        if mapping.get("ebs") is not None and not _is_true(mapping["ebs"].get("encrypted"))
    ]


def _flag_unset(flag: str, message: str) -> Callable[[Props], list[str]]:
    return lambda props: [] if _is_true(props.get(flag)) else [message]


def _eks_secrets_unencrypted(props: Props) -> list[str]:
    resources = [r for config in _as_list(props.get("encryptionConfig")) for r in config.get("resources") or []]
    return [] if "secrets" in resources else ["Kubernetes secrets are not envelope-encrypted (encryptionConfig)"]


def _bucket_default_unencrypted(props: Props) -> list[str]:
    algorithms = [
        (rule.get("applyServerSideEncryptionByDefault") or {}).get("sseAlgorithm") for rule in props.get("rules") or []
    ]
    return (
        []
        if algorithms and all(a in ("aws:kms", "aws:kms:dsse", "AES256") for a in algorithms)
        else ["bucket default encryption is not set"]
    )


_ENCRYPTION_CHECKS: dict[str, Callable[[Props], list[str]]] = {
    INSTANCE: _instance_unencrypted,
    LAUNCH_TEMPLATE: _launch_template_unencrypted,
    EBS_VOLUME: _flag_unset("encrypted", "EBS volume is not encrypted"),
    RDS_INSTANCE: _flag_unset("storageEncrypted", "database storage is not encrypted (storageEncrypted)"),
    RDS_CLUSTER: _flag_unset("storageEncrypted", "database storage is not encrypted (storageEncrypted)"),
    EKS_CLUSTER: _eks_secrets_unencrypted,
    BUCKET_ENCRYPTION: _bucket_default_unencrypted,
}


def _as_list(value: object) -> list[Props]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]  # type: ignore[list-item]


def public_access_blocked(resource_type: str, props: Props) -> list[str]:
    """A bucket's public access block turns on all four protections."""
    if resource_type != BUCKET_PUBLIC_ACCESS_BLOCK:
        return []
    off = [flag for flag in PUBLIC_ACCESS_FLAGS if not _is_true(props.get(flag))]
    return [f"public access block leaves {', '.join(off)} off"] if off else []


def backup_retention(resource_type: str, props: Props) -> list[str]:
    """No enabled lifecycle rule deletes objects, or their old versions, before 90 days."""
    if resource_type != BUCKET_LIFECYCLE:
        return []
    problems = []
    for rule in props.get("rules") or []:
        if rule.get("status") != "Enabled":
            continue
        name = rule.get("id", "?")
        days = (rule.get("expiration") or {}).get("days")
        if days is not None and days < MIN_BACKUP_RETENTION_DAYS:
            problems.append(f"rule {name} expires objects after {days} days (< {MIN_BACKUP_RETENTION_DAYS})")
        noncurrent = (rule.get("noncurrentVersionExpiration") or {}).get("noncurrentDays")
        if noncurrent is not None and noncurrent < MIN_BACKUP_RETENTION_DAYS:
            problems.append(f"rule {name} expires old versions after {noncurrent} days (< {MIN_BACKUP_RETENTION_DAYS})")
    return problems


def imdsv2_required(resource_type: str, props: Props) -> list[str]:
    """Instances and launch templates require IMDSv2 session tokens."""
    if resource_type not in (INSTANCE, LAUNCH_TEMPLATE):
        return []
    tokens = (props.get("metadataOptions") or {}).get("httpTokens")
    return [] if tokens == "required" else [f"IMDSv2 is not required (metadataOptions.httpTokens={tokens})"]


def buckets_protected(resources: Iterable[Resource]) -> list[tuple[str, str]]:
    """Every bucket has a default-encryption configuration and a public access block."""
    resources = list(resources)
    problems = []
    for bucket in (r for r in resources if r.resource_type == BUCKET):
        for kind, what in (
            (BUCKET_ENCRYPTION, "default encryption"),
            (BUCKET_PUBLIC_ACCESS_BLOCK, "public access block"),
        ):
            if not any(r.resource_type == kind and _refers_to(r, bucket) for r in resources):
                problems.append((f"bucket has no {what}", bucket.urn))
    return problems


def _refers_to(resource: Resource, bucket: Resource) -> bool:
    if bucket.urn in resource.depends_on:
        return True
    target = resource.props.get("bucket")
    return target is not None and target in (bucket.props.get("bucket"), bucket.props.get("id"))


def stateful_tiers_span_azs(resources: Iterable[Resource]) -> list[tuple[str, str | None]]:
    """In prod, the hosts of every stateful tier sit in at least three AZs."""
    zones: dict[str, set[str]] = defaultdict(set)
    for resource in resources:
        tags = _tags(resource.props)
        if resource.resource_type != INSTANCE or tags.get("roadie:environment") != "prod":
            continue
        tier = tags.get("roadie:tier")
        if tier in STATEFUL_TIERS:
            zones[tier].add(resource.props.get("availabilityZone") or "?")
    return [
        (f"prod tier {tier} spans {len(found)} AZs ({', '.join(sorted(found))}); needs {MIN_PROD_AZS}", None)
        for tier, found in sorted(zones.items())
        if len(found) < MIN_PROD_AZS
    ]
