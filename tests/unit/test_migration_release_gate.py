"""The migration run as the release gate, on the full stacks: it re-runs exactly when what it
would do changes (the zip, the DATABASE_URL secret, the database, the API role's limits), it
waits for its network path, and its function and logs are locked down."""

from __future__ import annotations

import base64
import hashlib
import json
import zipfile
from fnmatch import fnmatch
from pathlib import Path

import pytest

from migrations import lambda_handler
from tests.helpers import committed, evaluated
from tools import lambda_package
from tools.mockcloud import ACCOUNT_ID, Evaluation, Resource, evaluate

INVOCATION = "aws:lambda/invocation:Invocation"
FUNCTION = "aws:lambda/function:Function"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def invocation(ev: Evaluation) -> Resource:
    return ev.one(INVOCATION, "migrations-run")


def function_env(ev: Evaluation) -> dict[str, str]:
    return dict(ev.one(FUNCTION, "migrations-function").inputs["environment"]["variables"])


def sha256(path: Path) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def test_the_run_is_triggered_by_the_zip_the_function_runs(stack: Evaluation) -> None:
    digest = sha256(lambda_package.offline_package())
    fn = stack.one(FUNCTION, "migrations-function")
    # Lambda's own CodeSha256 (base64), not a provider-side synthetic hash
    assert fn.inputs["codeSha256"] == base64.b64encode(digest).decode()
    assert "sourceCodeHash" not in fn.inputs
    assert invocation(stack).inputs["triggers"]["package"] == digest.hex()


