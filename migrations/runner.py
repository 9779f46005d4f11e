"""Apply, inspect, verify and reverse `NNNN_name.sql` migrations with psycopg 3.

One connection holds a session advisory lock for the whole run, so concurrent runners serialize:
the next one waits (at most `lock_wait`), then finds nothing left to do. Each migration and its
bookkeeping row commit in one transaction under `SET LOCAL lock_timeout/statement_timeout`, so a
migration that would queue behind production traffic for a table lock fails fast instead of
stalling the site. A `-- transactional: false` header (e.g. `CREATE INDEX CONCURRENTLY`) runs the
file statement by statement in autocommit (migrations/statements.py splits it), and its row is
written after the last statement. Repeatable scripts run after every `up` in a session carrying
the settings the caller hands over (migrations/app_login.py: the API's login role).
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from enum import IntEnum
from pathlib import Path

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import class_row

from migrations.statements import SplitError, Statement, split

MIGRATIONS_DIR = Path(__file__).resolve().parent
# Key of the session advisory lock every webstack runner takes: the bytes of "webstack".
LOCK_KEY = int.from_bytes(b"webstack", "big")
TABLE = "migrations.applied"
_FILE = re.compile(r"^(?P<id>\d{4})_(?P<slug>[a-z0-9_]+)(?P<down>\.down)?\.sql$")
_HEADER = re.compile(r"^--\s*transactional:\s*(?P<value>\S+)\s*$", re.IGNORECASE)
_INTERVAL = re.compile(r"^\d+\s*(ms|s|min|h)?$")
Log = Callable[[str], None]


class ExitCode(IntEnum):
    """Process exit codes of `python -m migrations`, one per failure class."""

    OK = 0
    FAILED = 1
    USAGE = 2
    BAD_URL = 3
    UNREACHABLE = 4
    SQL_ERROR = 5
    DRIFT = 6
    LOCK_TIMEOUT = 7
    NO_REVERSE = 8
    BAD_MIGRATIONS = 9


EXIT_CODE_MEANING = {
    ExitCode.OK: "success (also: nothing to do)",
    ExitCode.FAILED: "unexpected error (a bug: see the traceback)",
    ExitCode.USAGE: "bad command line",
    ExitCode.BAD_URL: "missing or malformed database URL",
    ExitCode.UNREACHABLE: "cannot connect: database unreachable or login refused",
    ExitCode.SQL_ERROR: "a migration failed (file:line:column, statement); it was rolled back",
    ExitCode.DRIFT: "an applied file was edited or removed, or a pending one is out of order",
    ExitCode.LOCK_TIMEOUT: "waited too long for another runner or for a table lock; retry",
    ExitCode.NO_REVERSE: "`down` refused: a migration has no NNNN_name.down.sql",
    ExitCode.BAD_MIGRATIONS: "the migrations directory is malformed (names, duplicates, headers)",
}


class MigrationError(Exception):
    """A failure the runner explains; `exit_code` classifies it."""

    exit_code = ExitCode.FAILED


class BadUrlError(MigrationError):
    exit_code = ExitCode.BAD_URL


class UnreachableError(MigrationError):
    exit_code = ExitCode.UNREACHABLE


class SqlError(MigrationError):
    exit_code = ExitCode.SQL_ERROR


class DriftError(MigrationError):
    exit_code = ExitCode.DRIFT


class LockTimeoutError(MigrationError):
    exit_code = ExitCode.LOCK_TIMEOUT


class NoReverseError(MigrationError):
    exit_code = ExitCode.NO_REVERSE


class BadMigrationsError(MigrationError):
    exit_code = ExitCode.BAD_MIGRATIONS


class UsageError(MigrationError):
    exit_code = ExitCode.USAGE


@dataclass(frozen=True)
class Script:
    """One SQL file."""

    path: Path
    sql: str
    transactional: bool = True
    statements: tuple[Statement, ...] = field(default=(), repr=False)

    @classmethod
    def load(cls, path: Path) -> Script:
        text = path.read_text(encoding="utf-8")
        transactional = True
        for line in text.splitlines():
            if line.strip() and not line.startswith("--"):
                break  # headers live in the leading comment block only
            header = _HEADER.match(line)
            if header:
                value = header["value"].lower()
                if value not in ("true", "false"):
                    raise BadMigrationsError(
                        f"{path.name}: `-- transactional:` must be true or false, got {value!r}"
                    )
                transactional = value == "true"
        try:
            statements = split(text)
        except SplitError as e:
            raise BadMigrationsError(f"{path.name}:{e}") from None
        return cls(path, text, transactional, statements)


@dataclass(frozen=True)
class Migration:
    """A numbered forward file and its optional reverse plan."""

    id: int
    name: str
    forward: Script
    down: Script | None = None

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.forward.sql.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Applied:
    """A bookkeeping row."""

    id: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int


@dataclass(frozen=True, kw_only=True)
class Options:
    """How long the runner waits, and for what."""

    lock_wait: str = "60s"
    """How long to wait for another runner's advisory lock."""
    lock_timeout: str = "5s"
    """Per migration: how long a statement may queue for a table lock."""
    statement_timeout: str = "5min"
    """Per migration: how long a statement may run."""

    def __post_init__(self) -> None:
        for name in ("lock_wait", "lock_timeout", "statement_timeout"):
            check_interval(name, getattr(self, name))


