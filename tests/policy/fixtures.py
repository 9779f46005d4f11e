"""Small programs of real SDK resources: for each rule, one that breaks it and one that passes.

Secret values are generated (pulumi-random, or `secrets.token_urlsafe`), never literals; a
deliberately weak value is built at run time so it cannot be mistaken for a real one.
"""

from __future__ import annotations

import json
import secrets

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare
import pulumi_random as random

TLS13 = "ELBSecurityPolicy-TLS13-1-2-2021-06"


# -- TLS -----------------------------------------------------------------------------------------


def rds_plain() -> None:
    aws.rds.Instance(
        "db", instance_class="db.t4g.micro", engine="postgres", storage_encrypted=False
    )


def rds_group_without_force_ssl() -> None:
    group = aws.rds.ParameterGroup("db-params", family="postgres16", parameters=[])
    aws.rds.Instance(
        "db", instance_class="db.t4g.micro", storage_encrypted=True, parameter_group_name=group.name
    )


def rds_secure(
    backup_days: int = 30, multi_az: bool = True, deletion_protection: bool = True
) -> None:
    group = aws.rds.ParameterGroup(
        "db-params",
        family="postgres16",
        parameters=[aws.rds.ParameterGroupParameterArgs(name="rds.force_ssl", value="1")],
    )
    aws.rds.Instance(
        "db",
        instance_class="db.t4g.micro",
        engine="postgres",
        storage_encrypted=True,
        parameter_group_name=group.name,
        backup_retention_period=backup_days,
        publicly_accessible=False,
        multi_az=multi_az,
        deletion_protection=deletion_protection,
        manage_master_user_password=True,
    )


def rds_public() -> None:
    aws.rds.Instance(
        "db", instance_class="db.t4g.micro", storage_encrypted=True, publicly_accessible=True
    )


def rds_short_backups() -> None:
    rds_secure(backup_days=1)


def rds_single_az_unprotected() -> None:
    rds_secure(multi_az=False, deletion_protection=False)


def cache_plain() -> None:
    aws.elasticache.ReplicationGroup("cache", description="sessions", node_type="cache.t4g.micro")


def cache_secure() -> None:
    token = random.RandomPassword("cache-auth", length=64, special=False)
    aws.elasticache.ReplicationGroup(
        "cache",
        description="sessions",
        node_type="cache.t4g.micro",
        transit_encryption_enabled=True,
        at_rest_encryption_enabled=True,
        auth_token=token.result,
    )


def _listener(name: str, **kwargs: object) -> None:
    aws.lb.Listener(name, load_balancer_arn="arn:aws:elasticloadbalancing:alb", **kwargs)  # type: ignore[arg-type]


def alb_weak() -> None:
    _listener(
        "https",
        port=443,
        protocol="HTTPS",
        ssl_policy="ELBSecurityPolicy-2016-08",
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn="tg")],
    )
    _listener(
        "http",
        port=80,
        protocol="HTTP",
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn="tg")],
    )


def alb_secure() -> None:
    _listener(
        "https",
        port=443,
        protocol="HTTPS",
        ssl_policy=TLS13,
        certificate_arn="arn:aws:acm:cert",
        default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward", target_group_arn="tg")],
    )
    _listener(
        "http",
        port=80,
        protocol="HTTP",
        default_actions=[
            aws.lb.ListenerDefaultActionArgs(
                type="redirect",
                redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                    protocol="HTTPS", port="443", status_code="HTTP_301"
                ),
            )
        ],
    )


def _distribution(
    viewer: str, certificate: aws.cloudfront.DistributionViewerCertificateArgs, origin_policy: str
) -> None:
    aws.cloudfront.Distribution(
        "cdn",
        enabled=True,
        origins=[
            aws.cloudfront.DistributionOriginArgs(
                origin_id="api",
                domain_name="api.example.com",
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80,
                    https_port=443,
                    origin_protocol_policy=origin_policy,
                    origin_ssl_protocols=["TLSv1.2"],
                ),
            )
        ],
        default_cache_behavior=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
            target_origin_id="api",
            viewer_protocol_policy=viewer,
            allowed_methods=["GET", "HEAD"],
            cached_methods=["GET", "HEAD"],
        ),
        restrictions=aws.cloudfront.DistributionRestrictionsArgs(
            geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                restriction_type="none"
            )
        ),
        viewer_certificate=certificate,
    )


