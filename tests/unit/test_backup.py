"""Backup in both stacks: the vaults and their locks, the plan and what it selects, the copies to
the DR region, the restore tests with their validation Lambda, and what pages on failure.

The wiring runs against the full program (`tools.mockcloud.evaluate`); what the committed stacks
do not vary (a missing package, a DR region without its provider) runs the component alone.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.backup import Backup, BackupArgs, BackupWiring
from components.backup.restore_testing import LOGIN
from tests.helpers import committed, config_of, data_key_arn, evaluated, sg_id
from tools.mockcloud import Evaluation, Resource, run_program

VAULT = "aws:backup/vault:Vault"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
PLAN = "aws:backup/plan:Plan"
SELECTION = "aws:backup/selection:Selection"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
KEY = "aws:kms/key:Key"
ROLE = "aws:iam/role:Role"
FUNCTION = "aws:lambda/function:Function"
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
PROVIDER = "pulumi:providers:aws"


def primary(ev: Evaluation) -> Resource:
    return ev.one("aws:rds/instance:Instance", "database-primary")


def region(ev: Evaluation, resource: Resource) -> str:
    """The region of a resource's provider (its own, or its component's)."""
    providers = {p.urn: p for p in ev.of_type(PROVIDER)}
    while resource.provider_urn not in providers:
        resource = ev.by_urn(resource.parent)
    return str(providers[resource.provider_urn].inputs["region"])


def rules(ev: Evaluation) -> dict[str, dict[str, Any]]:
    return {r["ruleName"]: r for r in ev.one(PLAN).inputs["rules"]}


def event_pattern(ev: Evaluation, name: str) -> dict[str, Any]:
    return json.loads(ev.one(RULE, name).inputs["eventPattern"])


def targets_of(ev: Evaluation, rule: str) -> list[str]:
    name = ev.one(RULE, rule).outputs["name"]
    return [t.inputs["arn"] for t in ev.of_type(TARGET) if t.inputs["rule"] == name]


# --- vaults ----------------------------------------------------------------------------------


def test_the_vault_has_a_customer_managed_key_of_its_own(stack: Evaluation) -> None:
    vault = stack.one(VAULT, "backup-vault")
    key = stack.one(KEY, "backup-vault-key")
    assert vault.inputs["kmsKeyArn"] == key.outputs["arn"] != data_key_arn(stack)
    assert key.inputs["enableKeyRotation"] is True
    assert vault.inputs["forceDestroy"] is False
    prod = stack.stack == "prod"
    assert vault.protect is prod and key.protect is prod
    assert stack.outputs["backupVaultArn"] == vault.outputs["arn"]


def test_prod_locks_the_vault_in_compliance_mode(evaluations: dict[str, Evaluation]) -> None:
    prod = evaluations["prod"]
    backup = config_of(prod).backup
    lock = prod.one(LOCK, "backup-vault-lock")
    assert lock.inputs["backupVaultName"] == prod.one(VAULT, "backup-vault").outputs["name"]
    # changeableForDays set is what makes a lock compliance mode, and immutable after it.
    assert lock.inputs["changeableForDays"] == backup.lock_changeable_for_days >= 3
    assert lock.inputs["minRetentionDays"] == backup.lock_min_retention_days
    assert lock.inputs["maxRetentionDays"] == backup.lock_max_retention_days
    assert lock.protect is True


def test_staging_locks_in_governance_mode(evaluations: dict[str, Evaluation]) -> None:
    lock = evaluations["staging"].one(LOCK, "backup-vault-lock")
    assert "changeableForDays" not in lock.inputs


def test_a_stack_without_a_lock_gets_none() -> None:
    backup = committed("staging", "backup", vaultLock="none")
    ev = evaluated("staging", overrides={"webstack:backup": backup})
    assert ev.of_type(LOCK) == []


# --- the plan --------------------------------------------------------------------------------


def test_daily_and_continuous_rules_keep_the_configured_days(stack: Evaluation) -> None:
    backup = config_of(stack).backup
    vault_name = stack.one(VAULT, "backup-vault").outputs["name"]
    daily, continuous = rules(stack)["daily"], rules(stack)["continuous"]
    assert daily["schedule"] == backup.daily_schedule
    assert daily["lifecycle"]["deleteAfter"] == backup.daily_retention_days
    assert not daily.get("enableContinuousBackup")
    assert continuous["enableContinuousBackup"] is True
    # AWS Backup takes the instance's automated backups over: one retention for both.
    assert continuous["lifecycle"]["deleteAfter"] == primary(stack).inputs["backupRetentionPeriod"]
    assert continuous["lifecycle"]["deleteAfter"] <= 35, "AWS's cap on continuous backups"
    assert {daily["targetVaultName"], continuous["targetVaultName"]} == {vault_name}
    if stack.stack == "prod":
        assert daily["lifecycle"]["deleteAfter"] >= 35


def test_the_selection_names_the_primary_database(stack: Evaluation) -> None:
    selection = stack.one(SELECTION)
    assert selection.inputs["planId"] == stack.one(PLAN).id
    assert selection.inputs["resources"] == [primary(stack).outputs["arn"]]
    role = stack.one(ROLE, "backup-role")
    assert selection.inputs["iamRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "backup.amazonaws.com"}]
    attached = {
        a.inputs["policyArn"].rsplit("/", 1)[-1]
        for a in stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.outputs["name"]
    }
    assert attached == {
        "AWSBackupServiceRolePolicyForBackup",
        "AWSBackupServiceRolePolicyForRestores",
    }


def test_prod_copies_daily_snapshots_to_its_own_vault_and_key_in_the_dr_region(
    evaluations: dict[str, Evaluation],
) -> None:
    prod = evaluations["prod"]
    dr_region = config_of(prod).backup.dr_region
    assert dr_region and dr_region != config_of(prod).region
    dr_vault, dr_key = prod.one(VAULT, "backup-dr-vault"), prod.one(KEY, "backup-dr-vault-key")
    assert region(prod, dr_vault) == region(prod, dr_key) == dr_region
    assert region(prod, prod.one(VAULT, "backup-vault")) == config_of(prod).region
    assert dr_vault.inputs["kmsKeyArn"] == dr_key.outputs["arn"]
    assert f":{dr_region}:" in dr_key.outputs["arn"]
    assert (
        prod.one(LOCK, "backup-dr-vault-lock").inputs["backupVaultName"]
        == (dr_vault.outputs["name"])
    )
    [copy] = rules(prod)["daily"]["copyActions"]
    assert (
        copy["destinationVaultArn"] == dr_vault.outputs["arn"] == prod.outputs["drBackupVaultArn"]
    )
    assert copy["lifecycle"]["deleteAfter"] == config_of(prod).backup.copy_retention_days >= 35


def test_staging_makes_no_copies(evaluations: dict[str, Evaluation]) -> None:
    staging = evaluations["staging"]
    assert [v.name for v in staging.of_type(VAULT)] == ["backup-vault"]
    assert not rules(staging)["daily"].get("copyActions")
    assert "drBackupVaultArn" not in staging.outputs


# --- restore tests ---------------------------------------------------------------------------


def test_restore_tests_run_on_schedule_from_the_vaults_snapshots(stack: Evaluation) -> None:
    backup = config_of(stack).backup
    plan = stack.one(RESTORE_PLAN)
    assert plan.inputs["scheduleExpression"] == backup.restore_test_schedule
    points = plan.inputs["recoveryPointSelection"]
    assert points["algorithm"] == "LATEST_WITHIN_WINDOW"
    assert points["includeVaults"] == [stack.one(VAULT, "backup-vault").outputs["arn"]]
    assert points["recoveryPointTypes"] == ["SNAPSHOT"]
    selection = stack.one(RESTORE_SELECTION)
    assert selection.inputs["restoreTestingPlanName"] == plan.outputs["name"]
    assert selection.inputs["protectedResourceType"] == "RDS"
    assert selection.inputs["protectedResourceArns"] == [primary(stack).outputs["arn"]]
    assert selection.inputs["validationWindowHours"] == backup.restore_test_validation_hours
    assert selection.inputs["iamRoleArn"] == stack.one(ROLE, "backup-role").outputs["arn"]


def test_prod_tests_a_restore_every_month(evaluations: dict[str, Evaluation]) -> None:
    from tools.cost import runs_per_month

    runs = runs_per_month(evaluations["prod"].one(RESTORE_PLAN).inputs["scheduleExpression"])
    assert runs is not None and runs >= 1


def test_the_copy_lands_isolated_private_and_reachable_only_by_the_validation(
    stack: Evaluation,
) -> None:
    overrides = stack.one(RESTORE_SELECTION).inputs["restoreMetadataOverrides"]
    subnets = stack.one("aws:rds/subnetGroup:SubnetGroup", "backup-restore-subnets")
    assert overrides["dbSubnetGroupName"] == subnets.outputs["name"]
    assert subnets.inputs["subnetIds"] == stack.outputs["isolatedSubnetIds"]
    copy_sg, validator_sg = sg_id(stack, "backup-restored-sg"), sg_id(stack, "backup-validator-sg")
    # list values travel as JSON arrays in the string map
    assert json.loads(overrides["vpcSecurityGroupIds"]) == [copy_sg]
    assert overrides["publiclyAccessible"] == "false"
    assert overrides["multiAz"] == "false"
    assert overrides["enableIamDatabaseAuthentication"] == "true"
    assert overrides["dbInstanceClass"] == config_of(stack).backup.restore_test_instance_class
    into_copy = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == copy_sg]
    assert [(r.get("referencedSecurityGroupId"), r["fromPort"]) for r in into_copy] == [
        (validator_sg, 5432)
    ]


def test_the_validation_reaches_the_two_databases_and_the_aws_apis_only(stack: Evaluation) -> None:
    validator = sg_id(stack, "backup-validator-sg")
    database, copy = sg_id(stack, "database-sg"), sg_id(stack, "backup-restored-sg")
    egress = [r.inputs for r in stack.of_type(EGRESS) if r.inputs["securityGroupId"] == validator]
    assert sorted(
        (e.get("referencedSecurityGroupId") or e["cidrIpv4"], e["fromPort"], e["toPort"])
        for e in egress
    ) == sorted([(copy, 5432, 5432), (database, 5432, 5432), ("0.0.0.0/0", 443, 443)])
    admitted = [
        r.inputs
        for r in stack.of_type(INGRESS)
        if r.inputs["securityGroupId"] == database
        and r.inputs.get("referencedSecurityGroupId") == validator
    ]
    assert [(r["ipProtocol"], r["fromPort"]) for r in admitted] == [("tcp", 5432)]


def test_the_validation_lambda_runs_in_the_private_subnets(stack: Evaluation) -> None:
    fn = stack.one(FUNCTION, "backup-validator")
    vpc = fn.inputs["vpcConfig"]
    assert sorted(vpc["subnetIds"]) == sorted(stack.outputs["privateSubnetIds"])
    assert vpc["securityGroupIds"] == [sg_id(stack, "backup-validator-sg")]
    assert fn.inputs["handler"] == "restore_check.handler.handler"
    env = fn.inputs["environment"]["variables"]
    assert env["RESTORE_TESTING_PLAN_ARN"] == stack.one(RESTORE_PLAN).outputs["arn"]
    assert env["SOURCE_DB_ARN"] == primary(stack).outputs["arn"]
    assert env["SOURCE_DB_HOST"] == stack.outputs["databaseAddress"]
    assert env["DB_USER"] == LOGIN == "restore_check"
    assert env["ENVIRONMENT"] == stack.stack
    assert not any("password" in k.lower() or "secret" in k.lower() for k in env)
    logs = stack.one("aws:cloudwatch/logGroup:LogGroup", "backup-validator-logs")
    assert fn.inputs["loggingConfig"]["logGroup"] == logs.inputs["name"]
    assert logs.inputs["kmsKeyId"] == data_key_arn(stack)
    invoke = stack.one("aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig")
    assert invoke.inputs["maximumRetryAttempts"] == 0


def test_the_validation_role_may_do_exactly_what_the_handler_does(stack: Evaluation) -> None:
    role = stack.one(ROLE, "backup-validator-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert trust["Condition"]["StringEquals"]["aws:SourceAccount"]
    policy = stack.one("aws:iam/rolePolicy:RolePolicy", "backup-validator-policy")
    statements = {s["Sid"]: s for s in json.loads(policy.inputs["policy"])["Statement"]}
    actions = {a for s in statements.values() for a in s["Action"]}
    assert not any(a.endswith("*") for a in actions)
    assert actions == {
        "backup:DescribeRestoreJob",
        "backup:PutRestoreValidationResult",
        "rds:DescribeDBInstances",
        "rds-db:connect",
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
        "xray:PutTraceSegments",
        "xray:PutTelemetryRecords",
        "kms:Decrypt",
    }
    assert all(s["Effect"] == "Allow" for s in statements.values())
    [copies] = statements["FindTheRestoredCopy"]["Resource"]
    assert copies.endswith(":db:awsbackup-restore-test-*")
    [login] = statements["SignInAsTheRestoreCheck"]["Resource"]
    assert login.endswith(f":dbuser:*/{LOGIN}")
    logs = stack.one("aws:cloudwatch/logGroup:LogGroup", "backup-validator-logs").outputs["arn"]
    assert statements["WriteItsLogs"]["Resource"] == [logs, f"{logs}:*"]
    # the secrets of the stack stay out of reach: the login needs none, and the data key opens
    # only this function's own environment (tests/unit/test_lambdas.py)
    assert not any(a.startswith("secretsmanager:") for a in actions)
    [kms] = [s for s in statements.values() if s["Action"] == ["kms:Decrypt"]]
    function = stack.one(FUNCTION, "backup-validator").outputs["arn"]
    assert kms["Condition"] == {
        "StringEquals": {"kms:EncryptionContext:aws:lambda:FunctionArn": function}
    }


def test_a_completed_restore_test_starts_the_validation(stack: Evaluation) -> None:
    pattern = event_pattern(stack, "backup-restore-completed")
    plan = stack.one(RESTORE_PLAN).outputs["arn"]
    assert pattern == {
        "source": ["aws.backup"],
        "detail-type": ["Restore Job State Change"],
        "detail": {"status": ["COMPLETED"], "restoreTestingPlanArn": [plan]},
    }
    fn = stack.one(FUNCTION, "backup-validator")
    assert targets_of(stack, "backup-restore-completed") == [fn.outputs["arn"]]
    permission = stack.one("aws:lambda/permission:Permission", "backup-validator-from-events")
    assert permission.inputs["principal"] == "events.amazonaws.com"
    assert (
        permission.inputs["sourceArn"] == stack.one(RULE, "backup-restore-completed").outputs["arn"]
    )


# --- what pages ------------------------------------------------------------------------------


def test_failed_jobs_page_through_the_critical_topic(stack: Evaluation) -> None:
    critical = stack.outputs["criticalTopicArn"]
    vault = stack.one(VAULT, "backup-vault").outputs
    expected = {
        "backup-backup-job-failed": (
            "Backup Job State Change",
            {"state": ["FAILED", "ABORTED", "EXPIRED"], "backupVaultName": [vault["name"]]},
        ),
        "backup-restore-job-failed": (
            "Restore Job State Change",
            {
                "status": ["FAILED", "ABORTED"],
                "restoreTestingPlanArn": [stack.one(RESTORE_PLAN).outputs["arn"]],
            },
        ),
    }
    if config_of(stack).backup.dr_region:
        expected["backup-copy-job-failed"] = (
            "Copy Job State Change",
            {"state": ["FAILED", "ABORTED"], "sourceBackupVaultArn": [vault["arn"]]},
        )
    for name, (detail_type, detail) in expected.items():
        assert event_pattern(stack, name) == {
            "source": ["aws.backup"],
            "detail-type": [detail_type],
            "detail": detail,
        }
        assert targets_of(stack, name) == [critical]
    alarm = stack.one("aws:cloudwatch/metricAlarm:MetricAlarm", "alarms-restore-check-failed")
    assert alarm.inputs["alarmDescription"].startswith("[critical] ")
    assert alarm.inputs["namespace"] == "AWS/Lambda" and alarm.inputs["metricName"] == "Errors"
    assert alarm.inputs["dimensions"] == {"FunctionName": stack.outputs["restoreCheckFunctionName"]}
    assert alarm.inputs["alarmActions"] == [critical]


def test_eventbridge_may_publish_to_the_encrypted_topics(stack: Evaluation) -> None:
    for policy in stack.of_type("aws:sns/topicPolicy:TopicPolicy"):
        statements = json.loads(policy.inputs["policy"])["Statement"]
        publishers = next(s for s in statements if s["Sid"] == "ServicesPublishForThisAccount")
        assert "events.amazonaws.com" in publishers["Principal"]["Service"]
        assert publishers["Condition"]["StringEquals"]["aws:SourceAccount"]
    key = stack.one(KEY, "notifications-key")
    grants = next(
        s for s in json.loads(key.inputs["policy"])["Statement"] if s["Sid"] == "PublishersEncrypt"
    )
    assert "events.amazonaws.com" in grants["Principal"]["Service"]


# --- the component alone ---------------------------------------------------------------------


def _alone(tmp_path: Path, stack: str = "prod", package: Path | None = None) -> Evaluation:
    """The component on its own with the committed stack's config and stand-in wiring."""
    from tests.helpers import parse

    config = parse(stack)

    def program() -> dict[str, Any]:
        args = BackupArgs(
            stack=config.stack_wide,
            backup=config.backup,
            secrets=config.secrets,
            database=config.database,
            api=config.api,
            wiring=BackupWiring(
                database_arn="arn:aws:rds:us-east-1:123456789012:db:webstack-test-postgres",
                database_host="webstack-test-postgres.example.internal",
                database_port=5432,
                database_name="app",
                database_security_group_id="sg-0123456789abcdef0",
                vpc_id="vpc-0123456789abcdef0",
                isolated_subnet_ids=["subnet-1", "subnet-2"],
                private_subnet_ids=["subnet-3", "subnet-4"],
                kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/test",
                critical_topic_arn="arn:aws:sns:us-east-1:123456789012:critical",
                package=package,
            ),
        )
        Backup("backup", args)
        return {}

    return run_program(stack, {"aws:region": "us-east-1"}, [], program)


def test_a_dr_region_without_its_provider_is_refused(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="drRegion us-west-2 needs a dr_provider"):
        _alone(tmp_path, package=tmp_path / "any.zip")


def test_a_missing_package_names_make_package(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="make package ARCH=arm64"):
        _alone(tmp_path, "staging", package=tmp_path / "missing.zip")
