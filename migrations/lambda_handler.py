"""The migration Lambda: the same runner, inside the VPC, invoked by `pulumi up`.

Environment (set by components/migration_job.py, no secrets in it): MASTER_SECRET_ARN (the RDS
master secret, JSON with username and password), DATABASE_URL_SECRET_ARN (the API's URL, whose
user and password become the API login role), DB_HOST, DB_PORT, DB_NAME, the
MIGRATION_LOCK_WAIT / MIGRATION_LOCK_TIMEOUT / MIGRATION_STATEMENT_TIMEOUT intervals and the API
login role's limits APP_CONNECTION_LIMIT / APP_STATEMENT_TIMEOUT /
APP_IDLE_IN_TRANSACTION_TIMEOUT.

The restore point (migrations/restore_point.py) that `up` records before the first pending
migration needs the primary and where a restored copy of it goes: DB_INSTANCE_IDENTIFIER,
DB_SUBNET_GROUP_NAME, DB_SECURITY_GROUP_IDS (comma-separated), DB_PARAMETER_GROUP_NAME, and
AWS_REGION (which Lambda sets); `up` refuses to start without them. SNAPSHOT_BEFORE_MIGRATIONS
(`true` or `false`, default false; the stack's `database.snapshotBeforeMigrations`) adds a
manual RDS snapshot, waited for within the invocation's time: until the remaining time
(`context.get_remaining_time_in_millis()` when the run starts) minus a reserve for the
migrations themselves of MIGRATION_STATEMENT_TIMEOUT (the longest one statement may run) plus
60 s (connecting, the repeatable scripts, the bookkeeping). With the defaults (600 s timeout,
5 min statements) that is about 4 minutes; if the snapshot is not available by then the run
fails before any migration is applied, the snapshot goes on, and the next run waits for it.
SNAPSHOTS_TO_KEEP (a whole number, 1 or more; the stack's
`database.keepSnapshotsBeforeMigrations`) makes a successful run that took a snapshot delete the
older `<primary>-before-*` ones beyond that many; without it all are kept. Snapshots need the RDS
API: rds:CreateDBSnapshot on the instance and the snapshot ARNs, rds:AddTagsToResource on the
snapshot ARN (the snapshot is tagged at creation), rds:DescribeDBSnapshots, rds:DeleteDBSnapshot
on the snapshot ARN, and an HTTPS path to rds.<region>.amazonaws.com (NAT, or an `rds` interface
VPC endpoint where 443 only reaches the VPC).

The master password only ever travels over TLS with the server verified (`verify-full`)
against AWS's RDS CA bundle, which `make package` puts next to this file as rds-ca-bundle.pem;
without it the handler refuses to run.

Event: {"command": "up" | "status" | "verify"} (default up), and for `up` optionally
"resumeFrom": N and "dropInvalidIndexes": true, the runner's `--resume-from N` (continue a
non-transactional migration that stopped halfway at its statement N) and
`--drop-invalid-indexes` (migrations/README.md). `pulumi up` always sends {"command": "up"},
which refuses to go on past such a migration or index; its error carries the exact `aws lambda
invoke` command that continues. The result of `up` names what was applied, the restore
point ("restorePoint": its time, the restore commands, the snapshot; null when nothing was
pending) and the old snapshots it deleted ("snapshotsDeleted"). Any failure raises, so the
invocation reports a FunctionError and `pulumi up` stops before the API service rolls.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from migrations import runner
from migrations.app_login import AppLogin, AppRole
from migrations.execute import interval_seconds
from migrations.restore_point import RdsPrimary, RestorePoints, Snapshots

log = logging.getLogger("migrations")
log.setLevel(logging.INFO)
FetchSecret = Callable[[str], str]
COMMANDS = ("up", "status", "verify")
CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")
"""AWS's RDS CA bundle in the package (tools/lambda_package.py writes it there)."""
RESERVE_MARGIN_SECONDS = 60
"""Beyond one statement timeout, what the run keeps for itself after the snapshot."""


