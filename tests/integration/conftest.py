"""Real PostgreSQL for the integration tests: one server per session (tools/pgcluster.py:
DATABASE_URL or a throwaway cluster) and a fresh database per test (`database`), owned by a
session-wide login role that, like the RDS master user, is not a superuser but may create roles
(`Db.url` connects as it over TCP with its password)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

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
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(db.name)))
