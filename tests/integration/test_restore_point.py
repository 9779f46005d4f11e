"""The restore point before migrations, through the Lambda handler and the command line, against
real PostgreSQL with the RDS API stubbed at its boundary (botocore's Stubber): the instant and
the restore commands when something is pending, nothing when nothing is, and a snapshot that is
not ready in time fails the run before the schema is touched."""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.session
import psycopg
import pytest
from botocore.stub import ANY, Stubber

from components.migration_job import restore_point_of
from migrations import lambda_handler, runner
from migrations.__main__ import main
from tests.helpers import stubbed_client, write_files
from tests.integration.conftest import Db

PRIMARY = "webstack-test-postgres"
# RDS's rules (CreateDBSnapshot, RestoreDBInstanceToPointInTime): letters, digits and hyphens,
# a letter first, no trailing hyphen, no two hyphens in a row; 255 and 63 characters at most.
IDENTIFIER = re.compile(r"^[a-zA-Z](?:-?[a-zA-Z0-9])*$")


class FakeClock:
    """The invocation's time: `remaining_ms` of it at the start; sleeping advances it."""

    def __init__(self, remaining_ms: int) -> None:
        self.now, self.budget_ms = 0.0, remaining_ms

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    def remaining_ms(self) -> int:
        return self.budget_ms - round(self.now * 1000)

    def clock(self) -> lambda_handler.Clock:
        return lambda_handler.Clock(self.remaining_ms, self.monotonic, self.sleep)


@pytest.fixture
def rds() -> Iterator[tuple[Any, Stubber]]:
    """A real botocore RDS client whose calls the Stubber answers (or refuses, if unexpected)."""
    with stubbed_client("rds", "eu-west-1") as stubbed:
        yield stubbed


@pytest.fixture
def accounts(tmp_path: Path) -> Path:
    return write_files(
        tmp_path / "m",
        {
            "0001_accounts.sql": "CREATE TABLE accounts (id bigint PRIMARY KEY);\n",
            "0002_orders.sql": "CREATE TABLE orders (id bigint PRIMARY KEY);\n",
        },
    )


Env = tuple[dict[str, str], dict[str, str]]


def invoke(
    handler_env: Env,
    directory: Path,
    database: Db,
    *,
    event: dict[str, Any] | None = None,
    clock: FakeClock | None = None,
    snapshots: Any | None = None,
    **env: str,
) -> dict[str, Any]:
    """The handler's run; `snapshots`: an RDS client, and SNAPSHOT_BEFORE_MIGRATIONS=true."""
    ca = database.server.ca_file
    if ca is None:
        pytest.skip("DATABASE_URL names a server whose CA the tests do not know")
    base, secrets_by_arn = handler_env

    def rds(region: str) -> Any:
        assert snapshots is not None, "the RDS API was not to be called"
        return snapshots

    if snapshots is not None:
        env = {"SNAPSHOT_BEFORE_MIGRATIONS": "true", **env}
    return lambda_handler.run(
        event or {"command": "up"},
        {**base, **env},
        secrets_by_arn.__getitem__,
        ca_bundle=ca,
        clock=(clock or FakeClock(600_000)).clock(),
        rds=rds,
        directory=directory,
    )


def server_now(url: str) -> datetime:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT clock_timestamp()").fetchone()
        assert row is not None
        return row[0].astimezone(UTC)  # type: ignore[no-any-return]