def check_interval(name: str, value: str) -> None:
    """UsageError unless `value` is a PostgreSQL interval the runner accepts (500ms, 5s, 5min)."""
    if not _INTERVAL.match(value):
        raise UsageError(f"{name} must look like 500ms, 5s, 5min or 1h, got {value!r}")


# -- files ----------------------------------------------------------------------------------


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """The numbered migrations of `directory`, in order; malformed names are errors."""
    forward: dict[int, Path] = {}
    down: dict[int, Path] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise BadMigrationsError(
                f"{path.name}: migration files are named NNNN_lower_snake.sql "
                "(or NNNN_lower_snake.down.sql)"
            )
        target = down if match["down"] else forward
        number = int(match["id"])
        if number in target:
            raise BadMigrationsError(
                f"{path.name}: number {number:04d} is taken by {target[number].name}"
            )
        target[number] = path
    for number, path in down.items():
        if number not in forward or forward[number].stem != path.name.removesuffix(".down.sql"):
            raise BadMigrationsError(f"{path.name}: no forward migration of that name")
    return [
        Migration(
            id=number,
            name=path.stem,
            forward=Script.load(path),
            down=Script.load(down[number]) if number in down else None,
        )
        for number, path in sorted(forward.items())
    ]


def repeatables(directory: Path = MIGRATIONS_DIR) -> list[Script]:
    """`repeatable/*.sql`: idempotent scripts rerun, in name order, after every `up`."""
    return [Script.load(p) for p in sorted((directory / "repeatable").glob("*.sql"))]


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


