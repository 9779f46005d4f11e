"""The cost of backups: vault storage, copies to another region and restore tests, hand-checked
on resources written with the real SDK (so the input names are the registered ones)."""

from __future__ import annotations

from typing import Any

import pulumi_aws as aws
import pytest

from tools import cost
from tools.cost_assumptions import CostAssumptions
from tools.mockcloud import run_program

ROLE = "arn:aws:iam::123456789012:role/backup"


def backed_up_stack(schedule: str, *, copies: bool = True) -> cost.Estimate:
    def program() -> dict[str, Any]:
        db = aws.rds.Instance(
            "db",
            identifier="db",
            instance_class="db.r6g.xlarge",
            engine="postgres",
            allocated_storage=100,
            storage_type="gp3",
            backup_retention_period=30,
        )
        vault = aws.backup.Vault("vault", name="vault")
        copy = [
            aws.backup.PlanRuleCopyActionArgs(
                destination_vault_arn="arn:aws:backup:us-west-2:123456789012:backup-vault:dr",
                lifecycle=aws.backup.PlanRuleCopyActionLifecycleArgs(delete_after=35),
            )
        ]
        plan = aws.backup.Plan(
            "plan",
            name="plan",
            rules=[
                aws.backup.PlanRuleArgs(
                    rule_name="daily",
                    target_vault_name=vault.name,
                    schedule="cron(0 5 ? * * *)",
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=35),
                    copy_actions=copy if copies else None,
                ),
                aws.backup.PlanRuleArgs(
                    rule_name="continuous",
                    target_vault_name=vault.name,
                    schedule="cron(0 5 ? * * *)",
                    enable_continuous_backup=True,
                    lifecycle=aws.backup.PlanRuleLifecycleArgs(delete_after=30),
                ),
            ],
        )
        aws.backup.Selection(
            "selection", name="db", plan_id=plan.id, iam_role_arn=ROLE, resources=[db.arn]
        )
        tests = aws.backup.RestoreTestingPlan(
            "tests",
            name="tests",
            schedule_expression=schedule,
            recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.arn],
                recovery_point_types=["SNAPSHOT"],
            ),
        )
        aws.backup.RestoreTestingSelection(
            "test",
            name="db",
            restore_testing_plan_name=tests.name,
            protected_resource_type="RDS",
            protected_resource_arns=[db.arn],
            iam_role_arn=ROLE,
            validation_window_hours=2,
            restore_metadata_overrides={"dbInstanceClass": "db.t4g.medium"},
        )
        return {}

    evaluation = run_program("test", {"aws:region": "us-east-1"}, [], program)
    return cost.estimate(evaluation.resources, CostAssumptions(db_daily_change_percent=3))


def monthly(est: cost.Estimate, item: str) -> float:
    found = [x.monthly for x in est.lines if x.item == item]
    assert len(found) == 1 and found[0] is not None, [x.item for x in est.lines]
    return found[0]


def test_snapshots_copies_and_restore_tests_are_priced() -> None:
    est = backed_up_stack("cron(0 6 1 * ? *)")
    assert not est.unpriced, est.unpriced
    # the chain: 100 GB + 35 days × 3 % = 205 GB × $0.095 = $19.475
    assert monthly(est, "daily snapshots (warm)") == pytest.approx(19.475)
    # each day's change crosses regions: 100 GB × 3 % × 30.417 days × $0.02 = $1.825
    assert monthly(est, "daily copies to the DR region: transfer") == pytest.approx(1.825)
    assert monthly(est, "daily copies in the DR vault (warm)") == pytest.approx(19.475)
    # the continuous rule keeps RDS's automated backups, priced on the instance
    assert not [x for x in est.lines if x.item.startswith("continuous")]
    # one run a month × the 2 h window × db.t4g.medium's $0.065 = $0.13
    assert monthly(est, "restored instance db.t4g.medium") == pytest.approx(0.13)
    # 100 GB for 2 of 730 hours × $0.115 = $0.0315
    assert monthly(est, "restored storage gp3") == pytest.approx(100 * 2 / 730 * 0.115)


def test_no_copies_no_transfer() -> None:
    est = backed_up_stack("cron(0 6 1 * ? *)", copies=False)
    assert not [x for x in est.lines if "DR" in x.item]


def test_a_schedule_the_estimate_cannot_read_is_unpriced_not_zero() -> None:
    est = backed_up_stack("rate(30 days)")
    [line] = est.unpriced
    assert line.item == "restore tests" and "rate(30 days)" in line.note


@pytest.mark.parametrize(
    ("expression", "runs"),
    [
        ("cron(0 6 1 * ? *)", 1),  # the 1st of every month
        ("cron(0 6 1 1/3 ? *)", 1 / 3),  # quarterly from January
        ("cron(0 6 1,15 * ? *)", 2),
        ("cron(0 5 ? * 2#1 *)", 1),  # the first Monday
        ("cron(0 5 ? * 6L *)", 1),  # the last Friday
        ("cron(0 5 L * ? *)", 1),
        ("cron(0 5 ? * MON-FRI *)", 5 * 730 / 24 / 7),
        ("cron(0 5 ? * * *)", 730 / 24),
        ("cron(0 */6 ? * * *)", 4 * 730 / 24),
        ("cron(0 6 1 JAN,JUL ? *)", 2 / 12),
        ("cron(0 6 1 *)", None),
        ("cron(0 6 1 * ? FOO BAR)", None),
        ("cron(0 6 X * ? *)", None),
    ],
)
def test_runs_per_month(expression: str, runs: float | None) -> None:
    counted = cost.runs_per_month(expression)
    assert counted == (None if runs is None else pytest.approx(runs))
