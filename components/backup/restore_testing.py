"""Restore testing: the plan and selection that restore the database on a schedule, where the
copy goes, and the Lambda (restore_check/) that validates it when the restore job completes.

The copy lands in the isolated subnets (a subnet group of its own over them) behind a security
group that admits only the validation Lambda, not publicly accessible, single-AZ, with IAM
database authentication on, so the Lambda signs in as `restore_check` with a token instead of
the master password (which a copy restored from an older snapshot may not share with today's
rotated secret). AWS Backup deletes the copy once the verdict is in, or when the validation
window ends.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components.backup.iam import validator_policy
from components.context import ComponentContext
from components.iam import service_trust_policy

# The migration Lambda's Python and architecture: both zips carry the same wheels
# (tools/lambda_package.py), which `make package ARCH=` downloads for both at once.
from components.migration_job import ARCHITECTURE, RUNTIME

if TYPE_CHECKING:
    from components.backup.component import BackupArgs

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "restore_check"
"""The database login the validation uses (migrations/0003_restore_check_login.sql)."""
# Restore testing names the copies it makes `awsbackup-restore-test-…` (inferred metadata).
RESTORED_INSTANCES = "awsbackup-restore-test-*"
# The newest snapshot of the last week: a day-old one normally; none at all means backups have
# stopped, and the test then fails loudly too.
SELECTION_WINDOW_DAYS = 7
TIMEOUT_SECONDS = 300
MEMORY_MB = 256


def package_path(architecture: str) -> Path:
    """Where `make package ARCH=<architecture>` writes the validation Lambda's zip."""
    return ROOT / "build" / f"restore-check-lambda-{architecture}.zip"


@dataclass(frozen=True)
class RestoreTest:
    """What the alerts need of the restore test."""

    plan: aws.backup.RestoreTestingPlan
    function: aws.lambda_.Function


def restore_test(
    ctx: ComponentContext,
    args: BackupArgs,
    vault: aws.backup.Vault,
    role: aws.iam.Role,
    role_ready: list[pulumi.Resource],
) -> RestoreTest:
    """The restore testing plan and selection, the copy's placement, the validation Lambda."""
    package = _checked_package(args)
    validator_sg, copy_sg, network_ready = _network(ctx, args)
    plan = aws.backup.RestoreTestingPlan(
        f"{ctx.name}-restore-plan",
        # Restore testing names take letters, digits and underscores only.
        name=f"{args.stack.name_prefix}_database".replace("-", "_"),
        schedule_expression=args.backup.restore_test_schedule,
        recovery_point_selection=aws.backup.RestoreTestingPlanRecoveryPointSelectionArgs(
            algorithm="LATEST_WITHIN_WINDOW",
            include_vaults=[vault.arn],
            # Snapshots: their creation time is the instant the copy holds, which the
            # validation compares the source's history with (a continuous recovery point's
            # creation time is when continuous backup began, not the instant restored).
            recovery_point_types=["SNAPSHOT"],
            selection_window_days=SELECTION_WINDOW_DAYS,
        ),
        opts=ctx.child(),
    )
    subnets = aws.rds.SubnetGroup(
        f"{ctx.name}-restore-subnets",
        subnet_ids=args.wiring.isolated_subnet_ids,
        description=f"{args.stack.name_prefix} restore tests: isolated subnets",
        opts=ctx.child(),
    )
    aws.backup.RestoreTestingSelection(
        f"{ctx.name}-restore-selection",
        name="database",
        restore_testing_plan_name=plan.name,
        protected_resource_type="RDS",
        protected_resource_arns=[args.wiring.database_arn],
        iam_role_arn=role.arn,
        validation_window_hours=args.backup.restore_test_validation_hours,
        restore_metadata_overrides=_overrides(args, subnets, copy_sg),
        opts=ctx.child(depends_on=role_ready),
    )
    function = _function(ctx, args, package, validator_sg, plan, network_ready)
    _trigger(ctx, plan, function)
    return RestoreTest(plan=plan, function=function)


