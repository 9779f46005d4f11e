"""`python -m migrations {up,status,verify,down}`: the command line of the runner.

How the runner works, what a non-transactional file promises, and how a file that stopped
halfway is resumed: migrations/README.md (and `--help`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import UTC
from pathlib import Path

from migrations import runner
from migrations.app_login import AppLogin, AppRole
from migrations.restore_point import RdsPrimary, RestorePoints
from migrations.runner import EXIT_CODE_MEANING, ExitCode, MigrationError, Options

_HALFWAY = """\
a file that stops halfway:
  A file headed `-- transactional: false` runs outside a transaction, one statement after the
  other, and a failure cannot undo the statements before it. The runner then drops the INVALID
  index a failed CREATE INDEX CONCURRENTLY left, lists the statements that stay applied and
  records the file as partial (status: partial). `up` then refuses to run that file again from
  its start, and `verify` fails, until it is continued: find and fix the cause (the error named
  the statement, line and column), then `up --resume-from N`, N being the first statement not
  applied (the one that failed; `up` prints the exact command). N may be lower, to run applied
  statements again, never higher. The statements before N must be unchanged in the file; later
  ones may be fixed. No such file starts while an INVALID index exists: one the runner could
  not drop (a lock held by live traffic) goes with `up --drop-invalid-indexes`, or by hand.
"""


_RDS_FLAGS = {
    "identifier": ("--rds-instance", "the primary's DB instance identifier"),
    "region": ("--rds-region", "its region"),
    "subnet_group": ("--rds-subnet-group", "its DB subnet group"),
    "security_group_ids": ("--rds-security-groups", "its VPC security groups, comma-separated"),
    "parameter_group": ("--rds-parameter-group", "its DB parameter group"),
}


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--database-url",
        default=os.environ.get("DATABASE_URL"),
        help="who applies migrations (the RDS master user); default $DATABASE_URL",
    )
    common.add_argument(
        "--app-database-url",
        default=os.environ.get("APP_DATABASE_URL"),
        help="the API's URL: its user and password become the API login role "
        "(default $APP_DATABASE_URL; `up` needs it for repeatable/app_login.sql)",
    )
    common.add_argument(
        "--dir", type=Path, default=runner.MIGRATIONS_DIR, help="migrations directory"
    )
    common.add_argument(
        "--lock-wait", default="60s", help="wait this long for another runner (default 60s)"
    )
    common.add_argument(
        "--lock-timeout",
        default="5s",
        help="per migration: fail if a table lock is not granted within this (default 5s)",
    )
    common.add_argument(
        "--statement-timeout",
        default="5min",
        help="per migration: fail a statement running longer (default 5min)",
    )
    common.add_argument(
        "--app-connection-limit",
        type=int,
        default=AppRole.connection_limit,
        help="CONNECTION LIMIT of the API login role "
        f"(default {AppRole.connection_limit}; the deploy passes its pool budget)",
    )
    common.add_argument(
        "--app-statement-timeout",
        default=AppRole.statement_timeout,
        help="statement_timeout of the API login role "
        f"(default {AppRole.statement_timeout}; the deploy passes api.dbStatementTimeoutMs)",
    )
    common.add_argument(
        "--app-idle-in-transaction-timeout",
        default=AppRole.idle_in_transaction_timeout,
        help="idle_in_transaction_session_timeout of the API login role (default "
        f"{AppRole.idle_in_transaction_timeout}; the deploy passes "
        "api.dbIdleInTransactionTimeoutMs)",
    )
    codes = "\n".join(f"  {int(c):>2}  {m}" for c, m in EXIT_CODE_MEANING.items())
    parser = argparse.ArgumentParser(
        prog="python -m migrations",
        description="Apply, inspect, verify and reverse webstack's SQL migrations.",
        epilog=f"{_HALFWAY}\nexit codes:\n{codes}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser(
        "up",
        parents=[common],
        help="apply pending migrations",
        epilog=_HALFWAY,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    up.add_argument("--dry-run", action="store_true", help="list what would run, change nothing")
    up.add_argument(
        "--resume-from",
        type=int,
        metavar="N",
        help="continue the migration that stopped halfway at its statement N (see below)",
    )
    rds = up.add_argument_group(
        "restore point",
        "Before the first pending migration, `up` prints the instant to return to (the server's "
        "clock, UTC) and records it in migrations.restore_points. With the RDS primary named it "
        "also prints the exact point-in-time restore command, which puts the copy where the "
        "primary is; the defaults come from the environment the migration Lambda has.",
    )
    for field, (flag, what) in _RDS_FLAGS.items():
        variable = RdsPrimary.ENVIRONMENT[field]
        rds.add_argument(
            flag,
            default=os.environ.get(variable),
            dest=f"rds_{field}",
            help=f"{what} (${variable})",
        )
    up.add_argument(
        "--drop-invalid-indexes",
        action="store_true",
        help="first drop every INVALID index (what a failed CREATE INDEX CONCURRENTLY left)",
    )
    commands.add_parser("status", parents=[common], help="list applied and pending migrations")
    commands.add_parser(
        "verify",
        parents=[common],
        help="fail if an applied file was edited or removed, a migration stopped halfway or an "
        "INVALID index exists",
    )
    down = commands.add_parser(
        "down", parents=[common], help="revert the newest N migrations with NNNN_name.down.sql"
    )
    down.add_argument("count", type=int, metavar="N")
    down.add_argument("--dry-run", action="store_true", help="list what would run, change nothing")
    return parser


def _run(args: argparse.Namespace) -> None:
    migrations = runner.discover(args.dir)
    options = Options(
        lock_wait=args.lock_wait,
        lock_timeout=args.lock_timeout,
        statement_timeout=args.statement_timeout,
    )
    app_role = AppRole(
        login=AppLogin.from_url(args.app_database_url) if args.app_database_url else None,
        connection_limit=args.app_connection_limit,
        statement_timeout=args.app_statement_timeout,
        idle_in_transaction_timeout=args.app_idle_in_transaction_timeout,
    )
    primary = None
    if args.command == "up" and args.rds_identifier:
        primary = RdsPrimary.parse(
            {field: getattr(args, f"rds_{field}") for field in _RDS_FLAGS},
            {field: flag for field, (flag, _) in _RDS_FLAGS.items()},
        )
    with runner.connect(args.database_url) as conn:
        if args.command == "up":
            runner.up(
                conn,
                migrations,
                options,
                always=runner.repeatables(args.dir),
                session=app_role.session_settings(),
                resume_from=args.resume_from,
                drop_invalid_indexes=args.drop_invalid_indexes,
                before_apply=RestorePoints(primary),
                dry_run=args.dry_run,
            )
        elif args.command == "down":
            runner.down(conn, migrations, args.count, options, dry_run=args.dry_run)
        elif args.command == "verify":
            print(f"verified {runner.verify(conn, migrations)} applied migration(s)")
        else:
            print(f"{'MIGRATION':<40} {'STATE':<8} {'APPLIED AT (UTC)':<20} DURATION")
            for line in runner.status(conn, migrations):
                at = (
                    f"{line.applied_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"
                    if line.applied_at
                    else ""
                )
                took = f"{line.duration_ms} ms" if line.duration_ms is not None else ""
                detail = f"  ({line.detail})" if line.detail else ""
                print(f"{line.name:<40} {line.state:<8} {at:<20} {took}{detail}")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        _run(args)
    except MigrationError as e:
        print(f"error: {e}", file=sys.stderr)
        return int(e.exit_code)
    return int(ExitCode.OK)


if __name__ == "__main__":
    raise SystemExit(main())
