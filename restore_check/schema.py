"""The database side of a restore test: is the restored copy usable, and is its schema the
source's as of the recovery point?

The source's migration history at backup time is read from the source now: the rows of its
bookkeeping table applied at or before the recovery point's creation time. A row stands for a
migration file that ran; a copy with fewer rows lost schema, one with more is not a copy of this
source at that time. (A migration reverted since the backup, or one committing across the
backup's instant, also makes the counts differ; the message names the rows, so such a run is
recognisable.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import psycopg

# migrations/bookkeeping.py: TABLE. Not imported: this package ships without the runner
# (tests/unit/test_restore_check_package.py keeps the two equal).
BOOKKEEPING_TABLE = "migrations.applied"


@dataclass(frozen=True)
class Migration:
    """A bookkeeping row: the migration's number and name."""

    id: int
    name: str


def answers(conn: psycopg.Connection) -> None:
    """The server runs queries (`SELECT 1`), or an error says why not."""
    row = conn.execute("SELECT 1").fetchone()
    if row != (1,):
        raise RuntimeError(f"SELECT 1 returned {row!r}")


def applied(conn: psycopg.Connection, at: datetime | None = None) -> list[Migration]:
    """The bookkeeping rows, in order; with `at`, only those applied at or before it."""
    query = f"SELECT id, name FROM {BOOKKEEPING_TABLE}"
    params: list[datetime] = []
    if at is not None:
        query += " WHERE applied_at <= %s"
        params.append(at)
    rows = conn.execute(f"{query} ORDER BY id".encode(), params).fetchall()
    return [Migration(int(id_), str(name)) for id_, name in rows]


def difference(copy: Sequence[Migration], source: Sequence[Migration]) -> str | None:
    """None when the copy holds exactly the source's rows, else what differs."""
    missing = sorted(set(source) - set(copy), key=lambda m: m.id)
    extra = sorted(set(copy) - set(source), key=lambda m: m.id)
    if not missing and not extra:
        return None
    parts = [f"the copy's {BOOKKEEPING_TABLE} has {len(copy)} rows, the source had {len(source)}"]
    if missing:
        parts.append("missing " + ", ".join(m.name for m in missing))
    if extra:
        parts.append("not in the source " + ", ".join(m.name for m in extra))
    return "; ".join(parts)
