"""The policy pack: each rule passes good resources and flags bad ones, the pulumi-policy
wrappers report what the rules find, and every shipped stack passes the whole pack."""

import pytest
from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    StackValidationArgs,
)
from roadie_infra.tiers import TIERS
from roadie_policy import rules
from roadie_policy.policies import POLICIES, RESOURCE_POLICIES, STACK_POLICIES

from tests.infra.infra_harness import shipped_stack

LB_TAGS = {"roadie:tier": "lb"}
APP_TAGS = {"roadie:tier": "app"}


@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 443, "toPort": 443, "tags": LB_TAGS}),
        (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 80, "toPort": 80, "tags": LB_TAGS}),
        (rules.INGRESS_RULE, {"cidrIpv4": "10.10.0.0/16", "fromPort": 22, "toPort": 22, "tags": APP_TAGS}),
        (rules.INGRESS_RULE, {"referencedSecurityGroupId": "sg-1", "fromPort": 5432, "toPort": 5432}),
        (rules.SECURITY_GROUP, {"ingress": [{"cidrBlocks": ["10.0.0.0/8"], "fromPort": 0, "toPort": 65535}]}),
        (
            rules.SECURITY_GROUP_RULE,
            {"type": "egress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 0, "toPort": 0},
        ),
    ],
)
def test_open_ingress_allowed_cases(resource_type, props):
    assert rules.no_open_ingress(resource_type, props) == []


@pytest.mark.parametrize(
    ("resource_type", "props"),
    [
        (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "tags": APP_TAGS}),
        (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "tags": LB_TAGS}),
        (rules.INGRESS_RULE, {"cidrIpv4": "0.0.0.0/0", "fromPort": 80, "toPort": 443, "tags": LB_TAGS}),
        (rules.INGRESS_RULE, {"cidrIpv6": "::/0", "fromPort": 5432, "toPort": 5432}),
        (rules.SECURITY_GROUP, {"ingress": [{"cidrBlocks": ["0.0.0.0/0"], "fromPort": 443, "toPort": 443}]}),
        (
            rules.SECURITY_GROUP_RULE,
            {"type": "ingress", "cidrBlocks": ["0.0.0.0/0"], "fromPort": 3389, "toPort": 3389},
        ),
    ],
)
def test_open_ingress_violations(resource_type, props):
    (violation,) = rules.no_open_ingress(resource_type, props)
    assert "open to the internet" in violation


ENCRYPTED_VOLUME = {"encrypted": True, "kmsKeyId": "k"}


@pytest.mark.parametrize(
    ("resource_type", "good", "bad"),
    [
        (
            rules.INSTANCE,
            {
                "rootBlockDevice": ENCRYPTED_VOLUME,
                "ebsBlockDevices": [{**ENCRYPTED_VOLUME, "deviceName": "/dev/sdf"}],
            },
            {
                "rootBlockDevice": ENCRYPTED_VOLUME,
                "ebsBlockDevices": [{"encrypted": False, "deviceName": "/dev/sdf"}],
            },
        ),
        (rules.INSTANCE, {"rootBlockDevice": ENCRYPTED_VOLUME}, {}),
        (
            rules.LAUNCH_TEMPLATE,
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "true"}}]},
            {"blockDeviceMappings": [{"deviceName": "/dev/xvda", "ebs": {"encrypted": "false"}}]},
        ),
        (rules.EBS_VOLUME, {"encrypted": True}, {"size": 10}),
        (rules.RDS_INSTANCE, {"storageEncrypted": True}, {"storageEncrypted": False}),
        (rules.EKS_CLUSTER, {"encryptionConfig": {"resources": ["secrets"]}}, {}),
        (
            rules.BUCKET_ENCRYPTION,
            {"rules": [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "aws:kms"}}]},
            {"rules": [{}]},
        ),
    ],
)
def test_storage_encrypted(resource_type, good, bad):
    assert rules.storage_encrypted(resource_type, good) == []
    assert rules.storage_encrypted(resource_type, bad) != []


def test_public_access_block_needs_all_four_flags():
    good = dict.fromkeys(rules.PUBLIC_ACCESS_FLAGS, True)
    assert rules.public_access_blocked(rules.BUCKET_PUBLIC_ACCESS_BLOCK, good) == []
    (violation,) = rules.public_access_blocked(rules.BUCKET_PUBLIC_ACCESS_BLOCK, {**good, "blockPublicPolicy": False})
    assert "blockPublicPolicy" in violation


def lifecycle(**rule):
    return {"rules": [{"id": "r", "status": "Enabled", **rule}]}


@pytest.mark.parametrize(
    ("props", "violations"),
    [
        (lifecycle(noncurrentVersionExpiration={"noncurrentDays": 90}, expiration={"days": 365}), 0),
        (lifecycle(transitions=[{"days": 0, "storageClass": "DEEP_ARCHIVE"}]), 0),
        ({"rules": [{"id": "off", "status": "Disabled", "expiration": {"days": 1}}]}, 0),
        (lifecycle(expiration={"days": 30}), 1),
        (lifecycle(noncurrentVersionExpiration={"noncurrentDays": 7}), 1),
        (lifecycle(expiration={"days": 89}, noncurrentVersionExpiration={"noncurrentDays": 1}), 2),
    ],
)
def test_backup_retention(props, violations):
    assert len(rules.backup_retention(rules.BUCKET_LIFECYCLE, props)) == violations


