"""MigrationJob: the migration runner, run inside the VPC during `pulumi up`, before the API rolls.

Creates:
- a Lambda function (Python 3.12) in the private subnets with the `migrations` workload security
  group, running `migrations.lambda_handler` from the zip `make package` builds: one run at a
  time (reserved concurrency 1, by config), X-Ray tracing, its environment encrypted with the
  data key;
- egress rules on that group: the database port to the database's group only, 443 to the AWS
  APIs it calls (Secrets Manager, and RDS for snapshots: interface endpoints in the VPC, or NAT);
- its execution role (trusted by Lambda for this account only): GetSecretValue on exactly the
  master and DATABASE_URL secrets, kms:Decrypt of their key only via Secrets Manager and, for
  its own environment, only via Lambda, ENI management for the VPC attachment in this account
  and region, writes to its own log group and X-Ray and, with snapshots before migrations on,
  creating, reading and deleting snapshots of the primary named `<primary>-before-*` (a
  successful run keeps the newest `keepSnapshotsBeforeMigrations`);
- that log group, with retention, encrypted with the data key;
- the restore point's inputs in its environment: the primary, and the subnet group, security
  group and parameter group a restored copy of it goes to (migrations/restore_point.py);
- an `aws.lambda_.Invocation` of `{"command": "up"}`. It re-runs when what the run would do
  changes: the zip (runner, SQL, CA bundle), the DATABASE_URL secret's value (a rotated
  password reaches the API login role), the primary instance (a replaced, empty database is
  migrated), or the API login role's limits. It waits for the network path (egress rules, the
  database's ingress rules, VPC endpoints and routes), and a failed migration fails it (the
  handler raises), which stops `pulumi up` before anything that `depends_on` `invocation`
  (the API service).

The zip must exist before `pulumi preview/up`: run `make package` first.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import ApiConfig, DatabaseConfig, NetworkConfig, PoolBudget, StackWide
from components.context import ComponentContext
from components.iam import service_trust_policy
from components.migration_iam import ExecutionScope, execution_policy

ROOT = Path(__file__).resolve().parents[1]
RUNTIME = "python3.12"  # tools/lambda_package.py downloads wheels for this Python
# arm64 is cheaper per GB-second than x86_64; `make package ARCH=` must match.
ARCHITECTURE = "arm64"
# Longer than the slowest migration (Lambda allows 900 s).
TIMEOUT_SECONDS = 600
MEMORY_MB = 512
# How long a run waits for another runner's migration lock; per migration, how long a statement
# may wait for a table lock held by live traffic, and how long it may run.
LOCK_WAIT = "60s"
LOCK_TIMEOUT = "5s"
STATEMENT_TIMEOUT = "5min"


def package_path(architecture: str) -> Path:
    """Where `make package ARCH=<architecture>` writes the Lambda zip."""
    return ROOT / "build" / f"migrations-lambda-{architecture}.zip"


@dataclass(frozen=True, kw_only=True)
class MigrationJobWiring:
    """What MigrationJob takes from Network, WorkloadSecurityGroups, Secrets and Database."""

    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Private subnets (with a route to Secrets Manager) the function attaches to."""
    vpc_cidr: pulumi.Input[str]
    """The VPC's range: where 443 goes when the AWS APIs are reached through endpoints."""
    network_ready: Sequence[pulumi.Resource]
    """What the path to the database and Secrets Manager needs first (ingress, endpoints)."""
    security_group_id: pulumi.Input[str]
    """The `migrations` workload group (WorkloadSecurityGroups.migrations); egress added here."""
    kms_key_arn: pulumi.Input[str]
    """The KMS key both secrets (and the function's logs) are encrypted with."""
    database_security_group_id: pulumi.Input[str]
    """The database's group, the only destination of database traffic."""
    database_port: pulumi.Input[int]
    """The database port."""
    database_host: pulumi.Input[str]
    """The database endpoint's host name."""
    database_name: pulumi.Input[str]
    """The database to migrate."""
    master_secret_arn: pulumi.Input[str]
    """Secrets Manager secret of the master user (JSON with username and password)."""
    database_url_secret_arn: pulumi.Input[str]
    """Secrets Manager secret holding the API's DATABASE_URL (its login role and password)."""
    database_url_version: pulumi.Input[str]
    """Changes whenever that secret gets a new value (a version id, or a digest of the value)."""
    database_resource_id: pulumi.Input[str]
    """The primary's immutable identity (RDS resource id): a replaced database is migrated."""
    database_instance_identifier: pulumi.Input[str]
    """The primary's identifier, which the restore point and its snapshot name."""
    database_instance_arn: pulumi.Input[str]
    """The primary's ARN (what snapshot permissions are scoped to)."""
    database_subnet_group_name: pulumi.Input[str]
    """The primary's DB subnet group: where a restored copy goes."""
    database_parameter_group_name: pulumi.Input[str]
    """The primary's parameter group (forced TLS), which a restored copy must keep."""
    package: Path | None = None
    """The Lambda zip; default build/migrations-lambda-<ARCHITECTURE>.zip (`make package`)."""