def applied(conn: psycopg.Connection) -> dict[int, Applied]:
    """The bookkeeping rows by id (none when the table does not exist yet)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE]).fetchone()
    if not row or not row[0]:
        return {}
    with conn.cursor(row_factory=class_row(Applied)) as cur:
        cur.execute(f"SELECT id, name, checksum, applied_at, duration_ms FROM {TABLE} ORDER BY id")
        return {r.id: r for r in cur.fetchall()}


def _create_table(conn: psycopg.Connection) -> None:
    conn.execute(
        f"""
        CREATE SCHEMA IF NOT EXISTS migrations;
        CREATE TABLE IF NOT EXISTS {TABLE} (
            id integer PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{{64}}$'),
            applied_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL,
            applied_by text NOT NULL DEFAULT current_user
        )
        """.encode()
    )


def history_problems(migrations: Sequence[Migration], rows: dict[int, Applied]) -> list[str]:
    """Edited or missing applied files, and pending files numbered below the newest applied."""
    on_disk = {m.id: m for m in migrations}
    problems = []
    for row in rows.values():
        found = on_disk.get(row.id)
        if found is None:
            problems.append(
                f"{row.name}: applied on {row.applied_at:%Y-%m-%d} but its file is gone"
            )
        elif found.checksum != row.checksum:
            problems.append(
                f"{found.forward.path.name}: edited after it was applied "
                f"(sha256 {row.checksum[:12]}… applied, {found.checksum[:12]}… on disk); "
                "write a new migration instead"
            )
    newest = max(rows, default=0)
    for m in migrations:
        if m.id not in rows and m.id < newest:
            problems.append(
                f"{m.forward.path.name}: pending but {rows[newest].name} is already applied; "
                "renumber it after the newest applied migration"
            )
    return problems


def _check_history(migrations: Sequence[Migration], rows: dict[int, Applied]) -> None:
    problems = history_problems(migrations, rows)
    if problems:
        raise DriftError("migration history does not match the files:\n  " + "\n  ".join(problems))


# -- execution ------------------------------------------------------------------------------


def _sql_error(
    script: Script, statement: str, offset: int, error: psycopg.Error, *, sensitive: bool
) -> SqlError:
    """The error as `file:line[:column]: message`, without the server's context if `sensitive`.

    The context quotes the failing statement, which a script may have built from its session's
    secrets (repeatable/app_login.sql: an `ALTER ROLE … PASSWORD` with a SCRAM verifier): it
    must not reach logs.
    """
    diag = error.diag
    message = (diag.message_primary or str(error)).strip()
    code = f" (SQLSTATE {diag.sqlstate})" if diag.sqlstate else ""
    if diag.statement_position:
        position = offset + int(diag.statement_position) - 1
        line_start = script.sql.rfind("\n", 0, position) + 1
        line_end = script.sql.find("\n", position)
        line = script.sql[line_start : None if line_end < 0 else line_end]
        number = script.sql.count("\n", 0, position) + 1
        column = position - line_start + 1
        where = f"{script.path.name}:{number}:{column}: {message}{code}"
        detail = f"\n    {line}\n    {' ' * (column - 1)}^"
    else:
        number = script.sql.count("\n", 0, offset + len(statement) - len(statement.lstrip())) + 1
        where = f"{script.path.name}:{number}: {message}{code}"
        detail = "".join(
            f"\n  {label}: {value}"
            for label, value in (
                ("detail", diag.message_detail),
                ("context", None if sensitive else diag.context),
            )
            if value
        )
    if diag.message_hint:
        detail += f"\n  hint: {diag.message_hint}"
    return SqlError(f"{where}{detail}\nthe migration was rolled back; nothing was recorded")


def _execute(
    conn: psycopg.Connection, script: Script, options: Options, *, sensitive: bool = False
) -> None:
    """Run a script: whole in the open transaction, or statement by statement in autocommit.

    `sensitive`: the session carries secrets (`up`'s `session`), so errors omit their context.
    """
    timeouts = (
        "SELECT set_config('lock_timeout', %s, {0}), set_config('statement_timeout', %s, {0})"
    )
    local = "true" if script.transactional else "false"
    conn.execute(timeouts.format(local), [options.lock_timeout, options.statement_timeout])
    chunks = (
        [(0, script.sql)]
        if script.transactional
        else [(st.offset, st.text) for st in script.statements]
    )
    try:
        for offset, statement in chunks:
            try:
                # bytes and no parameters: the simple query protocol, several statements at once
                conn.execute(statement.encode("utf-8"))
            except psycopg.errors.LockNotAvailable:
                raise LockTimeoutError(
                    f"{script.path.name}: waited more than lock_timeout={options.lock_timeout} "
                    "for a table lock held by live traffic; rolled back. Retry off-peak or "
                    "raise --lock-timeout deliberately"
                ) from None
            except psycopg.Error as e:
                raise _sql_error(script, statement, offset, e, sensitive=sensitive) from None
    finally:
        if not script.transactional and not conn.broken:
            conn.execute("RESET lock_timeout; RESET statement_timeout")


def _apply(conn: psycopg.Connection, migration: Migration, options: Options) -> int:
    started = time.monotonic()

    def record() -> int:
        duration = round((time.monotonic() - started) * 1000)
        conn.execute(
            f"INSERT INTO {TABLE} (id, name, checksum, duration_ms) VALUES (%s, %s, %s, %s)",
            [migration.id, migration.name, migration.checksum, duration],
        )
        return duration

    if not migration.forward.transactional:
        _execute(conn, migration.forward, options)
        return record()
    with conn.transaction():
        _execute(conn, migration.forward, options)
        return record()


def _set_session(conn: psycopg.Connection, settings: Mapping[str, str]) -> None:
    for name, value in settings.items():
        conn.execute("SELECT set_config(%s, %s, false)", [name, value])


def up(
    conn: psycopg.Connection,
    migrations: Sequence[Migration],
    options: Options,
    *,
    always: Sequence[Script] = (),
    session: Mapping[str, str] | None = None,
    dry_run: bool = False,
    log: Log = print,
) -> list[Migration]:
    """Apply pending migrations in order, then the repeatable scripts; return what was pending.

    `session`: settings (`set_config`) the repeatable scripts read. They may carry secrets, so
    the scripts' errors omit the server's context, which could quote them.
    """
    with _migration_lock(conn, options):
        rows = applied(conn)
        _check_history(migrations, rows)
        pending = [m for m in migrations if m.id not in rows]
        if dry_run:
            for m in pending:
                log(f"would apply {m.forward.path.name}")
            for script in always:
                log(f"would run repeatable/{script.path.name}")
            return pending
        _create_table(conn)
        for m in pending:
            log(f"applied {m.forward.path.name} in {_apply(conn, m, options)} ms")
        _set_session(conn, session or {})
        for script in always:
            if script.transactional:
                with conn.transaction():
                    _execute(conn, script, options, sensitive=True)
            else:
                _execute(conn, script, options, sensitive=True)
            log(f"ran repeatable/{script.path.name}")
        if not pending:
            log("nothing to apply: the database is up to date")
        return pending


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
            delete = f"DELETE FROM {TABLE} WHERE id = %s"
            if m.down.transactional:
                with conn.transaction():
                    _execute(conn, m.down, options)
                    conn.execute(delete, [m.id])
            else:
                _execute(conn, m.down, options)
                conn.execute(delete, [m.id])
            log(f"reverted {m.forward.path.name}")
        return targets


@dataclass(frozen=True)
class Status:
    """One line of `status`."""

    name: str
    state: str
    """applied, pending, edited or missing (file gone)."""
    applied_at: datetime | None = None
    duration_ms: int | None = None


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
        else:
            state = (
                "missing" if m is None else "edited" if m.checksum != row.checksum else "applied"
            )
            lines.append(Status(row.name, state, row.applied_at, row.duration_ms))
    return lines


def verify(conn: psycopg.Connection, migrations: Sequence[Migration]) -> int:
    """Raise DriftError if the history does not match the files; return how many were verified."""
    rows = applied(conn)
    _check_history(migrations, rows)
    return len(rows)
