"""CloudWatch log groups on a KMS key of their own, for logs the stack's data key cannot serve.

`log_group_with_key` creates, as children of the calling component:
- a rotating key (`components.kms.encryption_key`) whose policy admits CloudWatch Logs, in the
  region of the component's provider, for this one log group only, and its alias;
- the log group, with retention, encrypted with that key.

Network uses it for the flow logs (the data key comes later, from Secrets) and WebAcl for its
logs (a CLOUDFRONT-scope ACL logs in us-east-1, where the data key may not be).
"""

from __future__ import annotations

import pulumi_aws as aws

from components.context import ComponentContext
from components.kms import cloudwatch_logs_grant, encryption_key


def log_group_with_key(
    name: str,
    *,
    log_group_name: str,
    retention_days: int,
    description: str,
    alias: str,
    deletion_window_days: int,
    protect: bool,
    ctx: ComponentContext,
    tags: dict[str, str] | None = None,
) -> aws.cloudwatch.LogGroup:
    """The log group `log_group_name` (logical `name`) and its key `<name>-key`, children of the
    component `ctx` describes, in its region and account.

    A log group's key must be in the group's region, and its policy must admit CloudWatch Logs
    there before the group can be associated with it; the group's ARN is known in advance from
    its name, so the grant names exactly this group.
    """
    arn = ctx.arn("logs", f"log-group:{log_group_name}")
    key = encryption_key(
        f"{name}-key",
        description=description,
        alias=alias,
        partition=ctx.partition,
        account_id=ctx.account_id,
        grants=[cloudwatch_logs_grant(region=ctx.region, log_group_arns=arn)],
        deletion_window_days=deletion_window_days,
        protect=protect,
        parent=ctx.parent,
    )
    return aws.cloudwatch.LogGroup(
        name,
        name=log_group_name,
        retention_in_days=retention_days,
        kms_key_id=key.arn,
        tags=tags,
        opts=ctx.child(),
    )