@dataclass(frozen=True, kw_only=True)
class MigrationJobArgs:
    """Inputs of MigrationJob."""

    stack: StackWide
    """The function and its log group are `<name_prefix>-migrations`."""
    database: DatabaseConfig
    """Whether the run snapshots the primary (and waits for it) before the first migration."""
    api: ApiConfig
    """The API login role's statement and idle-in-transaction timeouts; the log retention."""
    network: NetworkConfig
    """Whether the AWS APIs are reached through interface endpoints or through NAT."""
    pool_budget: PoolBudget
    """The API login role's CONNECTION LIMIT: every API and worker pool together."""
    wiring: MigrationJobWiring


class MigrationJob(pulumi.ComponentResource):
    """A VPC Lambda that applies the migrations during `pulumi up`, before the API rolls."""

    invocation: aws.lambda_.Invocation
    function_name: pulumi.Output[str]
    restore_point: pulumi.Output[dict[str, Any] | None]
    """The last run's restore point (its time, restore commands, snapshot); None when that run
    had nothing pending."""

    def __init__(
        self, name: str, args: MigrationJobArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:data:MigrationJob", name, None, opts)
        package = _checked_package(args)
        network_path = self._egress(name, args)
        function_name = f"{args.stack.name_prefix}-migrations"
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-logs",
            name=f"/aws/lambda/{function_name}",
            retention_in_days=args.api.log_retention_days,
            # Its lines name migrations, roles and errors of the database: data-tier logs.
            kms_key_id=args.wiring.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        role, policy = self._role(name, args, function_name, log_group)
        code_sha256 = hashlib.sha256(package.read_bytes()).digest()
        function = self._function(
            name, args, function_name, package, code_sha256, role, policy, log_group
        )
        self.invocation = self._invocation(name, args, function, code_sha256, network_path)
        self.function_name = function.name
        self.restore_point = self.invocation.result.apply(restore_point_of)
        self.register_outputs(
            {
                "functionName": self.function_name,
                "functionArn": function.arn,
                "logGroupName": log_group.name,
            }
        )

    def _egress(self, name: str, args: MigrationJobArgs) -> list[pulumi.Resource]:
        """The function's way out: the database port to its group, 443 to the AWS APIs."""
        child = pulumi.ResourceOptions(parent=self)
        to_database = aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-database",
            security_group_id=args.wiring.security_group_id,
            referenced_security_group_id=args.wiring.database_security_group_id,
            ip_protocol="tcp",
            from_port=args.wiring.database_port,
            to_port=args.wiring.database_port,
            description="migrations to PostgreSQL",
            opts=child,
        )
        to_secrets_manager = aws.vpc.SecurityGroupEgressRule(
            f"{name}-to-secrets-manager",
            security_group_id=args.wiring.security_group_id,
            cidr_ipv4=_aws_api_cidr(args),
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="migrations to the AWS APIs (Secrets Manager, RDS)",
            opts=child,
        )
        return [to_database, to_secrets_manager]

    def _role(
        self,
        name: str,
        args: MigrationJobArgs,
        function_name: str,
        log_group: aws.cloudwatch.LogGroup,
    ) -> tuple[aws.iam.Role, aws.iam.RolePolicy]:
        """The execution role (this account's Lambda only) and its one inline policy."""
        ctx = ComponentContext.of(name, self)
        scope = ExecutionScope(
            region=ctx.region,
            ec2=ctx.arn("ec2", "*/*"),
            # Known before the function exists: the role comes first.
            function_arn=ctx.arn("lambda", f"function:{function_name}"),
        )
        role = aws.iam.Role(
            f"{name}-role",
            assume_role_policy=service_trust_policy(
                "lambda.amazonaws.com", account_id=ctx.account_id
            ),
            description="migration Lambda: its two secrets, its log group, VPC attachment",
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=execution_policy(args, scope, log_group.arn),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return role, policy

    def _function(
        self,
        name: str,
        args: MigrationJobArgs,
        function_name: str,
        package: Path,
        code_sha256: bytes,
        role: aws.iam.Role,
        policy: aws.iam.RolePolicy,
        log_group: aws.cloudwatch.LogGroup,
    ) -> aws.lambda_.Function:
        return aws.lambda_.Function(
            f"{name}-function",
            name=function_name,
            description="Applies webstack's database migrations before the API rolls",
            role=role.arn,
            runtime=RUNTIME,
            handler="migrations.lambda_handler.handler",
            architectures=[ARCHITECTURE],
            code=pulumi.FileArchive(str(package)),
            # What Lambda reports as CodeSha256, so a drifted function is redeployed too.
            code_sha256=base64.b64encode(code_sha256).decode(),
            timeout=TIMEOUT_SECONDS,
            memory_size=MEMORY_MB,
            # Two runs at once would only wait on each other's advisory lock; Lambda refuses
            # the second outright. None leaves the function on the account's unreserved pool.
            reserved_concurrent_executions=1 if args.database.reserve_lambda_concurrency else None,
            tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
            # The environment names the database, its secrets and the restore point's targets.
            kms_key_arn=args.wiring.kms_key_arn,
            vpc_config=aws.lambda_.FunctionVpcConfigArgs(
                subnet_ids=args.wiring.private_subnet_ids,
                security_group_ids=[args.wiring.security_group_id],
            ),
            logging_config=aws.lambda_.FunctionLoggingConfigArgs(
                log_format="Text", log_group=log_group.name
            ),
            environment=aws.lambda_.FunctionEnvironmentArgs(
                variables={
                    "MASTER_SECRET_ARN": args.wiring.master_secret_arn,
                    "DATABASE_URL_SECRET_ARN": args.wiring.database_url_secret_arn,
                    "DB_HOST": args.wiring.database_host,
                    "DB_PORT": pulumi.Output.from_input(args.wiring.database_port).apply(str),
                    "DB_NAME": args.wiring.database_name,
                    "MIGRATION_LOCK_WAIT": LOCK_WAIT,
                    "MIGRATION_LOCK_TIMEOUT": LOCK_TIMEOUT,
                    "MIGRATION_STATEMENT_TIMEOUT": STATEMENT_TIMEOUT,
                    **_app_role(args),
                    **_restore_point(args),
                }
            ),
            # The role must be able to create ENIs and write logs before the function exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy]),
        )

    def _invocation(
        self,
        name: str,
        args: MigrationJobArgs,
        function: aws.lambda_.Function,
        code_sha256: bytes,
        network_path: Sequence[pulumi.Resource],
    ) -> aws.lambda_.Invocation:
        """`{"command": "up"}`, re-run exactly when what the run would do changes."""
        return aws.lambda_.Invocation(
            f"{name}-run",
            function_name=function.name,
            input=json.dumps({"command": "up"}),
            # Everything that changes what a run would do, and nothing else: the function
            # update (code, limits) happens first, since the invocation depends on it.
            triggers={
                "package": code_sha256.hex(),
                "databaseUrl": args.wiring.database_url_version,
                "database": args.wiring.database_resource_id,
                "appRole": ",".join(f"{k}={v}" for k, v in sorted(_app_role(args).items())),
            },
            # A run before its network path exists fails on a timeout, not a migration.
            opts=pulumi.ResourceOptions(
                parent=self, depends_on=[*network_path, *args.wiring.network_ready]
            ),
        )


def restore_point_of(result: str | None) -> dict[str, Any] | None:
    """The `restorePoint` of the run's result (migrations/lambda_handler.py), if any."""
    if not result:
        return None
    point = json.loads(result).get("restorePoint")
    return point if isinstance(point, dict) else None


def _checked_package(args: MigrationJobArgs) -> Path:
    """The Lambda zip, which `make package` must have built."""
    package = args.wiring.package or package_path(ARCHITECTURE)
    if not package.is_file():
        raise FileNotFoundError(
            f"the migration Lambda package {package} does not exist: run "
            f"`make package ARCH={ARCHITECTURE}` before `pulumi preview` or `pulumi up`"
        )
    return package


def _app_role(args: MigrationJobArgs) -> dict[str, str]:
    """The API login role's limits, which the run applies (environment and trigger alike)."""
    return {
        # Every API and worker pool together is sized to fit it (DB_MAX_POOL_SIZE), so the
        # limit only stops a fleet that exceeds its own arithmetic.
        "APP_CONNECTION_LIMIT": str(args.pool_budget.app_connection_limit),
        "APP_STATEMENT_TIMEOUT": f"{args.api.db_statement_timeout_ms}ms",
        "APP_IDLE_IN_TRANSACTION_TIMEOUT": f"{args.api.db_idle_in_transaction_timeout_ms}ms",
    }


def _aws_api_cidr(args: MigrationJobArgs) -> pulumi.Input[str]:
    """Where 443 may go: the AWS APIs are reached through their interface endpoints when there
    are some, otherwise through NAT."""
    return args.wiring.vpc_cidr if args.network.interface_endpoints else "0.0.0.0/0"


def _restore_point(args: MigrationJobArgs) -> dict[str, pulumi.Input[str]]:
    """What the run's restore point names (migrations/restore_point.py reads these)."""
    snapshots = args.database.snapshot_before_migrations
    return {
        "DB_INSTANCE_IDENTIFIER": args.wiring.database_instance_identifier,
        "DB_SUBNET_GROUP_NAME": args.wiring.database_subnet_group_name,
        "DB_SECURITY_GROUP_IDS": args.wiring.database_security_group_id,
        "DB_PARAMETER_GROUP_NAME": args.wiring.database_parameter_group_name,
        "SNAPSHOT_BEFORE_MIGRATIONS": "true" if snapshots else "false",
        **(
            {"SNAPSHOTS_TO_KEEP": str(args.database.keep_snapshots_before_migrations)}
            if snapshots
            else {}
        ),
    }