def check_ca_bundle(path: Path) -> None:
    """Refuse to connect without a readable bundle of PEM certificates at `path`."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as e:
        raise runner.MigrationError(
            f"the RDS CA bundle {path} is missing or holds no PEM certificates ({e}); "
            "rebuild the package with `make package`, which bundles it, and deploy again"
        ) from None


def aws_client(service: str, region: str | None = None) -> Any:
    """A boto3 client (boto3 ships with the Lambda runtime; it is not in the package)."""
    # boto3 has no type information: mypy calls it import-untyped where it is installed and
    # import-not-found where it is not.
    import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]

    return boto3.client(service, region_name=region)


def fetch_secret(arn: str) -> str:
    """SecretString of `arn` from Secrets Manager."""
    return str(aws_client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def invocation(env: Mapping[str, str], error: runner.UnfinishedError) -> str:
    """The AWS CLI command that invokes this function with what continues `error`'s run."""
    event: dict[str, Any] = {"command": "up"}
    if error.drop_invalid_indexes:
        event["dropInvalidIndexes"] = True
    if error.resume_from is not None:
        event["resumeFrom"] = error.resume_from
    payload = json.dumps(event)
    return (
        "aws lambda invoke --function-name "
        f"{env.get('AWS_LAMBDA_FUNCTION_NAME', '<the migrations function>')} "
        f"--cli-binary-format raw-in-base64-out --payload '{payload}' result.json"
    )


@dataclass(frozen=True)
class Request:
    """A validated event."""

    command: str
    resume_from: int | None = None
    drop_invalid_indexes: bool = False

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> Request:
        command = event.get("command", "up")
        if command not in COMMANDS:
            raise runner.UsageError(f"unknown command {command!r}; expected one of {COMMANDS}")
        resume_from = event.get("resumeFrom")
        if resume_from is not None and (
            command != "up" or type(resume_from) is not int or resume_from < 1
        ):
            raise runner.UsageError(
                '"resumeFrom" must be a statement number (1 or more) of an "up" event, got '
                f"{resume_from!r}"
            )
        drop = event.get("dropInvalidIndexes", False)
        if type(drop) is not bool or (drop and command != "up"):
            raise runner.UsageError(
                f'"dropInvalidIndexes" must be true or false in an "up" event, got {drop!r}'
            )
        return cls(command, resume_from, drop)


@dataclass(frozen=True)
class Clock:
    """The invocation's time: what is left of it, and how the snapshot waits."""

    remaining_ms: Callable[[], int]
    """context.get_remaining_time_in_millis"""
    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


def _snapshot_flag(env: Mapping[str, str]) -> bool:
    value = env.get("SNAPSHOT_BEFORE_MIGRATIONS", "false").strip().lower()
    if value not in ("true", "false"):
        raise runner.UsageError(f"SNAPSHOT_BEFORE_MIGRATIONS must be true or false, got {value!r}")
    return value == "true"


def _snapshots_to_keep(env: Mapping[str, str]) -> int | None:
    value = env.get("SNAPSHOTS_TO_KEEP", "").strip()
    if not value:
        return None
    if not value.isdigit() or int(value) < 1:
        raise runner.UsageError(
            f"SNAPSHOTS_TO_KEEP must be a whole number, 1 or more, got {value!r}"
        )
    return int(value)


def restore_points(
    env: Mapping[str, str],
    options: runner.Options,
    clock: Clock | None,
    rds: Callable[[str], Any],
) -> RestorePoints:
    """The restore-point hook of `up`, with a snapshot if SNAPSHOT_BEFORE_MIGRATIONS says so."""
    primary = RdsPrimary.from_env(env)
    if not _snapshot_flag(env):
        return RestorePoints(primary, log=log.info)
    keep = _snapshots_to_keep(env)
    if clock is None:
        raise runner.UsageError("a snapshot before migrations needs the invocation's time")
    reserve = interval_seconds(options.statement_timeout) + RESERVE_MARGIN_SECONDS
    deadline = clock.monotonic() + clock.remaining_ms() / 1000 - reserve
    snapshots = Snapshots(
        rds(primary.region),
        deadline,
        keep=keep,
        clock=clock.monotonic,
        sleep=clock.sleep,
    )
    return RestorePoints(primary, snapshots, log=log.info)


