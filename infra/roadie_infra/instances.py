"""EC2 hosts of one tier: instance profile, instances with IMDSv2 and encrypted EBS.

Every tier component launches its hosts through `launch_hosts`, so IMDSv2, encryption and
tagging are decided here once for the whole platform.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from roadie_infra.placement import Placement, place_hosts
from roadie_infra.settings import TierSettings
from roadie_infra.tagging import tags
from roadie_infra.tiers import TierSpec

ROOT_VOLUME_GIB = 20
DATA_DEVICE = "/dev/sdf"
DR_GROUP_SUFFIX = "_dr"

_EC2_ASSUME_ROLE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def metadata_options() -> aws.ec2.InstanceMetadataOptionsArgs:
    """IMDSv2 only: a session token is required, so an SSRF in any service on the host cannot
    read the instance role's credentials with one GET; hop limit 1 keeps containers out too."""
    return aws.ec2.InstanceMetadataOptionsArgs(
        http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=1
    )


@dataclass(frozen=True)
class HostsArgs:
    environment: str
    region_index: int
    tier: TierSpec
    size: TierSettings
    zones: tuple[str, ...]
    vpc_cidr: str
    subnet_ids: Sequence[pulumi.Input[str]]
    """Data subnet of each AZ, in zone order."""
    security_group_id: pulumi.Input[str]
    ami_id: pulumi.Input[str]
    kms_key_arn: pulumi.Input[str]
    ssh_key_name: str | None = None
    protect: bool = False
    """Refuse API termination: a stray `terminate` must not take a prod data host."""
    dr_site: bool = False
    extra_policy: pulumi.Input[str] | None = None
    """IAM policy JSON the tier's hosts need besides SSM (e.g. the backup bucket)."""


@dataclass(frozen=True)
class Host:
    """One launched host and what the inventory needs about it."""

    placement: Placement
    instance: aws.ec2.Instance
    roles: tuple[str, ...]
    region_index: int

    def record(self) -> pulumi.Output[dict[str, Any]]:
        """The stack-output entry the inventory generator reads."""
        return self.instance.private_ip.apply(
            lambda address: {
                "name": self.placement.name,
                "address": address,
                "az": self.placement.az_index,
                "zone": self.placement.zone,
                "region": self.region_index,
                "roles": list(self.roles),
            }
        )


def host_roles(tier: TierSpec, *, dr_site: bool) -> tuple[str, ...]:
    """The inventory service groups of a tier's hosts. In the DR region they are the region's
    own clusters (`etcd_dr`, `redis_dr`, ...), as in the lab: a DR host must never join the
    primary region's etcd, Redis or RabbitMQ cluster."""
    return tuple(f"{role}{DR_GROUP_SUFFIX}" for role in tier.roles) if dr_site else tier.roles


def launch_hosts(name: str, args: HostsArgs, parent: pulumi.Resource) -> list[Host]:
    """Create the tier's instance profile and `args.size.count` instances spread over AZs."""
    if args.size.count == 0:
        return []
    child = pulumi.ResourceOptions(parent=parent)
    env, tier = args.environment, args.tier
    role = aws.iam.Role(f"{name}-role", assume_role_policy=_EC2_ASSUME_ROLE, tags=tags(env, tier.key), opts=child)
    # Session Manager gives operators a shell without opening SSH beyond the admin networks.
    aws.iam.RolePolicyAttachment(
        f"{name}-ssm",
        role=role.name,
        policy_arn="arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
        opts=child,
    )
    if args.extra_policy is not None:
        aws.iam.RolePolicy(f"{name}-access", role=role.id, policy=args.extra_policy, opts=child)
    profile = aws.iam.InstanceProfile(f"{name}-profile", role=role.name, tags=tags(env, tier.key), opts=child)

    hosts = []
    roles = host_roles(tier, dr_site=args.dr_site)
    for placement in place_hosts(tier, args.size.count, args.zones, args.vpc_cidr, dr_site=args.dr_site):
        instance = aws.ec2.Instance(
            f"{name}-{placement.name}",
            ami=args.ami_id,
            instance_type=args.size.instance_type,
            availability_zone=placement.zone,
            subnet_id=args.subnet_ids[placement.az_index - 1],
            private_ip=placement.address,
            vpc_security_group_ids=[args.security_group_id],
            iam_instance_profile=profile.name,
            key_name=args.ssh_key_name,
            metadata_options=metadata_options(),
            root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
                volume_type="gp3", volume_size=ROOT_VOLUME_GIB, encrypted=True, kms_key_id=args.kms_key_arn
            ),
            ebs_block_devices=_data_volumes(args),
            disable_api_termination=args.protect,
            tags={**tags(env, tier.key, placement.name), "roadie:roles": ",".join(roles)},
            volume_tags=tags(env, tier.key, placement.name),
            # A newer AMI must not replace a data host: hosts are upgraded in place by Ansible.
            opts=pulumi.ResourceOptions(parent=parent, ignore_changes=["ami"]),
        )
        hosts.append(Host(placement, instance, roles, args.region_index))
    return hosts


def _data_volumes(args: HostsArgs) -> list[aws.ec2.InstanceEbsBlockDeviceArgs]:
    # Instance-store tiers keep data on local NVMe, which Nitro encrypts with a per-volume key
    # in hardware; they get no EBS data volume.
    if args.tier.instance_store:
        return []
    return [
        aws.ec2.InstanceEbsBlockDeviceArgs(
            device_name=DATA_DEVICE,
            volume_type="gp3",
            volume_size=args.size.volume_gib,
            encrypted=True,
            kms_key_id=args.kms_key_arn,
            # The data outlives the instance: a replaced host can have its volume re-attached.
            delete_on_termination=False,
        )
    ]
