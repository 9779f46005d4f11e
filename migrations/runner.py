"""Apply, inspect, verify and reverse `NNNN_name.sql` migrations with psycopg 3.

One connection holds a session advisory lock for the whole run, so concurrent runners serialize:
the next one waits (at most `lock_wait`), then finds nothing left to do. Files run statement by
statement (migrations/execute.py), so every failure names its statement, line and column.

- A file and its row in `migrations.applied` commit in one transaction under `SET LOCAL
  lock_timeout/statement_timeout`: a migration that would queue behind production traffic for a
  table lock fails fast instead of stalling the site, and a failure leaves nothing behind.
- A `-- transactional: false` file (e.g. `CREATE INDEX CONCURRENTLY`) runs in autocommit, each
  statement its own transaction, and can fail halfway. The runner then drops the INVALID index
  the failed statement left, says exactly which statements stay applied, and keeps the file's row
  as *partial* (migrations/bookkeeping.py): the next `up` refuses to run the file again from its
  start and says how to continue it, `up --resume-from N`, after the cause is fixed. Such a file
  does not start while any INVALID index exists, and `verify` fails on one.

Repeatable scripts run after every `up` in a session carrying the settings the caller hands over
(migrations/app_login.py: the API's login role).

This module is the runner's public face: the command line, the Lambda handler and the tests use
`runner.…` for the files, options and errors too (`__all__`), defined in the modules it names.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from migrations import indexes, partial
from migrations.bookkeeping import (
    Applied,
    applied,
    ensure_table,
    forget,
    history_problems,
    record_applied,
    record_progress,
)
from migrations.errors import (
    EXIT_CODE_MEANING,
    BadMigrationsError,
    BadUrlError,
    DriftError,
    ExitCode,
    LockTimeoutError,
    MigrationError,
    NoRestorePointError,
    NoReverseError,
    SqlError,
    UnfinishedError,
    UnreachableError,
    UsageError,
)
from migrations.execute import (
    Options,
    StoppedError,
    in_transaction,
    outside_transaction,
    session_timeouts,
)
from migrations.files import MIGRATIONS_DIR, Migration, Script, discover, repeatables

__all__ = [
    "EXIT_CODE_MEANING",
    "LOCK_KEY",
    "MIGRATIONS_DIR",
    "Applied",
    "BadMigrationsError",
    "BadUrlError",
    "DriftError",
    "ExitCode",
    "LockTimeoutError",
    "Migration",
    "MigrationError",
    "NoRestorePointError",
    "NoReverseError",
    "Options",
    "Script",
    "SqlError",
    "Status",
    "UnfinishedError",
    "UnreachableError",
    "UsageError",
    "applied",
    "connect",
    "discover",
    "down",
    "parse_url",
    "repeatables",
    "status",
    "up",
    "verify",
]

# Key of the session advisory lock every webstack runner takes: the bytes of "webstack".
LOCK_KEY = int.from_bytes(b"webstack", "big")
Log = Callable[[str], None]
BeforeApply = Callable[[psycopg.Connection, Sequence[Migration]], None]
"""Told the migrations a run will apply, before the first (migrations/restore_point.py)."""

# -- connections ----------------------------------------------------------------------------


def parse_url(url: str | None, *, what: str = "the database URL") -> dict[str, str]:
    """libpq connection parameters of `url`; errors never echo it (it holds a password)."""
    if not url:
        raise BadUrlError(f"{what} is not set (DATABASE_URL or --database-url)")
    try:
        params = {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}
    except psycopg.ProgrammingError:
        raise BadUrlError(
            f"{what} is malformed: expected postgresql://user:password@host:port/dbname"
        ) from None
    for port in params.get("port", "5432").split(","):
        if not port.isdigit() or not 0 < int(port) < 65536:
            raise BadUrlError(f"{what} has an invalid port {port!r}")
    return params


def connect(url: str | None) -> psycopg.Connection:
    """An autocommit connection (transactions are explicit) or UnreachableError/BadUrlError."""
    params = parse_url(url)
    params.setdefault("connect_timeout", "10")
    params.setdefault("application_name", "webstack-migrations")
    where = (
        f"{params.get('user', '?')}@{params.get('host', 'localhost')}:{params.get('port', 5432)}"
    )
    try:
        return psycopg.connect(make_conninfo(**params), autocommit=True)
    except psycopg.OperationalError as e:
        reason = " ".join(str(e).split()) or type(e).__name__
        raise UnreachableError(
            f"cannot connect to {where}/{params.get('dbname', '')}: {reason}"
        ) from None


@contextmanager
def _migration_lock(conn: psycopg.Connection, options: Options) -> Iterator[None]:
    # lock_timeout bounds the wait for an advisory lock like any other heavyweight lock.
    conn.execute("SELECT set_config('lock_timeout', %s, false)", [options.lock_wait])
    try:
        conn.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
    except psycopg.errors.LockNotAvailable:
        raise LockTimeoutError(
            f"another runner held the migration lock for more than {options.lock_wait}; "
            "nothing was changed, retry when it has finished"
        ) from None
    finally:
        conn.execute("RESET lock_timeout")
    try:
        yield
    finally:
        if not conn.closed and not conn.broken:
            conn.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])


def _check_history(migrations: Sequence[Migration], rows: dict[int, Applied]) -> None:
    problems = history_problems(migrations, rows)
    if problems:
        raise DriftError("migration history does not match the files:\n  " + "\n  ".join(problems))


# -- commands -------------------------------------------------------------------------------


def _apply(
    conn: psycopg.Connection, migration: Migration, options: Options, *, start: int = 0
) -> int:
    """Apply `migration` (from statement `start + 1`); its duration in ms."""
    started = time.monotonic()

    def elapsed() -> int:
        return round((time.monotonic() - started) * 1000)

    script = migration.forward
    if script.transactional:
        in_transaction(
            conn,
            script,
            options,
            start=start,
            then=lambda: record_applied(conn, migration, elapsed()),
            outcome="the migration was rolled back; nothing was recorded",
        )
        return elapsed()
    try:
        outside_transaction(
            conn,
            script,
            options,
            start=start,
            progress=lambda done: record_progress(conn, migration, done, elapsed()),
        )
    except StoppedError as stopped:
        if stopped.kept or stopped.connection_lost:
            raise partial.stopped_error(stopped, migration) from None
        forget(conn, migration)
        raise partial.nothing_kept(stopped, "the migration", "nothing was recorded") from None
    record_applied(conn, migration, elapsed())
    return elapsed()


def _run_repeatable(conn: psycopg.Connection, script: Script, options: Options) -> None:
    # The session carries the caller's settings, which may be secrets: `sensitive`.
    if script.transactional:
        in_transaction(conn, script, options, outcome="the script was rolled back", sensitive=True)
        return
    try:
        outside_transaction(conn, script, options, sensitive=True)
    except StoppedError as stopped:
        then = "repeatable scripts run whole again on the next `up`: fix the cause and run it"
        if not stopped.kept and not stopped.connection_lost:
            raise partial.nothing_kept(stopped, "the script", then) from None
        raise UnfinishedError(
            f"{stopped.report}\n{script.path.name} runs outside a transaction, so nothing was "
            f"rolled back. Applied and kept:{partial.listing(stopped.kept) or ' none'}\n{then}"
        ) from None


def up(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    options: Options,
    *,
    always: Sequence[Script] = (),
    session: Mapping[str, str] | None = None,
    resume_from: int | None = None,
    drop_invalid_indexes: bool = False,
    before_apply: BeforeApply | None = None,
    dry_run: bool = False,
    log: Log = print,
) -> list[Migration]:
    """Apply pending migrations in order, then the repeatable scripts; return what was applied.

    A migration recorded as partial comes first: without `resume_from` the run refuses
    (UnfinishedError); with it, it continues that migration at statement `resume_from`.
    `drop_invalid_indexes`: first drop every INVALID index (what failed concurrent builds left,
    which no non-transactional file runs beside). `before_apply` is called when something is
    pending, before anything changes but the bookkeeping table; if it raises, nothing is applied.
    `session`: settings (`set_config`) the repeatable scripts read. They may carry secrets, so
    the scripts' errors omit the server's context, which could quote them.
    """
    with _migration_lock(conn, options):
        rows = applied(conn)
        _check_history(migrations, rows)
        by_id = {m.id: m for m in migrations}
        halfway = [(by_id[r.id], r) for r in rows.values() if r.partial]
        start: dict[int, int] = {}
        for migration, row in halfway:
            start[migration.id] = partial.resume_start(migration, row, resume_from)
        if resume_from is not None and not halfway:
            raise UsageError(
                f"--resume-from {resume_from}: nothing to resume, no migration stopped halfway"
            )
        todo = [m for m, _ in halfway] + [m for m in migrations if m.id not in rows]
        if dry_run:
            for m in todo:
                if m.id in start:
                    log(f"would resume {m.forward.path.name} at statement {start[m.id] + 1}")
                else:
                    log(f"would apply {m.forward.path.name}")
            for script in always:
                log(f"would run repeatable/{script.path.name}")
            if drop_invalid_indexes:
                for index in indexes.invalid_indexes(conn):
                    log(f"would drop the INVALID index {index.describe()}")
            return todo
        ensure_table(conn)
        if todo and before_apply is not None:
            before_apply(conn, todo)
        if drop_invalid_indexes:
            with session_timeouts(conn, options):
                lines, gone = indexes.drop_all(conn, "(--drop-invalid-indexes)")
            for line in lines:
                log(line)
            if not gone:
                raise UnfinishedError(
                    "\n".join(lines) + "\nnothing else was done", drop_invalid_indexes=True
                )
        for m in todo:
            took = _apply(conn, m, options, start=start.get(m.id, 0))
            resumed = f" (resumed at statement {start[m.id] + 1})" if m.id in start else ""
            log(f"applied {m.forward.path.name}{resumed} in {took} ms")
        for name, value in (session or {}).items():
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        for script in always:
            _run_repeatable(conn, script, options)
            log(f"ran repeatable/{script.path.name}")
        if not todo:
            log("nothing to apply: the database is up to date")
        return todo


def _revert(conn: psycopg.Connection, migration: Migration, down: Script, options: Options) -> None:
    if down.transactional:
        in_transaction(
            conn,
            down,
            options,
            then=lambda: forget(conn, migration),
            outcome=f"the reverse plan was rolled back; {migration.name} is still applied",
        )
        return
    try:
        outside_transaction(conn, down, options)
    except StoppedError as stopped:
        if not stopped.kept and not stopped.connection_lost:
            raise partial.nothing_kept(
                stopped, "the reverse plan", f"{migration.name} is still applied"
            ) from None
        raise UnfinishedError(
            f"{stopped.report}\n{down.path.name} runs outside a transaction, so nothing "
            f"was rolled back. Applied and kept:{partial.listing(stopped.kept) or ' none'}\n"
            f"{migration.name} is still recorded as applied. Fix the cause and run `down` again: "
            "the reverse plan runs again from its start, so write it to be rerun (IF EXISTS)"
        ) from None
    forget(conn, migration)


def down(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    count: int,
    options: Options,
    *,
    dry_run: bool = False,
    log: Log = print,
) -> list[Migration]:
    """Revert the newest `count` applied migrations with their .down.sql, newest first."""
    if count < 1:
        raise UsageError(f"down needs a positive count, got {count}")
    with _migration_lock(conn, options):
        rows = applied(conn)
        _check_history(migrations, rows)
        if count > len(rows):
            raise UsageError(f"cannot revert {count}: only {len(rows)} migration(s) applied")
        by_id = {m.id: m for m in migrations}
        targets = [by_id[i] for i in sorted(rows, reverse=True)[:count]]
        stopped = [m.name for m in targets if rows[m.id].partial]
        if stopped:
            raise UnfinishedError(
                f"refusing to revert: {', '.join(stopped)} stopped halfway; resume it first "
                "(`up` says how), then revert it; nothing was reverted"
            )
        missing = [m.name for m in targets if m.down is None]
        if missing:
            raise NoReverseError(
                f"refusing to revert: no reverse plan for {', '.join(missing)} "
                "(write NNNN_name.down.sql); nothing was reverted"
            )
        for m in targets:
            assert m.down is not None
            if dry_run:
                log(f"would revert {m.forward.path.name} with {m.down.path.name}")
                continue
            _revert(conn, m, m.down, options)
            log(f"reverted {m.forward.path.name}")
        return targets


@dataclass(frozen=True)
class Status:
    """One line of `status`."""

    name: str
    state: str
    """applied, pending, partial (stopped halfway), edited or missing (file gone)."""
    applied_at: datetime | None = None
    duration_ms: int | None = None
    detail: str = ""


def status(conn: psycopg.Connection, migrations: Sequence[Migration]) -> list[Status]:
    """Every migration on disk or in the bookkeeping table, in id order."""
    rows = applied(conn)
    on_disk = {m.id: m for m in migrations}
    lines = []
    for number in sorted(set(rows) | set(on_disk)):
        row, m = rows.get(number), on_disk.get(number)
        if row is None:
            assert m is not None
            lines.append(Status(m.name, "pending"))
        elif m is None:
            lines.append(Status(row.name, "missing", row.applied_at, row.duration_ms))
        elif row.partial:
            detail = f"{row.partial_statements} of {len(m.forward.statements)} statements"
            lines.append(Status(row.name, "partial", row.applied_at, row.duration_ms, detail))
        else:
            state = "edited" if m.checksum != row.checksum else "applied"
            lines.append(Status(row.name, state, row.applied_at, row.duration_ms))
    return lines


def verify(conn: psycopg.Connection, migrations: Sequence[Migration]) -> int:
    """Raise unless the history matches the files, no migration stopped halfway and no INVALID
    index exists; return how many migrations were verified."""
    rows = applied(conn)
    problems = history_problems(migrations, rows)
    unfinished = [
        f"{r.name}: stopped halfway after statement {r.partial_statements}; `up` says how to "
        "resume it"
        for r in rows.values()
        if r.partial
    ]
    left = indexes.invalid_indexes(conn)
    if left:
        unfinished.append(indexes.refusal(left, "the database is not verified"))
    if problems:
        raise DriftError(
            "migration history does not match the files:\n  " + "\n  ".join(problems + unfinished)
        )
    if unfinished:
        raise UnfinishedError("unfinished work in the database:\n  " + "\n  ".join(unfinished))
    return len(rows)