def _database_url(env: Mapping[str, str], fetch: FetchSecret, ca_bundle: Path) -> str:
    try:
        master = json.loads(fetch(env["MASTER_SECRET_ARN"]))
        user, password = master["username"], master["password"]
    except (ValueError, KeyError, TypeError):
        raise runner.BadUrlError(
            "the master secret must be JSON with username and password"
        ) from None
    return make_conninfo(
        host=env["DB_HOST"],
        port=env.get("DB_PORT", "5432"),
        dbname=env["DB_NAME"],
        user=user,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(ca_bundle),
    )


def run(
    event: Mapping[str, Any],
    env: Mapping[str, str],
    fetch: FetchSecret,
    ca_bundle: Path = CA_BUNDLE,
    *,
    clock: Clock | None = None,
    rds: Callable[[str], Any] = lambda region: aws_client("rds", region),
    directory: Path = runner.MIGRATIONS_DIR,
) -> dict[str, Any]:
    """Run the event's command against the database `env` describes; raise on any failure.

    `clock`: the invocation's time (a snapshot needs it); `rds`: an RDS client for a region.
    """
    request = Request.of(event)
    check_ca_bundle(ca_bundle)
    defaults = runner.Options()
    options = runner.Options(
        lock_wait=env.get("MIGRATION_LOCK_WAIT", defaults.lock_wait),
        lock_timeout=env.get("MIGRATION_LOCK_TIMEOUT", defaults.lock_timeout),
        statement_timeout=env.get("MIGRATION_STATEMENT_TIMEOUT", defaults.statement_timeout),
    )
    points = restore_points(env, options, clock, rds) if request.command == "up" else None
    url = _database_url(env, fetch, ca_bundle)
    app_role = AppRole(
        login=(
            AppLogin.from_url(fetch(env["DATABASE_URL_SECRET_ARN"]))
            if request.command == "up"
            else None
        ),
        connection_limit=int(env.get("APP_CONNECTION_LIMIT", AppRole.connection_limit)),
        statement_timeout=env.get("APP_STATEMENT_TIMEOUT", AppRole.statement_timeout),
        idle_in_transaction_timeout=env.get(
            "APP_IDLE_IN_TRANSACTION_TIMEOUT", AppRole.idle_in_transaction_timeout
        ),
    )
    migrations = runner.discover(directory)
    with runner.connect(url) as conn:
        if request.command == "verify":
            return {"command": "verify", "verified": runner.verify(conn, migrations)}
        if request.command == "status":
            return {
                "command": "status",
                "migrations": [
                    {"name": s.name, "state": s.state} for s in runner.status(conn, migrations)
                ],
            }
        try:
            done = runner.up(
                conn,
                migrations,
                options,
                always=runner.repeatables(directory),
                session=app_role.session_settings(),
                resume_from=request.resume_from,
                drop_invalid_indexes=request.drop_invalid_indexes,
                before_apply=points,
                log=log.info,
            )
        except runner.UnfinishedError as e:
            if e.resume_from is None and not e.drop_invalid_indexes:
                raise
            raise runner.UnfinishedError(
                f"{e}\nfrom this Lambda: {invocation(env, e)}",
                resume_from=e.resume_from,
                drop_invalid_indexes=e.drop_invalid_indexes,
            ) from None
        taken = points.taken if points is not None else None
        return {
            "command": "up",
            "applied": [m.name for m in done],
            "restorePoint": taken.as_result() if taken is not None else None,
            "snapshotsDeleted": points.prune() if points is not None else [],
        }


def handler(event: Mapping[str, Any] | None, context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    try:
        result = run(
            event or {},
            os.environ,
            fetch_secret,
            clock=Clock(remaining_ms=context.get_remaining_time_in_millis),
        )
    except runner.MigrationError as e:
        log.error("%s failed (exit class %s): %s", type(e).__name__, e.exit_code.name, e)
        raise
    log.info("done: %s", json.dumps(result))
    return result
