"""A non-transactional file that stopped halfway: what to tell, and where it may go on.

`stopped_error` and `nothing_kept` turn a failure outside a transaction into the runner's error
(which statements stay applied, what was recorded, the command that continues);
`resume_start` decides whether a migration recorded as partial may go on at the statement asked
for, and refuses it with the same account when none was asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC

from migrations.bookkeeping import Applied
from migrations.errors import DriftError, MigrationError, UnfinishedError, UsageError
from migrations.execute import StoppedError
from migrations.files import Migration, Script
from migrations.statements import Statement, digest


def listing(statements: Sequence[Statement]) -> str:
    """One indented line per statement (number, line, first words)."""
    return "".join(f"\n    {s.describe()}" for s in statements)


def _not_applied(script: Script, first: int) -> str:
    """`first` and the statements after it, as a phrase."""
    total = len(script.statements)
    if first > total:
        return "none"
    later = total - first
    return f"statement {first}" + (f" and the {later} after it" if later else "")


def _resume_command(number: int, *, drop_invalid_indexes: bool = False) -> str:
    drop = " --drop-invalid-indexes" if drop_invalid_indexes else ""
    return f"python -m migrations up{drop} --resume-from {number}"


def nothing_kept(stopped: StoppedError, what: str, then: str) -> MigrationError:
    """The error of a script whose first statement failed: nothing of `what` stayed applied;
    `then` says what that means for the bookkeeping."""
    if stopped.index_left:
        return UnfinishedError(
            f"{stopped.report}\nnothing of {what} stayed applied, but the INVALID index it left "
            f"is still there (above); {then}. Drop the index (or run `python -m migrations up "
            "--drop-invalid-indexes`), then run again",
            drop_invalid_indexes=True,
        )
    return stopped.error_class()(
        f"{stopped.report}\nnothing of {what} stayed applied (it runs outside a transaction and "
        f"its first statement failed); {then}"
    )


def stopped_error(stopped: StoppedError, migration: Migration) -> UnfinishedError:
    """A forward file that failed with some of its statements applied, now recorded partial."""
    kept, script = stopped.kept, migration.forward
    return UnfinishedError(
        f"{stopped.report}\n"
        f"{script.path.name} runs outside a transaction (-- transactional: false), so nothing "
        f"was rolled back. Applied and kept, {len(kept)} of {len(script.statements)}:"
        f"{listing(kept) or ' none'}\n"
        f"  not applied: {_not_applied(script, stopped.failed.number)}\n"
        f"It is recorded as partial ({len(kept)} statements) in migrations.applied, and `up` "
        "refuses to run it again from the start. Fix the cause, then continue it with: "
        f"{_resume_command(stopped.failed.number, drop_invalid_indexes=stopped.index_left)}",
        resume_from=stopped.failed.number,
        drop_invalid_indexes=stopped.index_left,
    )


def _partial_refusal(migration: Migration, row: Applied, intact: bool) -> UnfinishedError:
    kept = row.partial_statements or 0
    script = migration.forward
    if intact:
        what = f"these stay applied:{listing(script.statements[:kept]) or ' none'}"
    else:
        what = (
            "the file has changed in those statements since, so they are not listed; restore "
            "them before resuming (only statements after them may change)"
        )
    killed = (
        f" (if that run was killed rather than failed, statement {kept + 1} may have finished "
        "too: with IF NOT EXISTS it can simply run again)"
        if kept < len(script.statements)
        else ""
    )
    return UnfinishedError(
        f"{script.path.name} stopped halfway on {row.applied_at.astimezone(UTC):%Y-%m-%d %H:%M} "
        f"UTC: its first {kept} of {len(script.statements)} statements were applied; {what}\n"
        f"  not applied: {_not_applied(script, kept + 1)}{killed}\n"
        "The runner does not run it again from the start. Find why it stopped (that run's "
        f"error), fix the cause, then continue it with: {_resume_command(kept + 1)}",
        resume_from=kept + 1,
    )


def resume_start(migration: Migration, row: Applied, resume_from: int | None) -> int:
    """How many of the partial migration's statements to skip, or why it cannot go on."""
    kept = row.partial_statements or 0
    statements = migration.forward.statements
    intact = len(statements) >= kept and digest(statements[:kept]) == row.partial_sha256
    if resume_from is None:
        raise _partial_refusal(migration, row, intact)
    name = migration.forward.path.name
    if not 1 <= resume_from <= kept + 1:
        raise UsageError(
            f"--resume-from {resume_from}: {name} stopped after its statement {kept}; resume at "
            f"{kept + 1}, or earlier to run applied statements again (never later: statements "
            f"after {kept} were not applied)"
        )
    if not intact:
        raise DriftError(
            f"{name}: its first {kept} statements are no longer what was applied; restore them "
            "to resume (only statements after them may change)"
        )
    return resume_from - 1
