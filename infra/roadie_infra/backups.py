"""Backups tier: the pgBackRest repository bucket, replicated to the DR region.

pgBackRest expires its own backups (time-based, `retentionDays`); the bucket's lifecycle never
deletes a current object under `repo/`, since that could remove WAL a retained backup needs.
What the lifecycle does: keep objects that pgBackRest (or anyone) deleted or overwrote for
`retentionDays` as noncurrent versions, and move the yearly archives under `archive/` to a
cold storage class at once, keeping them `archiveRetentionDays`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from roadie_infra.settings import BackupSettings
from roadie_infra.tagging import tags

REPO_PREFIX = "repo/"
ARCHIVE_PREFIX = "archive/"
ARCHIVE_STORAGE_CLASS = "DEEP_ARCHIVE"
REPLICA_STORAGE_CLASS = "STANDARD_IA"


@dataclass(frozen=True)
class BackupsArgs:
    environment: str
    region: str
    settings: BackupSettings


@dataclass(frozen=True)
class SecureBucket:
    bucket: aws.s3.Bucket
    key: aws.kms.Key
    versioning: aws.s3.BucketVersioning


def bucket_access_policy(bucket_arn: pulumi.Input[str], key_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """IAM policy JSON letting pgBackRest on a database host use one repository bucket."""
    return pulumi.Output.all(bucket_arn, key_arn).apply(
        lambda arns: json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": arns[0]},
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                        "Resource": f"{arns[0]}/*",
                    },
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"],
                        "Resource": arns[1],
                    },
                ],
            }
        )
    )


class Backups(pulumi.ComponentResource):
    """Versioned, KMS-encrypted, private bucket with lifecycle rules and a DR replica."""

    primary: SecureBucket
    replica: SecureBucket | None

    def __init__(self, name: str, args: BackupsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:backups:Backups", name, None, opts)
        self._name, self._args = name, args
        self.primary = self._secure_bucket(name, args.region)
        replica_region = args.settings.replica_region
        self.replica = self._secure_bucket(f"{name}-replica", replica_region) if replica_region else None
        if self.replica is not None:
            self._replicate(self.primary, self.replica)
        self.host_policy = bucket_access_policy(self.primary.bucket.arn, self.primary.key.arn)
        self.register_outputs(
            {
                "bucket": self.primary.bucket.bucket,
                "replica_bucket": self.replica.bucket.bucket if self.replica else None,
            }
        )

    def _secure_bucket(self, name: str, region: str) -> SecureBucket:
        env = self._args.environment
        # pulumi-aws 7 takes a per-resource region: the replica needs no second provider.
        child = pulumi.ResourceOptions(parent=self)
        key = aws.kms.Key(
            f"{name}-key",
            description=f"roadie {env} backups ({region})",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            region=region,
            tags=tags(env, "backups"),
            opts=child,
        )
        # Backups outlive a mistaken `pulumi destroy`: the bucket is never force-destroyed.
        bucket = aws.s3.Bucket(name, force_destroy=False, region=region, tags=tags(env, "backups", name), opts=child)
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.id,
            region=region,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"),
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket.id,
            region=region,
            rules=[
                aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                    apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                        sse_algorithm="aws:kms", kms_master_key_id=key.arn
                    ),
                    # One data key per bucket instead of per object: far fewer KMS calls for WAL.
                    bucket_key_enabled=True,
                )
            ],
            opts=child,
        )
        aws.s3.BucketPublicAccessBlock(
            f"{name}-private",
            bucket=bucket.id,
            region=region,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket.id,
            region=region,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            opts=child,
        )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket.id,
            region=region,
            rules=self._lifecycle_rules(),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        return SecureBucket(bucket, key, versioning)

    def _lifecycle_rules(self) -> list[aws.s3.BucketLifecycleConfigurationRuleArgs]:
        settings = self._args.settings
        keep_deleted = aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
            noncurrent_days=settings.retention_days
        )
        return [
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="keep-deleted-backups",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=REPO_PREFIX),
                noncurrent_version_expiration=keep_deleted,
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7
                ),
            ),
            aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="yearly-archives",
                status="Enabled",
                filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=ARCHIVE_PREFIX),
                transitions=[
                    aws.s3.BucketLifecycleConfigurationRuleTransitionArgs(days=0, storage_class=ARCHIVE_STORAGE_CLASS)
                ],
                expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=settings.archive_retention_days),
                noncurrent_version_expiration=keep_deleted,
            ),
        ]

    def _replicate(self, source: SecureBucket, replica: SecureBucket) -> None:
        env = self._args.environment
        child = pulumi.ResourceOptions(parent=self)
        role = aws.iam.Role(
            f"{self._name}-replication",
            assume_role_policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "s3.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            ),
            tags=tags(env, "backups"),
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{self._name}-replication",
            role=role.id,
            policy=pulumi.Output.all(source.bucket.arn, replica.bucket.arn, source.key.arn, replica.key.arn).apply(
                lambda arns: json.dumps(_replication_policy(*arns))
            ),
            opts=child,
        )
        aws.s3.BucketReplicationConfig(
            f"{self._name}-replication",
            bucket=source.bucket.id,
            role=role.arn,
            rules=[
                aws.s3.BucketReplicationConfigRuleArgs(
                    id="to-dr-region",
                    status="Enabled",
                    filter=aws.s3.BucketReplicationConfigRuleFilterArgs(prefix=""),
                    # pgBackRest's expiry must reach the replica too, or DR keeps stale backups.
                    delete_marker_replication=aws.s3.BucketReplicationConfigRuleDeleteMarkerReplicationArgs(
                        status="Enabled"
                    ),
                    source_selection_criteria=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaArgs(
                        sse_kms_encrypted_objects=aws.s3.BucketReplicationConfigRuleSourceSelectionCriteriaSseKmsEncryptedObjectsArgs(
                            status="Enabled"
                        )
                    ),
                    destination=aws.s3.BucketReplicationConfigRuleDestinationArgs(
                        bucket=replica.bucket.arn,
                        storage_class=REPLICA_STORAGE_CLASS,
                        encryption_configuration=aws.s3.BucketReplicationConfigRuleDestinationEncryptionConfigurationArgs(
                            replica_kms_key_id=replica.key.arn
                        ),
                    ),
                )
            ],
            # S3 refuses a replication config until both buckets are versioned.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[source.versioning, replica.versioning]),
        )


def _replication_policy(source_arn: str, replica_arn: str, source_key: str, replica_key: str) -> dict[str, object]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
                "Resource": source_arn,
            },
            {
                "Effect": "Allow",
                "Action": [
                    "s3:GetObjectVersionForReplication",
                    "s3:GetObjectVersionAcl",
                    "s3:GetObjectVersionTagging",
                ],
                "Resource": f"{source_arn}/*",
            },
            {
                "Effect": "Allow",
                "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
                "Resource": f"{replica_arn}/*",
            },
            {"Effect": "Allow", "Action": ["kms:Decrypt"], "Resource": source_key},
            {"Effect": "Allow", "Action": ["kms:Encrypt"], "Resource": replica_key},
        ],
    }
