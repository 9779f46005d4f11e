"""INVALID indexes: what a failed `CREATE INDEX CONCURRENTLY` leaves behind.

PostgreSQL builds an index CONCURRENTLY (also REINDEX … CONCURRENTLY, and DROP INDEX
CONCURRENTLY marks it first) over several transactions. When such a statement fails — a lock
timeout, a duplicate key in a unique index, a statement timeout, a cancel — the index stays in the
catalog marked INVALID: never used by queries, still maintained by every write, and skipped by a
rerun's `CREATE INDEX CONCURRENTLY IF NOT EXISTS`, which then "succeeds". An index being built
right now is INVALID until its build ends, too.

Partitioned parents (`CREATE INDEX … ON ONLY parent`) are INVALID by design until every
partition's index is attached; they are not what this module looks for.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
from psycopg import sql


@dataclass(frozen=True)
class InvalidIndex:
    schema: str
    name: str
    qualified: str
    """schema.name, quoted where SQL needs it (the server's `format('%I.%I')`)."""
    table: str
    """The table it indexes, as PostgreSQL names it (schema-qualified unless on search_path)."""

    def describe(self) -> str:
        return f"{self.qualified} on {self.table}"

    def drop_statement(self) -> str:
        return f"DROP INDEX CONCURRENTLY IF EXISTS {self.qualified};"


def invalid_indexes(conn: psycopg.Connection) -> list[InvalidIndex]:
    """Every INVALID (non-partitioned) index of the database, by name."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname, format('%I.%I', n.nspname, c.relname),"
        " i.indrelid::regclass::text"
        " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace"
        " WHERE NOT i.indisvalid AND c.relkind = 'i' ORDER BY 1, 2"
    ).fetchall()
    return [InvalidIndex(*row) for row in rows]


def drop(conn: psycopg.Connection, index: InvalidIndex) -> str | None:
    """Drop `index` (autocommit, CONCURRENTLY: no lock on the table's traffic); the reason it
    could not be dropped, or None.

    An index another session is still building is protected: the drop needs the table lock
    that build holds, so it waits, times out under the session's lock_timeout and says so.
    """
    try:
        conn.execute(
            sql.SQL("DROP INDEX CONCURRENTLY IF EXISTS {}").format(
                sql.Identifier(index.schema, index.name)
            )
        )
    except psycopg.Error as e:
        return (e.diag.message_primary or str(e)).strip()
    return None


def drop_all(conn: psycopg.Connection, origin: str) -> tuple[list[str], bool]:
    """Drop every INVALID index; one line per index saying what happened (`origin`: who left
    them), and whether all of them are gone."""
    lines, gone = [], True
    for index in invalid_indexes(conn):
        reason = drop(conn, index)
        if reason is None:
            lines.append(f"dropped the INVALID index {index.describe()} {origin}")
        else:
            gone = False
            lines.append(
                f"could not drop the INVALID index {index.describe()} {origin} ({reason}): "
                f"drop it by hand, {index.drop_statement()}"
            )
    return lines, gone


def refusal(indexes: list[InvalidIndex], what: str) -> str:
    """Why `what` does not run while `indexes` exist, and how to clear them."""
    return (
        f"{what} while INVALID indexes exist: {', '.join(i.describe() for i in indexes)}. "
        "A failed CREATE INDEX CONCURRENTLY leaves such an index; a rerun's `IF NOT EXISTS` "
        "skips it, and the file would be recorded as applied with the index unusable. If one is "
        "being built right now by another session, wait for that build to end; otherwise drop "
        "them, by hand (" + " ".join(i.drop_statement() for i in indexes) + ") or with "
        "`python -m migrations up --drop-invalid-indexes`, which drops them first"
    )
