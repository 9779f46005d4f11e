"""The migration function's execution policy: what one run may read, decrypt, write and attach.

MigrationJob (components/migration_job.py) creates the role and its one inline policy from
`execution_policy`: its two secrets (decrypted only through Secrets Manager), its own environment
(decrypted only through Lambda, for this function), its log group, X-Ray, the ENIs of its VPC
attachment in this account and region and, with snapshots before migrations on, the primary's
`<primary>-before-*` snapshots (created, and the older ones deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi

from components.iam import (
    LAMBDA_TRACING_STATEMENT,
    lambda_environment_statement,
    lambda_log_statement,
    lambda_vpc_statements,
)

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
                lambda_environment_statement(args.wiring.kms_key_arn, scope.function_arn),
                lambda_log_statement(log_group_arn),
                LAMBDA_TRACING_STATEMENT,
                *lambda_vpc_statements(scope.ec2),
                *_snapshot_statements(args),
            ],
        }
    )


def _snapshot_statements(args: MigrationJobArgs) -> list[dict[str, Any]]:
    """Creating, tagging, reading and deleting `<primary>-before-*` snapshots of the primary
    only."""
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
        {
            # A successful run deletes the older ones beyond keepSnapshotsBeforeMigrations.
            "Sid": "DeleteTheOlderOfThoseSnapshots",
            "Effect": "Allow",
            "Action": ["rds:DeleteDBSnapshot"],
            "Resource": [snapshots],
        },
    ]
