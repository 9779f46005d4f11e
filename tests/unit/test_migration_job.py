"""MigrationJob in both stacks: where the function runs, what it may reach and read, when
`pulumi up` re-runs it, and how the database admits it.

The wiring runs against the full program (`tools.mockcloud.evaluate`); what depends on inputs
the program does not vary (the migration files, the package path) runs the component alone.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from components.config import PoolBudget
from components.migration_job import MigrationJob, MigrationJobArgs, MigrationJobWiring
from tests.helpers import config_of, parse, sg_id
from tools.lambda_package import offline_package
from tools.mockcloud import ACCOUNT_ID, Evaluation, run_program

RESOURCELESS_ACTIONS = {
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
}
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"


def test_function_runs_in_the_private_subnets_with_the_migrations_group(stack: Evaluation) -> None:
    fn = stack.one("aws:lambda/function:Function", "migrations-function")
    vpc = fn.inputs["vpcConfig"]
    private = stack.outputs["privateSubnetIds"]
    assert private and sorted(vpc["subnetIds"]) == sorted(private)
    subnets = {r.id: r for r in stack.of_type("aws:ec2/subnet:Subnet")}
    assert {subnets[s].inputs["tags"]["tier"] for s in vpc["subnetIds"]} == {"private"}
    assert vpc["securityGroupIds"] == [sg_id(stack, "workloads-migrations")]
    assert fn.inputs["name"] == stack.outputs["migrationFunctionName"]
    assert fn.inputs["handler"] == "migrations.lambda_handler.handler"
    assert fn.inputs["runtime"] == "python3.12" and fn.inputs["architectures"] == ["arm64"]
    log_group = stack.one("aws:cloudwatch/logGroup:LogGroup", "migrations-logs")
    assert fn.inputs["loggingConfig"]["logGroup"] == log_group.inputs["name"]
    env = fn.inputs["environment"]["variables"]
    assert env["MASTER_SECRET_ARN"] == stack.outputs["databaseMasterSecretArn"]
    assert env["DATABASE_URL_SECRET_ARN"] == stack.outputs["databaseUrlSecretArn"]
    assert env["DB_HOST"] == stack.outputs["databaseAddress"]
    assert env["DB_PORT"] == str(int(stack.outputs["databasePort"])) == "5432"
    assert not any("password" in key.lower() for key in env), "secrets only by ARN"


def test_its_group_reaches_the_database_and_secrets_manager_only(stack: Evaluation) -> None:
    migrations, database = sg_id(stack, "workloads-migrations"), sg_id(stack, "database-sg")
    assert database == stack.outputs["databaseSecurityGroupId"]
    egress = [r.inputs for r in stack.of_type(EGRESS) if r.inputs["securityGroupId"] == migrations]
    to_db = [e for e in egress if e.get("referencedSecurityGroupId") == database]
    assert [(e["ipProtocol"], e["fromPort"], e["toPort"]) for e in to_db] == [("tcp", 5432, 5432)]
    others = [e for e in egress if e not in to_db]
    assert stack.config is not None
    # Secrets Manager through its interface endpoint where there is one, else through NAT.
    secrets_manager = (
        stack.outputs["vpcCidr"] if stack.config.network.interface_endpoints else "0.0.0.0/0"
    )
    assert [(e["fromPort"], e["toPort"], e["cidrIpv4"]) for e in others] == [
        (443, 443, secrets_manager)
    ]


def test_the_database_admits_the_migrations_group_on_its_port(stack: Evaluation) -> None:
    migrations, database = sg_id(stack, "workloads-migrations"), sg_id(stack, "database-sg")
    admitted = [
        r.inputs
        for r in stack.of_type(INGRESS)
        if r.inputs["securityGroupId"] == database
        and r.inputs.get("referencedSecurityGroupId") == migrations
    ]
    assert [(r["ipProtocol"], r["fromPort"], r["toPort"]) for r in admitted] == [
        ("tcp", 5432, 5432)
    ]
    # Nothing else may reach the cache from the migration function.
    cache = sg_id(stack, "cache-sg")
    assert not [
        r
        for r in stack.of_type(INGRESS)
        if r.inputs["securityGroupId"] == cache
        and r.inputs.get("referencedSecurityGroupId") == migrations
    ]


def test_role_reads_exactly_its_secrets_and_writes_only_its_logs(stack: Evaluation) -> None:
    policy = json.loads(
        stack.one("aws:iam/rolePolicy:RolePolicy", "migrations-policy").inputs["policy"]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadItsSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert sorted(by_sid["ReadItsSecrets"]["Resource"]) == sorted(
        [stack.outputs["databaseMasterSecretArn"], stack.outputs["databaseUrlSecretArn"]]
    )
    kms = by_sid["DecryptThemThroughSecretsManager"]
    assert kms["Resource"] == [stack.outputs["dataKmsKeyArn"]]
    assert stack.config is not None
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == (
        f"secretsmanager.{stack.config.region}.amazonaws.com"
    )
    group_arn = stack.one("aws:cloudwatch/logGroup:LogGroup", "migrations-logs").outputs["arn"]
    assert set(by_sid["WriteItsLogs"]["Resource"]) == {group_arn, group_arn + ":*"}
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert not any("*" in a for a in actions)
    # "*" only for actions that take no resource (AWS's service authorization reference).
    unscoped = {a for s in policy["Statement"] if s["Resource"] == "*" for a in s["Action"]}
    assert unscoped == RESOURCELESS_ACTIONS
    trust = json.loads(stack.one("aws:iam/role:Role", "migrations-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_invocation_runs_up_after_the_function_its_permissions_and_network_path(
    stack: Evaluation,
) -> None:
    run = stack.one("aws:lambda/invocation:Invocation")
    fn = stack.one("aws:lambda/function:Function", "migrations-function")
    assert json.loads(run.inputs["input"]) == {"command": "up"}
    assert run.inputs["functionName"] == stack.outputs["migrationFunctionName"]
    assert fn.urn in run.dependencies
    assert stack.one("aws:iam/rolePolicy:RolePolicy", "migrations-policy").urn in fn.dependencies
    migrations = sg_id(stack, "workloads-migrations")
    path = {
        r.urn
        for r in [*stack.of_type(EGRESS), *stack.of_type(INGRESS)]
        if migrations in (r.inputs["securityGroupId"], r.inputs.get("referencedSecurityGroupId"))
    }
    assert len(path) == 3, "to the database, to Secrets Manager, and into the database"
    assert path <= set(run.dependencies), "a first run must find its way to the database"


# ---------------------------------------------------------------------------------------------
# The component alone: inputs the program does not vary


def evaluate_job(package: Path, pool_budget: PoolBudget | None = None) -> Evaluation:
    """MigrationJob for the committed staging config with plain stand-in handles (nothing else
    of the stack); `pool_budget` replaces the one config computed."""
    region = "us-east-1"
    secret = f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
    cfg = parse("staging")

    def program() -> dict[str, Any]:
        MigrationJob(
            "migrations",
            MigrationJobArgs(
                stack=cfg.stack_wide,
                database=cfg.database,
                api=cfg.api,
                network=cfg.network,
                pool_budget=pool_budget or cfg.pool_budget,
                wiring=MigrationJobWiring(
                    private_subnet_ids=["subnet-private-a", "subnet-private-b"],
                    vpc_cidr="10.20.0.0/16",
                    network_ready=[],
                    security_group_id="sg-migrations",
                    kms_key_arn=f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/data",
                    database_security_group_id="sg-database",
                    database_port=5432,
                    database_host="webstack-staging-postgres.internal",
                    database_name="webstack",
                    master_secret_arn=f"{secret}rds!db-master",
                    database_url_secret_arn=f"{secret}webstack-staging/DATABASE_URL",
                    database_url_version="url-digest",
                    database_resource_id="db-RESOURCEID",
                    database_instance_identifier="webstack-staging-postgres",
                    database_instance_arn=f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:webstack-staging-postgres",
                    database_subnet_group_name="webstack-staging-postgres",
                    database_parameter_group_name="webstack-staging-postgres17",
                    package=package,
                ),
            ),
        )
        return {}

    return run_program("staging", {"aws:region": region}, [], program)


def test_a_missing_package_fails_with_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"make package ARCH=arm64"):
        evaluate_job(tmp_path / "absent.zip")


def test_the_login_role_gets_the_connection_limit_as_config_computed_it() -> None:
    budget = parse("staging").pool_budget
    # A limit no arithmetic over this config gives: it can only arrive as it was handed in.
    handed_in = replace(budget, app_connection_limit=123)
    assert handed_in.app_connection_limit != budget.app_connection_limit
    ev = evaluate_job(offline_package(), handed_in)
    variables, _ = _function_and_policy(ev)
    assert variables["APP_CONNECTION_LIMIT"] == "123"
    run = ev.one("aws:lambda/invocation:Invocation")
    assert "APP_CONNECTION_LIMIT=123" in run.inputs["triggers"]["appRole"].split(",")


def _function_and_policy(ev: Evaluation) -> tuple[dict[str, str], list[dict[str, Any]]]:
    function = ev.one("aws:lambda/function:Function", "migrations-function")
    policy = json.loads(
        ev.one("aws:iam/rolePolicy:RolePolicy", "migrations-policy").inputs["policy"]
    )
    return function.inputs["environment"]["variables"], policy["Statement"]


def test_the_run_knows_the_primary_and_where_a_restored_copy_goes(stack: Evaluation) -> None:
    variables, _ = _function_and_policy(stack)
    primary = stack.one("aws:rds/instance:Instance", "database-primary")
    assert variables["DB_INSTANCE_IDENTIFIER"] == primary.inputs["identifier"]
    assert variables["DB_SUBNET_GROUP_NAME"] == primary.inputs["dbSubnetGroupName"]
    assert variables["DB_PARAMETER_GROUP_NAME"] == primary.inputs["parameterGroupName"]
    assert variables["DB_SECURITY_GROUP_IDS"] == sg_id(stack, "database-sg")


def test_prod_snapshots_before_migrations_with_permissions_on_those_snapshots_only(
    evaluations: dict[str, Evaluation],
) -> None:
    prod_env, prod_statements = _function_and_policy(evaluations["prod"])
    staging_env, staging_statements = _function_and_policy(evaluations["staging"])
    assert (prod_env["SNAPSHOT_BEFORE_MIGRATIONS"], staging_env["SNAPSHOT_BEFORE_MIGRATIONS"]) == (
        "true",
        "false",
    )
    primary = evaluations["prod"].one("aws:rds/instance:Instance", "database-primary")
    rds = [s for s in prod_statements if any(a.startswith("rds:") for a in s["Action"])]
    actions = {a for s in rds for a in s["Action"]}
    assert actions == {
        "rds:CreateDBSnapshot",
        "rds:DescribeDBSnapshots",
        "rds:AddTagsToResource",
        "rds:DeleteDBSnapshot",
    }
    arn = primary.outputs["arn"]
    snapshots = arn.replace(":db:", ":snapshot:") + "-before-*"
    assert {r for s in rds for r in s["Resource"]} == {arn, snapshots}
    # Only the runs' own snapshots may be deleted, never the instance's.
    deleting = [s for s in rds if "rds:DeleteDBSnapshot" in s["Action"]]
    assert [s["Resource"] for s in deleting] == [[snapshots]]
    keep = config_of(evaluations["prod"]).database.keep_snapshots_before_migrations
    assert prod_env["SNAPSHOTS_TO_KEEP"] == str(keep)
    assert "SNAPSHOTS_TO_KEEP" not in staging_env
    assert not any(a.startswith("rds:") for s in staging_statements for a in s["Action"])
