"""The backup plan: AWS Backup's service role, the daily and continuous rules, the selection.

The role carries AWS's managed policies AWSBackupServiceRolePolicyForBackup and
…ForRestores rather than a hand-written equivalent. What AWS Backup calls on the role's behalf
is AWS's implementation, and it changes: continuous backup of RDS takes the instance's automated
backups over (rds:ModifyDBInstance), a copy to another region creates and then deletes a
temporary snapshot (rds:CopyDBSnapshot, rds:DeleteDBSnapshot), restores create instances, and
KMS grants follow each of these. A permission missing from a hand-kept copy fails jobs only when
they run (or, for the copy's snapshot, leaves expired recovery points behind); AWS keeps the
managed policies in step with the service. The role itself is assumable only by AWS Backup.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.config import BackupConfig
from components.context import ComponentContext
from components.iam import passed_role_trust_policy

MANAGED_POLICIES = {
    "backups": "AWSBackupServiceRolePolicyForBackup",
    "restores": "AWSBackupServiceRolePolicyForRestores",
}
# How long a scheduled job may wait to start, and to finish, before AWS Backup cancels it (and
# the failure rule pages): an hour to start is AWS's minimum, a day to finish covers the first
# full snapshot of a large database.
START_WINDOW_MINUTES = 60
COMPLETION_WINDOW_MINUTES = 24 * 60


def service_role(ctx: ComponentContext) -> tuple[aws.iam.Role, list[pulumi.Resource]]:
    """The role AWS Backup assumes for jobs and restore tests, and its policy attachments."""
    role = aws.iam.Role(
        f"{ctx.name}-role",
        description="AWS Backup: backups, copies and restore tests of the database",
        # Plain service trust, as AWS Backup's default role has.
        assume_role_policy=passed_role_trust_policy("backup.amazonaws.com"),
        opts=ctx.child(),
    )
    attachments: list[pulumi.Resource] = [
        aws.iam.RolePolicyAttachment(
            f"{ctx.name}-role-{purpose}",
            role=role.name,
            policy_arn=pulumi.Output.concat(
                "arn:", ctx.partition, f":iam::aws:policy/service-role/{policy}"
            ),
            opts=ctx.child(),
        )
        for purpose, policy in MANAGED_POLICIES.items()
    ]
    return role, attachments


def backup_plan(
    ctx: ComponentContext,
    name_prefix: str,
    config: BackupConfig,
    vault: aws.backup.Vault,
    dr_vault: aws.backup.Vault | None,
) -> aws.backup.Plan:
    """A daily snapshot (copied to the DR vault) and, by config, continuous backup."""
    copies = (
        [
            aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn=dr_vault.arn,
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(
                    delete_after=config.copy_retention_days
                ),
            )
        ]
        if dr_vault is not None
        else None
    )
    rules = [
        aws.backup.PlanRuleArgs(
            rule_name="daily",
            target_vault_name=vault.name,
            schedule=config.daily_schedule,
            start_window=START_WINDOW_MINUTES,
            completion_window=COMPLETION_WINDOW_MINUTES,
            lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=config.daily_retention_days),
            copy_actions=copies,
        )
    ]
    if config.continuous_backup:
        rules.append(
            aws.backup.PlanRuleArgs(
                rule_name="continuous",
                target_vault_name=vault.name,
                # A continuous rule still runs on a schedule, for AWS Backup's upkeep of the one
                # continuous recovery point; the daily one is as good as any.
                schedule=config.daily_schedule,
                start_window=START_WINDOW_MINUTES,
                completion_window=COMPLETION_WINDOW_MINUTES,
                enable_continuous_backup=True,
                lifecycle=aws.backup.PlanRuleLifecycleArgs(
                    delete_after=config.continuous_retention_days
                ),
            )
        )
    return aws.backup.Plan(
        f"{ctx.name}-plan",
        name=f"{name_prefix}-database",
        rules=rules,
        opts=ctx.child(),
    )


def database_selection(
    ctx: ComponentContext,
    plan: aws.backup.Plan,
    role: aws.iam.Role,
    database_arn: pulumi.Input[str],
    role_ready: list[pulumi.Resource],
) -> aws.backup.Selection:
    """The plan's selection: the database by ARN, so no tag edit can drop it silently."""
    return aws.backup.Selection(
        f"{ctx.name}-selection",
        name="database",
        plan_id=plan.id,
        iam_role_arn=role.arn,
        resources=[database_arn],
        # AWS Backup checks the role when the selection is created.
        opts=ctx.child(depends_on=role_ready),
    )
