"""Backup, the component: its Args, its wiring, and the composition of the package's builders
(see components/backup/__init__.py for what it creates)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.backup.alerts import job_failure_rules
from components.backup.plan import backup_plan, database_selection, service_role
from components.backup.restore_testing import RestoreTest, restore_test
from components.backup.vaults import VaultSpec, backup_vault
from components.config import ApiConfig, BackupConfig, DatabaseConfig, SecretsConfig, StackWide
from components.context import ComponentContext


@dataclass(frozen=True, kw_only=True)
class BackupWiring:
    """What the other components produced that Backup works with."""

    database_arn: pulumi.Input[str]
    """The primary instance's ARN: what the plan and the restore tests select."""
    database_host: pulumi.Input[str]
    """The primary's endpoint, where the validation reads the source's migration history."""
    database_port: int
    """The database port (the restored copy listens on the same)."""
    database_name: str
    """The application database the validation connects to."""
    database_security_group_id: pulumi.Input[str]
    """The primary's security group; it admits the validation Lambda on the port."""
    vpc_id: pulumi.Input[str]
    """The VPC of the restored copy's and the validation Lambda's security groups."""
    isolated_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Where restore tests put the copy: the isolated subnets, as the primary."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Where the validation Lambda runs (a route to NAT for the AWS APIs)."""
    kms_key_arn: pulumi.Input[str]
    """The data tier's key, for the validation Lambda's log group and environment."""
    critical_topic_arn: pulumi.Input[str]
    """Where failed jobs and failed validations page."""
    dr_provider: aws.Provider | None = None
    """The DR region's provider; required when the config names a `drRegion`."""
    package: Path | None = None
    """The validation Lambda's zip; default build/restore-check-lambda-<ARCHITECTURE>.zip."""


@dataclass(frozen=True, kw_only=True)
class BackupArgs:
    """Inputs of Backup."""

    stack: StackWide
    """Names (`<name_prefix>-database`), the metrics' environment, `protect` on vaults and keys,
    `disposable` empties the vaults at destroy."""
    backup: BackupConfig
    """`webstack:backup`."""
    secrets: SecretsConfig
    """The deletion window of the vaults' keys."""
    database: DatabaseConfig
    """Whether the validation Lambda reserves its concurrency (`reserveLambdaConcurrency`)."""
    api: ApiConfig
    """The log retention of the validation Lambda (the application's, as the migrations')."""
    wiring: BackupWiring


class Backup(pulumi.ComponentResource):
    """AWS Backup of the database: vaults, plan, copies, restore tests and their alerts."""

    vault_name: pulumi.Output[str]
    vault_arn: pulumi.Output[str]
    dr_vault_arn: pulumi.Output[str] | None
    plan_id: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    restore_testing_plan_name: pulumi.Output[str] | None
    restore_check_function_name: pulumi.Output[str] | None

    def __init__(self, name: str, args: BackupArgs, opts: pulumi.ResourceOptions | None = None):
        if args.backup.dr_region and args.wiring.dr_provider is None:
            raise ValueError(f"Backup: drRegion {args.backup.dr_region} needs a dr_provider")
        super().__init__("webstack:data:Backup", name, None, opts)
        ctx = ComponentContext.of(name, self)
        vault, dr_vault = self._vaults(ctx, args)
        role, role_ready = service_role(ctx)
        plan = backup_plan(ctx, args.stack.name_prefix, args.backup, vault, dr_vault)
        database_selection(ctx, plan, role, args.wiring.database_arn, role_ready)
        test = (
            restore_test(ctx, args, vault, role, role_ready)
            if args.backup.restore_testing
            else None
        )
        job_failure_rules(ctx, args, vault, test)
        self.role_arn = role.arn
        self._publish(vault, dr_vault, plan, test)

    def _vaults(
        self, ctx: ComponentContext, args: BackupArgs
    ) -> tuple[aws.backup.Vault, aws.backup.Vault | None]:
        """The primary vault and, with a DR region, its twin there."""
        vault = backup_vault(
            ctx,
            VaultSpec(
                role="vault",
                vault_name=f"{args.stack.name_prefix}-database",
                description=f"{args.stack.name_prefix}: the database's backup vault",
            ),
            args.backup,
            kms_deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=args.stack.protect,
            force_destroy=args.stack.disposable,
        )
        if not args.backup.dr_region:
            return vault, None
        dr_vault = backup_vault(
            ctx,
            VaultSpec(
                role="dr-vault",
                vault_name=f"{args.stack.name_prefix}-database-dr",
                description=f"{args.stack.name_prefix}: copies of the database's backups "
                f"({args.backup.dr_region})",
                provider=args.wiring.dr_provider,
            ),
            args.backup,
            kms_deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=args.stack.protect,
            force_destroy=args.stack.disposable,
        )
        return vault, dr_vault

    def _publish(
        self,
        vault: aws.backup.Vault,
        dr_vault: aws.backup.Vault | None,
        plan: aws.backup.Plan,
        test: RestoreTest | None,
    ) -> None:
        """The handles the stack exports, and the component's outputs."""
        self.vault_name = vault.name
        self.vault_arn = vault.arn
        self.dr_vault_arn = dr_vault.arn if dr_vault is not None else None
        self.plan_id = plan.id
        self.restore_testing_plan_name = test.plan.name if test is not None else None
        self.restore_check_function_name = test.function.name if test is not None else None
        self.register_outputs(
            {
                "vault_arn": self.vault_arn,
                "dr_vault_arn": self.dr_vault_arn,
                "plan_id": self.plan_id,
                "role_arn": self.role_arn,
                "restore_testing_plan_name": self.restore_testing_plan_name,
                "restore_check_function_name": self.restore_check_function_name,
            }
        )
