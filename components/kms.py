"""KMS: customer-managed keys, all with one shape of key policy.

Creates (through `encryption_key`, as children of the calling component):
- a symmetric key with yearly rotation and a deletion window from config, whose policy is
  `key_policy`: the account's IAM policies govern the key, plus exactly the service grants the
  caller names (each with its conditions);
- its alias.

Secrets (the data key), Notifications (the topics' key), ApiService (the service logs' key),
Backup (its vaults' keys) and `components.log_groups` (a log group's own key) all build their
keys here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

# What the account's IAM policies may grant on a key: AWS's key-administrator actions
# (including on-demand rotation) and the cryptographic ones for symmetric keys. Enumerated rather
# than `kms:*`, yet complete enough that the key stays manageable (Put* covers PutKeyPolicy).
ACCOUNT_KEY_ACTIONS = (
    "kms:Create*",
    "kms:Describe*",
    "kms:Enable*",
    "kms:List*",
    "kms:Put*",
    "kms:Update*",
    "kms:Revoke*",
    "kms:Disable*",
    "kms:Get*",
    "kms:Delete*",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:RotateKeyOnDemand",
    "kms:RetireGrant",
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
)
ACCOUNT_STATEMENT_SID = "AccountIamPolicies"


@dataclass(frozen=True, kw_only=True)
class ServiceGrant:
    """One key-policy statement admitting AWS service principals."""

    sid: str
    """Statement id, unique within the policy."""
    services: Sequence[pulumi.Input[str]]
    """Service principals (`cloudwatch.amazonaws.com`)."""
    actions: Sequence[str]
    """KMS actions; never `kms:*`."""
    condition: Mapping[str, Any] = field(default_factory=dict)
    """The statement's Condition block (values may be Outputs); empty for none."""


def cloudwatch_logs_grant(
    *, region: pulumi.Input[str], log_group_arns: pulumi.Input[str]
) -> ServiceGrant:
    """CloudWatch Logs encrypting the log groups matching `log_group_arns` (an ARN pattern).

    CloudWatch Logs is not an IAM principal of the account, so the key policy must admit it; the
    encryption-context condition keeps it to these groups. The actions are those AWS's documented
    wildcards (`kms:Encrypt*`, `kms:GenerateDataKey*`, ...) stand for minus the data-key-pair
    ones, which CloudWatch Logs never calls.
    """
    return ServiceGrant(
        sid="CloudWatchLogsOfThisAccount",
        services=[pulumi.Output.concat("logs.", region, ".amazonaws.com")],
        actions=[
            "kms:Encrypt",
            "kms:Decrypt",
            "kms:ReEncryptFrom",
            "kms:ReEncryptTo",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyWithoutPlaintext",
            "kms:DescribeKey",
        ],
        condition={"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
    )


def log_group_arn(
    *,
    partition: pulumi.Input[str],
    region: pulumi.Input[str],
    account_id: pulumi.Input[str],
    name: str,
) -> pulumi.Output[str]:
    """The ARN of the log group `name` (`*` matches several), known before the group exists:
    what CloudWatch Logs names in the encryption context of its requests to the group's key."""
    return pulumi.Output.concat(
        "arn:", partition, ":logs:", region, ":", account_id, ":log-group:", name
    )


def key_policy(
    *,
    partition: pulumi.Input[str],
    account_id: pulumi.Input[str],
    grants: Sequence[ServiceGrant] = (),
) -> pulumi.Output[str]:
    """The key policy JSON: the account's IAM policies govern the key, plus `grants`."""
    statements: list[dict[str, Any]] = [
        {
            # Without a statement for the account root the key can become unmanageable; with it,
            # IAM decides which of the account's principals may do what.
            "Sid": ACCOUNT_STATEMENT_SID,
            "Effect": "Allow",
            "Principal": {
                "AWS": pulumi.Output.concat("arn:", partition, ":iam::", account_id, ":root")
            },
            "Action": list(ACCOUNT_KEY_ACTIONS),
            "Resource": "*",
        }
    ]
    for grant in grants:
        if any(action in ("*", "kms:*") for action in grant.actions):
            raise ValueError(f"key grant {grant.sid}: name the actions, not {grant.actions}")
        services = list(grant.services)
        statement: dict[str, Any] = {
            "Sid": grant.sid,
            "Effect": "Allow",
            "Principal": {"Service": services[0] if len(services) == 1 else services},
            "Action": list(grant.actions),
            "Resource": "*",
        }
        if grant.condition:
            statement["Condition"] = dict(grant.condition)
        statements.append(statement)
    sids = [s["Sid"] for s in statements]
    if len(set(sids)) != len(sids):
        raise ValueError(f"key policy statement ids must be unique, got {sids}")
    return pulumi.Output.json_dumps({"Version": "2012-10-17", "Statement": statements})


def encryption_key(
    name: str,
    *,
    description: str,
    alias: str,
    partition: pulumi.Input[str],
    account_id: pulumi.Input[str],
    grants: Sequence[ServiceGrant] = (),
    deletion_window_days: int,
    protect: bool,
    parent: pulumi.Resource,
    provider: aws.Provider | None = None,
) -> aws.kms.Key:
    """A rotating symmetric key named `name` under `parent`, its policy, and alias `alias`.

    The alias is the child `<name>-alias`. `provider`: another region's (Backup's DR vault key);
    by default the parent's.
    """
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        deletion_window_in_days=deletion_window_days,
        policy=key_policy(partition=partition, account_id=account_id, grants=grants),
        opts=pulumi.ResourceOptions(parent=parent, protect=protect, provider=provider),
    )
    aws.kms.Alias(
        f"{name}-alias",
        name=alias,
        target_key_id=key.key_id,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )
    return key
