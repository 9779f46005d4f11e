"""The restore test's validation (restore_check/handler.py) against real PostgreSQL, with AWS
Backup and RDS stubbed at their API boundary (botocore's Stubber).

The source is a database bootstrapped by the repository's own migrations, so the login the
check uses is the one migrations/0003 creates; the "restored copy" is a clone of it taken at a
known instant (CREATE DATABASE … TEMPLATE), after which the source moves on.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import botocore.session
import psycopg
import pytest
from botocore import UNSIGNED
from botocore.config import Config
from botocore.stub import ANY, Stubber
from psycopg import sql
from psycopg.conninfo import make_conninfo

from migrations import runner
from migrations.app_login import AppLogin, AppRole
from restore_check import handler
from tests.integration.conftest import Db
from tools.pgcluster import Server

REGION = "eu-west-1"
PLAN = f"arn:aws:backup:{REGION}:123456789012:restore-testing-plan:webstack_test_database-1"
SOURCE = f"arn:aws:rds:{REGION}:123456789012:db:webstack-test-postgres"
COPY = "awsbackup-restore-test-0a1b2c3d"
JOB = "1B234A56-789B-01CD-2A34-4567A08901FD"


@dataclass(frozen=True)
class Restore:
    """A source, its copy at `backed_up_at`, and the login's password (its IAM token here)."""

    source: Db
    copy_name: str
    backed_up_at: datetime
    token: str


def server_now(url: str) -> datetime:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0].astimezone(UTC)  # type: ignore[no-any-return]


@pytest.fixture
def restore(database: Db, pg: Server, app_login: AppLogin) -> Iterator[Restore]:
    if pg.ca_file is None:
        pytest.skip("DATABASE_URL names a server whose CA the tests do not know")
    with runner.connect(database.url) as conn:
        runner.up(
            conn,
            runner.discover(),
            runner.Options(),
            always=runner.repeatables(),
            session=AppRole(login=app_login).session_settings(),
            log=lambda _: None,
        )
    token = secrets.token_urlsafe(24)
    admin = make_conninfo(**pg.admin)
    copy_name = f"copy_{secrets.token_hex(6)}"
    with psycopg.connect(admin, autocommit=True) as conn:
        # On RDS the login signs in with IAM tokens; here a password stands in for the token.
        conn.execute(sql.SQL("ALTER ROLE restore_check PASSWORD {}").format(sql.Literal(token)))
        backed_up_at = server_now(database.url)
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                sql.Identifier(copy_name), sql.Identifier(database.name)
            )
        )
    # The source moves on after the backup: a later migration is not expected in the copy.
    with psycopg.connect(database.url) as conn:
        conn.execute(
            "INSERT INTO migrations.applied (id, name, checksum, duration_ms)"
            " VALUES (9000, '9000_after_the_backup', repeat('a', 64), 1)"
        )
    yield Restore(database, copy_name, backed_up_at, token)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(copy_name)))


def client(service: str) -> Any:
    return botocore.session.get_session().create_client(
        service, region_name=REGION, config=Config(signature_version=UNSIGNED)
    )


@pytest.fixture
def aws() -> Iterator[tuple[Any, Stubber, Any, Stubber]]:
    backup, rds = client("backup"), client("rds")
    with Stubber(backup) as backup_stub, Stubber(rds) as rds_stub:
        yield backup, backup_stub, rds, rds_stub
        backup_stub.assert_no_pending_responses()
        rds_stub.assert_no_pending_responses()


def env(restore: Restore, pg: Server) -> dict[str, str]:
    return {
        "RESTORE_TESTING_PLAN_ARN": PLAN,
        "SOURCE_DB_ARN": SOURCE,
        # the name the server's certificate carries, as an RDS endpoint's does
        "SOURCE_DB_HOST": "localhost",
        "DB_PORT": pg.tcp["port"],
        "DB_NAME": restore.source.name,
        "DB_USER": "restore_check",
        "ENVIRONMENT": "test",
    }


def event(plan: str = PLAN) -> dict[str, Any]:
    return {
        "source": "aws.backup",
        "detail-type": "Restore Job State Change",
        "detail": {"restoreJobId": JOB, "status": "COMPLETED", "restoreTestingPlanArn": plan},
    }


def expect_job(
    stub: Stubber, restore: Restore, *, created: str = COPY, minutes: float = 23.5
) -> None:
    started = restore.backed_up_at + timedelta(days=3)
    stub.add_response(
        "describe_restore_job",
        {
            "RestoreJobId": JOB,
            "Status": "COMPLETED",
            "SourceResourceArn": SOURCE,
            "CreatedResourceArn": f"arn:aws:rds:{REGION}:123456789012:db:{created}",
            "RecoveryPointCreationDate": restore.backed_up_at,
            "CreationDate": started,
            "CompletionDate": started + timedelta(minutes=minutes),
        },
        {"RestoreJobId": JOB},
    )


def expect_copy(stub: Stubber, restore: Restore, pg: Server) -> None:
    stub.add_response(
        "describe_db_instances",
        {
            "DBInstances": [
                {
                    "DBInstanceIdentifier": COPY,
                    "DBName": restore.copy_name,
                    "Endpoint": {"Address": "localhost", "Port": int(pg.tcp["port"])},
                }
            ]
        },
        {"DBInstanceIdentifier": COPY},
    )


