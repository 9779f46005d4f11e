"""Run one SQL file statement by statement, and say exactly what a failure left behind.

Every file is sent one statement at a time (migrations/statements.py splits it), so a failure
names its statement and points at the real line and column: PostgreSQL reports an error's
position as a character offset into the statement it was sent.

- `in_transaction`: the whole file (and whatever the caller records with it) in one transaction
  under `SET LOCAL lock_timeout/statement_timeout`; a failure rolls everything back.
- `outside_transaction`: `-- transactional: false` files, each statement in its own transaction
  (autocommit). It refuses to start while an INVALID index exists (migrations/indexes.py), reports
  its progress after every statement, and when a statement fails it first drops the INVALID index
  that statement left, then raises `StoppedError`, which knows which statements stay applied.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg

from migrations import indexes
from migrations.errors import (
    LockTimeoutError,
    MigrationError,
    SqlError,
    UnfinishedError,
    UsageError,
)
from migrations.files import Script
from migrations.statements import Statement, locate

_INTERVAL = re.compile(r"^(?P<number>\d+)\s*(?P<unit>ms|s|min|h)?$")
_SECONDS = {"ms": 0.001, "s": 1, "min": 60, "h": 3600, None: 0.001}  # no unit: PostgreSQL's ms
Progress = Callable[[Sequence[Statement]], None]
"""Told the statements of the file applied so far: before the first one runs, then after each."""


def check_interval(name: str, value: str) -> None:
    """UsageError unless `value` is a PostgreSQL interval the runner accepts (500ms, 5s, 5min)."""
    if not _INTERVAL.match(value):
        raise UsageError(f"{name} must look like 500ms, 5s, 5min or 1h, got {value!r}")


def interval_seconds(value: str) -> float:
    """Seconds of an interval `check_interval` accepts."""
    match = _INTERVAL.match(value)
    assert match is not None, value
    return int(match["number"]) * _SECONDS[match["unit"]]


@dataclass(frozen=True, kw_only=True)
class Options:
    """How long the runner waits, and for what."""

    lock_wait: str = "60s"
    """How long to wait for another runner's advisory lock."""
    lock_timeout: str = "5s"
    """Per statement: how long it may queue for a lock held by other sessions."""
    statement_timeout: str = "5min"
    """Per statement: how long it may run."""

    def __post_init__(self) -> None:
        for name in ("lock_wait", "lock_timeout", "statement_timeout"):
            check_interval(name, getattr(self, name))


class _StatementError(Exception):
    def __init__(self, statement: Statement, error: psycopg.Error) -> None:
        super().__init__(statement, error)
        self.statement, self.error = statement, error


def _run(
    conn: psycopg.Connection, script: Script, *, start: int = 0, progress: Progress | None = None
) -> None:
    for statement in script.statements[start:]:
        try:
            # bytes and no parameters: the simple query protocol, the file's text as it is
            conn.execute(statement.text.encode("utf-8"))
        except psycopg.Error as e:
            raise _StatementError(statement, e) from None
        if progress is not None:
            progress(script.statements[: statement.number])


def describe_failure(
    script: Script, statement: Statement, error: psycopg.Error, options: Options, *, sensitive: bool
) -> str:
    """`file:line:column: message (SQLSTATE)`, the line with a caret under the column, the
    server's detail, context and hint, and which statement failed.

    `sensitive`: omit the server's context, which quotes the statement a script may have built
    from its session's secrets (repeatable/app_login.sql: `ALTER ROLE … PASSWORD` and a verifier).
    """
    diag = error.diag
    message = (diag.message_primary or str(error)).strip()
    code = f" (SQLSTATE {diag.sqlstate})" if diag.sqlstate else ""
    offset = statement.offset
    if diag.statement_position:
        offset += int(diag.statement_position) - 1
    line, column = locate(script.sql, offset)
    source = script.sql.split("\n")[line - 1].rstrip("\r")  # the lines `locate` counts
    caret = " " * (column - 1) + "^"
    text = f"{script.path.name}:{line}:{column}: {message}{code}\n    {source}\n    {caret}"
    for label, value in (
        ("detail", diag.message_detail),
        ("context", None if sensitive else diag.context),
        ("hint", diag.message_hint),
    ):
        if value:
            text += f"\n  {label}: {value}"
    if isinstance(error, psycopg.errors.LockNotAvailable):
        text += (
            f"\n  it waited more than lock_timeout={options.lock_timeout} for a lock other "
            "sessions hold (live traffic, an open transaction): retry off-peak or raise "
            "--lock-timeout deliberately"
        )
    return f"{text}\n  failed: {statement.describe(of=len(script.statements))}"


