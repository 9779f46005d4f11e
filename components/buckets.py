"""Private S3 buckets: the one way this program makes a bucket.

`private_bucket` creates, as children of the calling component:
- the bucket, with object ownership enforced (ACLs off) and every public access blocked;
- SSE-S3 default encryption (SSE-S3 because ALB access logs cannot be written with SSE-KMS and
  CloudFront's origin access control reads SSE-S3 objects without a key policy);
- versioning when asked, and a lifecycle (expiry or noncurrent-version cleanup, aborted uploads).

The caller adds the bucket policy; `deny_insecure_transport` is the statement every policy
carries.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws as aws


def deny_insecure_transport(bucket_arn: str) -> dict[str, Any]:
    """The bucket-policy statement refusing every request not made over TLS."""
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def private_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    versioned: bool,
    expiration_days: int | None = None,
    noncurrent_expiration_days: int = 30,
    protect: bool = False,
    force_destroy: bool = False,
) -> aws.s3.Bucket:
    """A private, encrypted bucket named `name` (Pulumi auto-names the physical bucket);
    `force_destroy` lets `pulumi destroy` delete it with its objects (and their versions)."""
    child = pulumi.ResourceOptions(parent=parent)
    bucket = aws.s3.Bucket(
        name,
        # None leaves the provider's default (false) out of the inputs, so a kept bucket's
        # inputs stay exactly what they were.
        force_destroy=force_destroy or None,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.bucket,
        rule={"object_ownership": "BucketOwnerEnforced"},
        opts=child,
    )
    aws.s3.BucketPublicAccessBlock(
        f"{name}-public-access",
        bucket=bucket.bucket,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        opts=child,
    )
    aws.s3.BucketServerSideEncryptionConfiguration(
        f"{name}-encryption",
        bucket=bucket.bucket,
        rules=[{"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}],
        opts=child,
    )
    if versioned:
        aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket.bucket,
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
    rule: aws.s3.BucketLifecycleConfigurationRuleArgsDict = {
        "id": "expire",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
    }
    if expiration_days:
        rule["expiration"] = {"days": expiration_days}
    if versioned:
        rule["noncurrent_version_expiration"] = {"noncurrent_days": noncurrent_expiration_days}
    aws.s3.BucketLifecycleConfiguration(
        f"{name}-lifecycle", bucket=bucket.bucket, rules=[rule], opts=child
    )
    return bucket