def _overrides(
    args: BackupArgs, subnets: aws.rds.SubnetGroup, copy_sg: aws.ec2.SecurityGroup
) -> pulumi.Output[dict[str, str]]:
    """RestoreMetadataOverrides: keys AWS Backup lets restore testing override for an RDS
    instance; values are strings, lists as JSON arrays."""
    return pulumi.Output.all(subnets.name, copy_sg.id).apply(
        lambda values: {
            "dbSubnetGroupName": values[0],
            "vpcSecurityGroupIds": json.dumps([values[1]]),
            "publiclyAccessible": "false",
            "multiAz": "false",
            "dbInstanceClass": args.backup.restore_test_instance_class,
            "enableIamDatabaseAuthentication": "true",
        }
    )


def _network(
    ctx: ComponentContext, args: BackupArgs
) -> tuple[aws.ec2.SecurityGroup, aws.ec2.SecurityGroup, list[pulumi.Resource]]:
    """The validation Lambda's group (egress: the copy's and the primary's port, 443 to the AWS
    APIs), the copy's group (ingress from the Lambda only), the primary admitting the Lambda."""
    w = args.wiring
    validator = aws.ec2.SecurityGroup(
        f"{ctx.name}-validator-sg",
        vpc_id=w.vpc_id,
        description="restore-test validation Lambda; rules are standalone",
        tags={"Name": f"{args.stack.name_prefix}-restore-check"},
        opts=ctx.child(),
    )
    copy = aws.ec2.SecurityGroup(
        f"{ctx.name}-restored-sg",
        vpc_id=w.vpc_id,
        description="restore-test copies of the database: PostgreSQL from the validation only",
        tags={"Name": f"{args.stack.name_prefix}-restore-test"},
        opts=ctx.child(),
    )
    port = w.database_port
    rules: list[pulumi.Resource] = [
        aws.vpc.SecurityGroupIngressRule(
            f"{ctx.name}-restored-from-validator",
            security_group_id=copy.id,
            referenced_security_group_id=validator.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description="PostgreSQL from the restore-test validation",
            opts=ctx.child(),
        ),
        aws.vpc.SecurityGroupIngressRule(
            f"{ctx.name}-database-from-validator",
            security_group_id=w.database_security_group_id,
            referenced_security_group_id=validator.id,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description="PostgreSQL from the restore-test validation (reads migrations.applied)",
            opts=ctx.child(),
        ),
    ]
    for role, group in (("restored", copy.id), ("database", w.database_security_group_id)):
        rules.append(
            aws.vpc.SecurityGroupEgressRule(
                f"{ctx.name}-validator-to-{role}",
                security_group_id=validator.id,
                referenced_security_group_id=group,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"restore-test validation to the {role} PostgreSQL",
                opts=ctx.child(),
            )
        )
    rules.append(
        aws.vpc.SecurityGroupEgressRule(
            f"{ctx.name}-validator-to-aws-apis",
            security_group_id=validator.id,
            # AWS Backup and RDS have no interface endpoint in the VPC: through NAT.
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=443,
            to_port=443,
            description="restore-test validation to the AWS Backup and RDS APIs",
            opts=ctx.child(),
        )
    )
    return validator, copy, rules


