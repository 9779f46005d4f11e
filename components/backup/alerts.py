"""What pages when a backup does not hold: failed jobs and failed restore validations.

AWS Backup sends its job state changes to EventBridge (best effort, within minutes); a rule per
kind of job sends the failed ones of this stack to the critical topic as they are (the event
names the job, the resource and AWS Backup's message). Backup jobs report `state`, restore jobs
`status`, as AWS Backup's API does. A FAILED validation is reported to AWS Backup and then
raises: the validation Lambda's errors alarm (components/alarms.py) pages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_aws as aws

from components.context import ComponentContext

if TYPE_CHECKING:
    from components.backup.component import BackupArgs
    from components.backup.restore_testing import RestoreTest

FAILED_JOB_STATES = ["FAILED", "ABORTED", "EXPIRED"]
"""EXPIRED: a scheduled job that never started in its window, as much a missing backup."""


def job_failure_rules(
    ctx: ComponentContext,
    args: BackupArgs,
    vault: aws.backup.Vault,
    test: RestoreTest | None,
) -> None:
    """A rule per job kind of this stack (its vault, its restore testing plan) to the critical
    topic."""
    patterns: dict[str, tuple[str, dict[str, Any]]] = {
        "backup-job-failed": (
            "Backup Job State Change",
            {"state": FAILED_JOB_STATES, "backupVaultName": [vault.name]},
        ),
    }
    if args.backup.dr_region:
        patterns["copy-job-failed"] = (
            "Copy Job State Change",
            {"state": ["FAILED", "ABORTED"], "sourceBackupVaultArn": [vault.arn]},
        )
    if test is not None:
        patterns["restore-job-failed"] = (
            "Restore Job State Change",
            {"status": ["FAILED", "ABORTED"], "restoreTestingPlanArn": [test.plan.arn]},
        )
    for role, (detail_type, detail) in patterns.items():
        rule = aws.cloudwatch.EventRule(
            f"{ctx.name}-{role}",
            description=f"{args.stack.name_prefix}: AWS Backup {detail_type}, failed: page",
            event_pattern=pulumi.Output.json_dumps(
                {"source": ["aws.backup"], "detail-type": [detail_type], "detail": detail}
            ),
            opts=ctx.child(),
        )
        aws.cloudwatch.EventTarget(
            f"{ctx.name}-{role}-target",
            rule=rule.name,
            arn=args.wiring.critical_topic_arn,
            opts=ctx.child(),
        )
