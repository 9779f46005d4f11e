"""Real PostgreSQL for the integration tests: one server per session (tools/pgcluster.py:
DATABASE_URL or a throwaway cluster; under pytest-xdist one cluster per worker) and a fresh
database per test (`database`), owned by a session-wide login role that, like the RDS master
user, is not a superuser but may create roles (`Db.url` connects as it over TCP with its
password); the API's login (`app_login`) and the migration Lambda's environment towards the
test database (`handler_env`). On a shared DATABASE_URL server the tests take turns, across
workers: the migrations create and alter cluster-wide roles, which a fresh database does not
isolate."""

from __future__ import annotations

import fcntl
import hashlib
import json
import secrets
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

from migrations.app_login import AppLogin
from tools.pgcluster import Server, throwaway_server


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


@pytest.fixture(scope="session")
def pg() -> Iterator[Server]:
    with throwaway_server() as server:
        yield server


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


@contextmanager
def _alone_on(server: Server) -> Iterator[None]:
    """Exclusive use of a shared server among this machine's test processes (a file lock named
    after the server); no wait on a server of our own."""
    if not server.shared:
        yield
        return
    name = hashlib.sha256(make_conninfo(**server.tcp).encode()).hexdigest()[:16]
    with (Path(tempfile.gettempdir()) / f"webstack-pg-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


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
    with _alone_on(pg):
        yield db
    with psycopg.connect(make_conninfo(**pg.admin), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db.name)))


@pytest.fixture
def app_login(database: Db) -> Iterator[AppLogin]:
    """The API's login as the DATABASE_URL secret would name it; dropped after the test."""
    login = AppLogin(f"api_{secrets.token_hex(4)}", secrets.token_urlsafe(24))
    yield login
    with psycopg.connect(database.server.url("postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(login.role)))


@pytest.fixture
def handler_env(database: Db, app_login: AppLogin) -> tuple[dict[str, str], dict[str, str]]:
    """The Lambda's environment towards the test database, and its secrets by ARN."""
    secrets_by_arn = {
        "arn:master": json.dumps(
            {"username": database.master, "password": database.master_password}
        ),
        "arn:url": f"postgresql://{app_login.role}:{app_login.password}@db.internal:5432/app",
    }
    env = {
        "MASTER_SECRET_ARN": "arn:master",
        "DATABASE_URL_SECRET_ARN": "arn:url",
        # the name the server's certificate carries, as an RDS endpoint's does
        "DB_HOST": "localhost",
        "DB_PORT": database.server.tcp["port"],
        "DB_NAME": database.name,
        "APP_CONNECTION_LIMIT": "42",
        "APP_STATEMENT_TIMEOUT": "20000ms",
        "APP_IDLE_IN_TRANSACTION_TIMEOUT": "30000ms",
        # where the restore point's command puts a restored copy (no RDS call without snapshots)
        "DB_INSTANCE_IDENTIFIER": "webstack-test-postgres",
        "AWS_REGION": "eu-west-1",
        "DB_SUBNET_GROUP_NAME": "webstack-test-db",
        "DB_SECURITY_GROUP_IDS": "sg-0123456789abcdef0, sg-0fedcba9876543210",
        "DB_PARAMETER_GROUP_NAME": "webstack-test-postgres15",
        "AWS_LAMBDA_FUNCTION_NAME": "webstack-test-migrations",  # Lambda sets it
    }
    return env, secrets_by_arn
