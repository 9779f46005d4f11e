"""Real PostgreSQL for the integration tests.

`pg` is one server per session: `DATABASE_URL` when set (it must allow CREATE DATABASE and
CREATE ROLE), otherwise a throwaway cluster in a temp dir started with the newest installed
`/usr/lib/postgresql/*/bin` (run as the `postgres` user when the tests run as root, because
initdb refuses root), on a unix socket in the temp dir plus a free localhost port where
passwords are checked with SCRAM. Like RDS it preloads pg_stat_statements.

Each test gets its own database (`database`), owned by a session-wide login role that, like the
RDS master user, is not a superuser but may create roles (`Db.url` connects as it).
"""

from __future__ import annotations

import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


@dataclass(frozen=True)
class Server:
    """Connection parameters of the session's server."""

    admin: dict[str, str]
    """A superuser (or CREATEDB/CREATEROLE) connection to a maintenance database."""
    tcp: dict[str, str]
    """host/port where password authentication applies."""

    def url(self, dbname: str, user: str | None = None, password: str | None = None) -> str:
        params = {**self.admin, "dbname": dbname}
        if user is not None:
            params.update(self.tcp, user=user, password=password or "")
        return make_conninfo(**params)


@dataclass(frozen=True)
class Db:
    """A fresh database for one test."""

    server: Server
    name: str
    master: str
    """The RDS-like master role that owns the database (a superuser-free migrator)."""
    master_password: str

    @property
    def url(self) -> str:
        return self.server.url(self.name, self.master, self.master_password)

    @property
    def superuser_url(self) -> str:
        return self.server.url(self.name)

    def url_as(self, user: str, password: str = "") -> str:
        return self.server.url(self.name, user, password)


def _newest_bindir() -> Path:
    found = glob.glob("/usr/lib/postgresql/*/bin/initdb")
    if not found:
        pytest.fail("no PostgreSQL binaries: run tools/install-system-deps (Debian postgresql)")
    newest = max(found, key=lambda p: int(Path(p).parts[-3].split(".")[0]))
    return Path(newest).parent


def _scratch_dir() -> str | None:
    # A cluster in memory (when /dev/shm is writable) makes CREATE DATABASE several times faster.
    return "/dev/shm" if os.access("/dev/shm", os.W_OK) else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    if os.environ.get("DATABASE_URL"):
        params = {k: str(v) for k, v in conninfo_to_dict(os.environ["DATABASE_URL"]).items()}
        yield Server(admin=params, tcp={k: params[k] for k in ("host", "port") if k in params})
        return
    bindir = _newest_bindir()
    root = Path(tempfile.mkdtemp(prefix="webstack-pg-", dir=_scratch_dir()))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = root / "data", _free_port()
    subprocess.run(
        [*as_user, str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "-E", "UTF8"]
        + ["--locale=C", "--no-sync", "--auth-local=trust", "--auth-host=scram-sha-256"],
        check=True,
        capture_output=True,
    )
    settings = {
        "listen_addresses": "127.0.0.1",
        "port": port,
        "unix_socket_directories": root,
        "shared_preload_libraries": "pg_stat_statements",
        "max_connections": 100,
        # durability is pointless for a throwaway cluster; speed is not
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
    }
    options = " ".join(f"-c {k}={v}" for k, v in settings.items())
    pg_ctl = [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log")]
    subprocess.run([*pg_ctl, "-w", "-t", "60", "-o", options, "start"], check=True)
    try:
        yield Server(
            admin={"host": str(root), "port": str(port), "user": "postgres", "dbname": "postgres"},
            tcp={"host": "127.0.0.1", "port": str(port)},
        )
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], check=False, capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def master(pg: Server) -> Iterator[tuple[str, str]]:
    """An RDS-like master role: LOGIN CREATEROLE CREATEDB, not a superuser."""
    name, password = f"master_{secrets.token_hex(4)}", secrets.token_urlsafe(24)
    with psycopg.connect(make_conninfo(**pg.admin), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN CREATEROLE CREATEDB PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )
    yield name, password
    with psycopg.connect(make_conninfo(**pg.admin), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


@pytest.fixture
def database(pg: Server, master: tuple[str, str]) -> Iterator[Db]:
    """A fresh database owned by the master role. RDS lets its master create pg_stat_statements;
    vanilla PostgreSQL reserves that to superusers, so the fixture creates it beforehand."""
    db = Db(pg, f"test_{secrets.token_hex(6)}", *master)
    with psycopg.connect(make_conninfo(**pg.admin), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                sql.Identifier(db.name), sql.Identifier(db.master)
            )
        )
    with psycopg.connect(db.superuser_url, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pg_stat_statements WITH SCHEMA public")
    yield db
    with psycopg.connect(make_conninfo(**pg.admin), autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db.name))
        )
