"""The migration function's execution policy: what one run may read, decrypt, write and attach.

MigrationJob (components/migration_job.py) creates the role and its one inline policy from
`execution_policy`: its two secrets (decrypted only through Secrets Manager), its own environment
(decrypted only through Lambda, for this function), its log group, X-Ray, the ENIs of its VPC
attachment in this account and region and, with snapshots before migrations on, the primary's
`<primary>-before-*` snapshots.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

if TYPE_CHECKING:
    from components.migration_job import MigrationJobArgs


@dataclass(frozen=True)
class ExecutionScope:
    """Where the run acts, known before its function exists (the role comes first)."""

    region: pulumi.Output[str]
    """The stack's region: the services the keys are used through are regional."""
    ec2: pulumi.Output[str]
    """`arn:<partition>:ec2:<region>:<account>:*/*`: this account's EC2 resources there."""
    function_arn: pulumi.Output[str]
    """The function's ARN, which Lambda names in its environment's encryption context."""


def execution_policy(
    args: MigrationJobArgs, scope: ExecutionScope, log_group_arn: pulumi.Output[str]
) -> pulumi.Output[str]:
    """Its two secrets (decrypted only through Secrets Manager), its own environment, its logs
    and traces, its VPC ENIs."""
    region = scope.region
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadItsSecrets",
                    "Effect": "Allow",
                    "Action": ["secretsmanager:GetSecretValue"],
                    "Resource": [
                        args.wiring.master_secret_arn,
                        args.wiring.database_url_secret_arn,
                    ],
                },
                {
                    "Sid": "DecryptThemThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [args.wiring.kms_key_arn],
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": pulumi.Output.concat(
                                "secretsmanager.", region, ".amazonaws.com"
                            )
                        }
                    },
                },
                {
                    # Lambda decrypts the environment with the role's credentials, naming the
                    # function's ARN in the encryption context (as CloudTrail records it), so
                    # this statement opens this function's environment and nothing else.
                    "Sid": "DecryptItsEnvironment",
                    "Effect": "Allow",
                    "Action": ["kms:Decrypt"],
                    "Resource": [args.wiring.kms_key_arn],
                    "Condition": {
                        "StringEquals": {
                            "kms:EncryptionContext:aws:lambda:FunctionArn": scope.function_arn,
                        }
                    },
                },
                {
                    "Sid": "WriteItsLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
                },
                {
                    # X-Ray's write actions take no resource.
                    "Sid": "SendItsTraces",
                    "Effect": "Allow",
                    "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
                    "Resource": "*",
                },
                {
                    # AWSLambdaVPCAccessExecutionRole's ENI actions. Lambda calls them with this
                    # role on ENIs it names itself (and validates them with a dry run at create
                    # time), so they are scoped to this account and region, the form Lambda's
                    # guide gives; the Describe actions take no resource.
                    "Sid": "AttachToTheVpc",
                    "Effect": "Allow",
                    "Action": [
                        "ec2:CreateNetworkInterface",
                        "ec2:DeleteNetworkInterface",
                        "ec2:AssignPrivateIpAddresses",
                        "ec2:UnassignPrivateIpAddresses",
                    ],
                    "Resource": scope.ec2,
                },
                {
                    "Sid": "SeeItsSubnetsAndInterfaces",
                    "Effect": "Allow",
                    "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                    "Resource": "*",
                },
                *_snapshot_statements(args),
            ],
        }
    )


def _snapshot_statements(args: MigrationJobArgs) -> list[dict[str, Any]]:
    """Creating, tagging and reading `<primary>-before-*` snapshots of the primary only."""
    if not args.database.snapshot_before_migrations:
        return []
    # arn:<partition>:rds:<region>:<account>:db:<id> -> ...:snapshot:<id>-before-*
    snapshots = pulumi.Output.all(
        args.wiring.database_instance_arn, args.wiring.database_instance_identifier
    ).apply(lambda arn_id: arn_id[0].rsplit(":db:", 1)[0] + f":snapshot:{arn_id[1]}-before-*")
    return [
        {
            "Sid": "SnapshotThePrimaryBeforeMigrations",
            "Effect": "Allow",
            "Action": ["rds:CreateDBSnapshot", "rds:DescribeDBSnapshots"],
            "Resource": [args.wiring.database_instance_arn, snapshots],
        },
        {
            # Tags given to CreateDBSnapshot are authorized as AddTagsToResource on the snapshot.
            "Sid": "TagThoseSnapshots",
            "Effect": "Allow",
            "Action": ["rds:AddTagsToResource"],
            "Resource": [snapshots],
        },
    ]
