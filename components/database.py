"""Database: RDS PostgreSQL in the isolated subnets.

Creates:
- a security group admitting 5432 only from the client security groups handed in (no CIDRs);
- a DB subnet group over the isolated subnets (no route out of the VPC);
- a parameter group for the engine's family (`rds.force_ssl`, slow-statement logging, an idle
  in-transaction timeout), its family in the logical name so a major upgrade creates the new
  group before the old one is deleted (which needs `apply_immediately`, see below);
- the enhanced-monitoring IAM role;
- KMS-encrypted log groups with retention for the exported postgresql and upgrade logs (RDS
  would otherwise create them itself, unencrypted and kept forever);
- the primary instance: gp3 storage with autoscaling, KMS encryption, RDS-managed master
  password in Secrets Manager, IAM database authentication (for `rds_iam` roles such as
  `app_readonly`), Multi-AZ by config, 30-day backups in a fixed window, Performance Insights,
  enhanced monitoring, deletion protection, a final snapshot named anew for each lifetime
  (none, and no retained backups, in a disposable stack);
- read replicas by config;
- the DATABASE_URL secret for the application role (`sslmode=verify-full` against the RDS CA
  bundle at `sslrootcert`, a path inside the application image).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pulumi
import pulumi_aws as aws

from components.config import DatabaseConfig, PoolBudget, SecretsConfig, StackWide
from components.iam import service_trust_policy
from components.secrets import store_secret
from components.security_groups import DataStorePlacement, data_tier_security_group
from components.snapshots import final_snapshot_identifier

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
# The CA RDS signs server certificates with; clients verify against AWS's RDS CA bundle.
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"
# Daily backups, then the weekly maintenance (UTC), which must not overlap them.
BACKUP_WINDOW = "03:00-04:00"
MAINTENANCE_WINDOW = "sun:04:30-sun:05:30"
DATABASE_NAME = "app"
# The application role (created by the migrations, not here) and the master user, whose
# password RDS manages in Secrets Manager.
APP_USERNAME = "app"
MASTER_USERNAME = "dbadmin"
# Statements slower than this are logged; sessions idle inside a transaction longer than this
# are ended (they hold locks).
LOG_MIN_DURATION_STATEMENT_MS = 1000
IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS = 60_000


@dataclass(frozen=True, kw_only=True)
class DatabaseWiring:
    """What Database takes from Network, WorkloadSecurityGroups and Secrets."""

    placement: DataStorePlacement
    """The VPC, the isolated subnets and the workload groups admitted on 5432."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for storage, the master secret, Performance Insights, logs and the URL secret."""
    app_password: pulumi.Input[str]
    """Password of the application role (a secret Output); it goes into DATABASE_URL."""


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of Database."""

    stack: StackWide
    """Identifiers start with its `name_prefix`; `protect` also turns on deletion protection;
    `disposable` skips the final snapshot and deletes the automated backups with the instance."""
    database: DatabaseConfig
    """Engine, class, storage, availability, backups, monitoring, replicas, logs, CA bundle."""
    secrets: SecretsConfig
    """The recovery window of the DATABASE_URL secret."""
    pool_budget: PoolBudget
    """The max_connections its instance class gives, which it publishes among its outputs."""
    wiring: DatabaseWiring


class Database(pulumi.ComponentResource):
    """RDS PostgreSQL primary, replicas, and the application's DATABASE_URL secret."""

    address: pulumi.Output[str]
    port: int
    security_group_id: pulumi.Output[str]
    master_secret_arn: pulumi.Output[str]
    database_url_secret_arn: pulumi.Output[str]
    database_url_version: pulumi.Output[str]
    client_ingress_rules: list[aws.vpc.SecurityGroupIngressRule]
    database_name: str
    instance_identifier: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    instance_arn: pulumi.Output[str]
    subnet_group_name: pulumi.Output[str]
    parameter_group_name: pulumi.Output[str]
    replica_identifiers: list[pulumi.Output[str]]
    replica_addresses: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:data:Database", name, None, opts)
        sg, self.client_ingress_rules = data_tier_security_group(
            name,
            service="PostgreSQL",
            port=PORT,
            placement=args.wiring.placement,
            name_tag=f"{args.stack.name_prefix}-postgres",
            parent=self,
        )
        shared = _InstanceBase(
            security_group=sg,
            subnet_group=self._subnet_group(name, args),
            parameter_group=self._parameter_group(name, args),
            monitoring=self._monitoring_role(name),
        )
        primary = self._primary(name, args, shared)
        replicas = [
            self._replica(name, args, shared, primary, n)
            for n in range(1, args.database.read_replicas + 1)
        ]
        database_url = _database_url(args, primary)
        url_secret_arn = self._url_secret(name, args, database_url)
        self._publish(args, shared, primary, replicas, database_url, url_secret_arn)

    def _subnet_group(self, name: str, args: DatabaseArgs) -> aws.rds.SubnetGroup:
        return aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.wiring.placement.subnet_ids,
            description=f"{args.stack.name_prefix} PostgreSQL: isolated subnets",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _parameter_group(self, name: str, args: DatabaseArgs) -> aws.rds.ParameterGroup:
        """TLS only, slow statements logged, idle-in-transaction sessions ended."""
        major = args.database.engine_version.split(".")[0]
        family = f"postgres{major}"
        parameters = {
            "rds.force_ssl": "1",
            "log_min_duration_statement": str(LOG_MIN_DURATION_STATEMENT_MS),
            "idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_SESSION_TIMEOUT_MS),
        }
        # RDS rejects `immediate` for static parameters; `pending-reboot` is accepted for static
        # and dynamic ones alike, and a new instance starts with the group fully applied.
        pending_reboot = {"rds.force_ssl"}
        # Auto-named, family in the logical name: a major upgrade (new family) creates the new
        # group, moves the instance onto it, and only then deletes the old one. The move happens
        # only if the instance's modification is applied at once: with apply_immediately off,
        # RDS queues the upgrade and the group swap for the maintenance window, the instance
        # stays on the old group, and deleting that group fails "in use".
        return aws.rds.ParameterGroup(
            f"{name}-params-{family}",
            family=family,
            description=f"{args.stack.name_prefix} PostgreSQL {major}",
            parameters=[
                aws.rds.ParameterGroupParameterArgs(
                    name=k,
                    value=v,
                    apply_method="pending-reboot" if k in pending_reboot else "immediate",
                )
                for k, v in sorted(parameters.items())
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _monitoring_role(self, name: str) -> _Monitoring:
        """The role enhanced monitoring publishes with, and its managed-policy attachment."""
        child = pulumi.ResourceOptions(parent=self)
        partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=self)).partition
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-monitoring-role",
            description="RDS enhanced monitoring publishes OS metrics to CloudWatch Logs",
            assume_role_policy=service_trust_policy(
                "monitoring.rds.amazonaws.com", account_id=account
            ),
            opts=child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-monitoring-policy",
            role=role.name,
            policy_arn=pulumi.Output.concat(
                "arn:", partition, ":iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
            ),
            opts=child,
        )
        return _Monitoring(role, attachment)

    def _log_groups(
        self, logical: str, identifier: str, args: DatabaseArgs
    ) -> list[aws.cloudwatch.LogGroup]:
        # RDS writes into /aws/rds/instance/<id>/<log>; creating them first sets retention
        # and encryption (hence explicit identifiers rather than auto-names).
        return [
            aws.cloudwatch.LogGroup(
                f"{logical}-logs-{log}",
                name=f"/aws/rds/instance/{identifier}/{log}",
                retention_in_days=args.database.log_retention_days,
                kms_key_id=args.wiring.kms_key_arn,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for log in LOG_EXPORTS
        ]

    def _instance(
        self,
        logical: str,
        identifier: str,
        args: DatabaseArgs,
        shared: _InstanceBase,
        **role_specific: Any,
    ) -> aws.rds.Instance:
        """Settings shared by the primary and its replicas, plus the role's own."""
        return aws.rds.Instance(
            logical,
            identifier=identifier,
            instance_class=args.database.instance_class,
            vpc_security_group_ids=[shared.security_group.id],
            db_subnet_group_name=shared.subnet_group.name,
            parameter_group_name=shared.parameter_group.name,
            publicly_accessible=False,
            port=PORT,
            storage_type="gp3",
            max_allocated_storage=args.database.max_allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=args.wiring.kms_key_arn,
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            # Roles granted rds_iam (app_readonly) sign in with IAM tokens, not passwords.
            iam_database_authentication_enabled=True,
            apply_immediately=args.database.apply_immediately,
            auto_minor_version_upgrade=True,
            maintenance_window=MAINTENANCE_WINDOW,
            deletion_protection=args.stack.protect,
            copy_tags_to_snapshot=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.wiring.kms_key_arn,
            performance_insights_retention_period=args.database.performance_insights_retention_days,
            monitoring_interval=args.database.monitoring_interval_seconds,
            monitoring_role_arn=shared.monitoring.role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags={"Name": identifier},
            **role_specific,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.stack.protect,
                depends_on=[
                    shared.monitoring.attachment,
                    *self._log_groups(logical, identifier, args),
                ],
            ),
        )

    def _primary(self, name: str, args: DatabaseArgs, shared: _InstanceBase) -> aws.rds.Instance:
        identifier = f"{args.stack.name_prefix}-postgres"
        return self._instance(
            f"{name}-primary",
            identifier,
            args,
            shared,
            engine="postgres",
            engine_version=args.database.engine_version,
            # Changing engineVersion's major in config is the deliberate act; RDS needs this
            # flag to carry it out.
            allow_major_version_upgrade=True,
            db_name=DATABASE_NAME,
            username=MASTER_USERNAME,
            # RDS keeps the master password in Secrets Manager and rotates it: never in Pulumi
            # state, never in a URL.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.wiring.kms_key_arn,
            allocated_storage=args.database.allocated_storage_gb,
            multi_az=args.database.multi_az,
            backup_retention_period=args.database.backup_retention_days,
            backup_window=BACKUP_WINDOW,
            # Automated backups outlive the instance until they expire, and a final snapshot is
            # taken, unless the stack is disposable: then destroy keeps nothing.
            delete_automated_backups=args.stack.disposable,
            skip_final_snapshot=args.stack.disposable,
            final_snapshot_identifier=None
            if args.stack.disposable
            else final_snapshot_identifier(name, identifier, self),
        )

    def _replica(
        self,
        name: str,
        args: DatabaseArgs,
        shared: _InstanceBase,
        primary: aws.rds.Instance,
        n: int,
    ) -> aws.rds.Instance:
        return self._instance(
            f"{name}-replica-{n}",
            f"{args.stack.name_prefix}-postgres-replica-{n}",
            args,
            shared,
            replicate_source_db=primary.identifier,
            # Replicas take no backups or final snapshot: the primary has them.
            backup_retention_period=0,
            skip_final_snapshot=True,
            multi_az=False,
        )

    def _url_secret(
        self, name: str, args: DatabaseArgs, database_url: pulumi.Output[str]
    ) -> pulumi.Output[str]:
        """The DATABASE_URL secret; returns its ARN."""
        return store_secret(
            f"{name}-url",
            secret_name=f"{args.stack.name_prefix}/DATABASE_URL",
            description="DATABASE_URL of the application role (TLS, server verified by the RDS CA)",
            value=pulumi.Output.secret(database_url),
            kms_key_arn=args.wiring.kms_key_arn,
            recovery_window_days=args.secrets.recovery_window_days,
            protect=args.stack.protect,
            parent=self,
        )

    def _publish(
        self,
        args: DatabaseArgs,
        shared: _InstanceBase,
        primary: aws.rds.Instance,
        replicas: list[aws.rds.Instance],
        database_url: pulumi.Output[str],
        database_url_secret_arn: pulumi.Output[str],
    ) -> None:
        """The handles other components use, and the component's outputs."""
        self.database_url_secret_arn = database_url_secret_arn
        # store_secret hides its SecretVersion, so a digest of the value (itself a secret) stands
        # for the version: it changes exactly when a new value is put.
        url_digest = database_url.apply(lambda url: hashlib.sha256(url.encode()).hexdigest())
        self.database_url_version = pulumi.Output.secret(url_digest)
        self.address = primary.address
        self.port = PORT
        self.security_group_id = shared.security_group.id
        # Where a point-in-time or snapshot restore of the primary goes (the migration run's
        # restore point names them in its restore command).
        self.subnet_group_name = shared.subnet_group.name
        self.parameter_group_name = shared.parameter_group.name
        self.instance_arn = primary.arn
        # One entry, always, once manage_master_user_password is on.
        self.master_secret_arn = primary.master_user_secrets.apply(
            lambda secrets: secrets[0].secret_arn or ""
        )
        self.database_name = DATABASE_NAME
        self.instance_identifier = primary.identifier
        # `rds-db:connect` policies name the instance by this id, not by its identifier.
        self.resource_id = primary.resource_id
        self.replica_identifiers = [r.identifier for r in replicas]
        self.replica_addresses = [r.address for r in replicas]
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "master_secret_arn": self.master_secret_arn,
                "database_url_secret_arn": self.database_url_secret_arn,
                "max_connections": args.pool_budget.db_max_connections,
                "resource_id": self.resource_id,
            }
        )


def _database_url(args: DatabaseArgs, primary: aws.rds.Instance) -> pulumi.Output[str]:
    """The application role's URL: TLS with the server verified (`sslmode=verify-full`)."""
    # verify-full checks the server's certificate against the RDS CA bundle the image ships
    # at sslrootcert (libpq and node-postgres's connection-string parser both read it).
    tls = urlencode(
        {"sslmode": "verify-full", "sslrootcert": args.database.ca_bundle_path}, safe="/"
    )
    return pulumi.Output.all(primary.address, args.wiring.app_password).apply(
        lambda a: (
            f"postgresql://{quote(APP_USERNAME, safe='')}:{quote(a[1], safe='')}"
            f"@{a[0]}:{PORT}/{DATABASE_NAME}?{tls}"
        )
    )


@dataclass(frozen=True)
class _Monitoring:
    role: aws.iam.Role
    attachment: aws.iam.RolePolicyAttachment
    """Instances wait for it: RDS refuses a monitoring role without the policy."""


@dataclass(frozen=True)
class _InstanceBase:
    """What the primary and every replica share."""

    security_group: aws.ec2.SecurityGroup
    subnet_group: aws.rds.SubnetGroup
    parameter_group: aws.rds.ParameterGroup
    monitoring: _Monitoring