def recorded(url: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        found = conn.execute("SELECT to_regclass('migrations.restore_points')").fetchone()
        if found is None or found[0] is None:
            return []
        return conn.execute(
            "SELECT restore_time, before_migrations, snapshot, restore_command"
            " FROM migrations.restore_points ORDER BY id"
        ).fetchall()


def public_tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        return {name for (name,) in rows.fetchall()}


def assert_real_cli_command(command: str, operation: str) -> dict[str, list[str]]:
    """The command's flags are options of the AWS CLI's `aws rds <operation>` (the CLI derives
    them from the API model botocore carries); return its options and their values."""
    words = shlex.split(command)
    assert words[:3] == ["aws", "rds", operation]
    model = botocore.session.get_session().get_service_model("rds")
    name = next(n for n in model.operation_names if botocore.xform_name(n, "-") == operation)
    shape = model.operation_model(name).input_shape
    members = {botocore.xform_name(m, "-"): m for m in shape.members}
    options: dict[str, list[str]] = {}
    for word in words[3:]:
        if word.startswith("--"):
            options[word[2:]] = []
        else:
            options[list(options)[-1]].append(word)
    for option in options:
        if option == "region":
            continue
        member = members.get(option) or members.get(option.removeprefix("no-"))
        assert member is not None, f"--{option} is not an option of aws rds {operation}"
    assert {botocore.xform_name(m, "-") for m in shape.required_members} <= set(options)
    return options


def test_pending_migrations_get_a_restore_point_and_the_command_back_to_it(
    database: Db, handler_env: Env, accounts: Path, caplog: pytest.LogCaptureFixture
) -> None:
    before = server_now(database.url).replace(microsecond=0)
    caplog.set_level("INFO", logger="migrations")
    result = invoke(handler_env, accounts, database)
    after = server_now(database.url)
    assert result["applied"] == ["0001_accounts", "0002_orders"]
    point = result["restorePoint"]
    instant = datetime.strptime(point["time"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert before <= instant <= after, "the database server's clock, in UTC, to the second"
    assert point["beforeMigrations"] == ["0001_accounts", "0002_orders"]
    assert point["snapshot"] is None and point["snapshotRestoreCommand"] is None
    # What the Lambda returns is what `pulumi stack output migrationRestorePoint` shows.
    assert restore_point_of(json.dumps(result)) == point

    options = assert_real_cli_command(
        point["restoreCommand"], "restore-db-instance-to-point-in-time"
    )
    assert options["source-db-instance-identifier"] == [PRIMARY]
    assert options["restore-time"] == [point["time"]]
    assert options["region"] == ["eu-west-1"]
    # where the primary is, not RDS's default subnet group, security group and parameters
    assert options["db-subnet-group-name"] == ["webstack-test-db"]
    assert options["vpc-security-group-ids"] == ["sg-0123456789abcdef0", "sg-0fedcba9876543210"]
    assert options["db-parameter-group-name"] == ["webstack-test-postgres15"]
    assert options["no-publicly-accessible"] == []
    (target,) = options["target-db-instance-identifier"]
    assert IDENTIFIER.match(target) and len(target) <= 63 and "--" not in target
    assert target != PRIMARY

    # recorded in the database and said in the log, before the first migration ran
    ((restore_time, names, snapshot, command),) = recorded(database.url)
    assert restore_time == instant and names == point["beforeMigrations"]
    assert (snapshot, command) == (None, point["restoreCommand"])
    logged = [r.getMessage() for r in caplog.records]
    first_applied = next(i for i, m in enumerate(logged) if m.startswith("applied "))
    assert any(point["restoreCommand"] in m for m in logged[:first_applied])


def test_nothing_pending_records_nothing_and_calls_no_aws(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    invoke(handler_env, accounts, database)
    client, stubber = rds  # no responses queued: any RDS call fails the test
    again = invoke(
        handler_env,
        accounts,
        database,
        snapshots=client,
    )
    assert again["applied"] == [] and again["restorePoint"] is None
    assert len(recorded(database.url)) == 1
    stubber.assert_no_pending_responses()


def queue_snapshot_list(stubber: Stubber, snapshots: list[dict[str, Any]]) -> None:
    stubber.add_response(
        "describe_db_snapshots",
        {"DBSnapshots": snapshots},
        {"DBInstanceIdentifier": PRIMARY, "SnapshotType": "manual"},
    )


def queue_status(stubber: Stubber, status: str, progress: int = 0) -> None:
    stubber.add_response(
        "describe_db_snapshots",
        {
            "DBSnapshots": [
                {"DBSnapshotIdentifier": "x", "Status": status, "PercentProgress": progress}
            ]
        },
        {"DBSnapshotIdentifier": ANY},
    )


def created_snapshots(client: Any) -> list[dict[str, Any]]:
    """The parameters of every CreateDBSnapshot call the client makes."""
    calls: list[dict[str, Any]] = []
    client.meta.events.register(
        "provide-client-params.rds.CreateDBSnapshot", lambda params, **_: calls.append(params)
    )
    return calls


def test_a_snapshot_is_taken_and_waited_for_before_the_migrations(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    client, stubber = rds
    created = created_snapshots(client)
    queue_snapshot_list(stubber, [])
    stubber.add_response(
        "create_db_snapshot",
        {"DBSnapshot": {"Status": "creating"}},
        {
            "DBSnapshotIdentifier": ANY,
            "DBInstanceIdentifier": PRIMARY,
            "Tags": [{"Key": "webstack:before-migration", "Value": "0001_accounts"}],
        },
    )
    queue_status(stubber, "creating", 40)
    queue_status(stubber, "available", 100)
    clock = FakeClock(600_000)
    result = invoke(
        handler_env,
        accounts,
        database,
        clock=clock,
        snapshots=client,
    )
    stubber.assert_no_pending_responses()
    assert result["applied"] == ["0001_accounts", "0002_orders"]
    point = result["restorePoint"]
    (params,) = created
    assert point["snapshot"] == params["DBSnapshotIdentifier"]
    assert IDENTIFIER.match(point["snapshot"]) and len(point["snapshot"]) <= 255
    assert point["snapshot"].startswith(f"{PRIMARY}-before-0001-")
    assert clock.now == 15, "it polled once more after `creating`, 15 s later"
    options = assert_real_cli_command(
        point["snapshotRestoreCommand"], "restore-db-instance-from-db-snapshot"
    )
    assert options["db-snapshot-identifier"] == [point["snapshot"]]
    assert options["db-subnet-group-name"] == ["webstack-test-db"]
    assert recorded(database.url)[0][2] == point["snapshot"]


def test_a_snapshot_not_ready_in_time_fails_before_the_schema_is_touched(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    client, stubber = rds
    queue_snapshot_list(stubber, [])
    stubber.add_response("create_db_snapshot", {"DBSnapshot": {"Status": "creating"}}, None)
    for _ in range(50):
        queue_status(stubber, "creating", 10)
    # 120 s left; the migrations keep one statement timeout (30 s) plus 60 s: 30 s to wait
    clock = FakeClock(120_000)
    with pytest.raises(runner.NoRestorePointError) as info:
        invoke(
            handler_env,
            accounts,
            database,
            clock=clock,
            snapshots=client,
            MIGRATION_STATEMENT_TIMEOUT="30s",
        )
    message = str(info.value)
    assert "was not available in time: still creating (10% done)" in message
    assert "nothing was applied" in message and "waits for it" in message
    assert info.value.exit_code == 11
    assert clock.now <= 30, "it stopped waiting within its budget"
    assert public_tables(database.url) == set()
    with runner.connect(database.url) as conn:
        assert runner.applied(conn) == {}
    assert recorded(database.url) == []


def test_an_earlier_runs_unfinished_snapshot_is_waited_for_not_started_again(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    client, stubber = rds
    earlier = f"{PRIMARY}-before-0001-20260101120000"
    queue_snapshot_list(
        stubber,
        [
            {"DBSnapshotIdentifier": "someone-elses-snapshot", "Status": "creating"},
            {"DBSnapshotIdentifier": earlier, "Status": "creating"},
        ],
    )
    queue_status(stubber, "available", 100)  # and no CreateDBSnapshot: the Stubber would refuse
    result = invoke(
        handler_env,
        accounts,
        database,
        snapshots=client,
    )
    stubber.assert_no_pending_responses()
    assert result["restorePoint"]["snapshot"] == earlier


def test_a_successful_run_deletes_its_older_snapshots_beyond_those_to_keep(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    client, stubber = rds
    queue_snapshot_list(stubber, [])
    stubber.add_response("create_db_snapshot", {"DBSnapshot": {"Status": "creating"}}, None)
    queue_status(stubber, "available", 100)
    day = datetime(2026, 1, 1, tzinfo=UTC)
    # What RDS lists after the run's snapshot: two older runs', someone else's, and one an
    # earlier run could not wait for (never deleted while it is being created).
    older = [f"{PRIMARY}-before-0000-2026010{n}120000" for n in (1, 2, 3)]
    listed = [
        {
            "DBSnapshotIdentifier": name,
            "Status": "available",
            "SnapshotCreateTime": day.replace(day=n),
        }
        for n, name in zip((1, 2, 3), older, strict=True)
    ]
    just_taken = {
        "DBSnapshotIdentifier": f"{PRIMARY}-before-0001-20260110120000",
        "Status": "available",
        "SnapshotCreateTime": day.replace(day=10),
    }
    others = [
        {
            "DBSnapshotIdentifier": "hand-made-before-upgrade",
            "Status": "available",
            "SnapshotCreateTime": day,
        },
        {
            "DBSnapshotIdentifier": f"{PRIMARY}-before-0000-20251231120000",
            "Status": "creating",
            "SnapshotCreateTime": day,
        },
    ]
    queue_snapshot_list(stubber, [just_taken, *listed, *others])
    for name in (older[1], older[0]):  # keep 2: the run's own and the newest older one
        stubber.add_response("delete_db_snapshot", {}, {"DBSnapshotIdentifier": name})
    result = invoke(handler_env, accounts, database, snapshots=client, SNAPSHOTS_TO_KEEP="2")
    stubber.assert_no_pending_responses()
    assert result["applied"] == ["0001_accounts", "0002_orders"]
    assert result["snapshotsDeleted"] == [older[1], older[0]]


def test_a_snapshot_rds_will_not_delete_is_kept_and_the_run_succeeds(
    database: Db,
    handler_env: Env,
    accounts: Path,
    rds: tuple[Any, Stubber],
    caplog: pytest.LogCaptureFixture,
) -> None:
    client, stubber = rds
    caplog.set_level("INFO", logger="migrations")
    queue_snapshot_list(stubber, [])
    stubber.add_response("create_db_snapshot", {"DBSnapshot": {"Status": "creating"}}, None)
    queue_status(stubber, "available", 100)
    day = datetime(2026, 1, 1, tzinfo=UTC)
    old = f"{PRIMARY}-before-0000-20260101120000"
    queue_snapshot_list(
        stubber,
        [
            {
                "DBSnapshotIdentifier": f"{PRIMARY}-before-0001-20260110120000",
                "Status": "available",
                "SnapshotCreateTime": day.replace(day=10),
            },
            {"DBSnapshotIdentifier": old, "Status": "available", "SnapshotCreateTime": day},
        ],
    )
    stubber.add_client_error(
        "delete_db_snapshot",
        service_error_code="InvalidDBSnapshotState",
        service_message="Cannot delete the snapshot because it is being copied",
    )
    result = invoke(handler_env, accounts, database, snapshots=client, SNAPSHOTS_TO_KEEP="1")
    assert result["applied"] == ["0001_accounts", "0002_orders"]
    assert result["snapshotsDeleted"] == []
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert f"could not delete the old snapshot {old} (InvalidDBSnapshotState" in logged


def test_an_instance_that_cannot_be_snapshotted_fails_the_run_before_any_migration(
    database: Db, handler_env: Env, accounts: Path, rds: tuple[Any, Stubber]
) -> None:
    client, stubber = rds
    queue_snapshot_list(stubber, [])
    stubber.add_client_error(
        "create_db_snapshot",
        service_error_code="InvalidDBInstanceState",
        service_message="DB instance is not in available state",
    )
    with pytest.raises(runner.NoRestorePointError, match="InvalidDBInstanceState") as info:
        invoke(
            handler_env,
            accounts,
            database,
            snapshots=client,
        )
    assert "nothing was applied" in str(info.value)
    assert public_tables(database.url) == set() and recorded(database.url) == []


@pytest.mark.parametrize(
    ("env", "event", "words"),
    [
        ({"DB_SUBNET_GROUP_NAME": ""}, {}, "needs DB_SUBNET_GROUP_NAME"),
        ({"DB_INSTANCE_IDENTIFIER": "9-lives"}, {}, "not an RDS instance identifier"),
        ({"DB_INSTANCE_IDENTIFIER": "two--hyphens"}, {}, "not an RDS instance identifier"),
        ({"SNAPSHOT_BEFORE_MIGRATIONS": "yes"}, {}, "must be true or false"),
        (
            {"SNAPSHOT_BEFORE_MIGRATIONS": "true", "SNAPSHOTS_TO_KEEP": "0"},
            {},
            "SNAPSHOTS_TO_KEEP must be a whole number, 1 or more",
        ),
        ({}, {"resumeFrom": "3"}, '"resumeFrom" must be a statement number'),
        ({}, {"resumeFrom": 0}, '"resumeFrom" must be a statement number'),
        ({}, {"command": "status", "resumeFrom": 2}, '"resumeFrom" must be a statement number'),
        ({}, {"dropInvalidIndexes": "yes"}, '"dropInvalidIndexes" must be true or false'),
    ],
)
def test_bad_settings_are_refused_before_anything_is_read_or_changed(
    database: Db,
    handler_env: Env,
    accounts: Path,
    env: dict[str, str],
    event: dict[str, Any],
    words: str,
) -> None:
    base, secrets_by_arn = handler_env
    fetched: list[str] = []

    def fetch(arn: str) -> str:
        fetched.append(arn)
        return secrets_by_arn[arn]

    ca = database.server.ca_file
    assert ca is not None
    with pytest.raises(runner.UsageError, match=re.escape(words)):
        lambda_handler.run(
            {"command": "up", **event}, {**base, **env}, fetch, ca_bundle=ca, directory=accounts
        )
    assert fetched == [] and public_tables(database.url) == set()


def test_a_stopped_migration_says_how_to_resume_it_from_the_lambda(
    database: Db, handler_env: Env, tmp_path: Path
) -> None:
    directory = write_files(
        tmp_path / "m",
        {
            "0001_notes.sql": "-- transactional: false\n"
            "CREATE TABLE notes (n int PRIMARY KEY);\n"
            "INSERT INTO notes VALUES (1), (1);\n",
        },
    )
    with pytest.raises(runner.UnfinishedError) as info:
        invoke(handler_env, directory, database)
    command = str(info.value).rsplit("from this Lambda: ", 1)[1]
    payload = shlex.split(command)[shlex.split(command).index("--payload") + 1]
    assert command.startswith("aws lambda invoke --function-name webstack-test-migrations ")
    assert payload == '{"command": "up", "resumeFrom": 2}'
    (directory / "0001_notes.sql").write_text(
        "-- transactional: false\n"
        "CREATE TABLE notes (n int PRIMARY KEY);\n"
        "INSERT INTO notes VALUES (1), (2);\n"
    )
    result = invoke(handler_env, directory, database, event={"command": "up", "resumeFrom": 2})
    assert result["applied"] == ["0001_notes"]
    # the resumed file got its restore point too: it was about to change the schema again
    assert result["restorePoint"]["beforeMigrations"] == ["0001_notes"]


def test_the_command_line_prints_the_restore_point_when_something_is_pending(
    database: Db, accounts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["up", "--database-url", database.url, "--dir", str(accounts)]
    (accounts / "0002_orders.sql").rename(accounts / "later.sql.txt")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert re.search(r"restore point before 0001_accounts: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", out)
    assert "aws rds" not in out, "without the primary's name there is no command to print"
    (accounts / "later.sql.txt").rename(accounts / "0002_orders.sql")
    rds = [
        *("--rds-instance", PRIMARY, "--rds-region", "eu-west-1"),
        *("--rds-subnet-group", "webstack-test-db", "--rds-security-groups", "sg-1,sg-2"),
    ]
    assert main([*args, *rds]) == 2  # the parameter group is missing
    assert "needs --rds-parameter-group" in capsys.readouterr().err
    assert main([*args, *rds, "--rds-parameter-group", "webstack-test-postgres15"]) == 0
    out = capsys.readouterr().out
    (command,) = [line.strip() for line in out.splitlines() if "restore-db-instance" in line]
    options = assert_real_cli_command(command, "restore-db-instance-to-point-in-time")
    assert options["vpc-security-group-ids"] == ["sg-1", "sg-2"]
    assert out.index("restore point before 0002_orders") < out.index("applied 0002_orders")
    assert main(args) == 0
    assert "restore point" not in capsys.readouterr().out
    assert len(recorded(database.url)) == 2
    assert recorded(database.url)[1][0] - recorded(database.url)[0][0] >= timedelta(0)
