"""Private S3 buckets: the one way this program makes a bucket.

`private_bucket` creates, as children of the calling component:
- the bucket, with object ownership enforced (ACLs off, unless a log delivery that still writes
  with ACLs needs them) and every public access blocked;
- SSE-S3 default encryption (SSE-S3 because ALB access logs cannot be written with SSE-KMS and
  CloudFront's origin access control reads SSE-S3 objects without a key policy);
- versioning when asked, and a lifecycle (expiry or noncurrent-version cleanup, aborted uploads).

The caller adds the bucket policy; `deny_insecure_transport` is the statement every policy
carries. `cloudfront_log_bucket` is the private bucket CloudFront's standard logs go to, with its
policy.
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi_aws as aws

# How long an overwritten or deleted object of a versioned bucket stays recoverable.
NONCURRENT_EXPIRATION_DAYS = 30


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
    noncurrent_expiration_days: int = NONCURRENT_EXPIRATION_DAYS,
    protect: bool = False,
    force_destroy: bool = False,
) -> aws.s3.Bucket:
    """A private, encrypted bucket named `name` (Pulumi auto-names the physical bucket);
    `force_destroy` lets `pulumi destroy` delete it with its objects (and their versions)."""
    bucket, _ = _private_bucket(
        name,
        parent=parent,
        versioned=versioned,
        expiration_days=expiration_days,
        noncurrent_expiration_days=noncurrent_expiration_days,
        protect=protect,
        force_destroy=force_destroy,
    )
    return bucket


def _private_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    versioned: bool,
    expiration_days: int | None,
    noncurrent_expiration_days: int,
    protect: bool,
    force_destroy: bool,
    acl_log_delivery: bool = False,
    provider: pulumi.ProviderResource | None = None,
) -> tuple[aws.s3.Bucket, aws.s3.BucketOwnershipControls]:
    """`private_bucket`, and its ownership controls. `acl_log_delivery` turns ACLs on for a
    log delivery that still writes with them; `provider` puts the bucket in another region."""
    child = pulumi.ResourceOptions(parent=parent, provider=provider)
    bucket = aws.s3.Bucket(
        name,
        # None leaves the provider's default (false) out of the inputs, so a kept bucket's
        # inputs stay exactly what they were.
        force_destroy=force_destroy or None,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, protect=protect),
    )
    ownership = aws.s3.BucketOwnershipControls(
        f"{name}-ownership",
        bucket=bucket.bucket,
        rule={
            # Preferred: objects delivered with bucket-owner-full-control still belong to the
            # bucket owner; nothing else writes ACLs here, and public ones are blocked below.
            "object_ownership": "BucketOwnerPreferred"
            if acl_log_delivery
            else "BucketOwnerEnforced"
        },
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
    return bucket, ownership


def cloudfront_log_bucket(
    name: str,
    *,
    parent: pulumi.Resource,
    provider: pulumi.ProviderResource,
    expiration_days: int,
    protect: bool,
    force_destroy: bool,
) -> pulumi.Output[str]:
    """The bucket of a distribution's standard logs, in `provider`'s region (us-east-1); returns
    the domain name the distribution's `logging_config` names.

    CloudFront delivers standard logs with an ACL grant to its log-delivery account, so the
    bucket has ACLs on; CloudFront adds that grant itself when a distribution names the bucket,
    and refuses a bucket whose ACLs are still off, so the returned name waits for the ownership
    controls. It cannot deliver to buckets in some opt-in regions, while us-east-1, where the
    distribution's certificate and WAF already live, always works. Versioned, so that a deleted
    log stays recoverable for the noncurrent-version window.
    """
    bucket, ownership = _private_bucket(
        name,
        parent=parent,
        versioned=True,
        expiration_days=expiration_days,
        noncurrent_expiration_days=NONCURRENT_EXPIRATION_DAYS,
        protect=protect,
        force_destroy=force_destroy,
        acl_log_delivery=True,
        provider=provider,
    )
    aws.s3.BucketPolicy(
        f"{name}-policy",
        bucket=bucket.bucket,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {"Version": "2012-10-17", "Statement": [deny_insecure_transport(arn)]}
            )
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    return pulumi.Output.all(bucket.bucket_domain_name, ownership.id).apply(lambda v: str(v[0]))
