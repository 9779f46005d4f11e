"""The validation Lambda of the database's restore test (components/backup/restore_testing.py).

EventBridge invokes it with AWS Backup's "Restore Job State Change" event once a job of the
stack's restore testing plan is COMPLETED. It

1. describes the restore job (AWS Backup) and refuses anything but a COMPLETED restore of the
   stack's database into an `awsbackup-restore-test-*` instance (restore testing's own names);
2. finds the copy's endpoint (RDS DescribeDBInstances);
3. connects to the copy, and to the source, as `restore_check` (migrations/0003: a login that
   may only read the bookkeeping table) with an IAM authentication token, over TLS with the
   server verified (`sslmode=verify-full`) against AWS's RDS CA bundle that `make package` puts
   next to this file as rds-ca-bundle.pem;
4. checks that the copy answers (`SELECT 1`) and that its bookkeeping table holds exactly the
   rows the source's held at the recovery point's creation time (restore_check/schema.py);
5. reports the verdict to AWS Backup (PutRestoreValidationResult, SUCCESSFUL or FAILED with a
   message that carries the restore's duration), which then deletes the copy;
6. logs the restore's duration in minutes, and whether the validation failed, as CloudWatch
   metrics (the embedded metric format: a JSON log line, no API call) in the namespace
   `webstack/Backup` with the dimension `Environment`: each test measures the RTO.

Anything that goes wrong on the way is reported as FAILED (with the error) as well; a FAILED
verdict then raises, so the invocation counts as an error and the function's error alarm
pages. Environment (set by the component, no secrets in it): RESTORE_TESTING_PLAN_ARN,
SOURCE_DB_ARN, SOURCE_DB_HOST, DB_PORT, DB_NAME, DB_USER, ENVIRONMENT; AWS_REGION (set by
Lambda). boto3 comes with the Lambda runtime (PutRestoreValidationResult needs boto3 1.33 or
later; the python3.12 runtime's is newer).
"""

from __future__ import annotations

import json
import logging
import os
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import make_conninfo

from restore_check import schema

log = logging.getLogger("restore_check")
log.setLevel(logging.INFO)
CA_BUNDLE = Path(__file__).with_name("rds-ca-bundle.pem")
"""AWS's RDS CA bundle in the package (tools/lambda_package.py writes it there)."""
RESTORED_PREFIX = "awsbackup-restore-test-"
"""How restore testing names the instances it restores (its inferred dbInstanceIdentifier)."""
METRIC_NAMESPACE = "webstack/Backup"
CONNECT_TIMEOUT_SECONDS = 10
# PutRestoreValidationResult documents no limit on the message; the console shows it whole,
# so it is kept to what a person reads.
MAX_MESSAGE = 1000
SUCCESSFUL, FAILED = "SUCCESSFUL", "FAILED"
Token = Callable[[str, int, str], str]
"""(host, port, user) -> an IAM authentication token, the password of one connection."""


class RestoreCheckError(Exception):
    """The restore job or the restored copy is not what a validation can accept."""


class ValidationFailedError(Exception):
    """The verdict was FAILED (already reported to AWS Backup); raised so the invocation errs."""


@dataclass(frozen=True)
class Settings:
    """The function's environment."""

    plan_arn: str
    source_arn: str
    source_host: str
    port: int
    dbname: str
    user: str
    environment: str

    @classmethod
    def of(cls, env: Mapping[str, str]) -> Settings:
        names = {
            "plan_arn": "RESTORE_TESTING_PLAN_ARN",
            "source_arn": "SOURCE_DB_ARN",
            "source_host": "SOURCE_DB_HOST",
            "dbname": "DB_NAME",
            "user": "DB_USER",
            "environment": "ENVIRONMENT",
        }
        missing = [var for var in [*names.values(), "DB_PORT"] if not env.get(var)]
        if missing:
            raise RestoreCheckError(f"the function's environment lacks {', '.join(missing)}")
        return cls(port=int(env["DB_PORT"]), **{field: env[var] for field, var in names.items()})


@dataclass(frozen=True)
class Verdict:
    """What is reported to AWS Backup."""

    status: str
    message: str
    restore_minutes: float | None = None


@dataclass(frozen=True)
class Endpoint:
    """Where a database answers."""

    host: str
    port: int
    dbname: str


def connect(at: Endpoint, settings: Settings, token: Token, ca_bundle: Path) -> Any:
    """A connection as `settings.user`, the server verified against `ca_bundle`."""
    return psycopg.connect(
        make_conninfo(
            host=at.host,
            port=str(at.port),
            dbname=at.dbname,
            user=settings.user,
            password=token(at.host, at.port, settings.user),
            sslmode="verify-full",
            sslrootcert=str(ca_bundle),
            connect_timeout=str(CONNECT_TIMEOUT_SECONDS),
            application_name="restore_check",
        )
    )


def _copy_endpoint(job: Mapping[str, Any], settings: Settings, rds: Any) -> Endpoint:
    """The restored instance's endpoint, once the job is known to be a test of our database."""
    if job.get("Status") != "COMPLETED":
        raise RestoreCheckError(f"the restore job is {job.get('Status')}, not COMPLETED")
    if job.get("SourceResourceArn") != settings.source_arn:
        raise RestoreCheckError(
            f"the job restored {job.get('SourceResourceArn')}, not {settings.source_arn}"
        )
    created = str(job.get("CreatedResourceArn") or "")
    identifier = created.rsplit(":", 1)[-1]
    if not identifier.startswith(RESTORED_PREFIX):
        # Never take a production instance for the copy: only restore testing's own names.
        raise RestoreCheckError(f"refusing to validate {created!r}: not a restore-test instance")
    [instance] = rds.describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"]
    endpoint = instance["Endpoint"]
    # The copy's database is the snapshot's, as RDS reports it (the source's, by name).
    dbname = str(instance.get("DBName") or settings.dbname)
    return Endpoint(str(endpoint["Address"]), int(endpoint["Port"]), dbname)


