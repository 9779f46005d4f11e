"""The bookkeeping table `migrations.applied`: one row per migration that ran, whole or in part.

A row whose `partial_statements` is NULL is a migration applied whole; its `checksum` is the
file's sha256, so an edited applied file is drift. A row with `partial_statements` = k is a
non-transactional file that stopped after its first k statements, which stay applied (each ran in
its own transaction); `partial_sha256` is the digest of those k statements
(migrations/statements.py: `digest`), so a resume can check that the file on disk still starts
with exactly what was applied. Such a file writes its row before its first statement and updates
it after every statement: a runner killed mid-file (a Lambda timeout) still leaves the truth
behind, except that the statement it was running may have finished unrecorded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import class_row

from migrations.files import Migration
from migrations.statements import Statement, digest

TABLE = "migrations.applied"
_PARTIAL_COLUMNS = """
    partial_statements integer CHECK (partial_statements >= 0),
    partial_sha256 text CHECK (partial_sha256 ~ '^[0-9a-f]{64}$')
"""


@dataclass(frozen=True)
class Applied:
    """A bookkeeping row."""

    id: int
    name: str
    checksum: str
    applied_at: datetime
    duration_ms: int
    partial_statements: int | None = None
    """None: applied whole. k: a non-transactional file whose first k statements stay applied."""
    partial_sha256: str | None = None
    """The digest of those k statements."""

    @property
    def partial(self) -> bool:
        return self.partial_statements is not None


def _has_partial_columns(conn: psycopg.Connection) -> bool:
    # Tables written by runners older than partial bookkeeping lack the columns.
    row = conn.execute(
        "SELECT count(*) = 2 FROM pg_attribute WHERE attrelid = %s::regclass"
        " AND attname IN ('partial_statements', 'partial_sha256') AND NOT attisdropped",
        [TABLE],
    ).fetchone()
    return bool(row and row[0])


def applied(conn: psycopg.Connection) -> dict[int, Applied]:
    """The bookkeeping rows by id (none when the table does not exist yet)."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [TABLE]).fetchone()
    if not row or not row[0]:
        return {}
    partial = (
        "partial_statements, partial_sha256"
        if _has_partial_columns(conn)
        else "NULL::integer AS partial_statements, NULL::text AS partial_sha256"
    )
    with conn.cursor(row_factory=class_row(Applied)) as cur:
        cur.execute(
            f"SELECT id, name, checksum, applied_at, duration_ms, {partial} FROM {TABLE}"
            " ORDER BY id".encode()
        )
        return {r.id: r for r in cur.fetchall()}


def ensure_table(conn: psycopg.Connection) -> None:
    """Create the table, or add the partial-state columns to one an older runner created."""
    conn.execute(
        f"""
        CREATE SCHEMA IF NOT EXISTS migrations;
        CREATE TABLE IF NOT EXISTS {TABLE} (
            id integer PRIMARY KEY,
            name text NOT NULL,
            checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{{64}}$'),
            applied_at timestamptz NOT NULL DEFAULT now(),
            duration_ms integer NOT NULL,
            applied_by text NOT NULL DEFAULT current_user,
            {_PARTIAL_COLUMNS}
        )
        """.encode()
    )
    if not _has_partial_columns(conn):
        columns = ", ".join(
            f"ADD COLUMN IF NOT EXISTS {column.strip()}"
            for column in _PARTIAL_COLUMNS.strip().split(",\n")
        )
        conn.execute(f"ALTER TABLE {TABLE} {columns}".encode())


def _upsert(
    conn: psycopg.Connection,
    migration: Migration,
    duration_ms: int,
    done: Sequence[Statement] | None,
) -> None:
    conn.execute(
        f"""
        INSERT INTO {TABLE}
            (id, name, checksum, duration_ms, partial_statements, partial_sha256)
        VALUES (%s, %s, %s, %s, %s, %s)
        ON CONFLICT (id) DO UPDATE SET
            name = excluded.name, checksum = excluded.checksum, applied_at = now(),
            duration_ms = excluded.duration_ms, applied_by = current_user,
            partial_statements = excluded.partial_statements,
            partial_sha256 = excluded.partial_sha256
        """.encode(),
        [
            migration.id,
            migration.name,
            migration.checksum,
            duration_ms,
            None if done is None else len(done),
            None if done is None else digest(done),
        ],
    )


def record_applied(conn: psycopg.Connection, migration: Migration, duration_ms: int) -> None:
    """The migration applied whole (also a resumed one: `duration_ms` is the last run's)."""
    _upsert(conn, migration, duration_ms, None)


def record_progress(
    conn: psycopg.Connection, migration: Migration, done: Sequence[Statement], duration_ms: int
) -> None:
    """A non-transactional migration whose statements `done` (its first ones) are applied."""
    _upsert(conn, migration, duration_ms, done)


def forget(conn: psycopg.Connection, migration: Migration) -> None:
    """No row: nothing of the migration is applied (it failed cleanly, or was reverted)."""
    conn.execute(f"DELETE FROM {TABLE} WHERE id = %s".encode(), [migration.id])


def history_problems(migrations: Sequence[Migration], rows: dict[int, Applied]) -> list[str]:
    """Edited or missing applied files, and pending files numbered below the newest applied.

    A partial row's file may be edited after its applied statements (the runner checks those
    when it resumes), so its checksum is not compared here.
    """
    on_disk = {m.id: m for m in migrations}
    problems = []
    for row in rows.values():
        found = on_disk.get(row.id)
        if found is None:
            problems.append(
                f"{row.name}: applied on {row.applied_at:%Y-%m-%d} but its file is gone"
            )
        elif found.checksum != row.checksum and not row.partial:
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
