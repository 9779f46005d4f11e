"""IAM: the trust policy of a role that an AWS service assumes, and the statements every VPC
Lambda's execution role has.

Creates nothing itself; `service_trust_policy` gives the roles of Network (flow logs), Database
(enhanced monitoring), MigrationJob and Backup (their Lambdas) and ApiService (task execution
and task roles) one shape, and `lambda_log_statement`, `lambda_vpc_statements`,
`lambda_environment_statement` and `LAMBDA_TRACING_STATEMENT` give the two VPC Lambdas
(migrations, restore check) theirs. `passed_role_trust_policy` is the plain trust of roles a
service only gets by being passed them (the NAT instance's profile, AWS Backup's role).
"""

from __future__ import annotations

import json
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


def passed_role_trust_policy(service: str) -> str:
    """Trust policy JSON: `service` may assume the role, with no condition.

    For roles that reach the service only by being passed to it (an instance profile at launch,
    AWS Backup's role in a plan): that takes iam:PassRole in this account, which is what keeps
    other accounts out, so the confused-deputy conditions of `service_trust_policy` have no
    deputy to guard against.
    """
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": service},
                    "Action": "sts:AssumeRole",
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


def lambda_vpc_statements(ec2_resources: pulumi.Input[str]) -> list[dict[str, Any]]:
    """A VPC Lambda attaching to its subnets: AWSLambdaVPCAccessExecutionRole's ENI actions.

    Lambda calls them with the role on ENIs it names itself (and validates them with a dry run
    at create time), so the write actions are scoped to `ec2_resources`, this account's EC2
    resources in the region (`arn:<partition>:ec2:<region>:<account>:*/*`, the form Lambda's
    guide gives); the Describe actions take no resource.
    """
    return [
        {
            "Sid": "AttachToTheVpc",
            "Effect": "Allow",
            "Action": [
                "ec2:CreateNetworkInterface",
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            "Resource": ec2_resources,
        },
        {
            "Sid": "SeeItsSubnetsAndInterfaces",
            "Effect": "Allow",
            "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            "Resource": "*",
        },
    ]


def lambda_environment_statement(
    key_arn: pulumi.Input[str], function_arn: pulumi.Input[str]
) -> dict[str, Any]:
    """A Lambda decrypting its own environment, encrypted with `key_arn`.

    Lambda decrypts it with the role's credentials, naming the function's ARN in the encryption
    context (as CloudTrail records it), so the statement opens this environment and nothing else.
    """
    return {
        "Sid": "DecryptItsEnvironment",
        "Effect": "Allow",
        "Action": ["kms:Decrypt"],
        "Resource": [key_arn],
        "Condition": {
            "StringEquals": {"kms:EncryptionContext:aws:lambda:FunctionArn": function_arn}
        },
    }


# X-Ray's write actions take no resource.
LAMBDA_TRACING_STATEMENT: dict[str, Any] = {
    "Sid": "SendItsTraces",
    "Effect": "Allow",
    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
    "Resource": "*",
}
"""A Lambda with active X-Ray tracing sending its traces."""
