"""The machine image of the EC2 hosts."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

DEBIAN_OWNER = "136693071363"
"""Debian's own AWS account: the images the lab's Debian 12 packages match."""
DEBIAN_12_AMD64 = "debian-12-amd64-*"


def host_ami(ami_id: str | None) -> pulumi.Input[str]:
    """`roadie:amiId` when set (pinned, reproducible), else the newest official Debian 12."""
    if ami_id:
        return ami_id
    return aws.ec2.get_ami_output(
        most_recent=True,
        owners=[DEBIAN_OWNER],
        filters=[aws.ec2.GetAmiFilterArgs(name="name", values=[DEBIAN_12_AMD64])],
    ).id