def test_imdsv2_required():
    assert rules.imdsv2_required(rules.INSTANCE, {"metadataOptions": {"httpTokens": "required"}}) == []
    assert rules.imdsv2_required(rules.LAUNCH_TEMPLATE, {"metadataOptions": {"httpTokens": "optional"}}) != []
    assert rules.imdsv2_required(rules.INSTANCE, {}) != []


def instance(tier, zone, env="prod", urn=None):
    tags = {"roadie:tier": tier, "roadie:environment": env}
    return rules.Resource(rules.INSTANCE, urn or f"urn:{tier}:{zone}", {"tags": tags, "availabilityZone": zone})


def test_prod_stateful_tiers_need_three_azs():
    spread = [instance("database", zone) for zone in ("a", "b", "c")]
    assert rules.stateful_tiers_span_azs(spread) == []
    two_zones = [instance("cache", zone, urn=f"urn:cache:{i}") for i, zone in enumerate(("a", "b", "b"))]
    ((message, _),) = rules.stateful_tiers_span_azs(spread + two_zones)
    assert "cache spans 2 AZs" in message
    # dev may sit in one AZ, and monitoring is not a data tier.
    assert rules.stateful_tiers_span_azs([instance("cache", "a", env="dev"), instance("monitoring", "a")]) == []


def test_every_bucket_needs_encryption_and_public_access_block():
    bucket = rules.Resource(rules.BUCKET, "urn:bucket", {"bucket": "backups"})
    encryption = rules.Resource(rules.BUCKET_ENCRYPTION, "urn:enc", {}, depends_on=frozenset({"urn:bucket"}))
    block = rules.Resource(rules.BUCKET_PUBLIC_ACCESS_BLOCK, "urn:pab", {"bucket": "backups"})
    assert rules.buckets_protected([bucket, encryption, block]) == []
    ((message, urn),) = rules.buckets_protected([bucket, encryption])
    assert urn == "urn:bucket" and "public access block" in message


def test_policy_tiers_match_the_program():
    assert set(rules.STATEFUL_TIERS) == {tier.key for tier in TIERS if tier.stateful}


def validate_resource(policy, resource_type, props):
    violations = []
    options = PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )
    args = ResourceValidationArgs(resource_type, props, "urn:x", "x", options, None)
    policy.validate(args, lambda message, urn: violations.append(message))
    return violations


def test_pack_wrappers_report_what_the_rules_find():
    policies = {policy.name: policy for policy in RESOURCE_POLICIES}
    bad_rule = {"cidrIpv4": "0.0.0.0/0", "fromPort": 22, "toPort": 22}
    assert validate_resource(policies["no-open-ingress"], rules.INGRESS_RULE, bad_rule)
    assert not validate_resource(
        policies["no-open-ingress"], rules.INGRESS_RULE, {**bad_rule, "cidrIpv4": "10.0.0.0/8"}
    )
    assert validate_resource(policies["imdsv2-required"], rules.INSTANCE, {})
    assert all(policy.description for policy in POLICIES)


def policy_resources(stack):
    """The stack as a stack policy sees it: every resource with its outputs."""
    return [PolicyResource(r.type, r.outputs, r.urn, r.name, None, None, None, [], {}) for r in stack.resources]


@pytest.mark.parametrize("env", ["dev", "staging", "prod", "dr"])
def test_shipped_stacks_pass_the_policy_pack(env):
    stack = shipped_stack(env)
    violations = []
    for resource in stack.resources:
        for policy in RESOURCE_POLICIES:
            for message in validate_resource(policy, resource.type, resource.inputs):
                violations.append(f"{policy.name} {resource.type} {resource.name}: {message}")
    for policy in STACK_POLICIES:
        policy.validate(
            StackValidationArgs(policy_resources(stack)),
            lambda message, urn, name=policy.name: violations.append(f"{name}: {message} ({urn})"),
        )
    assert violations == []
    assert stack.of_type(rules.INSTANCE)  # the pack had something to check


def test_pack_catches_a_prod_stack_squeezed_into_two_azs():
    stack = shipped_stack("prod")
    resources = policy_resources(stack)
    for resource in resources:
        if resource.resource_type == rules.INSTANCE and resource.props["availabilityZone"] == "eu-west-1c":
            resource.props = {**resource.props, "availabilityZone": "eu-west-1a"}
    (policy,) = [p for p in STACK_POLICIES if p.name == "prod-stateful-tiers-span-3-azs"]
    violations = []
    policy.validate(StackValidationArgs(resources), lambda message, urn: violations.append(message))
    assert len(violations) == len(rules.STATEFUL_TIERS)
