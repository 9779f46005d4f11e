"""Files that fail halfway, against real PostgreSQL: a non-transactional file says exactly what
stays applied, is recorded as partial, is refused on a rerun and resumed on request; a failed
CREATE INDEX CONCURRENTLY leaves no INVALID index; errors point at the real line and column."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg
import pytest

from migrations.__main__ import main
from tests.helpers import write_files
from tests.integration.conftest import Db

ORDERS = """\
CREATE TABLE orders (id bigint PRIMARY KEY, ref text, total numeric);
CREATE TABLE audit (note text);
INSERT INTO orders VALUES (1, 'a', 10), (2, 'b', 20), (3, 'b', 30);
"""
# Statement 3 (lines 5-6) fails: two orders share the ref 'b'.
INDEXES = """\
-- transactional: false
-- Index orders without blocking writes.
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total ON orders (total);
INSERT INTO audit VALUES ('indexed total');
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_ref
    ON orders (ref);
INSERT INTO audit VALUES ('indexed ref');
CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_ref_total ON orders (ref, total);
"""


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(sql.encode()).fetchall()


def invalid_indexes(url: str) -> list[str]:
    return [
        str(name)
        for (name,) in query(
            url, "SELECT indexrelid::regclass::text FROM pg_index WHERE NOT indisvalid"
        )
    ]


def valid_indexes(url: str) -> set[str]:
    found = query(
        url,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
        " WHERE i.indisvalid AND i.indrelid = 'orders'::regclass",
    )
    return {str(name) for (name,) in found}


def bookkeeping(url: str) -> list[tuple[object, ...]]:
    return query(url, "SELECT id, partial_statements FROM migrations.applied ORDER BY id")


def run(
    capsys: pytest.CaptureFixture[str], database: Db, directory: Path, *args: str
) -> tuple[int, str]:
    code = main([*args, "--database-url", database.url, "--dir", str(directory)])
    return code, capsys.readouterr().err


@pytest.fixture
def orders(tmp_path: Path) -> Path:
    return write_files(tmp_path / "m", {"0001_orders.sql": ORDERS})


def test_a_failure_in_statement_3_of_5_says_what_stays_applied_and_is_resumed(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(orders, {"0002_indexes.sql": INDEXES})
    code, err = run(capsys, database, orders, "up")
    assert code == 10  # UNFINISHED
    # where: the statement's real line and column, the server's detail, which statement
    assert 'error: 0002_indexes.sql:5:1: could not create unique index "orders_ref"' in err
    assert "SQLSTATE 23505" in err and "Key (ref)=(b) is duplicated" in err
    assert "failed: statement 3 of 5 (line 5: CREATE UNIQUE INDEX CONCURRENTLY" in err
    # what stays applied, exactly; and no claim of a rollback that did not happen
    assert "Applied and kept, 2 of 5:" in err
    assert "statement 1 (line 3: CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total" in err
    assert "statement 2 (line 4: INSERT INTO audit VALUES ('indexed total');)" in err
    assert "not applied: statement 3 and the 2 after it" in err
    assert "the migration was rolled back" not in err and "nothing was recorded" not in err
    # the INVALID index the unique build left is gone, and the database says the same
    assert "dropped the INVALID index public.orders_ref on orders" in err
    assert invalid_indexes(database.url) == []
    assert valid_indexes(database.url) == {"orders_pkey", "orders_total"}
    assert query(database.url, "SELECT note FROM audit") == [("indexed total",)]
    assert bookkeeping(database.url) == [(1, None), (2, 2)]
    assert "python -m migrations up --resume-from 3" in err

    # The rerun refuses: the old runner ran statements 1 and 2 a second time here (the audit
    # table would hold two 'indexed total' rows).
    code, err = run(capsys, database, orders, "up")
    assert code == 10
    assert "0002_indexes.sql stopped halfway" in err and "first 2 of 5 statements" in err
    assert "statement 2 (line 4: INSERT INTO audit" in err and "--resume-from 3" in err
    assert query(database.url, "SELECT note FROM audit") == [("indexed total",)]
    assert run(capsys, database, orders, "verify")[0] == 10
    assert run(capsys, database, orders, "down", "1")[0] == 10
    assert main(["status", "--database-url", database.url, "--dir", str(orders)]) == 0
    status = capsys.readouterr().out
    assert "0002_indexes" in status and "partial" in status and "(2 of 5 statements)" in status

    # Never past the first statement that was not applied; resuming while the cause is still
    # there fails the same way and changes nothing.
    code, err = run(capsys, database, orders, "up", "--resume-from", "4")
    assert code == 2 and "resume at 3, or earlier" in err
    code, err = run(capsys, database, orders, "up", "--resume-from", "3")
    assert code == 10 and "Applied and kept, 2 of 5" in err
    assert bookkeeping(database.url) == [(1, None), (2, 2)]

    # fix the cause, then resume: statements 3 to 5 run, 1 and 2 do not run again
    query(database.url, "UPDATE orders SET ref = 'c' WHERE id = 3 RETURNING id")
    assert run(capsys, database, orders, "up", "--resume-from", "3")[0] == 0
    assert query(database.url, "SELECT note FROM audit ORDER BY note") == [
        ("indexed ref",),
        ("indexed total",),
    ]
    assert valid_indexes(database.url) == {
        "orders_pkey",
        "orders_total",
        "orders_ref",
        "orders_ref_total",
    }
    assert bookkeeping(database.url) == [(1, None), (2, None)]
    assert run(capsys, database, orders, "verify")[0] == 0
    code, err = run(capsys, database, orders, "up", "--resume-from", "3")
    assert code == 2 and "nothing to resume" in err


def test_a_resume_accepts_fixes_after_the_applied_statements_only(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_files(orders, {"0002_indexes.sql": INDEXES})
    assert run(capsys, database, orders, "up")[0] == 10
    edited = INDEXES.replace("INSERT INTO audit VALUES ('indexed total')", "SELECT 1")
    (orders / "0002_indexes.sql").write_text(edited)
    code, err = run(capsys, database, orders, "up", "--resume-from", "3")
    assert code == 6 and "first 2 statements are no longer what was applied" in err
    # statement 3 itself may change: a plain index instead of the unique one
    fixed = INDEXES.replace("CREATE UNIQUE INDEX", "CREATE INDEX")
    (orders / "0002_indexes.sql").write_text(fixed)
    assert run(capsys, database, orders, "up", "--resume-from", "3")[0] == 0
    assert {"orders_ref", "orders_ref_total"} <= valid_indexes(database.url)
    assert run(capsys, database, orders, "verify")[0] == 0


INDEX_TOTAL = {
    "0002_index.sql": "-- transactional: false\n"
    "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total ON orders (total);\n"
}


def build_while_another_session_holds(
    statement: str, capsys: pytest.CaptureFixture[str], database: Db, orders: Path
) -> tuple[int, str]:
    """`up` of the concurrent index build while another session's open transaction has run
    `statement`: the exit code and the error."""
    assert run(capsys, database, orders, "up")[0] == 0
    write_files(orders, INDEX_TOTAL)
    with psycopg.connect(database.url) as other:
        other.execute(statement.encode())
        return run(capsys, database, orders, "up", "--lock-timeout", "300ms")


def test_a_lock_timeout_before_the_build_leaves_nothing(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # SHARE conflicts with the build's SHARE UPDATE EXCLUSIVE: it waits before the index exists
    code, err = build_while_another_session_holds(
        "LOCK TABLE orders IN SHARE MODE", capsys, database, orders
    )
    assert code == 7  # LOCK_TIMEOUT: nothing of the file stayed applied
    assert "0002_index.sql:2:1: canceling statement due to lock timeout" in err
    assert "waited more than lock_timeout=300ms" in err
    assert "nothing of the migration stayed applied" in err and "rolled back" not in err
    assert invalid_indexes(database.url) == [] and bookkeeping(database.url) == [(1, None)]
    assert run(capsys, database, orders, "up")[0] == 0
    assert "orders_total" in valid_indexes(database.url)


def test_a_lock_timeout_during_the_build_never_records_the_unusable_index(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # An open write: the build creates its (INVALID) index, then waits for the writer and
    # times out; dropping the index waits for the same writer, so it stays for now.
    code, err = build_while_another_session_holds(
        "INSERT INTO orders VALUES (4, 'd', 40)", capsys, database, orders
    )
    assert code == 10
    assert "0002_index.sql:2:1: canceling statement due to lock timeout" in err
    assert "could not drop the INVALID index public.orders_total on orders" in err
    assert "DROP INDEX CONCURRENTLY IF EXISTS public.orders_total;" in err
    assert "nothing of the migration stayed applied, but the INVALID index" in err
    assert invalid_indexes(database.url) == ["orders_total"]
    assert bookkeeping(database.url) == [(1, None)]
    # Before the fix the next `up` skipped the INVALID index (IF NOT EXISTS) and recorded the
    # file as applied with the index unusable. Now it does not start while the index exists,
    # verify fails, and the runner drops it when asked.
    code, err = run(capsys, database, orders, "up")
    assert code == 10 and "refusing to run 0002_index.sql outside a transaction" in err
    assert "--drop-invalid-indexes" in err and bookkeeping(database.url) == [(1, None)]
    assert run(capsys, database, orders, "verify")[0] == 10
    code, err = run(capsys, database, orders, "up", "--drop-invalid-indexes")
    assert code == 0 and invalid_indexes(database.url) == []
    assert "orders_total" in valid_indexes(database.url)
    assert bookkeeping(database.url) == [(1, None), (2, None)]


def test_an_invalid_index_from_any_path_blocks_concurrent_files_and_fails_verify(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, database, orders, "up")[0] == 0
    # someone builds the unique index by hand, and it fails on the duplicate 'b'
    with (
        psycopg.connect(database.url, autocommit=True) as by_hand,
        pytest.raises(psycopg.errors.UniqueViolation),
    ):
        by_hand.execute("CREATE UNIQUE INDEX CONCURRENTLY orders_ref ON orders (ref)")
    assert invalid_indexes(database.url) == ["orders_ref"]
    code, err = run(capsys, database, orders, "verify")
    assert code == 10 and "INVALID indexes exist: public.orders_ref on orders" in err
    assert "DROP INDEX CONCURRENTLY IF EXISTS public.orders_ref;" in err
    # the file's IF NOT EXISTS would skip the INVALID index and "succeed": it does not start
    write_files(
        orders,
        {
            "0002_ref.sql": "-- transactional: false\n"
            "CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS orders_ref ON orders (ref);\n"
        },
    )
    code, err = run(capsys, database, orders, "up")
    assert code == 10 and "refusing to run 0002_ref.sql outside a transaction" in err
    assert bookkeeping(database.url) == [(1, None)]
    query(database.url, "UPDATE orders SET ref = 'c' WHERE id = 3 RETURNING id")
    with psycopg.connect(database.url, autocommit=True) as by_hand:
        by_hand.execute("DROP INDEX CONCURRENTLY orders_ref")
    assert run(capsys, database, orders, "up")[0] == 0
    assert "orders_ref" in valid_indexes(database.url)
    assert run(capsys, database, orders, "verify")[0] == 0


def test_a_runner_whose_connection_dies_mid_file_still_leaves_the_truth(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, database, orders, "up")[0] == 0
    write_files(
        orders,
        {
            "0002_slow.sql": "-- transactional: false\n"
            "INSERT INTO audit VALUES ('first');\n"
            "SELECT pg_sleep(30);\n"
            "INSERT INTO audit VALUES ('third');\n"
        },
    )

    def kill_the_runner_while_it_sleeps() -> None:
        # what a Lambda timeout does to the session: the server ends it mid-statement
        with psycopg.connect(database.superuser_url, autocommit=True) as admin:
            for _ in range(200):
                killed = admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE query LIKE 'SELECT pg_sleep(30)%' AND pid <> pg_backend_pid()"
                    " AND datname = current_database()"
                ).fetchall()
                if killed:
                    return
                time.sleep(0.05)

    killer = threading.Thread(target=kill_the_runner_while_it_sleeps)
    killer.start()
    code, err = run(capsys, database, orders, "up")
    killer.join()
    assert code == 10
    assert "the connection was lost" in err and "Applied and kept, 1 of 3" in err
    assert bookkeeping(database.url) == [(1, None), (2, 1)]
    code, err = run(capsys, database, orders, "up")
    assert code == 10 and "first 1 of 3 statements" in err and "--resume-from 2" in err
    assert query(database.url, "SELECT note FROM audit") == [("first",)]


def test_errors_point_at_the_failing_statements_line_and_column(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run(capsys, database, orders, "up")[0] == 0
    # transactional: a runtime error without a position reports its statement's start (the
    # old runner said `:1`, the file's first line, for every such error)
    write_files(
        orders,
        {
            "0002_dupe.sql": "-- a second order with id 1\n"
            "INSERT INTO audit VALUES ('x');\n"
            "\n"
            "   INSERT INTO orders VALUES (1, 'z', 0);\n"
        },
    )
    code, err = run(capsys, database, orders, "up")
    assert code == 5
    assert "error: 0002_dupe.sql:4:4: duplicate key value violates unique constraint" in err
    assert "failed: statement 2 of 2 (line 4: INSERT INTO orders" in err
    assert "the migration was rolled back; nothing was recorded" in err
    assert query(database.url, "SELECT count(*) FROM audit") == [(0,)]
    # an error with a position, on the second line of a statement after others
    (orders / "0002_dupe.sql").write_text(
        "INSERT INTO audit VALUES ('x');\nSELECT id,\n       no_such_column FROM orders;\n"
    )
    code, err = run(capsys, database, orders, "up")
    assert code == 5
    assert 'error: 0002_dupe.sql:3:8: column "no_such_column" does not exist' in err
    assert "       no_such_column FROM orders;\n           ^" in err


def test_a_bookkeeping_table_of_an_older_runner_is_read_and_upgraded(
    database: Db, orders: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = """
        CREATE SCHEMA migrations;
        CREATE TABLE migrations.applied (
            id integer PRIMARY KEY, name text NOT NULL,
            checksum text NOT NULL CHECK (checksum ~ '^[0-9a-f]{64}$'),
            applied_at timestamptz NOT NULL DEFAULT now(), duration_ms integer NOT NULL,
            applied_by text NOT NULL DEFAULT current_user
        );
    """
    with psycopg.connect(database.url) as conn:
        conn.execute(old.encode())
        conn.execute(ORDERS.encode())
        conn.execute(
            "INSERT INTO migrations.applied (id, name, checksum, duration_ms)"
            " VALUES (1, '0001_orders', encode(sha256(%s::bytea), 'hex'), 5)",
            [ORDERS.encode()],
        )
    assert run(capsys, database, orders, "verify")[0] == 0
    write_files(orders, {"0002_indexes.sql": INDEXES})
    assert run(capsys, database, orders, "up")[0] == 10
    assert bookkeeping(database.url) == [(1, None), (2, 2)]
