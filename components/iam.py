"""IAM: the trust policy of a role that an AWS service assumes, and the statements every VPC
Lambda's execution role has.

Creates nothing itself; `service_trust_policy` gives the roles of Network (flow logs), Database
(enhanced monitoring), MigrationJob and Backup (their Lambdas) and ApiService (task execution
and task roles) one shape, and `lambda_log_statement` / `LAMBDA_VPC_STATEMENT` give the two VPC
Lambdas (migrations, restore check) theirs.
"""

from __future__ import annotations

from typing import Any

import pulumi


def service_trust_policy(
    service: str,
    *,
    account_id: pulumi.Input[str],
    source_arn: pulumi.Input[str] | None = None,
) -> pulumi.Output[str]:
    """Trust policy JSON: `service` (`lambda.amazonaws.com`) may assume the role only when it acts
    for `account_id` and, given `source_arn` (an ARN pattern), only for resources matching it.

    The conditions are the confused-deputy guard: without them the service could be made to
    assume the role on behalf of another account's resource.
    """
    condition: dict[str, Any] = {"StringEquals": {"aws:SourceAccount": account_id}}
    if source_arn is not None:
        condition["ArnLike"] = {"aws:SourceArn": source_arn}
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
                    "Condition": condition,
                }
            ],
        }
    )


def lambda_log_statement(log_group_arn: pulumi.Input[str]) -> dict[str, Any]:
    """A Lambda writing its own log group (and nothing else)."""
    return {
        "Sid": "WriteItsLogs",
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
        "Resource": [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
    }


LAMBDA_VPC_STATEMENT: dict[str, Any] = {
    # Exactly AWSLambdaVPCAccessExecutionRole's ENI actions. Lambda calls them with the role on
    # ENIs it names itself (and validates them with a dry run at create time), so they are not
    # scoped further.
    "Sid": "AttachToTheVpc",
    "Effect": "Allow",
    "Action": [
        "ec2:CreateNetworkInterface",
        "ec2:DeleteNetworkInterface",
        "ec2:DescribeNetworkInterfaces",
        "ec2:DescribeSubnets",
        "ec2:AssignPrivateIpAddresses",
        "ec2:UnassignPrivateIpAddresses",
    ],
    "Resource": "*",
}
"""A VPC Lambda attaching to its subnets."""