def cloudfront_weak() -> None:
    _distribution(
        "allow-all",
        aws.cloudfront.DistributionViewerCertificateArgs(cloudfront_default_certificate=True),
        "http-only",
    )


def cloudfront_secure() -> None:
    _distribution(
        "redirect-to-https",
        aws.cloudfront.DistributionViewerCertificateArgs(
            acm_certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/x",
            ssl_support_method="sni-only",
            minimum_protocol_version="TLSv1.2_2021",
        ),
        "https-only",
    )


def bucket_open() -> None:
    aws.s3.Bucket("assets")


def bucket_secure() -> None:
    bucket = aws.s3.Bucket("assets")
    aws.s3.BucketPublicAccessBlock(
        "assets-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
    )
    aws.s3.BucketPolicy(
        "assets-policy",
        bucket=bucket.id,
        policy=bucket.arn.apply(
            lambda arn: json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": "DenyInsecureTransport",
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "s3:*",
                            "Resource": [arn, f"{arn}/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        }
                    ],
                }
            )
        ),
    )


def _zone(ssl: str) -> None:
    zone = cloudflare.Zone(
        "zone", name="example.com", account=cloudflare.ZoneAccountArgs(id="account")
    )
    cloudflare.ZoneSetting("zone-ssl", zone_id=zone.id, setting_id="ssl", value=ssl)


def cloudflare_full() -> None:
    _zone("full")


def cloudflare_strict() -> None:
    _zone("strict")


# -- CORS ----------------------------------------------------------------------------------------


def _cors(origins: list[str]) -> None:
    aws.cloudfront.ResponseHeadersPolicy(
        "headers",
        cors_config=aws.cloudfront.ResponseHeadersPolicyCorsConfigArgs(
            access_control_allow_credentials=True,
            access_control_allow_headers=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowHeadersArgs(
                items=["Authorization"]
            ),
            access_control_allow_methods=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowMethodsArgs(
                items=["GET"]
            ),
            access_control_allow_origins=aws.cloudfront.ResponseHeadersPolicyCorsConfigAccessControlAllowOriginsArgs(
                items=origins
            ),
            origin_override=True,
        ),
    )
    aws.s3.BucketCorsConfiguration(
        "assets-cors",
        bucket="assets",
        cors_rules=[
            aws.s3.BucketCorsConfigurationCorsRuleArgs(
                allowed_methods=["GET"], allowed_origins=origins
            )
        ],
    )
    _task_definition(environment={"ALLOWED_ORIGINS": ",".join(origins)})


def cors_wildcard() -> None:
    _cors(["*", "http://app.example.net"])


def cors_foreign() -> None:
    _cors(["https://app.example.net"])


def cors_own() -> None:
    _cors(["https://app.example.com", "https://example.com"])


# -- secrets -------------------------------------------------------------------------------------


def _task_definition(
    environment: dict[str, str], secret_refs: dict[str, str] | None = None
) -> None:
    aws.ecs.TaskDefinition(
        "api",
        family="api",
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu="256",
        memory="512",
        container_definitions=json.dumps(
            [
                {
                    "name": "api",
                    "image": "api:1",
                    "environment": [{"name": k, "value": v} for k, v in environment.items()],
                    "secrets": [
                        {"name": k, "valueFrom": v} for k, v in (secret_refs or {}).items()
                    ],
                }
            ]
        ),
    )


def env_plain_secrets() -> None:
    _task_definition({"JWT_SECRET": secrets.token_urlsafe(32), "LOG_LEVEL": "info"})
    aws.lambda_.Function(
        "migrate",
        role="arn:aws:iam::123456789012:role/migrate",
        runtime="python3.12",
        handler="handler.main",
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={"DATABASE_URL": f"postgres://app:{secrets.token_urlsafe(16)}@db:5432/app"}
        ),
    )


