"""Restore points: the identifiers they make satisfy RDS's rules for any valid primary, and the
time budget a snapshot gets is read from the intervals the runner accepts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from migrations import runner
from migrations.execute import interval_seconds
from migrations.files import Migration, Script
from migrations.restore_point import RdsPrimary

# RDS's documented rules: letters, digits and hyphens, a letter first, no trailing hyphen, no
# two hyphens in a row; DB instances at most 63 characters, DB snapshots at most 255.
RULE = re.compile(r"^[a-zA-Z](?:-?[a-zA-Z0-9])*$")
WHEN = datetime(2026, 5, 1, 12, 3, 4, tzinfo=UTC)
FIRST = Migration(7, "0007_widgets", Script(Path("0007_widgets.sql"), ""))


def primary(identifier: str) -> RdsPrimary:
    return RdsPrimary(identifier, "eu-west-1", "db-subnets", ("sg-1",), "pg15")


@pytest.mark.parametrize(
    "identifier",
    [
        "webstack-prod-postgres",
        "a" * 63,
        # a hyphen where the name is cut to make room for the suffix
        "a" * 42 + "-" + "b" * 20,
        "Mixed-Case-9",
    ],
)
def test_generated_identifiers_satisfy_rds_rules(identifier: str) -> None:
    source = primary(identifier)
    for purpose in ("pitr", "snap"):
        target = source.new_identifier(purpose, WHEN)
        assert RULE.match(target) and len(target) <= 63, target
        assert target.endswith(f"-{purpose}-20260501120304")
    snapshot = source.snapshot_identifier(FIRST, WHEN)
    assert RULE.match(snapshot) and len(snapshot) <= 255
    assert snapshot == f"{identifier.lower()}-before-0007-20260501120304"


@pytest.mark.parametrize("identifier", ["", "9lives", "ends-", "two--hyphens", "a" * 64, "a_b"])
def test_an_invalid_primary_identifier_is_refused(identifier: str) -> None:
    with pytest.raises(runner.UsageError, match="not an RDS instance identifier"):
        primary(identifier)


def test_the_restore_time_is_iso_utc_to_the_second() -> None:
    command = primary("webstack-prod-postgres").restore_to_time(WHEN)
    assert "--restore-time 2026-05-01T12:03:04Z" in command


@pytest.mark.parametrize(
    ("interval", "seconds"),
    [("5min", 300), ("30s", 30), ("1h", 3600), ("250ms", 0.25), ("1500", 1.5)],
)
def test_interval_seconds(interval: str, seconds: float) -> None:
    runner.Options(statement_timeout=interval)  # an interval the runner accepts
    assert interval_seconds(interval) == seconds
