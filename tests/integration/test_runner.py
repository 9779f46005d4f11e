"""The runner against real PostgreSQL: apply, rerun, status, drift, failure, locks, down."""

from __future__ import annotations

import threading
from pathlib import Path

import psycopg
import pytest

from migrations import runner
from migrations.__main__ import main
from migrations.runner import ExitCode, Options
from tests.helpers import write_files
from tests.integration.conftest import Db

FAST = Options(lock_wait="2s", lock_timeout="300ms", statement_timeout="30s")


def rows(url: str) -> list[tuple[int, str]]:
    with runner.connect(url) as conn:
        return [(r.id, r.name) for r in runner.applied(conn).values()]


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        found = conn.execute(
            "SELECT table_schema || '.' || table_name FROM information_schema.tables"
            " WHERE table_schema NOT IN ('pg_catalog', 'information_schema')"
        ).fetchall()
        return {t for (t,) in found}


def apply(url: str, directory: Path, options: Options = FAST) -> list[str]:
    with runner.connect(url) as conn:
        done = runner.up(conn, runner.discover(directory), options, log=lambda _: None)
        return [m.name for m in done]


@pytest.fixture
def three(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "m",
        {
            "0001_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n",
            "0002_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
            "0002_orders.down.sql": "DROP TABLE orders;\n",
            "0003_order_total.sql": "ALTER TABLE orders ADD COLUMN total numeric NOT NULL;\n",
        },
    )


def test_up_from_empty_then_rerun_is_a_no_op(database: Db, three: Path) -> None:
    assert apply(database.url, three) == ["0001_accounts", "0002_orders", "0003_order_total"]
    assert {"public.accounts", "public.orders", "migrations.applied"} <= tables(database.url)
    with runner.connect(database.url) as conn:
        first = runner.applied(conn)
    assert all(len(r.checksum) == 64 and r.duration_ms >= 0 for r in first.values())
    assert apply(database.url, three) == []
    with runner.connect(database.url) as conn:
        assert runner.applied(conn) == first