def expect_verdict(stub: Stubber, status: str) -> None:
    stub.add_response(
        "put_restore_validation_result",
        {},
        {"RestoreJobId": JOB, "ValidationStatus": status, "ValidationStatusMessage": ANY},
    )


def run(restore: Restore, pg: Server, aws: tuple, *, token: str | None = None) -> tuple[Any, list]:
    """The handler's run; returns its result (or the exception it raised) and its log lines."""
    backup, _, rds, _ = aws
    lines: list[str] = []
    password = restore.token if token is None else token
    assert pg.ca_file is not None
    try:
        result: Any = handler.run(
            event(),
            env(restore, pg),
            backup=backup,
            rds=rds,
            token=lambda host, port, user: password,
            ca_bundle=pg.ca_file,
            emit=lines.append,
            now_ms=lambda: 1_700_000_000_000,
        )
    except handler.ValidationFailedError as e:
        result = e
    return result, lines


def test_a_faithful_copy_is_reported_successful_with_its_restore_time(
    restore: Restore, pg: Server, aws: tuple
) -> None:
    _, backup_stub, _, rds_stub = aws
    expect_job(backup_stub, restore, minutes=23.5)
    expect_copy(rds_stub, restore, pg)
    expect_verdict(backup_stub, "SUCCESSFUL")
    result, lines = run(restore, pg, aws)
    assert result["status"] == "SUCCESSFUL", result
    with psycopg.connect(restore.source.url) as conn:
        rows = conn.execute("SELECT count(*) FROM migrations.applied").fetchone()
    # the source holds one row more than the copy: the migration applied after the backup
    assert rows is not None and f"holds the {rows[0] - 1} rows" in result["message"]
    assert result["message"].startswith("restored in 23.5 min")
    metrics = json.loads(lines[0])
    assert metrics["RestoreDurationMinutes"] == 23.5
    assert metrics["RestoreValidationFailed"] == 0
    assert metrics["Environment"] == "test"
    [directive] = metrics["_aws"]["CloudWatchMetrics"]
    assert directive["Namespace"] == "webstack/Backup"
    assert {m["Name"] for m in directive["Metrics"]} == {
        "RestoreDurationMinutes",
        "RestoreValidationFailed",
    }


def test_a_copy_that_lost_a_migration_fails_naming_it(
    restore: Restore, pg: Server, aws: tuple
) -> None:
    with psycopg.connect(restore.source.server.url(restore.copy_name)) as conn:
        conn.execute("DELETE FROM migrations.applied WHERE name = '0003_restore_check_login'")
    _, backup_stub, _, rds_stub = aws
    expect_job(backup_stub, restore)
    expect_copy(rds_stub, restore, pg)
    expect_verdict(backup_stub, "FAILED")
    failed, lines = run(restore, pg, aws)
    assert isinstance(failed, handler.ValidationFailedError)
    assert "missing 0003_restore_check_login" in str(failed)
    assert "not in the source" not in str(failed)
    assert json.loads(lines[0])["RestoreValidationFailed"] == 1


def test_a_copy_the_check_cannot_sign_in_to_fails_with_the_reason(
    restore: Restore, pg: Server, aws: tuple
) -> None:
    _, backup_stub, _, rds_stub = aws
    expect_job(backup_stub, restore)
    expect_copy(rds_stub, restore, pg)
    expect_verdict(backup_stub, "FAILED")
    failed, _ = run(restore, pg, aws, token=secrets.token_urlsafe(24))
    assert isinstance(failed, handler.ValidationFailedError)
    assert "could not finish: OperationalError" in str(failed)
    assert "restore_check" in str(failed)


def test_an_instance_restore_testing_did_not_make_is_never_touched(
    restore: Restore, pg: Server, aws: tuple
) -> None:
    _, backup_stub, _, _ = aws
    expect_job(backup_stub, restore, created="webstack-test-postgres")
    expect_verdict(backup_stub, "FAILED")
    failed, _ = run(restore, pg, aws)  # no DescribeDBInstances: the Stubber would refuse it
    assert isinstance(failed, handler.ValidationFailedError)
    assert "refusing to validate" in str(failed) and "not a restore-test instance" in str(failed)


def test_an_event_of_another_plan_is_ignored(restore: Restore, pg: Server, aws: tuple) -> None:
    backup, _, rds, _ = aws
    assert pg.ca_file is not None
    result = handler.run(
        event(plan=PLAN.replace("database-1", "other-2")),
        env(restore, pg),
        backup=backup,
        rds=rds,
        token=lambda *_: restore.token,
        ca_bundle=pg.ca_file,
    )
    assert result == {"ignored": True}


def test_the_login_reads_the_bookkeeping_and_writes_nothing(restore: Restore, pg: Server) -> None:
    assert pg.ca_file is not None
    url = make_conninfo(
        restore.source.url_as("restore_check", restore.token),
        sslmode="verify-full",
        sslrootcert=str(pg.ca_file),
        host="localhost",
    )
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT count(*) FROM migrations.applied").fetchone()
        assert rows is not None and rows[0] >= 3
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("DELETE FROM migrations.applied")
    with psycopg.connect(url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("SET TRANSACTION READ WRITE")
        conn.execute("DELETE FROM migrations.applied")
