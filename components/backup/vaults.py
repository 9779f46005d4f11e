"""A backup vault: its customer-managed KMS key, the vault, and its vault lock.

The same recipe makes the primary vault and the DR region's (through that region's provider):
recovery points there must outlive an attacker or a mistake in the primary region just as well.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi_aws as aws

from components.config import BackupConfig
from components.context import ComponentContext
from components.kms import encryption_key


@dataclass(frozen=True, kw_only=True)
class VaultSpec:
    """One vault to make."""

    role: str
    """Its part of the logical names (`vault`, `dr-vault`)."""
    vault_name: str
    """The vault's physical name (`webstack-prod-database`)."""
    description: str
    """What the vault's key protects."""
    provider: aws.Provider | None = None
    """Another region's provider (the DR vault); None: the component's."""


def backup_vault(
    ctx: ComponentContext,
    spec: VaultSpec,
    config: BackupConfig,
    *,
    kms_deletion_window_days: int,
    protect: bool,
    force_destroy: bool,
) -> aws.backup.Vault:
    """The vault, encrypted with a key of its own, locked as `config.vault_lock` says;
    `force_destroy` lets `pulumi destroy` delete its recovery points with it."""
    key = encryption_key(
        f"{ctx.name}-{spec.role}-key",
        description=spec.description,
        alias=f"alias/{spec.vault_name}-backup",
        partition=ctx.partition,
        account_id=ctx.account_id,
        deletion_window_days=kms_deletion_window_days,
        protect=protect,
        parent=ctx.parent,
        provider=spec.provider,
    )
    vault = aws.backup.Vault(
        f"{ctx.name}-{spec.role}",
        name=spec.vault_name,
        kms_key_arn=key.arn,
        # A kept stack's vault is never emptied by `pulumi destroy`; a disposable one's is.
        force_destroy=force_destroy,
        opts=ctx.child(protect=protect, provider=spec.provider),
    )
    if config.vault_lock != "none":
        aws.backup.VaultLockConfiguration(
            f"{ctx.name}-{spec.role}-lock",
            backup_vault_name=vault.name,
            min_retention_days=config.lock_min_retention_days,
            max_retention_days=config.lock_max_retention_days,
            # Set: compliance mode, immutable once these days have passed. Unset: governance
            # mode, which principals with backup:DeleteBackupVaultLockConfiguration can lift.
            changeable_for_days=config.lock_changeable_for_days,
            opts=ctx.child(protect=protect, provider=spec.provider),
        )
    return vault
