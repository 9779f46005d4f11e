"""Bad `webstack:backup` input: each problem names the key and the stack.

Rejections are checked on the pure parser; one case runs the whole program, to prove that
nothing is registered.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem, committed, parse, parse_problems, problems_of

KEY = "webstack:backup"


def backup(stack: str, **changes: Any) -> dict[str, Any]:
    return committed(stack, "backup", **changes)


@pytest.mark.parametrize(
    ("stack", "key", "value", "words"),
    [
        ("staging", "dailySchedule", "every day", ("six fields", "'every day'")),
        ("staging", "dailySchedule", "cron(0 5 * * ?)", ("six fields",)),
        ("prod", "dailyRetentionDays", 30, (">= 35 in prod", "30")),
        ("staging", "dailyRetentionDays", 0, (">= 1",)),
        ("staging", "dailyRetentionDays", 36501, ("<= 36500",)),
        ("prod", "copyRetentionDays", 14, (">= 35 in prod",)),
        ("prod", "drRegion", None, ("required in prod",)),
        ("prod", "drRegion", "us-east-1", ("must differ", "us-east-1")),
        ("prod", "drRegion", "us-west-9", ("not an AWS region", "us-west-2")),
        ("prod", "vaultLock", "governance", ("must be compliance in prod",)),
        ("staging", "vaultLock", "strict", ("compliance, governance, none",)),
        ("staging", "vaultLock", None, ("is required",)),
        ("prod", "lockChangeableForDays", 2, (">= 3",)),
        ("prod", "lockChangeableForDays", None, ("is required",)),
        ("staging", "lockChangeableForDays", 3, ("only to a compliance lock", "governance")),
        ("staging", "lockMaxRetentionDays", 5, (">= lockMinRetentionDays (7)",)),
        ("staging", "lockMinRetentionDays", 0, (">= 1",)),
        ("prod", "restoreTesting", False, ("must be true in prod",)),
        ("staging", "restoreTesting", "yes", ("must be a bool",)),
        ("staging", "restoreTestSchedule", "monthly", ("six fields",)),
        ("staging", "restoreTestInstanceClass", "db.x9.huge", ("unknown RDS instance class",)),
        ("staging", "restoreTestValidationHours", 0, (">= 1",)),
        ("staging", "restoreTestValidationHours", 169, ("<= 168",)),
        ("staging", "continuousBackup", "on", ("must be a bool",)),
        ("staging", "retention", 30, ("unknown key",)),
    ],
)
def test_bad_backup_values(stack: str, key: str, value: Any, words: tuple[str, ...]) -> None:
    problems = parse_problems(stack, backup=backup(stack, **{key: value}))
    assert_problem(problems, f"{KEY}.{key}", stack, *words)


def test_a_retention_outside_the_lock_is_refused_naming_it() -> None:
    problems = parse_problems(
        "prod", backup=backup("prod", lockMinRetentionDays=40, lockMaxRetentionDays=60)
    )
    assert_problem(problems, f"{KEY}.dailyRetentionDays", "prod", "35 days", "40..60")
    assert_problem(problems, f"{KEY}.copyRetentionDays", "prod", "40..60")
    # continuous backup keeps the database's own retention, which the lock bounds too
    assert_problem(
        problems, f"{KEY}.continuousBackup", "prod", "database.backupRetentionDays (30 days)"
    )


def test_without_a_lock_any_retention_goes() -> None:
    config = parse("staging", backup=backup("staging", vaultLock="none", dailyRetentionDays=1))
    assert config.backup.vault_lock == "none"
    assert config.backup.daily_retention_days == 1


def test_continuous_backup_keeps_the_databases_retention() -> None:
    database = committed("staging", "database", backupRetentionDays=9)
    config = parse("staging", database=database)
    assert config.backup.continuous_retention_days == 9


def test_the_restored_copy_defaults_to_the_databases_class() -> None:
    config = parse("staging", backup=backup("staging", restoreTestInstanceClass=None))
    assert config.backup.restore_test_instance_class == config.database.instance_class


def test_restore_tests_need_a_way_out_of_the_vpc() -> None:
    network = committed("staging", "network", natStrategy="none", interfaceEndpoints=True)
    problems = parse_problems("staging", network=network)
    assert_problem(problems, f"{KEY}.restoreTesting", "staging", "NAT", "natStrategy none")


def test_the_backup_section_is_required() -> None:
    problems = parse_problems("staging", backup=None)
    assert_problem(problems, f"{KEY}.vaultLock", "staging", "is required")


def test_nothing_is_registered_on_bad_backup_config() -> None:
    problems = problems_of("prod", backup=backup("prod", vaultLock="none"))
    assert_problem(problems, f"{KEY}.vaultLock", "prod", "compliance")
