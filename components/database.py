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
  enhanced monitoring, deletion protection, a final snapshot named anew for each lifetime;
- read replicas by config;
- the DATABASE_URL secret for the application role (`sslmode=verify-full` against the RDS CA
  bundle at `sslrootcert`, a path inside the application image).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

import pulumi
import pulumi_aws as aws

from components.aws_facts import max_connections
from components.config import DEFAULT_CA_BUNDLE_PATH
from components.iam import service_trust_policy
from components.secrets import store_secret
from components.security_groups import data_tier_security_group
from components.snapshots import final_snapshot_identifier

PORT = 5432
LOG_EXPORTS = ("postgresql", "upgrade")
# The CA RDS signs server certificates with; clients verify against AWS's RDS CA bundle.
CA_CERT_IDENTIFIER = "rds-ca-rsa2048-g1"


@dataclass(frozen=True, kw_only=True)
class DatabaseArgs:
    """Inputs of Database."""

    name_prefix: str
    """Prefix of identifiers and Name tags (`webstack-prod`)."""
    vpc_id: pulumi.Input[str]
    """The VPC of the security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated subnets, one per AZ."""
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups admitted on 5432 (the order names the rules: append, don't reorder)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for storage, the master secret, Performance Insights, logs and the URL secret."""
    app_password: pulumi.Input[str]
    """Password of the application role (a secret Output); it goes into DATABASE_URL."""
    engine_version: str
    """A major (`17`) or `major.minor`."""
    instance_class: str
    """An RDS class known to INSTANCE_CLASS_MEMORY_GIB."""
    allocated_storage_gb: int = 20
    """Initial gp3 storage."""
    max_allocated_storage_gb: int = 100
    """Storage autoscaling ceiling."""
    multi_az: bool = True
    """A synchronous standby in another AZ."""
    backup_retention_days: int = 30
    """Automated backup retention."""
    backup_window: str = "03:00-04:00"
    """Daily backup window (UTC)."""
    maintenance_window: str = "sun:04:30-sun:05:30"
    """Weekly maintenance window (UTC); must not overlap the backup window."""
    performance_insights_retention_days: int = 7
    """Performance Insights retention (7 is free)."""
    monitoring_interval_seconds: int = 60
    """Enhanced monitoring granularity."""
    read_replicas: int = 0
    """Read replicas of the primary."""
    log_retention_days: int = 90
    """Retention of the exported logs."""
    secret_recovery_window_days: int = 30
    """Recovery window of the DATABASE_URL secret."""
    database_name: str = "app"
    """The application database."""
    app_username: str = "app"
    """The application role (created by the migrations, not here)."""
    master_username: str = "dbadmin"
    """The master user; its password is managed by RDS in Secrets Manager."""
    log_min_duration_statement_ms: int = 1000
    """Statements slower than this are logged."""
    idle_in_transaction_session_timeout_ms: int = 60_000
    """Sessions idle inside a transaction longer than this are ended (they hold locks)."""
    deletion_protection: bool = True
    """RDS deletion protection on the primary and replicas."""
    apply_immediately: bool = False
    """Apply modifications now, not in the next maintenance window (a major upgrade needs it)."""
    ca_bundle_path: str = DEFAULT_CA_BUNDLE_PATH
    """Path of the RDS CA bundle in the application image; DATABASE_URL's `sslrootcert`."""
    protect: bool = True
    """Pulumi `protect` on the instances and the URL secret."""


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
    max_connections: int
    instance_identifier: pulumi.Output[str]
    arn: pulumi.Output[str]
    resource_id: pulumi.Output[str]
    instance_arn: pulumi.Output[str]
    subnet_group_name: pulumi.Output[str]
    parameter_group_name: pulumi.Output[str]
    replica_identifiers: list[pulumi.Output[str]]
    replica_addresses: list[pulumi.Output[str]]
    allocated_storage_gb: int

    def __init__(
        self, name: str, args: DatabaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:data:Database", name, None, opts)
        sg, self.client_ingress_rules = data_tier_security_group(
            name,
            service="PostgreSQL",
            port=PORT,
            vpc_id=args.vpc_id,
            name_tag=f"{args.name_prefix}-postgres",
            client_security_group_ids=args.client_security_group_ids,
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
            self._replica(name, args, shared, primary, n) for n in range(1, args.read_replicas + 1)
        ]
        database_url = _database_url(args, primary)
        url_secret_arn = self._url_secret(name, args, database_url)
        self._publish(args, shared, primary, replicas, database_url, url_secret_arn)

    def _subnet_group(self, name: str, args: DatabaseArgs) -> aws.rds.SubnetGroup:
        return aws.rds.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"{args.name_prefix} PostgreSQL: isolated subnets",
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _parameter_group(self, name: str, args: DatabaseArgs) -> aws.rds.ParameterGroup:
        """TLS only, slow statements logged, idle-in-transaction sessions ended."""
        major = args.engine_version.split(".")[0]
        family = f"postgres{major}"
        parameters = {
            "rds.force_ssl": "1",
            "log_min_duration_statement": str(args.log_min_duration_statement_ms),
            "idle_in_transaction_session_timeout": str(args.idle_in_transaction_session_timeout_ms),
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
            description=f"{args.name_prefix} PostgreSQL {major}",
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
                retention_in_days=args.log_retention_days,
                kms_key_id=args.kms_key_arn,
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
            instance_class=args.instance_class,
            vpc_security_group_ids=[shared.security_group.id],
            db_subnet_group_name=shared.subnet_group.name,
            parameter_group_name=shared.parameter_group.name,
            publicly_accessible=False,
            port=PORT,
            storage_type="gp3",
            max_allocated_storage=args.max_allocated_storage_gb,
            storage_encrypted=True,
            kms_key_id=args.kms_key_arn,
            ca_cert_identifier=CA_CERT_IDENTIFIER,
            # Roles granted rds_iam (app_readonly) sign in with IAM tokens, not passwords.
            iam_database_authentication_enabled=True,
            apply_immediately=args.apply_immediately,
            auto_minor_version_upgrade=True,
            maintenance_window=args.maintenance_window,
            deletion_protection=args.deletion_protection,
            copy_tags_to_snapshot=True,
            performance_insights_enabled=True,
            performance_insights_kms_key_id=args.kms_key_arn,
            performance_insights_retention_period=args.performance_insights_retention_days,
            monitoring_interval=args.monitoring_interval_seconds,
            monitoring_role_arn=shared.monitoring.role.arn,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            tags={"Name": identifier},
            **role_specific,
            opts=pulumi.ResourceOptions(
                parent=self,
                protect=args.protect,
                depends_on=[
                    shared.monitoring.attachment,
                    *self._log_groups(logical, identifier, args),
                ],
            ),
        )

    def _primary(self, name: str, args: DatabaseArgs, shared: _InstanceBase) -> aws.rds.Instance:
        identifier = f"{args.name_prefix}-postgres"
        return self._instance(
            f"{name}-primary",
            identifier,
            args,
            shared,
            engine="postgres",
            engine_version=args.engine_version,
            # Changing engineVersion's major in config is the deliberate act; RDS needs this
            # flag to carry it out.
            allow_major_version_upgrade=True,
            db_name=args.database_name,
            username=args.master_username,
            # RDS keeps the master password in Secrets Manager and rotates it: never in Pulumi
            # state, never in a URL.
            manage_master_user_password=True,
            master_user_secret_kms_key_id=args.kms_key_arn,
            allocated_storage=args.allocated_storage_gb,
            multi_az=args.multi_az,
            backup_retention_period=args.backup_retention_days,
            backup_window=args.backup_window,
            # Automated backups outlive the instance until they expire.
            delete_automated_backups=False,
            skip_final_snapshot=False,
            final_snapshot_identifier=final_snapshot_identifier(name, identifier, self),
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
            f"{args.name_prefix}-postgres-replica-{n}",
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
            secret_name=f"{args.name_prefix}/DATABASE_URL",
            description="DATABASE_URL of the application role (TLS, server verified by the RDS CA)",
            value=pulumi.Output.secret(database_url),
            kms_key_arn=args.kms_key_arn,
            recovery_window_days=args.secret_recovery_window_days,
            protect=args.protect,
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
        self.database_name = args.database_name
        self.max_connections = max_connections(args.instance_class)
        self.instance_identifier = primary.identifier
        # What AWS Backup's plan and restore tests select the primary by.
        self.arn = primary.arn
        # `rds-db:connect` policies name the instance by this id, not by its identifier.
        self.resource_id = primary.resource_id
        self.replica_identifiers = [r.identifier for r in replicas]
        self.replica_addresses = [r.address for r in replicas]
        self.allocated_storage_gb = args.allocated_storage_gb
        self.register_outputs(
            {
                "address": self.address,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "master_secret_arn": self.master_secret_arn,
                "database_url_secret_arn": self.database_url_secret_arn,
                "max_connections": self.max_connections,
                "resource_id": self.resource_id,
            }
        )


def _database_url(args: DatabaseArgs, primary: aws.rds.Instance) -> pulumi.Output[str]:
    """The application role's URL: TLS with the server verified (`sslmode=verify-full`)."""
    # verify-full checks the server's certificate against the RDS CA bundle the image ships
    # at sslrootcert (libpq and node-postgres's connection-string parser both read it).
    tls = urlencode({"sslmode": "verify-full", "sslrootcert": args.ca_bundle_path}, safe="/")
    return pulumi.Output.all(primary.address, args.app_password).apply(
        lambda a: (
            f"postgresql://{quote(args.app_username, safe='')}:{quote(a[1], safe='')}"
            f"@{a[0]}:{PORT}/{args.database_name}?{tls}"
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
