"""The validation Lambda's permissions: exactly what restore_check/handler.py calls.

- `backup:DescribeRestoreJob` and `backup:PutRestoreValidationResult`: restore jobs have no ARN
  IAM can name, so the resource is `*`; the handler only touches the job of its event, and only
  after checking that the job belongs to the stack's restore testing plan.
- `rds:DescribeDBInstances` on restore testing's copies only (`awsbackup-restore-test-*`).
- `rds-db:connect` as `restore_check` on any instance of the account and region: a copy's
  resource id is new with every test, so it cannot be named in advance; the login itself may
  only read the bookkeeping table (migrations/0003_restore_check_login.sql).
- its own log group, its environment (encrypted with the data key), X-Ray, and the VPC
  attachment in this account and region.
"""

from __future__ import annotations

import pulumi

from components.context import ComponentContext
from components.iam import (
    LAMBDA_TRACING_STATEMENT,
    lambda_environment_statement,
    lambda_log_statement,
    lambda_vpc_statements,
)


def validator_policy(
    ctx: ComponentContext,
    log_group_arn: pulumi.Input[str],
    *,
    function_arn: pulumi.Input[str],
    environment_key_arn: pulumi.Input[str],
    login: str,
    copies: str,
) -> pulumi.Output[str]:
    """The inline policy of the validation Lambda's role; `copies`: the copies' identifiers."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadAndJudgeRestoreJobs",
                    "Effect": "Allow",
                    "Action": ["backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"],
                    "Resource": "*",
                },
                {
                    "Sid": "FindTheRestoredCopy",
                    "Effect": "Allow",
                    "Action": ["rds:DescribeDBInstances"],
                    "Resource": [ctx.arn("rds", f"db:{copies}")],
                },
                {
                    "Sid": "SignInAsTheRestoreCheck",
                    "Effect": "Allow",
                    "Action": ["rds-db:connect"],
                    "Resource": [ctx.arn("rds-db", f"dbuser:*/{login}")],
                },
                lambda_log_statement(log_group_arn),
                lambda_environment_statement(environment_key_arn, function_arn),
                LAMBDA_TRACING_STATEMENT,
                *lambda_vpc_statements(ctx.arn("ec2", "*/*")),
            ],
        }
    )
