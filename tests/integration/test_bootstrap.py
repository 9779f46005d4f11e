"""The platform bootstrap (the repository's own migrations) run as an RDS-like master user,
and the Lambda handler run locally against the same database."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from migrations import lambda_handler, runner
from migrations.app_login import AppLogin, AppRole
from migrations.runner import Options
from tests.integration.conftest import Db
from tools.pgcluster import make_ca


def bootstrap(database: Db, login: AppLogin | None, **limits: Any) -> list[str]:
    with runner.connect(database.url) as conn:
        done = runner.up(
            conn,
            runner.discover(),
            Options(),
            always=runner.repeatables(),
            session=AppRole(login=login, **limits).session_settings(),
            log=lambda _: None,
        )
        return [m.name for m in done]


def add_table_as_a_later_migration(database: Db) -> None:
    with psycopg.connect(database.url) as conn:
        conn.execute("CREATE TABLE app.widgets (id bigserial PRIMARY KEY, label text NOT NULL)")


def test_bootstrap_creates_extensions_schema_and_roles(database: Db, app_login: AppLogin) -> None:
    assert bootstrap(database, app_login) == [
        "0001_platform_extensions",
        "0002_platform_roles_and_schema",
        "0003_restore_check_login",
    ]
    with psycopg.connect(database.url) as conn:
        extensions = {e for (e,) in conn.execute("SELECT extname FROM pg_extension").fetchall()}
        assert {"pgcrypto", "pg_stat_statements"} <= extensions
        owner = conn.execute("SELECT nspowner::regrole::text FROM pg_namespace WHERE nspname='app'")
        assert owner.fetchone() == (database.master,)
        settings = dict(
            conn.execute(
                "SELECT rolname, rolconfig FROM pg_roles WHERE rolname = ANY(%s)",
                [[app_login.role, "app_readonly"]],
            ).fetchall()
        )
        limits = dict(
            conn.execute(
                "SELECT rolname, rolconnlimit FROM pg_roles WHERE rolname = ANY(%s)",
                [[app_login.role, "app_readonly"]],
            ).fetchall()
        )
    assert {"statement_timeout=30s", "idle_in_transaction_session_timeout=60s"} <= set(
        settings[app_login.role]
    )
    assert {"default_transaction_read_only=on", "statement_timeout=5min"} <= set(
        settings["app_readonly"]
    )
    assert limits == {app_login.role: 200, "app_readonly": 10}


def test_the_api_role_can_do_what_the_api_needs_and_no_more(
    database: Db, app_login: AppLogin
) -> None:
    bootstrap(database, app_login)
    add_table_as_a_later_migration(database)
    # logs in over TCP with SCRAM: the verifier the runner sent matches the secret's password
    with psycopg.connect(database.url_as(app_login.role, app_login.password)) as api:
        api.execute("INSERT INTO widgets (label) VALUES ('a'), ('b')")  # search_path = app
        api.execute("UPDATE widgets SET label = 'c' WHERE id = 1")
        api.execute("DELETE FROM widgets WHERE id = 2")
        assert api.execute("SELECT label FROM widgets").fetchall() == [("c",)]
        assert api.execute("SELECT length(gen_random_bytes(8))").fetchone() == (8,)
        assert api.execute("SHOW statement_timeout").fetchone() == ("30s",)
        api.commit()
        for ddl in ("DROP TABLE widgets", "CREATE TABLE app.mine (id int)", "TRUNCATE widgets"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                api.execute(ddl)
            api.rollback()
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            api.execute("SELECT * FROM migrations.applied")


def test_the_read_only_role_cannot_write(database: Db, app_login: AppLogin) -> None:
    bootstrap(database, app_login)
    add_table_as_a_later_migration(database)
    # SET ROLE needs membership, which the master does not have: switch as the superuser
    with psycopg.connect(database.superuser_url) as conn:
        conn.execute("INSERT INTO app.widgets (label) VALUES ('x')")
        conn.commit()
        conn.execute("SET ROLE app_readonly")
        assert conn.execute("SELECT label FROM app.widgets").fetchall() == [("x",)]
        for write in (
            "INSERT INTO app.widgets (label) VALUES ('y')",
            "UPDATE app.widgets SET label = 'y'",
            "DELETE FROM app.widgets",
            "CREATE TABLE app.mine (id int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(write)
            conn.rollback()
            conn.execute("SET ROLE app_readonly")


def test_rerun_keeps_roles_and_follows_a_rotated_password(
    database: Db, app_login: AppLogin
) -> None:
    bootstrap(database, app_login)
    rotated = AppLogin(app_login.role, secrets.token_urlsafe(24))
    assert bootstrap(database, rotated) == []
    with psycopg.connect(database.url_as(rotated.role, rotated.password)) as api:
        assert api.execute("SELECT current_user").fetchone() == (rotated.role,)
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(database.url_as(app_login.role, app_login.password))


def role_limits(database: Db, login: AppLogin) -> tuple[int, str, str]:
    """What the API actually gets: its connection limit and the timeouts of its sessions."""
    with psycopg.connect(database.url) as conn:
        row = conn.execute(
            "SELECT rolconnlimit FROM pg_roles WHERE rolname = %s", [login.role]
        ).fetchone()
        assert row is not None
    with psycopg.connect(database.url_as(login.role, login.password)) as api:
        statement = api.execute("SHOW statement_timeout").fetchone()
        idle = api.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        assert statement is not None and idle is not None
    return row[0], statement[0], idle[0]


def test_the_api_role_gets_the_limits_the_deploy_passes(database: Db, app_login: AppLogin) -> None:
    bootstrap(
        database,
        app_login,
        connection_limit=37,
        statement_timeout="12500ms",
        idle_in_transaction_timeout="7s",
    )
    assert role_limits(database, app_login) == (37, "12500ms", "7s")
    # a changed configuration reaches the live role on the next run
    bootstrap(
        database,
        app_login,
        connection_limit=360,
        statement_timeout="45000ms",
        idle_in_transaction_timeout="90000ms",
    )
    assert role_limits(database, app_login) == (360, "45s", "90s")


def test_an_app_login_failure_never_shows_the_password_verifier(
    database: Db, app_login: AppLogin
) -> None:
    # Altering a REPLICATION role needs a superuser, so the script's ALTER ROLE … PASSWORD
    # fails as the RDS-like master, and the server's error context quotes that statement.
    with psycopg.connect(database.superuser_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN REPLICATION").format(sql.Identifier(app_login.role))
        )
    with pytest.raises(runner.SqlError) as info:
        bootstrap(database, app_login)
    message = str(info.value)
    assert message.startswith("app_login.sql:") and "SQLSTATE 42501" in message
    assert "SCRAM-SHA-256" not in message and "PASSWORD" not in message.upper()


def test_bootstrap_refuses_without_the_api_login(database: Db) -> None:
    with pytest.raises(runner.SqlError, match="API login role is not configured") as info:
        bootstrap(database, None)
    assert "--app-database-url" in str(info.value)


def test_bootstrap_refuses_to_turn_the_migrator_into_the_api_login(database: Db) -> None:
    with pytest.raises(runner.SqlError, match="must not log in as the migration user"):
        bootstrap(database, AppLogin(database.master, secrets.token_urlsafe(24)))


def test_the_lambda_handler_runs_the_same_runner_over_verified_tls(
    database: Db, app_login: AppLogin, handler_env: tuple[dict[str, str], dict[str, str]]
) -> None:
    ca = database.server.ca_file
    if ca is None:
        pytest.skip("DATABASE_URL names a server whose CA the tests do not know")
    env, secrets_by_arn = handler_env
    fetched: list[str] = []

    def fetch(arn: str) -> str:
        fetched.append(arn)
        return secrets_by_arn[arn]

    result = lambda_handler.run({"command": "up"}, env, fetch, ca_bundle=ca)
    assert result["applied"] == [
        "0001_platform_extensions",
        "0002_platform_roles_and_schema",
        "0003_restore_check_login",
    ]
    assert sorted(fetched) == ["arn:master", "arn:url"]
    assert role_limits(database, app_login) == (42, "20s", "30s")
    with psycopg.connect(database.url_as(app_login.role, app_login.password)) as api:
        assert api.execute("SELECT current_user").fetchone() == (app_login.role,)
    assert lambda_handler.run({"command": "up"}, env, fetch, ca_bundle=ca)["applied"] == []
    assert lambda_handler.run({"command": "verify"}, env, fetch, ca_bundle=ca) == {
        "command": "verify",
        "verified": 3,
    }
    # a failure raises, so the Invocation (and `pulumi up`) fails before the API rolls
    with pytest.raises(runner.UnreachableError):
        lambda_handler.run({}, {**env, "DB_PORT": "1"}, fetch, ca_bundle=ca)
    with pytest.raises(runner.UsageError):
        lambda_handler.run({"command": "drop everything"}, env, fetch, ca_bundle=ca)


def test_the_lambda_handler_only_talks_to_a_server_its_bundle_vouches_for(
    database: Db, handler_env: tuple[dict[str, str], dict[str, str]], tmp_path: Path
) -> None:
    ca = database.server.ca_file
    if ca is None:
        pytest.skip("DATABASE_URL names a server whose CA the tests do not know")
    env, secrets_by_arn = handler_env
    fetched: list[str] = []

    def fetch(arn: str) -> str:
        fetched.append(arn)
        return secrets_by_arn[arn]

    impostor, _ = make_ca(tmp_path, "another-ca")
    with pytest.raises(runner.UnreachableError, match="certificate verify failed"):
        lambda_handler.run({"command": "status"}, env, fetch, ca_bundle=impostor)
    # the same server under an address its certificate does not name: verify-full refuses
    with pytest.raises(runner.UnreachableError, match="does not match host name"):
        lambda_handler.run(
            {"command": "status"}, {**env, "DB_HOST": "127.0.0.1"}, fetch, ca_bundle=ca
        )
    fetched.clear()
    for missing in (tmp_path / "absent.pem", tmp_path):
        with pytest.raises(runner.MigrationError, match="make package"):
            lambda_handler.run({"command": "up"}, env, fetch, ca_bundle=missing)
    assert fetched == [], "without a bundle no secret is even read"
