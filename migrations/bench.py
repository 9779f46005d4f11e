"""Benchmark (not a test): time applying 200 small migrations with the real runner.

`python -m migrations.bench [--count 200]` (or `make bench-migrations`) creates a scratch
database on the server DATABASE_URL names, or on a throwaway cluster when it is unset
(tools/pgcluster.py), applies `count` generated migrations (a table and a row each) and prints
the figure; the scratch database is dropped afterwards.
"""

from __future__ import annotations

import argparse
import secrets
import tempfile
import time
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from migrations import runner
from tools.pgcluster import throwaway_server


def bench(count: int) -> float:
    """Seconds to apply `count` small migrations to a fresh database."""
    with throwaway_server() as server, tempfile.TemporaryDirectory() as tmp:
        for n in range(1, count + 1):
            Path(tmp, f"{n:04d}_step_{n}.sql").write_text(
                f"CREATE TABLE t{n} (id bigint PRIMARY KEY, note text);\n"
                f"INSERT INTO t{n} VALUES ({n}, 'step {n}');\n"
            )
        migrations = runner.discover(Path(tmp))
        database = f"bench_{secrets.token_hex(4)}"
        name = sql.Identifier(database)
        with psycopg.connect(make_conninfo(**server.admin), autocommit=True) as admin:
            admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
            try:
                with runner.connect(server.url(database)) as conn:
                    started = time.perf_counter()
                    runner.up(conn, migrations, runner.Options(), log=lambda _: None)
                    return time.perf_counter() - started
            finally:
                admin.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(name))


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m migrations.bench", description=__doc__)
    parser.add_argument("--count", type=int, default=200, help="migrations to apply")
    count = parser.parse_args().count
    seconds = bench(count)
    print(
        f"applied {count} migrations in {seconds:.2f} s "
        f"({seconds / count * 1000:.1f} ms each, {count / seconds:.0f} per second)"
    )


if __name__ == "__main__":
    main()
