"""MigrationJob wired to a real Network and WorkloadSecurityGroups, with stand-ins for the data
tier: where the function runs, what it may reach and read, and when `pulumi up` re-runs it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.migration_job import MigrationJob, MigrationJobArgs
from components.network import Network, NetworkArgs
from components.security_groups import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs
from tools.mockcloud import ACCOUNT_ID, Evaluation, run_program

REGION = "us-east-1"
MASTER_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:rds!db-master-AbCdEf"
URL_SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT_ID}:secret:webstack/database-url-XyZ"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/0a1b2c3d-0000-4000-8000-000000000000"


def evaluate_job(package: Path) -> Evaluation:
    def program() -> dict[str, Any]:
        provider = aws.Provider("aws", region=REGION)
        opts = pulumi.ResourceOptions(providers={"aws": provider})
        network = Network(
            "network",
            NetworkArgs(
                name_prefix="webstack-staging",
                cidr="10.20.0.0/16",
                availability_zones=(f"{REGION}a", f"{REGION}b"),
            ),
            opts=opts,
        )
        groups = WorkloadSecurityGroups(
            "workloads",
            WorkloadSecurityGroupsArgs(name_prefix="webstack-staging", vpc_id=network.vpc_id),
            opts=opts,
        )
        # Stand-in for the data tier's security group, built in parallel.
        database_sg = aws.ec2.SecurityGroup(
            "database", vpc_id=network.vpc_id, description="database", opts=opts
        )
        job = MigrationJob(
            "migrations",
            MigrationJobArgs(
                name_prefix="webstack-staging",
                private_subnet_ids=network.private_subnet_ids,
                security_group_id=groups.migrations,
                database_security_group_id=database_sg.id,
                database_host="webstack-staging.cluster.internal",
                database_name="webstack",
                master_secret_arn=MASTER_SECRET,
                database_url_secret_arn=URL_SECRET,
                database_url_version="v1",
                database_resource_id="db-STANDIN",
                app_connection_limit=100,
                app_statement_timeout_ms=30_000,
                app_idle_in_transaction_timeout_ms=60_000,
                kms_key_arn=KMS_KEY,
                secrets_manager_cidr=network.vpc_cidr,
                package=package,
            ),
            opts=opts,
        )
        return {
            "privateSubnetIds": network.private_subnet_ids,
            "migrationsSg": groups.migrations,
            "databaseSg": database_sg.id,
            "functionName": job.function_name,
            "logGroupName": job.log_group_name,
        }

    return run_program("staging", {"aws:region": REGION}, [], program)


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("build") / "migrations-lambda-arm64.zip"
    path.write_bytes(b"PK\x05\x06" + b"\0" * 18)  # an empty zip: the mock never unpacks it
    return path


@pytest.fixture(scope="module")
def job(package: Path) -> Evaluation:
    return evaluate_job(package)


def test_function_runs_in_the_private_subnets_with_the_migrations_group(job: Evaluation) -> None:
    fn = job.one("aws:lambda/function:Function")
    vpc = fn.inputs["vpcConfig"]
    assert sorted(vpc["subnetIds"]) == sorted(job.outputs["privateSubnetIds"])
    assert vpc["securityGroupIds"] == [job.outputs["migrationsSg"]]
    assert fn.inputs["handler"] == "migrations.lambda_handler.handler"
    assert fn.inputs["runtime"] == "python3.12" and fn.inputs["architectures"] == ["arm64"]
    assert fn.inputs["loggingConfig"]["logGroup"] == job.outputs["logGroupName"]
    env = fn.inputs["environment"]["variables"]
    assert env["MASTER_SECRET_ARN"] == MASTER_SECRET
    assert not any("password" in key.lower() for key in env), "secrets only by ARN"


def test_its_group_reaches_the_database_and_secrets_manager_only(job: Evaluation) -> None:
    egress = [
        r.inputs
        for r in job.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
        if r.inputs["securityGroupId"] == job.outputs["migrationsSg"]
    ]
    to_db = [e for e in egress if e.get("referencedSecurityGroupId") == job.outputs["databaseSg"]]
    assert [(e["ipProtocol"], e["fromPort"], e["toPort"]) for e in to_db] == [("tcp", 5432, 5432)]
    others = [e for e in egress if e not in to_db]
    assert [(e["fromPort"], e["toPort"], e["cidrIpv4"]) for e in others] == [
        (443, 443, "10.20.0.0/16")
    ]


def test_role_reads_exactly_its_secrets_and_writes_only_its_logs(job: Evaluation) -> None:
    policy = json.loads(
        job.one("aws:iam/rolePolicy:RolePolicy", "migrations-policy").inputs["policy"]
    )
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert by_sid["ReadItsSecrets"]["Action"] == ["secretsmanager:GetSecretValue"]
    assert sorted(by_sid["ReadItsSecrets"]["Resource"]) == sorted([MASTER_SECRET, URL_SECRET])
    kms = by_sid["DecryptThemThroughSecretsManager"]
    assert kms["Resource"] == [KMS_KEY]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == (
        f"secretsmanager.{REGION}.amazonaws.com"
    )
    group_arn = job.one("aws:cloudwatch/logGroup:LogGroup", "migrations-logs").outputs["arn"]
    assert set(by_sid["WriteItsLogs"]["Resource"]) == {group_arn, group_arn + ":*"}
    actions = [a for s in policy["Statement"] for a in s["Action"]]
    assert not any("*" in a for a in actions)
    unscoped = [s["Sid"] for s in policy["Statement"] if s["Resource"] == "*"]
    assert unscoped == ["AttachToTheVpc"]
    assert all(a.startswith("ec2:") for a in by_sid["AttachToTheVpc"]["Action"])
    trust = json.loads(job.one("aws:iam/role:Role", "migrations-role").inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "lambda.amazonaws.com"}


def test_invocation_runs_up_after_the_function_and_its_permissions(job: Evaluation) -> None:
    run = job.one("aws:lambda/invocation:Invocation")
    fn = job.one("aws:lambda/function:Function")
    assert json.loads(run.inputs["input"]) == {"command": "up"}
    assert run.inputs["functionName"] == job.outputs["functionName"]
    assert fn.urn in run.dependencies
    assert job.one("aws:iam/rolePolicy:RolePolicy", "migrations-policy").urn in fn.dependencies


def test_a_missing_package_fails_with_the_command_that_builds_it(tmp_path: Path) -> None:
    with pytest.raises(Exception, match=r"make package ARCH=arm64"):
        evaluate_job(tmp_path / "absent.zip")
