"""The migration Lambda: the same runner, inside the VPC, invoked by `pulumi up`.

Environment (set by components/migration_job.py, no secrets in it): MASTER_SECRET_ARN (the RDS
master secret, JSON with username and password), DATABASE_URL_SECRET_ARN (the API's URL, whose
user and password become the API login role), DB_HOST, DB_PORT, DB_NAME, the
MIGRATION_LOCK_WAIT / MIGRATION_LOCK_TIMEOUT / MIGRATION_STATEMENT_TIMEOUT intervals and the API
login role's limits APP_CONNECTION_LIMIT / APP_STATEMENT_TIMEOUT /
APP_IDLE_IN_TRANSACTION_TIMEOUT.

The master password only ever travels over TLS with the server verified (`verify-full`)
against AWS's RDS CA bundle, which `make package` puts next to this file as rds-ca-bundle.pem;
without it the handler refuses to run.

Event: {"command": "up" | "status" | "verify"} (default up). Any failure raises, so the
invocation reports a FunctionError and `pulumi up` stops before the API service rolls.
"""

from __future__ import annotations

import json
import logging
import os
import ssl
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from psycopg.conninfo import make_conninfo

from migrations import runner

log = logging.getLogger("migrations")
log.setLevel(logging.INFO)
FetchSecret = Callable[[str], str]
COMMANDS = ("up", "status", "verify")
CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")
"""AWS's RDS CA bundle in the package (tools/lambda_package.py writes it there)."""


def check_ca_bundle(path: Path) -> None:
    """Refuse to connect without a readable bundle of PEM certificates at `path`."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as e:
        raise runner.MigrationError(
            f"the RDS CA bundle {path} is missing or holds no PEM certificates ({e}); "
            "rebuild the package with `make package`, which bundles it, and deploy again"
        ) from None


def fetch_secret(arn: str) -> str:
    """SecretString of `arn` from Secrets Manager (boto3 ships with the Lambda runtime)."""
    import boto3  # the Lambda runtime's; not a runtime dependency of the project

    return str(boto3.client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"])


def run(
    event: Mapping[str, Any],
    env: Mapping[str, str],
    fetch: FetchSecret,
    ca_bundle: Path = CA_BUNDLE,
) -> dict[str, Any]:
    """Run `event["command"]` against the database `env` describes; raise on any failure."""
    command = event.get("command", "up")
    if command not in COMMANDS:
        raise runner.UsageError(f"unknown command {command!r}; expected one of {COMMANDS}")
    check_ca_bundle(ca_bundle)
    try:
        master = json.loads(fetch(env["MASTER_SECRET_ARN"]))
        user, password = master["username"], master["password"]
    except (ValueError, KeyError, TypeError):
        raise runner.BadUrlError(
            "the master secret must be JSON with username and password"
        ) from None
    url = make_conninfo(
        host=env["DB_HOST"],
        port=env.get("DB_PORT", "5432"),
        dbname=env["DB_NAME"],
        user=user,
        password=password,
        sslmode="verify-full",
        sslrootcert=str(ca_bundle),
    )
    defaults = runner.Options()
    options = runner.Options(
        lock_wait=env.get("MIGRATION_LOCK_WAIT", defaults.lock_wait),
        lock_timeout=env.get("MIGRATION_LOCK_TIMEOUT", defaults.lock_timeout),
        statement_timeout=env.get("MIGRATION_STATEMENT_TIMEOUT", defaults.statement_timeout),
        app_connection_limit=int(env.get("APP_CONNECTION_LIMIT", defaults.app_connection_limit)),
        app_statement_timeout=env.get("APP_STATEMENT_TIMEOUT", defaults.app_statement_timeout),
        app_idle_in_transaction_timeout=env.get(
            "APP_IDLE_IN_TRANSACTION_TIMEOUT", defaults.app_idle_in_transaction_timeout
        ),
        app_login=(
            runner.AppLogin.from_url(fetch(env["DATABASE_URL_SECRET_ARN"]))
            if command == "up"
            else None
        ),
    )
    migrations = runner.discover()
    with runner.connect(url) as conn:
        if command == "up":
            done = runner.up(conn, migrations, options, always=runner.repeatables(), log=log.info)
            return {"command": command, "applied": [m.name for m in done]}
        if command == "verify":
            return {"command": command, "verified": runner.verify(conn, migrations)}
        return {
            "command": command,
            "migrations": [
                {"name": s.name, "state": s.state} for s in runner.status(conn, migrations)
            ],
        }


def handler(event: Mapping[str, Any] | None, context: object) -> dict[str, Any]:
    """The Lambda entry point."""
    try:
        result = run(event or {}, os.environ, fetch_secret)
    except runner.MigrationError as e:
        log.error("%s failed (exit class %s): %s", type(e).__name__, e.exit_code.name, e)
        raise
    log.info("done: %s", json.dumps(result))
    return result