def validate(
    job: Mapping[str, Any], settings: Settings, rds: Any, token: Token, ca_bundle: Path
) -> Verdict:
    """The verdict on a described restore job; raises when it cannot be reached."""
    copy_at = _copy_endpoint(job, settings, rds)
    source_at = Endpoint(settings.source_host, settings.port, settings.dbname)
    backed_up_at: datetime = job["RecoveryPointCreationDate"]
    minutes = (job["CompletionDate"] - job["CreationDate"]).total_seconds() / 60
    with connect(copy_at, settings, token, ca_bundle) as copy:
        schema.answers(copy)
        copy_rows = schema.applied(copy)
    with connect(source_at, settings, token, ca_bundle) as source:
        source_rows = schema.applied(source, at=backed_up_at)
    timing = f"restored in {minutes:.1f} min"
    problem = schema.difference(copy_rows, source_rows)
    if problem:
        return Verdict(FAILED, f"{timing}; {problem} at {backed_up_at:%Y-%m-%dT%H:%M:%SZ}", minutes)
    return Verdict(
        SUCCESSFUL,
        f"{timing}; SELECT 1 answered; {schema.BOOKKEEPING_TABLE} holds the {len(copy_rows)} "
        f"rows the source had at {backed_up_at:%Y-%m-%dT%H:%M:%SZ}",
        minutes,
    )


def check_ca_bundle(path: Path) -> None:
    """Refuse to connect without a readable bundle of PEM certificates at `path`."""
    try:
        ssl.create_default_context(cafile=str(path))
    except (OSError, ssl.SSLError, ValueError) as e:
        raise RestoreCheckError(
            f"the RDS CA bundle {path} is missing or holds no PEM certificates ({e}); "
            "rebuild the package with `make package` and deploy again"
        ) from None


def metrics_line(settings: Settings, verdict: Verdict, job_id: str, now_ms: int) -> str:
    """The embedded-metric-format log line CloudWatch turns into the test's metrics."""
    metrics = [{"Name": "RestoreValidationFailed", "Unit": "Count"}]
    values: dict[str, Any] = {"RestoreValidationFailed": int(verdict.status == FAILED)}
    if verdict.restore_minutes is not None:
        metrics.append({"Name": "RestoreDurationMinutes", "Unit": "None"})
        values["RestoreDurationMinutes"] = round(verdict.restore_minutes, 2)
    return json.dumps(
        {
            "_aws": {
                "Timestamp": now_ms,
                "CloudWatchMetrics": [
                    {
                        "Namespace": METRIC_NAMESPACE,
                        "Dimensions": [["Environment"]],
                        "Metrics": metrics,
                    }
                ],
            },
            "Environment": settings.environment,
            "restoreJobId": job_id,
            "validationStatus": verdict.status,
            **values,
        }
    )


def run(
    event: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    backup: Any,
    rds: Any,
    token: Token,
    ca_bundle: Path = CA_BUNDLE,
    emit: Callable[[str], None] = print,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> dict[str, Any]:
    """Validate the event's restore job and report the verdict; on FAILED, raise.

    `backup` and `rds`: boto3 clients; `token`: IAM authentication tokens; `emit`: where the
    metrics line goes (stdout, which Lambda sends to CloudWatch Logs).
    """
    settings = Settings.of(env)
    detail = event.get("detail") or {}
    if detail.get("restoreTestingPlanArn") != settings.plan_arn:
        # EventBridge's pattern already filters on the plan; this keeps a test invocation or a
        # wider rule from validating someone else's restore.
        log.info("ignored: not a job of %s: %s", settings.plan_arn, json.dumps(detail))
        return {"ignored": True}
    job_id = str(detail["restoreJobId"])
    try:
        check_ca_bundle(ca_bundle)
        job = backup.describe_restore_job(RestoreJobId=job_id)
        verdict = validate(job, settings, rds, token, ca_bundle)
    # Deliberately broad: whatever stops the check (an API error, a refused login, a missing
    # table) must still reach AWS Backup as FAILED with its reason, not leave the job to time out.
    except Exception as e:
        verdict = Verdict(FAILED, f"validation could not finish: {type(e).__name__}: {e}")
    backup.put_restore_validation_result(
        RestoreJobId=job_id,
        ValidationStatus=verdict.status,
        ValidationStatusMessage=verdict.message[:MAX_MESSAGE],
    )
    emit(metrics_line(settings, verdict, job_id, now_ms()))
    if verdict.status == FAILED:
        raise ValidationFailedError(f"restore job {job_id}: {verdict.message}")
    return {"restoreJobId": job_id, "status": verdict.status, "message": verdict.message}


def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    # boto3 has no type information: mypy calls it import-untyped where it is installed and
    # import-not-found where it is not.
    import boto3  # type: ignore[import-not-found, import-untyped, unused-ignore]

    region = os.environ["AWS_REGION"]
    rds = boto3.client("rds", region_name=region)

    def token(host: str, port: int, user: str) -> str:
        return str(rds.generate_db_auth_token(DBHostname=host, Port=port, DBUsername=user))

    return run(
        event, os.environ, backup=boto3.client("backup", region_name=region), rds=rds, token=token
    )
