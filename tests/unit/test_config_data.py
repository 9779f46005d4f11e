"""Bad data-tier input: each problem names the key and the stack.

Rejections are checked on the pure parser; plain-text external secrets also run the whole
program, to prove that nothing is registered and no value is echoed.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.helpers import assert_problem, committed, evaluated, parse, parse_problems, problems_of


@pytest.mark.parametrize(
    ("stack", "section", "key", "value", "words"),
    [
        ("staging", "secrets", "recoveryWindowDays", 3, ("0 or 7 to 30", "got 3")),
        ("prod", "secrets", "kmsDeletionWindowDays", 31, ("<= 30",)),
        ("staging", "database", "engineVersion", "12", ("supported PostgreSQL major", "'12'")),
        ("staging", "database", "engineVersion", "latest", ("supported PostgreSQL major",)),
        ("staging", "database", "engineVersion", 17, ("must be a str",)),
        ("prod", "database", "instanceClass", "db.x9.huge", ("unknown RDS instance class",)),
        ("staging", "database", "allocatedStorageGb", 10, (">= 20",)),
        ("staging", "database", "maxAllocatedStorageGb", 21, ("10% above", "(20)")),
        ("prod", "database", "multiAz", False, ("must be true in prod",)),
        ("prod", "database", "backupRetentionDays", 29, (">= 30 in prod", "29")),
        ("staging", "database", "backupRetentionDays", 36, ("<= 35",)),
        ("staging", "database", "performanceInsightsRetentionDays", 30, ("multiple of 31",)),
        ("staging", "database", "monitoringIntervalSeconds", 0, ("1, 5, 10, 15, 30, 60",)),
        ("staging", "database", "readReplicas", 6, ("<= 5",)),
        ("staging", "database", "logRetentionDays", 10, ("CloudWatch's values",)),
        ("staging", "cache", "engine", "memcached", ("valkey, redis",)),
        ("staging", "cache", "engineVersion", "6.2", ("valkey versions known",)),
        ("staging", "cache", "nodeType", "r6g.large", ("cache.r6g.large",)),
        ("prod", "cache", "nodes", 1, (">= 2 in prod",)),
        ("staging", "cache", "nodes", 7, ("<= 6",)),
        ("staging", "cache", "maxmemoryPolicy", "lru", ("noeviction",)),
        ("staging", "cache", "snapshotRetentionDays", 0, (">= 1",)),
        ("prod", "cache", "logRetentionDays", 100, ("CloudWatch's values",)),
        ("prod", "database", "applyImmediately", "yes", ("must be a bool", "'yes'")),
        ("staging", "cache", "applyImmediately", 1, ("must be a bool",)),
        ("prod", "database", "caBundlePath", "certs/rds.pem", ("absolute path", "'certs/rds.pem'")),
        ("prod", "database", "caBundlePath", "/etc/ssl/a.pem&sslmode=disable", ("absolute path",)),
        ("staging", "database", "caBundlePath", "/etc/ssl/my bundle.pem", ("absolute path",)),
        ("staging", "database", "caBundlePath", 5, ("must be a str",)),
        ("prod", "database", "snapshotBeforeMigrations", "no", ("must be a bool", "'no'")),
        ("prod", "database", "keepSnapshotsBeforeMigrations", 0, (">= 1",)),
        # RDS allows 100 manual snapshots per region; the run's new one needs a free place.
        ("prod", "database", "keepSnapshotsBeforeMigrations", 100, ("<= 99",)),
        ("prod", "database", "keepSnapshotsBeforeMigrations", "5", ("must be a int",)),
        ("staging", "database", "reserveLambdaConcurrency", 1, ("must be a bool",)),
        # Staging takes no snapshots before migrations: there is nothing to keep.
        ("staging", "database", "keepSnapshotsBeforeMigrations", 5, ("not used",)),
    ],
)
def test_bad_data_tier_values(
    stack: str, section: str, key: str, value: Any, words: tuple[str, ...]
) -> None:
    problems = parse_problems(stack, **{section: committed(stack, section, **{key: value})})
    assert_problem(problems, f"webstack:{section}.{key}", stack, *words)


@pytest.mark.parametrize("section", ["secrets", "database", "cache"])
def test_unknown_data_tier_keys(section: str) -> None:
    problems = parse_problems("staging", **{section: committed("staging", section, sizee=1)})
    assert_problem(problems, f"webstack:{section}.sizee", "staging", "unknown key")


@pytest.mark.parametrize(("section", "key"), [("database", "instanceClass"), ("cache", "nodes")])
def test_required_data_tier_keys(section: str, key: str) -> None:
    values = committed("prod", section)
    del values[key]
    assert_problem(
        parse_problems("prod", **{section: values}), f"webstack:{section}.{key}", "prod", "required"
    )


def test_staging_may_keep_fewer_backups_and_one_cache_node() -> None:
    database = committed("staging", "database", backupRetentionDays=7)
    ev = evaluated("staging", overrides={"webstack:database": database})
    assert ev.one("aws:rds/instance:Instance").inputs["backupRetentionPeriod"] == 7


@pytest.mark.parametrize(("stack", "expected"), [("prod", True), ("staging", False)])
def test_only_prod_snapshots_before_migrations_unless_told(stack: str, expected: bool) -> None:
    assert parse(stack).database.snapshot_before_migrations is expected
    database = committed(stack, "database", snapshotBeforeMigrations=not expected)
    assert parse(stack, database=database).database.snapshot_before_migrations is not expected


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_migration_concurrency_is_reserved_unless_told(stack: str) -> None:
    assert parse(stack).database.reserve_lambda_concurrency is True
    database = committed(stack, "database", reserveLambdaConcurrency=False)
    assert parse(stack, database=database).database.reserve_lambda_concurrency is False


def test_plain_text_external_secrets_are_refused_without_echoing_them() -> None:
    value = secrets.token_urlsafe(32)
    problems = problems_of("prod", externalSecrets={"STRIPE_SECRET_KEY": value})
    assert_problem(problems, "webstack:externalSecrets", "prod", "plain text", "--secret")
    assert not any(value in p for p in problems)


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("stripe-key", secrets.token_urlsafe(16), ("env var name",)),
        ("1PASSWORD", secrets.token_urlsafe(16), ("env var name",)),
        ("DATABASE_URL", secrets.token_urlsafe(16), ("collides", "DATABASE_URL")),
        ("JWT_SECRET", secrets.token_urlsafe(16), ("collides",)),
        ("REDIS_URL", secrets.token_urlsafe(16), ("collides",)),
        ("AWS_SECRET_ACCESS_KEY", secrets.token_urlsafe(16), ("runtime",)),
        ("SMTP_PASSWORD", "", ("non-empty",)),
        ("SMTP_PASSWORD", 12345, ("non-empty", "int")),
        ("SENTRY_DSN", "x" * 65537, ("65536 bytes",)),
    ],
    # Ids without the random values, which would differ between the xdist workers.
    ids=[
        "bad-name",
        "digit-first",
        "database-url",
        "jwt",
        "redis-url",
        "runtime-prefix",
        "empty",
        "not-a-string",
        "too-long",
    ],
)
def test_bad_external_secrets(name: str, value: Any, words: tuple[str, ...]) -> None:
    problems = parse_problems(
        "staging", secret_overrides={"webstack:externalSecrets": {name: value}}
    )
    assert_problem(problems, f"webstack:externalSecrets.{name}", "staging", *words)
    assert not (isinstance(value, str) and value and any(value in p for p in problems))


def test_external_secrets_must_be_a_map() -> None:
    problems = parse_problems(
        "staging", secret_overrides={"webstack:externalSecrets": secrets.token_urlsafe(16)}
    )
    assert_problem(problems, "webstack:externalSecrets", "staging", "map of NAME")
