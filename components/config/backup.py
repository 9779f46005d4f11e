"""`webstack:backup`: AWS Backup of the database, its vault lock, cross-region copies and the
restore tests that prove a recovery point restores.

The continuous (point-in-time) rule keeps `database.backupRetentionDays`, not a number of its
own: AWS Backup takes the instance's automated backups over and sets their retention to its
rule's, so two numbers would make every `pulumi up --refresh` undo what AWS Backup set.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from components.aws_facts import (
    AWS_REGIONS,
    BACKUP_MAX_RETENTION_DAYS,
    INSTANCE_CLASS_MEMORY_GIB,
    RESTORE_TEST_MAX_VALIDATION_HOURS,
    VAULT_LOCK_MIN_CHANGEABLE_DAYS,
)
from components.config.data import DatabaseConfig
from components.config.network import NetworkConfig
from components.config.reader import Section

VAULT_LOCK_MODES = ("compliance", "governance", "none")
# Prod keeps every recovery point at least five weeks: a month plus the week a problem noticed
# at month's end takes to be noticed.
PROD_MIN_RETENTION_DAYS = 35
# AWS Backup's cron grammar: six fields, as in EventBridge schedules.
CRON = re.compile(r"^cron\(\S+( \S+){5}\)$")
DEFAULT_DAILY_SCHEDULE = "cron(0 5 ? * * *)"
# The first of every month at 06:00 UTC, after that day's backup.
DEFAULT_RESTORE_TEST_SCHEDULE = "cron(0 6 1 * ? *)"


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    """`webstack:backup`: AWS Backup of the primary database."""

    daily_schedule: str
    """When the daily snapshot is taken: an AWS Backup `cron(...)` expression in UTC."""
    daily_retention_days: int
    """Days each daily snapshot is kept (at least 35 in prod)."""
    continuous_backup: bool
    """A continuous backup rule (point-in-time recovery through AWS Backup)."""
    continuous_retention_days: int
    """Days of point-in-time recovery: `database.backupRetentionDays` (see the module docstring)."""
    dr_region: str | None
    """The region the daily snapshots are copied to; unset: no copies (staging)."""
    copy_retention_days: int
    """Days each copy in the DR region is kept."""
    vault_lock: str
    """`compliance` (immutable after its grace time; prod), `governance` or `none`."""
    lock_min_retention_days: int
    """The vault lock's minimum retention: no recovery point can be deleted younger."""
    lock_max_retention_days: int
    """The vault lock's maximum retention: no job may keep a recovery point longer."""
    lock_changeable_for_days: int | None
    """Grace days before a compliance lock becomes immutable; None for other modes."""
    restore_testing: bool
    """Restore the latest snapshot on a schedule, validate it, delete it (required in prod)."""
    restore_test_schedule: str
    """When the restore test runs: an AWS Backup `cron(...)` expression in UTC."""
    restore_test_instance_class: str
    """The restored copy's class (default: the database's own, so the timing is the real RTO)."""
    restore_test_validation_hours: int
    """Hours the restored copy lives for validation before AWS Backup deletes it (1 to 168)."""


def _cron(section: Section, key: str, default: str) -> str:
    value = section.get_str(key, default)
    if not CRON.fullmatch(value):
        section.error(
            key, f"must be an AWS cron expression of six fields such as {default}, got {value!r}"
        )
    return value


