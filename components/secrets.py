"""Secrets: the stack's data KMS key and the application secrets in Secrets Manager.

Creates:
- a customer-managed KMS key (yearly rotation) with an alias; it encrypts the secrets, the
  database (storage, master secret, Performance Insights), the cache and the data tier's log
  groups, so one key policy and one CloudTrail trail cover all of the stack's data;
- generated secrets (pulumi-random, so never a literal): JWT_SECRET in Secrets Manager, and the
  database application password and Redis auth token, which Database and Cache embed in their
  DATABASE_URL / REDIS_URL secrets;
- one Secrets Manager secret per external secret (`webstack:externalSecrets`), so the API maps
  each to an env var with `valueFrom`;
- with a traffic-shifting deployment that has test traffic (`api.deployment`), the generated
  value of the `X-Webstack-Test` header, in Secrets Manager for CI to read: the load balancer's
  test rule sends requests carrying it to the new release before it takes production traffic.

Every secret is KMS-encrypted and has a recovery window; only ARNs and secret Outputs leave.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.config import ApiConfig, SecretsConfig, StackWide
from components.kms import cloudwatch_logs_grant, encryption_key, log_group_arn

JWT_SECRET_LENGTH = 64
DB_PASSWORD_LENGTH = 40
REDIS_AUTH_TOKEN_LENGTH = 64
# An ALB header condition matches values of up to 128 characters.
TEST_HEADER_LENGTH = 40


@dataclass(frozen=True, kw_only=True)
class SecretsArgs:
    """Inputs of Secrets."""

    stack: StackWide
    """Names start with its `name_prefix`; `protect` covers the key, generated values, secrets."""
    secrets: SecretsConfig
    """Recovery and key-deletion windows, and the external secrets stored for the API."""
    api: ApiConfig
    """Whether the API's deployment strategy has a test route (and so needs its header)."""


def store_secret(
    name: str,
    *,
    secret_name: str,
    description: str,
    value: pulumi.Input[str],
    kms_key_arn: pulumi.Input[str],
    recovery_window_days: int,
    protect: bool,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """A KMS-encrypted Secrets Manager secret holding `value`; returns its ARN.

    The ARN comes from the secret *version*, so whatever references it (an ECS `valueFrom`)
    waits until the value exists, not just the empty secret.
    """
    secret = aws.secretsmanager.Secret(
        name,
        # A prefix, not a fixed name: a deleted secret blocks its name for the recovery window,
        # and consumers use the ARN anyway.
        name_prefix=f"{secret_name}-",
        description=description,
        kms_key_id=kms_key_arn,
        recovery_window_in_days=recovery_window_days,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect),
    )
    version = aws.secretsmanager.SecretVersion(
        f"{name}-value",
        secret_id=secret.arn,
        secret_string=pulumi.Output.secret(value),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return version.secret_arn


class Secrets(pulumi.ComponentResource):
    """Data KMS key, generated secrets and external secrets."""

    kms_key_arn: pulumi.Output[str]
    jwt_secret_arn: pulumi.Output[str]
    external_secret_arns: dict[str, pulumi.Output[str]]
    db_app_password: pulumi.Output[str]
    redis_auth_token: pulumi.Output[str]
    api_test_header_value: pulumi.Output[str] | None
    """The `X-Webstack-Test` value the load balancer's test rule matches (None without one)."""
    api_test_header_secret_arn: pulumi.Output[str] | None
    """Where CI reads it."""

    def __init__(
        self, name: str, args: SecretsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:data:Secrets", name, None, opts)
        prefix, protect = args.stack.name_prefix, args.stack.protect
        keep = pulumi.ResourceOptions(parent=self, protect=protect)
        invoke = pulumi.InvokeOptions(parent=self)
        partition = aws.get_partition_output(opts=invoke).partition
        account = aws.get_caller_identity_output(opts=invoke).account_id
        region = aws.get_region_output(opts=invoke).region
        key = encryption_key(
            f"{name}-key",
            description=f"{prefix}: secrets, database, cache and their logs",
            alias=f"alias/{prefix}-data",
            partition=partition,
            account_id=account,
            grants=[
                cloudwatch_logs_grant(
                    region=region,
                    log_group_arns=log_group_arn(
                        partition=partition, region=region, account_id=account, name="*"
                    ),
                )
            ],
            deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=protect,
            parent=self,
        )

        # Alphanumeric only: nothing to escape in a URL, in a shell or in an RDS/ElastiCache
        # password (which reject / @ " and spaces); 62 symbols keep >= 5.9 bits per character.
        def generated(role: str, length: int) -> pulumi.Output[str]:
            return random.RandomPassword(
                f"{name}-{role}",
                length=length,
                special=False,
                min_lower=1,
                min_upper=1,
                min_numeric=1,
                opts=keep,
            ).result

        jwt_secret = generated("jwt-secret", JWT_SECRET_LENGTH)
        self.db_app_password = generated("db-app-password", DB_PASSWORD_LENGTH)
        self.redis_auth_token = generated("redis-auth-token", REDIS_AUTH_TOKEN_LENGTH)

        def store(role: str, env_name: str, value: pulumi.Input[str]) -> pulumi.Output[str]:
            return store_secret(
                f"{name}-{role}",
                secret_name=f"{prefix}/{env_name}",
                description=f"{env_name} for the {prefix} application",
                value=value,
                kms_key_arn=key.arn,
                recovery_window_days=args.secrets.recovery_window_days,
                protect=protect,
                parent=self,
            )

        self.kms_key_arn = key.arn
        self.jwt_secret_arn = store("jwt", "JWT_SECRET", jwt_secret)
        deployment = args.api.deployment
        self.api_test_header_value = self.api_test_header_secret_arn = None
        if deployment.shifts_traffic and deployment.test_traffic:
            self.api_test_header_value = generated("api-test-header", TEST_HEADER_LENGTH)
            self.api_test_header_secret_arn = store_secret(
                f"{name}-api-test-header",
                secret_name=f"{prefix}/api-test-header",
                description=(
                    f"The X-Webstack-Test header value that reaches a new {prefix} API release "
                    "before it takes production traffic (CI smoke checks)"
                ),
                value=self.api_test_header_value,
                kms_key_arn=key.arn,
                recovery_window_days=args.secrets.recovery_window_days,
                protect=protect,
                parent=self,
            )
        self.external_secret_arns = {
            env: store(f"external-{env.lower().replace('_', '-')}", env, value)
            for env, value in sorted(args.secrets.external.items())
        }
        self.register_outputs(
            {
                "kms_key_arn": self.kms_key_arn,
                "jwt_secret_arn": self.jwt_secret_arn,
                "external_secret_arns": self.external_secret_arns,
            }
        )