def test_a_repackaged_migration_changes_the_trigger(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    unchanged = sha256(lambda_package.offline_package()).hex()
    entries = lambda_package.package_entries(
        lambda_package.SOURCE, [], lambda_package.OFFLINE_CA_BUNDLE.read_bytes()
    )
    entries["migrations/0003_widgets.sql"] = b"CREATE TABLE app.widgets (id bigint);\n"
    edited = tmp_path / "edited.zip"
    lambda_package.write_zip(entries, edited)
    monkeypatch.setattr(lambda_package, "offline_package", lambda: edited)
    triggers = invocation(evaluate("staging")).inputs["triggers"]
    assert triggers["package"] == sha256(edited).hex() != unchanged


def test_the_run_follows_the_database_url_secret_and_the_primary(stack: Evaluation) -> None:
    run = invocation(stack)
    url = stack.one("aws:secretsmanager/secretVersion:SecretVersion", "database-url-value")
    # a rotated DATABASE_URL is a new value, so a new trigger: the login role gets the password
    expected = hashlib.sha256(url.inputs["secretString"].encode()).hexdigest()
    assert run.inputs["triggers"]["databaseUrl"] == expected
    assert "triggers" in run.secret_inputs, "a digest of a secret stays a secret in state"
    # a replaced primary (new, empty) has a new resource id, so it is migrated
    primary = stack.one("aws:rds/instance:Instance", "database-primary")
    assert run.inputs["triggers"]["database"] == primary.outputs["resourceId"]


def test_the_run_waits_for_its_network_path(stack: Evaluation) -> None:
    deps = set(invocation(stack).dependencies)
    migrations_sg = stack.one("aws:ec2/securityGroup:SecurityGroup", "workloads-migrations")
    sg_id = migrations_sg.outputs["id"]
    egress = [r for r in stack.of_type(EGRESS) if r.inputs["securityGroupId"] == sg_id]
    admitted = [
        r for r in stack.of_type(INGRESS) if r.inputs.get("referencedSecurityGroupId") == sg_id
    ]
    assert len(egress) == 2 and len(admitted) == 1
    assert {r.urn for r in [*egress, *admitted]} <= deps
    endpoints = stack.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
    assert {e.urn for e in endpoints} <= deps
    nat_routes = [r for r in stack.of_type("aws:ec2/route:Route") if r.inputs.get("natGatewayId")]
    assert {r.urn for r in nat_routes} <= deps
    interface = [e for e in endpoints if e.inputs["vpcEndpointType"] == "Interface"]
    # prod sends 443 only to the VPC (its Secrets Manager endpoint); staging goes through NAT
    assert (interface, nat_routes) != ([], []), "some path to Secrets Manager must be awaited"
    if any(e.inputs["serviceName"].endswith(".secretsmanager") for e in interface):
        assert {e.inputs["cidrIpv4"] for e in egress if e.inputs.get("cidrIpv4")} == {
            stack.outputs["vpcCidr"]
        }


def test_the_api_role_limits_come_from_the_api_config(stack: Evaluation) -> None:
    cfg = stack.config
    env = function_env(stack)
    assert env["APP_STATEMENT_TIMEOUT"] == f"{cfg.api.db_statement_timeout_ms}ms"
    assert env["APP_IDLE_IN_TRANSACTION_TIMEOUT"] == (
        f"{cfg.api.db_idle_in_transaction_timeout_ms}ms"
    )
    limit = int(env["APP_CONNECTION_LIMIT"])
    # every API and worker task at full scale with its whole pool fits under the role's limit,
    # and the limit leaves room under max_connections for the migrator and consoles
    tasks = [
        json.loads(t.inputs["containerDefinitions"])[0]
        for t in stack.of_type("aws:ecs/taskDefinition:TaskDefinition")
    ]
    pools = {
        int(e["value"]) for t in tasks for e in t["environment"] if e["name"] == "DB_MAX_POOL_SIZE"
    }
    (pool,) = pools
    assert (cfg.api.max_capacity + cfg.worker.max_capacity) * pool <= limit
    assert limit < stack.outputs["databaseMaxConnections"]
    assert invocation(stack).inputs["triggers"]["appRole"] == ",".join(
        f"{k}={env[k]}"
        for k in (
            "APP_CONNECTION_LIMIT",
            "APP_IDLE_IN_TRANSACTION_TIMEOUT",
            "APP_STATEMENT_TIMEOUT",
        )
    )


def test_a_changed_api_timeout_reaches_the_role_on_the_next_up() -> None:
    api = {**committed("staging", "api"), "dbStatementTimeoutMs": 12_500}
    ev = evaluated("staging", overrides={"webstack:api": api})
    assert function_env(ev)["APP_STATEMENT_TIMEOUT"] == "12500ms"
    assert "APP_STATEMENT_TIMEOUT=12500ms" in invocation(ev).inputs["triggers"]["appRole"]


def test_the_function_trusts_only_this_account_and_logs_encrypted(stack: Evaluation) -> None:
    trust = json.loads(stack.one("aws:iam/role:Role", "migrations-role").inputs["assumeRolePolicy"])
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT_ID}}
    logs = stack.one("aws:cloudwatch/logGroup:LogGroup", "migrations-logs")
    key = stack.one("aws:kms/key:Key", "secrets-key")
    assert logs.inputs["kmsKeyId"] == key.outputs["arn"]
    # the key policy must let CloudWatch Logs use the key for this group, or creation fails
    policy = json.loads(key.inputs["policy"])
    region = stack.config.region
    logs_arn = f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{logs.inputs['name']}"
    admitted = [
        s
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
        and s["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
        and {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey"} <= set(s["Action"])
        and fnmatch(logs_arn, s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"])
    ]
    assert admitted


def test_the_handler_is_told_every_interval_it_documents(stack: Evaluation) -> None:
    env = function_env(stack)
    documented = {
        word.strip(",.")
        for word in (lambda_handler.__doc__ or "").split()
        if word.strip(",.").startswith(("MIGRATION_", "APP_"))
    }
    assert documented and documented <= set(env)


def test_the_stand_in_package_has_what_the_handler_needs() -> None:
    with zipfile.ZipFile(lambda_package.offline_package()) as archive:
        names = set(archive.namelist())
    assert {"migrations/lambda_handler.py", lambda_package.CA_BUNDLE_ENTRY} <= names
