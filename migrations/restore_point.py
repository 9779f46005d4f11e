"""A restore point before the migrations change the schema: the instant to return to, and how.

`RestorePoints` is `runner.up`'s `before_apply` hook. It runs only when something is pending,
with the migration lock held and the history checked, before the first migration. It

1. with `Snapshots` (the Lambda with SNAPSHOT_BEFORE_MIGRATIONS=true), takes a manual RDS
   snapshot of the primary and waits until it is available; when that cannot be done by the
   deadline the run fails (NoRestorePointError) before any migration is applied. A snapshot an
   earlier run started but could not wait for is waited for instead of starting another (RDS
   snapshots one instance at a time);
2. reads the instant from the database server's clock, in UTC, rounded down to the second: a
   point-in-time restore to it holds everything committed before the migrations began;
3. records both in `migrations.restore_points` and logs how to return to them: the exact
   `aws rds restore-db-instance-to-point-in-time` command for the primary and, with a snapshot,
   the `restore-db-instance-from-db-snapshot` one. Both put the new instance where the primary
   is (its subnet group, security groups and parameter group, not publicly accessible); RDS
   would otherwise use the defaults.

After a successful run that took a snapshot, `RestorePoints.prune` deletes the older
`<primary>-before-*` snapshots beyond the newest SNAPSHOTS_TO_KEEP (the stack's
`database.keepSnapshotsBeforeMigrations`): RDS keeps manual snapshots until someone deletes them,
and they count against its quota of 100 per region, at which CreateDBSnapshot (and so every run
with something pending) would fail. Snapshots by other names are never touched.

Point-in-time recovery reaches back over the primary's backup retention
(`database.backupRetentionDays`: 30 days in both stacks, at least 30 in prod) and up to its
latest restorable time, about five minutes behind the present. A restore
creates a new instance; migrations/README.md says how to move to it.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

import psycopg

from migrations.errors import NoRestorePointError, UsageError
from migrations.files import Migration

Log = Callable[[str], None]
TABLE = "migrations.restore_points"
# The failure states of botocore's `db_snapshot_available` waiter.
SNAPSHOT_FAILED = {
    "deleted",
    "deleting",
    "failed",
    "incompatible-restore",
    "incompatible-parameters",
}
# RDS instance identifiers: 1 to 63 letters, digits or hyphens, a letter first, no trailing
# hyphen, no two hyphens in a row (stored lowercase).
_INSTANCE = re.compile(r"^[a-z](?:-?[a-z0-9])*$")
_INSTANCE_LENGTH = 63
_STAMP = "%Y%m%d%H%M%S"


@dataclass(frozen=True)
class RdsPrimary:
    """The primary instance, and where a restored copy of it must go."""

    identifier: str
    region: str
    subnet_group: str
    security_group_ids: tuple[str, ...]
    parameter_group: str

    ENVIRONMENT: ClassVar[dict[str, str]] = {
        "identifier": "DB_INSTANCE_IDENTIFIER",
        "region": "AWS_REGION",
        "subnet_group": "DB_SUBNET_GROUP_NAME",
        "security_group_ids": "DB_SECURITY_GROUP_IDS",
        "parameter_group": "DB_PARAMETER_GROUP_NAME",
    }
    """Where `from_env` finds each field (the security groups comma-separated)."""

    def __post_init__(self) -> None:
        if len(self.identifier) > _INSTANCE_LENGTH or not _INSTANCE.match(self.identifier.lower()):
            raise UsageError(
                f"{self.identifier!r} is not an RDS instance identifier (1 to 63 letters, digits "
                "or hyphens, a letter first, no trailing or doubled hyphen)"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RdsPrimary:
        return cls.parse(
            {field: env.get(variable, "") for field, variable in cls.ENVIRONMENT.items()},
            cls.ENVIRONMENT,
        )

    @classmethod
    def parse(cls, given: Mapping[str, str | None], names: Mapping[str, str]) -> RdsPrimary:
        """From text by field (security groups comma-separated); errors call each field by its
        name in `names` (an environment variable, a flag)."""
        values = {field: (given.get(field) or "").strip() for field in cls.ENVIRONMENT}
        missing = [names[field] for field, value in values.items() if not value]
        if missing:
            raise UsageError(
                f"the restore point before migrations needs {', '.join(missing)} (the primary "
                "and where a restored copy goes)"
            )
        return cls(
            identifier=values["identifier"],
            region=values["region"],
            subnet_group=values["subnet_group"],
            security_group_ids=tuple(
                group.strip() for group in values["security_group_ids"].split(",") if group.strip()
            ),
            parameter_group=values["parameter_group"],
        )

    def new_identifier(self, purpose: str, when: datetime) -> str:
        """A valid identifier for a restored copy: `<primary>-<purpose>-<UTC stamp>`."""
        suffix = f"-{purpose}-{when:{_STAMP}}"
        return self.identifier.lower()[: _INSTANCE_LENGTH - len(suffix)].rstrip("-") + suffix

    def _placement(self) -> list[str]:
        return [
            *("--db-subnet-group-name", self.subnet_group),
            *("--vpc-security-group-ids", *self.security_group_ids),
            *("--db-parameter-group-name", self.parameter_group),
            "--no-publicly-accessible",
        ]

    def restore_to_time(self, when: datetime) -> str:
        return shlex.join(
            [
                *("aws", "rds", "restore-db-instance-to-point-in-time", "--region", self.region),
                *("--source-db-instance-identifier", self.identifier),
                *("--target-db-instance-identifier", self.new_identifier("pitr", when)),
                *("--restore-time", f"{when:%Y-%m-%dT%H:%M:%SZ}"),
                *self._placement(),
            ]
        )

    def restore_from_snapshot(self, snapshot: str, when: datetime) -> str:
        return shlex.join(
            [
                *("aws", "rds", "restore-db-instance-from-db-snapshot", "--region", self.region),
                *("--db-instance-identifier", self.new_identifier("snap", when)),
                *("--db-snapshot-identifier", snapshot),
                *self._placement(),
            ]
        )

    def snapshot_identifier(self, first: Migration, when: datetime) -> str:
        """`<primary>-before-<NNNN>-<UTC stamp>`: at most 90 characters of RDS's 255."""
        return f"{self.identifier.lower()}-before-{first.id:04d}-{when:{_STAMP}}"