def _error_class(error: psycopg.Error) -> type[MigrationError]:
    return LockTimeoutError if isinstance(error, psycopg.errors.LockNotAvailable) else SqlError


def _set_timeouts(conn: psycopg.Connection, options: Options, *, local: bool) -> None:
    scope = "true" if local else "false"
    conn.execute(
        f"SELECT set_config('lock_timeout', %s, {scope}),"
        f" set_config('statement_timeout', %s, {scope})",
        [options.lock_timeout, options.statement_timeout],
    )


@contextmanager
def session_timeouts(conn: psycopg.Connection, options: Options) -> Iterator[None]:
    """`options`' lock and statement timeouts for the session (autocommit work), then reset."""
    _set_timeouts(conn, options, local=False)
    try:
        yield
    finally:
        if not conn.broken:
            conn.execute("RESET lock_timeout; RESET statement_timeout")


def in_transaction(
    conn: psycopg.Connection,
    script: Script,
    options: Options,
    *,
    start: int = 0,
    then: Callable[[], None] = lambda: None,
    outcome: str,
    sensitive: bool = False,
) -> None:
    """Run the statements of `script` after its first `start` and then `then` (its
    bookkeeping) in one transaction; on failure raise an error ending with `outcome` (what the
    rollback means for the caller)."""
    try:
        with conn.transaction():
            _set_timeouts(conn, options, local=True)
            _run(conn, script, start=start)
            then()
    except _StatementError as failed:
        raise _error_class(failed.error)(
            describe_failure(script, failed.statement, failed.error, options, sensitive=sensitive)
            + f"\n{outcome}"
        ) from None


@dataclass(eq=False)
class StoppedError(Exception):
    """A script run outside a transaction stopped at `failed`: the statements before it stay
    applied."""

    script: Script
    failed: Statement
    error: psycopg.Error
    report: str
    """Where and why it failed (`describe_failure`), then the cleanup lines."""
    index_left: bool
    """An INVALID index could not be dropped."""
    connection_lost: bool
    """Nothing more could be done or checked: the server ended the session."""

    @property
    def kept(self) -> tuple[Statement, ...]:
        """The statements that stay applied."""
        return self.script.statements[: self.failed.number - 1]

    def error_class(self) -> type[MigrationError]:
        """What a failure that left nothing applied is."""
        return _error_class(self.error)


def outside_transaction(
    conn: psycopg.Connection,
    script: Script,
    options: Options,
    *,
    start: int = 0,
    progress: Progress | None = None,
    sensitive: bool = False,
) -> None:
    """Run the statements of `script` after its first `start`, each in its own transaction;
    tell `progress` the statements applied so far, before the first one runs and after each.
    Raise `StoppedError` on failure.

    Nothing runs while an INVALID index exists, so after a failure the INVALID index there is
    the failed statement's, and it is dropped before `StoppedError` is raised. (One that another
    session is building meanwhile is safe: its build holds the table lock the drop needs.)
    """
    left = indexes.invalid_indexes(conn)
    if left:
        raise UnfinishedError(
            indexes.refusal(left, f"refusing to run {script.path.name} outside a transaction"),
            drop_invalid_indexes=True,
        )
    if progress is not None:
        progress(script.statements[:start])
    with session_timeouts(conn, options):  # the drop of a failed build's index waits no longer
        try:
            _run(conn, script, start=start, progress=progress)
        except _StatementError as failed:
            report = describe_failure(
                script, failed.statement, failed.error, options, sensitive=sensitive
            )
            if conn.broken:
                cleanup = [
                    "the connection was lost, so INVALID indexes were not checked: "
                    "`python -m migrations verify` lists them"
                ]
                gone = False
            else:
                cleanup, gone = indexes.drop_all(conn, "that the failed statement left")
            raise StoppedError(
                script,
                failed.statement,
                failed.error,
                report + "".join(f"\n  {line}" for line in cleanup),
                index_left=not gone and not conn.broken,
                connection_lost=conn.broken,
            ) from None