def env_secret_refs() -> None:
    _task_definition(
        {"LOG_LEVEL": "info"},
        {"JWT_SECRET": "arn:aws:secretsmanager:us-east-1:123456789012:secret:jwt"},
    )
    # A function that reads its secrets at run time names them by ARN: a reference, not a secret.
    aws.lambda_.Function(
        "migrate",
        role="arn:aws:iam::123456789012:role/migrate",
        runtime="python3.12",
        handler="handler.main",
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={
                "MASTER_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:123456789012:secret:m"
            }
        ),
    )


def jwt_secret(length: int) -> None:
    jwt = random.RandomPassword("jwt-signing-key", length=length, special=False)
    secret = aws.secretsmanager.Secret("jwt", kms_key_id="alias/webstack")
    aws.secretsmanager.SecretVersion("jwt-version", secret_id=secret.id, secret_string=jwt.result)


def jwt_short() -> None:
    jwt_secret(16)


def jwt_long() -> None:
    jwt_secret(64)


def secret_default_key() -> None:
    aws.secretsmanager.Secret("jwt")


def secret_literal() -> None:
    secret = aws.secretsmanager.Secret("stripe", kms_key_id="alias/webstack")
    # A value anyone could guess, built at run time: what a literal in code looks like.
    aws.secretsmanager.SecretVersion("stripe-version", secret_id=secret.id, secret_string="a" * 24)


def secret_from_config() -> None:
    secret = aws.secretsmanager.Secret("stripe", kms_key_id="alias/webstack")
    # Stands in for a `secure:` config value: high entropy, no resource behind it.
    aws.secretsmanager.SecretVersion(
        "stripe-version",
        secret_id=secret.id,
        secret_string=pulumi.Output.secret(secrets.token_urlsafe(32)),
    )


# -- safety --------------------------------------------------------------------------------------


def sg_open() -> None:
    group = aws.ec2.SecurityGroup(
        "admin",
        vpc_id="vpc-1",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=22, to_port=22, cidr_blocks=["0.0.0.0/0"]
            )
        ],
    )
    aws.vpc.SecurityGroupIngressRule(
        "everything-v6", security_group_id=group.id, ip_protocol="-1", cidr_ipv6="::/0"
    )


def sg_web_only() -> None:
    group = aws.ec2.SecurityGroup(
        "alb",
        vpc_id="vpc-1",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                protocol="tcp", from_port=443, to_port=443, cidr_blocks=["0.0.0.0/0"]
            )
        ],
    )
    aws.vpc.SecurityGroupIngressRule(
        "http-v6",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=80,
        to_port=80,
        cidr_ipv6="::/0",
    )
    aws.vpc.SecurityGroupIngressRule(
        "postgres-from-vpc",
        security_group_id=group.id,
        ip_protocol="tcp",
        from_port=5432,
        to_port=5432,
        cidr_ipv4="10.0.0.0/16",
    )


def _service(public_ip: bool, breaker: bool) -> None:
    aws.ecs.Service(
        "api",
        cluster="cluster",
        task_definition="api:1",
        desired_count=2,
        launch_type="FARGATE",
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=["subnet-1"], assign_public_ip=public_ip
        ),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
            enable=breaker, rollback=breaker
        ),
    )


def ecs_unsafe() -> None:
    _service(public_ip=True, breaker=False)


def ecs_safe() -> None:
    _service(public_ip=False, breaker=True)


def logs_forever() -> None:
    aws.cloudwatch.LogGroup("app-logs")


def logs_bounded() -> None:
    aws.cloudwatch.LogGroup("app-logs", retention_in_days=30)


def _tagged_provider(tags: dict[str, str]) -> None:
    provider = aws.Provider(
        "aws", region="us-east-1", default_tags=aws.ProviderDefaultTagsArgs(tags=tags)
    )
    aws.ec2.Vpc(
        "vpc",
        cidr_block="10.0.0.0/16",
        tags={"Name": "vpc"},
        opts=pulumi.ResourceOptions(provider=provider),
    )


def tags_missing() -> None:
    _tagged_provider({"project": "webstack"})


def tags_complete() -> None:
    _tagged_provider(
        {
            "project": "webstack",
            "environment": "fixture",
            "owner": "platform-team",
            "cost-center": "web-product",
            "managed-by": "pulumi",
        }
    )
