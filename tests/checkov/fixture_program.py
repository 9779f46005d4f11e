"""A small Pulumi program with one known-insecure resource per family, and its secure twin.

Built with the real pulumi-aws classes, run under the mock cloud and converted like a stack, so
Checkov's verdict on each resource shows that the conversion carries what the check reads:
attributes, blocks, the WAF's `ruleJson`, and the references graph checks follow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import pulumi
import pulumi_aws as aws

from tools.mockcloud import Evaluation, run_program

# Managed rule groups Checkov's Log4j graph checks (CKV2_AWS_76) demand on an ALB's WAF.
LOG4J_RULE_GROUPS = ("AWSManagedRulesKnownBadInputsRuleSet", "AWSManagedRulesAnonymousIpList")


def _managed_rule(priority: int, name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Priority": priority,
        "OverrideAction": {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": name}},
        "VisibilityConfig": {
            "SampledRequestsEnabled": True,
            "CloudWatchMetricsEnabled": True,
            "MetricName": name,
        },
    }


def _web_acl(name: str, scope: str, rule_groups: Sequence[str]) -> aws.wafv2.WebAcl:
    return aws.wafv2.WebAcl(
        name,
        scope=scope,
        default_action=aws.wafv2.WebAclDefaultActionArgs(
            allow=aws.wafv2.WebAclDefaultActionAllowArgs()
        ),
        rule_json=json.dumps([_managed_rule(i, n) for i, n in enumerate(rule_groups)]),
        visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
            cloudwatch_metrics_enabled=True, metric_name=name, sampled_requests_enabled=True
        ),
    )


def _distribution(
    name: str, origin: aws.s3.Bucket, web_acl_id: pulumi.Output[str] | None
) -> aws.cloudfront.Distribution:
    return aws.cloudfront.Distribution(
        name,
        enabled=True,
        web_acl_id=web_acl_id,
        origins=[
            aws.cloudfront.DistributionOriginArgs(
                domain_name=origin.bucket_regional_domain_name, origin_id="s3"
            )
        ],
        default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            allowed_methods=["GET", "HEAD"],
            cached_methods=["GET", "HEAD"],
            target_origin_id="s3",
            viewer_protocol_policy="redirect-to-https",
            cache_policy_id="658327ea-f89d-4fab-a63d-7e88639e58f6",
        ),
        restrictions=aws.cloudfront.DistributionRestrictionsArgs(
            geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                restriction_type="none"
            )
        ),
        viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
            cloudfront_default_certificate=True
        ),
    )


def _program() -> Mapping[str, Any]:
    vpc = aws.ec2.Vpc("vpc", cidr_block="10.0.0.0/16")
    subnets = [
        aws.ec2.Subnet(f"subnet-{az}", vpc_id=vpc.id, cidr_block=cidr, availability_zone=az)
        for az, cidr in (("us-east-1a", "10.0.0.0/24"), ("us-east-1b", "10.0.1.0/24"))
    ]
    key = aws.kms.Key("rotated-key", enable_key_rotation=True)
    aws.kms.Key("unrotated-key")

    # Databases: storage encryption.
    for name, encryption in (
        ("plain-db", {}),
        ("encrypted-db", {"storage_encrypted": True, "kms_key_id": key.arn}),
    ):
        aws.rds.Instance(
            name,
            engine="postgres",
            instance_class="db.t4g.micro",
            allocated_storage=20,
            username="app",
            manage_master_user_password=True,
            skip_final_snapshot=True,
            **encryption,
        )

    # Buckets: a public-access block is a separate resource the graph check must connect
    # (origin-bucket, further down, has none).
    for name, blocked in (("open-bucket", False), ("closed-bucket", True)):
        bucket = aws.s3.Bucket(name)
        aws.s3.BucketPublicAccessBlock(
            f"{name}-access",
            bucket=bucket.id,
            block_public_acls=blocked,
            block_public_policy=blocked,
            ignore_public_acls=blocked,
            restrict_public_buckets=blocked,
        )

    # Security groups: SSH from the world, and from the VPC only.
    group = aws.ec2.SecurityGroup("ssh", vpc_id=vpc.id, description="ssh")
    for name, cidr in (("ssh-from-anywhere", "0.0.0.0/0"), ("ssh-from-vpc", "10.0.0.0/16")):
        aws.vpc.SecurityGroupIngressRule(
            name,
            security_group_id=group.id,
            cidr_ipv4=cidr,
            from_port=22,
            to_port=22,
            ip_protocol="tcp",
        )

    # Log groups: KMS encryption.
    aws.cloudwatch.LogGroup("plain-logs", retention_in_days=400)
    aws.cloudwatch.LogGroup("encrypted-logs", retention_in_days=400, kms_key_id=key.arn)

    # Load balancers: without a WAF; with a WAF carrying both rule groups Checkov's Log4j check
    # wants (through `ruleJson`); with a WAF missing one of them.
    albs = {
        name: aws.lb.LoadBalancer(
            name,
            load_balancer_type="application",
            subnets=[s.id for s in subnets],
            security_groups=[group.id],
            drop_invalid_header_fields=True,
        )
        for name in ("bare-alb", "guarded-alb", "half-guarded-alb")
    }
    for name, rule_groups in (
        ("guarded", LOG4J_RULE_GROUPS),
        ("half-guarded", LOG4J_RULE_GROUPS[:1]),
    ):
        acl = _web_acl(f"{name}-acl", "REGIONAL", rule_groups)
        aws.wafv2.WebAclAssociation(
            f"{name}-association", resource_arn=albs[f"{name}-alb"].arn, web_acl_arn=acl.arn
        )
    target = aws.lb.TargetGroup(
        "targets", port=80, protocol="HTTP", target_type="ip", vpc_id=vpc.id
    )

    # Listeners: plain HTTP that forwards, and plain HTTP that only redirects to HTTPS.
    aws.lb.Listener(
        "http-forward",
        load_balancer_arn=albs["bare-alb"].arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn=target.arn)
        ],
    )
    aws.lb.Listener(
        "http-redirect",
        load_balancer_arn=albs["guarded-alb"].arn,
        port=80,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    port="443", protocol="HTTPS", status_code="HTTP_301"
                ),
            )
        ],
    )

    # CloudFront: without a WAF, and with one.
    origin_bucket = aws.s3.Bucket("origin-bucket")
    cdn_acl = _web_acl("cdn-acl", "CLOUDFRONT", LOG4J_RULE_GROUPS)
    for name, web_acl_id in (("open-cdn", None), ("guarded-cdn", cdn_acl.arn)):
        _distribution(name, origin_bucket, web_acl_id)

    # Messaging and secrets: KMS encryption.
    aws.sns.Topic("plain-topic")
    aws.sns.Topic("encrypted-topic", kms_master_key_id=key.arn)
    aws.secretsmanager.Secret("plain-secret")
    aws.secretsmanager.Secret("encrypted-secret", kms_key_id=key.arn)
    return {}


def evaluate_fixture() -> Evaluation:
    return run_program("fixture", {"aws:region": "us-east-1"}, [], _program)
