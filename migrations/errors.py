"""What can go wrong in a migration run: one exception class and one exit code per kind."""

from __future__ import annotations

from enum import IntEnum


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
    UNFINISHED = 10
    NO_RESTORE_POINT = 11


EXIT_CODE_MEANING = {
    ExitCode.OK: "success (also: nothing to do)",
    ExitCode.FAILED: "unexpected error (a bug: see the traceback)",
    ExitCode.USAGE: "bad command line",
    ExitCode.BAD_URL: "missing or malformed database URL",
    ExitCode.UNREACHABLE: "cannot connect: database unreachable or login refused",
    ExitCode.SQL_ERROR: "a migration failed (file:line:column, statement); nothing of it stayed "
    "applied and nothing was recorded",
    ExitCode.DRIFT: "an applied file was edited or removed, or a pending one is out of order",
    ExitCode.LOCK_TIMEOUT: "waited too long for another runner or for a lock; nothing of the "
    "migration stayed applied; retry",
    ExitCode.NO_REVERSE: "`down` refused: a migration has no NNNN_name.down.sql",
    ExitCode.BAD_MIGRATIONS: "the migrations directory is malformed (names, duplicates, headers)",
    ExitCode.UNFINISHED: "a non-transactional migration stopped halfway (the statements it names "
    "stay applied; recorded as partial) or an INVALID index is left: `up` refuses until it is "
    "resumed (--resume-from N) or the index dropped",
    ExitCode.NO_RESTORE_POINT: "no restore point before the migrations (the snapshot failed or "
    "was not available in time); nothing was applied",
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


class UnfinishedError(MigrationError):
    """Something stays half done: a partly applied file or an INVALID index.

    What continues it, as `up`'s options: `resume_from` (the statement a partly applied
    migration continues at) and `drop_invalid_indexes`.
    """

    exit_code = ExitCode.UNFINISHED

    def __init__(
        self, message: str, *, resume_from: int | None = None, drop_invalid_indexes: bool = False
    ) -> None:
        super().__init__(message)
        self.resume_from = resume_from
        self.drop_invalid_indexes = drop_invalid_indexes


class NoRestorePointError(MigrationError):
    """The restore point before the migrations could not be had; nothing was applied."""

    exit_code = ExitCode.NO_RESTORE_POINT