def test_status_lists_applied_and_pending(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (three / "0003_order_total.sql").rename(three / "later.sql.txt")
    apply(database.url, three)
    (three / "later.sql.txt").rename(three / "0003_order_total.sql")
    assert main(["status", "--database-url", database.url, "--dir", str(three)]) == 0
    lines = capsys.readouterr().out.splitlines()
    states = {line.split()[0]: line.split()[1] for line in lines[1:]}
    assert states == {
        "0001_accounts": "applied",
        "0002_orders": "applied",
        "0003_order_total": "pending",
    }
    assert lines[1].endswith(" ms")


def test_dry_run_changes_nothing(database: Db, three: Path) -> None:
    code = main(["up", "--dry-run", "--database-url", database.url, "--dir", str(three)])
    assert code == 0
    assert rows(database.url) == []
    assert "public.accounts" not in tables(database.url)


def test_verify_catches_an_edited_and_a_missing_file(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(database.url, three)
    args = ["--database-url", database.url, "--dir", str(three)]
    assert main(["verify", *args]) == 0
    (three / "0001_accounts.sql").write_text("CREATE TABLE accounts (id int PRIMARY KEY);\n")
    (three / "0003_order_total.sql").unlink()
    assert main(["verify", *args]) == ExitCode.DRIFT
    err = capsys.readouterr().err
    assert "0001_accounts.sql: edited after it was applied" in err
    assert "0003_order_total: applied on" in err and "file is gone" in err
    # `up` refuses to build on a history that does not match the files
    assert main(["up", *args]) == ExitCode.DRIFT


def test_a_failing_migration_leaves_no_trace(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(database.url, three)
    before = tables(database.url)
    write_files(
        three,
        {
            "0004_broken.sql": "CREATE TABLE refunds (id bigint PRIMARY KEY);\n"
            "INSERT INTO accounts VALUES (1);\n"
            "ALTER TABLE orders\n  ADD COLUMN refunded boolean DEFALT false;\n"
        },
    )
    args = ["--database-url", database.url, "--dir", str(three)]
    assert main(["up", *args]) == ExitCode.SQL_ERROR
    err = capsys.readouterr().err
    assert "0004_broken.sql:4:" in err and "syntax error" in err and "SQLSTATE 42601" in err
    assert "DEFALT" in err
    # only the restore point recorded before it stays (when to return to, should one want to)
    assert tables(database.url) == before | {"migrations.restore_points"}
    assert [name for _, name in rows(database.url)][-1] == "0003_order_total"
    with psycopg.connect(database.url) as conn:
        assert conn.execute("SELECT count(*) FROM accounts").fetchone() == (0,)


def test_eight_concurrent_runners_apply_each_migration_once(database: Db, tmp_path: Path) -> None:
    files = {"0001_ledger.sql": "CREATE TABLE ledger (migration int PRIMARY KEY);\n"}
    for n in range(2, 9):
        # each migration lingers so that the runners really overlap; a second application
        # of any file would violate the primary key
        files[f"{n:04d}_step.sql"] = f"INSERT INTO ledger VALUES ({n});\nSELECT pg_sleep(0.05);\n"
    directory = write_files(tmp_path / "m", files)
    results: list[list[str]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def one_runner() -> None:
        try:
            start.wait()
            results.append(apply(database.url, directory, Options(lock_wait="30s")))
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=one_runner) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    applied_by_runner = sorted(name for result in results for name in result)
    assert applied_by_runner == sorted(Path(f).stem for f in files)
    assert sum(1 for result in results if result) == 1, "one runner applies, seven find nothing"
    with psycopg.connect(database.url) as conn:
        assert conn.execute("SELECT count(*) FROM ledger").fetchone() == (7,)


def test_waiting_for_another_runner_is_bounded(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with psycopg.connect(database.url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [runner.LOCK_KEY])
        code = main(
            ["up", "--database-url", database.url, "--dir", str(three), "--lock-wait", "200ms"]
        )
    assert code == ExitCode.LOCK_TIMEOUT
    assert "another runner held the migration lock" in capsys.readouterr().err
    assert rows(database.url) == []


def test_a_migration_blocked_by_live_traffic_fails_fast(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (three / "0003_order_total.sql").rename(three / "later.sql.txt")
    apply(database.url, three)
    (three / "later.sql.txt").rename(three / "0003_order_total.sql")
    with psycopg.connect(database.url) as traffic:
        traffic.execute("SELECT * FROM orders")  # an open transaction holds ACCESS SHARE
        code = main(
            ["up", "--database-url", database.url, "--dir", str(three), "--lock-timeout", "200ms"]
        )
    assert code == ExitCode.LOCK_TIMEOUT
    err = capsys.readouterr().err
    assert "0003_order_total.sql:1:1: canceling statement due to lock timeout" in err
    assert "waited more than lock_timeout=200ms" in err and "rolled back" in err
    assert [name for _, name in rows(database.url)] == ["0001_accounts", "0002_orders"]


def test_down_runs_the_reverse_plan_or_refuses(
    database: Db, three: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    apply(database.url, three)
    args = ["--database-url", database.url, "--dir", str(three)]
    assert main(["down", "2", *args]) == ExitCode.NO_REVERSE
    assert "no reverse plan for 0003_order_total" in capsys.readouterr().err
    assert len(rows(database.url)) == 3
    (three / "0003_order_total.down.sql").write_text("ALTER TABLE orders DROP COLUMN total;\n")
    assert main(["down", "2", "--dry-run", *args]) == 0
    assert len(rows(database.url)) == 3
    assert main(["down", "2", *args]) == 0
    assert [name for _, name in rows(database.url)] == ["0001_accounts"]
    assert "public.orders" not in tables(database.url)
    assert main(["down", "5", *args]) == ExitCode.USAGE
    # reverted migrations apply again
    assert apply(database.url, three) == ["0002_orders", "0003_order_total"]


def test_non_transactional_migrations_run_statement_by_statement(database: Db, three: Path) -> None:
    write_files(
        three,
        {
            "0004_indexes.sql": "-- transactional: false\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS orders_total ON orders (total);\n"
            "-- a comment; with a semicolon\n"
            "CREATE INDEX CONCURRENTLY IF NOT EXISTS accounts_id ON accounts ((id + 1));\n",
        },
    )
    apply(database.url, three)
    with psycopg.connect(database.url) as conn:
        found = conn.execute(
            "SELECT indexname FROM pg_indexes WHERE indexname IN ('orders_total', 'accounts_id')"
        ).fetchall()
    assert len(found) == 2
    assert rows(database.url)[-1] == (4, "0004_indexes")


def test_non_transactional_files_are_cut_where_postgresql_cuts_them(
    database: Db, three: Path
) -> None:
    # Each piece runs on its own in autocommit: a statement cut in two is a syntax error, and
    # one glued to the CONCURRENTLY statement makes PostgreSQL refuse it ("cannot run inside
    # a transaction block").
    write_files(
        three,
        {
            "0004_real_sql.sql": "-- transactional: false\n"
            "CREATE TABLE notes (body text, flags int);\n"
            "INSERT INTO notes VALUES (E'it\\'s; here', 5 # 3);\n"
            "CREATE FUNCTION note_count() RETURNS bigint LANGUAGE sql\n"
            "BEGIN ATOMIC\n"
            "  SELECT count(*) FROM notes;\n"
            "  SELECT CASE WHEN count(*) > 0 THEN count(*) ELSE 0 END FROM notes;\n"
            "END;\n"
            "INSERT INTO notes SELECT 'a\\b', 0 WHERE 'a\\' LIKE 'a\\' ESCAPE '!';\n"
            "CREATE INDEX CONCURRENTLY notes_body ON notes (body);\n",
        },
    )
    assert apply(database.url, three)[-1] == "0004_real_sql"
    with psycopg.connect(database.url) as conn:
        notes = conn.execute("SELECT body, flags FROM notes ORDER BY body").fetchall()
        assert notes == [("a\\b", 0), ("it's; here", 6)]
        assert conn.execute("SELECT note_count()").fetchone() == (2,)
        found = conn.execute(
            "SELECT indisvalid FROM pg_index WHERE indexrelid = 'notes_body'::regclass"
        )
        assert found.fetchone() == (True,)


def test_connection_failures_have_their_own_exit_codes(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    assert main(["status", "--database-url", "postgresql://a:b@host:port/db"]) == (ExitCode.BAD_URL)
    assert main(["status", "--database-url", "host=x =broken"]) == ExitCode.BAD_URL
    err = capsys.readouterr().err
    assert "broken" not in err, "the URL (it may hold a password) is never echoed"
    with __import__("socket").socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    url = f"postgresql://nobody@127.0.0.1:{closed_port}/db?connect_timeout=2"
    assert main(["status", "--database-url", url]) == ExitCode.UNREACHABLE
    assert "cannot connect to nobody@127.0.0.1" in capsys.readouterr().err
    (tmp_path / "1_bad.sql").write_text("SELECT 1;")
    assert main(["status", "--database-url", url, "--dir", str(tmp_path)]) == (
        ExitCode.BAD_MIGRATIONS
    )
