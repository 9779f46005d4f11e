"""Backup: AWS Backup of the primary database, proven by restore tests (docs/backups.md).

Creates (all as children of the one `webstack:data:Backup` component):
- a backup vault encrypted with a customer-managed KMS key of its own, and its vault lock
  (`compliance` in prod: after `lockChangeableForDays` nobody can delete a recovery point
  before its retention ends or remove the lock; `governance`; or none), in `vaults`;
- with `drRegion`: a second vault in that region (through the DR provider), with its own key
  and the same lock, and a copy of each daily snapshot into it;
- the IAM role AWS Backup works with (AWS's managed backup and restore policies) and a backup
  plan: a daily snapshot rule (with the copy action) and a continuous rule for point-in-time
  recovery, and a selection that names the database by ARN (`plan`);
- with `restoreTesting`: a restore testing plan on the configured schedule restoring the
  latest snapshot of the database into the isolated subnets (its own subnet group and security
  group, not publicly accessible, single-AZ, IAM authentication on) for the validation window,
  and the validation Lambda (restore_check/) in the private subnets, started by EventBridge when
  a restore job of that plan completes (`restore_testing`);
- EventBridge rules that send a failed or aborted backup, copy or restore job to the critical
  topic (`alerts`); a FAILED verdict raises, and the Alarms component's alarm on the validation
  Lambda's errors pages.

The cache is not backed up here: AWS Backup does not support ElastiCache, and what the cache
holds (sessions, rate limits, cached reads) is rebuilt by use; its own daily snapshots stay.
The validation Lambda's zip must exist before `pulumi preview/up`: run `make package` first.
"""

from components.backup.component import Backup, BackupArgs, BackupWiring
from components.backup.restore_testing import package_path

__all__ = ["Backup", "BackupArgs", "BackupWiring", "package_path"]
