"""The stack's customer-managed KMS key for EBS volumes and Kubernetes secrets."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from roadie_infra.tagging import tags


def storage_key(environment: str) -> aws.kms.Key:
    """One rotating key per stack: revoking it makes every volume of the stack unreadable,
    and CloudTrail shows every use of it."""
    key = aws.kms.Key(
        "storage",
        description=f"roadie {environment}: EBS volumes and Kubernetes secrets",
        enable_key_rotation=True,
        deletion_window_in_days=30,
        tags=tags(environment, "storage"),
    )
    aws.kms.Alias(
        "storage",
        name=f"alias/roadie-{environment}-storage",
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=key),
    )
    return key