def _function(
    ctx: ComponentContext,
    args: BackupArgs,
    package: Path,
    security_group: aws.ec2.SecurityGroup,
    plan: aws.backup.RestoreTestingPlan,
    network_ready: list[pulumi.Resource],
) -> aws.lambda_.Function:
    """The validation Lambda, its role (validator_policy), its log group."""
    w = args.wiring
    function_name = f"{args.stack.name_prefix}-restore-check"
    log_group = aws.cloudwatch.LogGroup(
        f"{ctx.name}-validator-logs",
        name=f"/aws/lambda/{function_name}",
        retention_in_days=args.api.log_retention_days,
        kms_key_id=w.kms_key_arn,
        opts=ctx.child(),
    )
    role = aws.iam.Role(
        f"{ctx.name}-validator-role",
        description="restore-test validation: the restore job, the copy, its verdict",
        assume_role_policy=service_trust_policy("lambda.amazonaws.com", account_id=ctx.account_id),
        opts=ctx.child(),
    )
    policy = aws.iam.RolePolicy(
        f"{ctx.name}-validator-policy",
        role=role.id,
        policy=validator_policy(
            ctx,
            log_group.arn,
            function_arn=ctx.arn("lambda", f"function:{function_name}"),
            environment_key_arn=w.kms_key_arn,
            login=LOGIN,
            copies=RESTORED_INSTANCES,
        ),
        opts=ctx.child(),
    )
    digest = hashlib.sha256(package.read_bytes()).digest()
    function = aws.lambda_.Function(
        f"{ctx.name}-validator",
        name=function_name,
        description="Validates each restore test of the database and reports to AWS Backup",
        role=role.arn,
        runtime=RUNTIME,
        handler="restore_check.handler.handler",
        architectures=[ARCHITECTURE],
        code=pulumi.FileArchive(str(package)),
        # What Lambda reports as CodeSha256, so a drifted function is redeployed too.
        code_sha256=base64.b64encode(digest).decode(),
        timeout=TIMEOUT_SECONDS,
        memory_size=MEMORY_MB,
        # One restore job at a time is all restore testing starts; None leaves the function on
        # the account's unreserved pool (a new account's quota leaves nothing to reserve).
        reserved_concurrent_executions=1 if args.database.reserve_lambda_concurrency else None,
        tracing_config=aws.lambda_.FunctionTracingConfigArgs(mode="Active"),
        # The environment names the plan, the source database and the login.
        kms_key_arn=w.kms_key_arn,
        vpc_config=aws.lambda_.FunctionVpcConfigArgs(
            subnet_ids=w.private_subnet_ids, security_group_ids=[security_group.id]
        ),
        logging_config=aws.lambda_.FunctionLoggingConfigArgs(
            log_format="Text", log_group=log_group.name
        ),
        environment=aws.lambda_.FunctionEnvironmentArgs(
            variables={
                "RESTORE_TESTING_PLAN_ARN": plan.arn,
                "SOURCE_DB_ARN": w.database_arn,
                "SOURCE_DB_HOST": w.database_host,
                "DB_PORT": str(w.database_port),
                "DB_NAME": w.database_name,
                "DB_USER": LOGIN,
                "ENVIRONMENT": args.stack.environment,
            }
        ),
        # ENIs and logs need the policy first; a run needs its way to the databases.
        opts=ctx.child(depends_on=[policy, *network_ready]),
    )
    aws.lambda_.FunctionEventInvokeConfig(
        f"{ctx.name}-validator-invoke",
        function_name=function.name,
        # One verdict per restore job: a retry after a FAILED report would re-judge a copy AWS
        # Backup is already deleting (the error alarm has paged).
        maximum_retry_attempts=0,
        opts=ctx.child(),
    )
    return function


def _trigger(
    ctx: ComponentContext, plan: aws.backup.RestoreTestingPlan, function: aws.lambda_.Function
) -> None:
    """EventBridge starts the validation when a restore job of the plan completes."""
    rule = aws.cloudwatch.EventRule(
        f"{ctx.name}-restore-completed",
        description="A restore test of the database completed: validate the copy",
        event_pattern=pulumi.Output.json_dumps(
            {
                "source": ["aws.backup"],
                "detail-type": ["Restore Job State Change"],
                "detail": {"status": ["COMPLETED"], "restoreTestingPlanArn": [plan.arn]},
            }
        ),
        opts=ctx.child(),
    )
    permission = aws.lambda_.Permission(
        f"{ctx.name}-validator-from-events",
        action="lambda:InvokeFunction",
        function=function.name,
        principal="events.amazonaws.com",
        source_arn=rule.arn,
        opts=ctx.child(),
    )
    aws.cloudwatch.EventTarget(
        f"{ctx.name}-restore-completed-target",
        rule=rule.name,
        arn=function.arn,
        opts=ctx.child(depends_on=[permission]),
    )


def _checked_package(args: BackupArgs) -> Path:
    """The validation Lambda's zip, which `make package` builds."""
    package = args.wiring.package or package_path(ARCHITECTURE)
    if not package.is_file():
        raise FileNotFoundError(
            f"the restore-check Lambda package {package} does not exist: run "
            f"`make package ARCH={ARCHITECTURE}` before `pulumi preview` or `pulumi up`"
        )
    return package