def _dr_region(section: Section, environment: str, region: str | None) -> str | None:
    dr_region = section.get_str("drRegion", "") or None
    if dr_region is None:
        if environment == "prod":
            section.error(
                "drRegion", "is required in prod: copies in another region survive its loss"
            )
    elif dr_region not in AWS_REGIONS:
        close = difflib.get_close_matches(dr_region, sorted(AWS_REGIONS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        section.error("drRegion", f"{dr_region!r} is not an AWS region the provider knows{hint}")
    elif dr_region == region:
        section.error("drRegion", f"must differ from the stack's region ({region})")
    return dr_region


def _lock(section: Section, environment: str) -> tuple[str, int, int, int | None]:
    """The vault lock's mode, minimum and maximum retention, and grace days."""
    mode = section.get_str("vaultLock", choices=VAULT_LOCK_MODES)
    if environment == "prod" and mode != "compliance":
        section.error(
            "vaultLock",
            f"must be compliance in prod (no one can delete a recovery point early), got {mode!r}",
        )
    minimum = section.get_int("lockMinRetentionDays", 7, min=1, max=BACKUP_MAX_RETENTION_DAYS)
    maximum = section.get_int("lockMaxRetentionDays", 365, min=1, max=BACKUP_MAX_RETENTION_DAYS)
    if maximum < minimum:
        section.error(
            "lockMaxRetentionDays", f"must be >= lockMinRetentionDays ({minimum}), got {maximum}"
        )
    changeable: int | None = None
    if mode == "compliance":
        changeable = section.get_int(
            "lockChangeableForDays",
            min=VAULT_LOCK_MIN_CHANGEABLE_DAYS,
            max=BACKUP_MAX_RETENTION_DAYS,
        )
    elif section.get_int("lockChangeableForDays", 0):
        section.error(
            "lockChangeableForDays",
            f"applies only to a compliance lock (a {mode} lock has no grace time to end); "
            "remove it",
        )
    return mode, minimum, maximum, changeable


def read_backup(
    section: Section,
    *,
    environment: str,
    region: str | None,
    database: DatabaseConfig,
    network: NetworkConfig,
) -> BackupConfig:
    """`webstack:backup`, checked against the database's and the network's sections."""
    daily_schedule = _cron(section, "dailySchedule", DEFAULT_DAILY_SCHEDULE)
    daily = section.get_int(
        "dailyRetentionDays", PROD_MIN_RETENTION_DAYS, min=1, max=BACKUP_MAX_RETENTION_DAYS
    )
    continuous = section.get_bool("continuousBackup", True)
    dr_region = _dr_region(section, environment, region)
    copies = section.get_int(
        "copyRetentionDays", PROD_MIN_RETENTION_DAYS, min=1, max=BACKUP_MAX_RETENTION_DAYS
    )
    for key, days in (("dailyRetentionDays", daily), ("copyRetentionDays", copies)):
        if environment == "prod" and days < PROD_MIN_RETENTION_DAYS:
            section.error(key, f"must be >= {PROD_MIN_RETENTION_DAYS} in prod, got {days}")
    mode, lock_min, lock_max, changeable = _lock(section, environment)
    if mode != "none":
        # AWS Backup fails every backup or copy job whose retention falls outside the lock's.
        kept = [("dailyRetentionDays", daily)]
        if continuous:
            kept.append(("continuousBackup", database.backup_retention_days))
        if dr_region:
            kept.append(("copyRetentionDays", copies))
        for key, days in kept:
            if not lock_min <= days <= lock_max:
                what = (
                    f"keeps database.backupRetentionDays ({days} days)"
                    if key == "continuousBackup"
                    else f"is {days} days"
                )
                section.error(
                    key,
                    f"{what}, outside the vault lock's lockMinRetentionDays..lockMaxRetentionDays "
                    f"({lock_min}..{lock_max}): AWS Backup would fail every such job",
                )
    testing = section.get_bool("restoreTesting", True)
    if environment == "prod" and not testing:
        section.error("restoreTesting", "must be true in prod: a backup is proven by a restore")
    if testing and network.nat_strategy == "none":
        section.error(
            "restoreTesting",
            "its validation Lambda reaches the AWS Backup and RDS APIs through NAT; "
            "network.natStrategy none leaves it no way out",
        )
    schedule = _cron(section, "restoreTestSchedule", DEFAULT_RESTORE_TEST_SCHEDULE)
    instance_class = section.get_str("restoreTestInstanceClass", database.instance_class)
    if instance_class and instance_class not in INSTANCE_CLASS_MEMORY_GIB:
        section.error("restoreTestInstanceClass", f"unknown RDS instance class {instance_class!r}")
    hours = section.get_int(
        "restoreTestValidationHours", 2, min=1, max=RESTORE_TEST_MAX_VALIDATION_HOURS
    )
    section.finish()
    return BackupConfig(
        daily_schedule=daily_schedule,
        daily_retention_days=daily,
        continuous_backup=continuous,
        continuous_retention_days=database.backup_retention_days,
        dr_region=dr_region,
        copy_retention_days=copies,
        vault_lock=mode,
        lock_min_retention_days=lock_min,
        lock_max_retention_days=lock_max,
        lock_changeable_for_days=changeable,
        restore_testing=testing,
        restore_test_schedule=schedule,
        restore_test_instance_class=instance_class,
        restore_test_validation_hours=hours,
    )