@dataclass(frozen=True)
class RestorePoint:
    """What was recorded before the migrations `before` were applied."""

    time: datetime
    """UTC, whole seconds, from the database server's clock."""
    before: tuple[str, ...]
    primary: RdsPrimary | None
    snapshot: str | None = None

    @property
    def iso_time(self) -> str:
        return f"{self.time:%Y-%m-%dT%H:%M:%SZ}"

    @property
    def restore_command(self) -> str | None:
        return self.primary.restore_to_time(self.time) if self.primary else None

    @property
    def snapshot_restore_command(self) -> str | None:
        if self.primary is None or self.snapshot is None:
            return None
        return self.primary.restore_from_snapshot(self.snapshot, self.time)

    def describe(self) -> list[str]:
        lines = [
            f"restore point before {', '.join(self.before)}: {self.iso_time} "
            "(the database server's clock, UTC)"
        ]
        if self.restore_command is None:
            lines.append(
                "  to return to it, restore the primary to that instant (point-in-time "
                "recovery); with --rds-instance (and the primary's placement) the exact command "
                "is printed here"
            )
        else:
            lines += [
                "  to return to it, restore the primary to that instant (point-in-time recovery "
                "reaches it for the backup retention, database.backupRetentionDays, from about "
                "5 minutes after it, once the latest restorable time has passed it):",
                f"  {self.restore_command}",
            ]
        if self.snapshot_restore_command is not None:
            lines += [
                f"  or from the snapshot {self.snapshot}:",
                f"  {self.snapshot_restore_command}",
            ]
        return lines

    def as_result(self) -> dict[str, Any]:
        """For the Lambda's result."""
        return {
            "time": self.iso_time,
            "beforeMigrations": list(self.before),
            "restoreCommand": self.restore_command,
            "snapshot": self.snapshot,
            "snapshotRestoreCommand": self.snapshot_restore_command,
        }


@dataclass
class Snapshots:
    """Takes a manual snapshot and waits for it until `deadline` (a `clock()` value)."""

    rds: Any
    """A boto3 RDS client."""
    deadline: float
    keep: int | None = None
    """How many `<primary>-before-*` snapshots `prune` keeps; None keeps all."""
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    poll_seconds: float = 15.0

    def _ours(self, primary: RdsPrimary) -> list[dict[str, Any]]:
        """The manual snapshots of `primary` named `<primary>-before-*`: the runs' own."""
        prefix = f"{primary.identifier.lower()}-before-"
        pages = self.rds.get_paginator("describe_db_snapshots").paginate(
            DBInstanceIdentifier=primary.identifier, SnapshotType="manual"
        )
        return [
            snapshot
            for page in pages
            for snapshot in page["DBSnapshots"]
            if snapshot["DBSnapshotIdentifier"].startswith(prefix)
        ]

    def _unfinished(self, primary: RdsPrimary) -> str | None:
        """A snapshot an earlier run started and is still being created."""
        for snapshot in self._ours(primary):
            if snapshot["Status"] == "creating":
                return str(snapshot["DBSnapshotIdentifier"])
        return None

    def prune(self, primary: RdsPrimary, log: Log) -> list[str]:
        """Delete the available `<primary>-before-*` snapshots older than the newest `keep`;
        return the deleted ones. One RDS refuses to delete is logged and kept: the migrations
        are applied by now, and the next run tries again."""
        if self.keep is None:
            return []
        available = [s for s in self._ours(primary) if s["Status"] == "available"]
        available.sort(key=lambda s: s["SnapshotCreateTime"], reverse=True)
        deleted = []
        for snapshot in available[self.keep :]:
            name = str(snapshot["DBSnapshotIdentifier"])
            try:
                self.rds.delete_db_snapshot(DBSnapshotIdentifier=name)
            except self.rds.exceptions.ClientError as e:
                error = e.response.get("Error", {})
                log(
                    f"could not delete the old snapshot {name} ({error.get('Code', '?')}: "
                    f"{error.get('Message', e)}); the next run tries again"
                )
                continue
            deleted.append(name)
            log(f"deleted the old snapshot {name} (the newest {self.keep} are kept)")
        return deleted

    def take(self, primary: RdsPrimary, identifier: str, first: Migration, log: Log) -> str:
        """The identifier of an available snapshot of `primary`; NoRestorePointError if none
        can be had by the deadline."""
        if self.clock() + self.poll_seconds > self.deadline:
            raise NoRestorePointError(
                "no time left for a snapshot before the migrations: raise the function's "
                "timeout (up to 900 s) or lower the migration statement timeout; nothing was "
                "applied"
            )
        try:
            unfinished = self._unfinished(primary)
            if unfinished is not None:
                identifier = unfinished
                log(f"waiting for snapshot {identifier}, which an earlier run started")
            else:
                self.rds.create_db_snapshot(
                    DBSnapshotIdentifier=identifier,
                    DBInstanceIdentifier=primary.identifier,
                    Tags=[{"Key": "webstack:before-migration", "Value": first.name}],
                )
                log(f"taking snapshot {identifier} of {primary.identifier}")
            return self._wait(identifier)
        except self.rds.exceptions.ClientError as e:
            error = e.response.get("Error", {})
            raise NoRestorePointError(
                f"could not snapshot {primary.identifier} before the migrations "
                f"({error.get('Code', '?')}: {error.get('Message', e)}); nothing was applied. "
                "An instance that is not `available` (its backup window, another snapshot, "
                "maintenance) cannot be snapshotted: retry when it is"
            ) from None

    def _wait(self, identifier: str) -> str:
        while True:
            (snapshot,) = self.rds.describe_db_snapshots(DBSnapshotIdentifier=identifier)[
                "DBSnapshots"
            ]
            status = snapshot["Status"]
            if status == "available":
                return identifier
            if status in SNAPSHOT_FAILED:
                raise NoRestorePointError(f"snapshot {identifier} is {status}; nothing was applied")
            if self.clock() + self.poll_seconds > self.deadline:
                raise NoRestorePointError(
                    f"snapshot {identifier} was not available in time: still {status} "
                    f"({snapshot.get('PercentProgress', 0)}% done) when the run had to stop "
                    "waiting to leave the migrations their time; nothing was applied. RDS goes "
                    "on creating it, and the next run waits for it rather than starting another"
                )
            self.sleep(self.poll_seconds)


def _server_now(conn: psycopg.Connection) -> datetime:
    row = conn.execute("SELECT date_trunc('second', clock_timestamp())").fetchone()
    assert row is not None
    return row[0].astimezone(UTC)


@dataclass
class RestorePoints:
    """`runner.up`'s `before_apply` hook: record a restore point; `taken` is the last one."""

    primary: RdsPrimary | None
    snapshots: Snapshots | None = None
    log: Log = print
    taken: RestorePoint | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        if self.snapshots is not None and self.primary is None:
            raise UsageError("a snapshot before migrations needs the primary instance")

    def prune(self) -> list[str]:
        """After a successful run that took a snapshot: delete the runs' snapshots beyond those
        to keep (`Snapshots.prune`); the deleted ones."""
        taken = self.taken
        if self.snapshots is None or self.primary is None or taken is None or not taken.snapshot:
            return []
        return self.snapshots.prune(self.primary, self.log)

    def __call__(self, conn: psycopg.Connection, pending: Sequence[Migration]) -> None:
        snapshot = None
        if self.snapshots is not None:
            assert self.primary is not None
            identifier = self.primary.snapshot_identifier(pending[0], _server_now(conn))
            snapshot = self.snapshots.take(self.primary, identifier, pending[0], self.log)
        point = RestorePoint(
            _server_now(conn), tuple(m.name for m in pending), self.primary, snapshot
        )
        conn.execute(
            f"""
            CREATE TABLE IF NOT EXISTS {TABLE} (
                id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                restore_time timestamptz NOT NULL,
                before_migrations text[] NOT NULL,
                snapshot text,
                restore_command text,
                recorded_by text NOT NULL DEFAULT current_user
            )
            """.encode()
        )
        conn.execute(
            f"INSERT INTO {TABLE} (restore_time, before_migrations, snapshot, restore_command)"
            " VALUES (%s, %s, %s, %s)".encode(),
            [point.time, list(point.before), point.snapshot, point.restore_command],
        )
        for line in point.describe():
            self.log(line)
        self.taken = point
