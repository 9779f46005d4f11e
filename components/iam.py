"""IAM: the trust policy of a role that an AWS service assumes.

Creates nothing itself; `service_trust_policy` gives the roles of Network (flow logs), Database
(enhanced monitoring), MigrationJob (its Lambda) and ApiService (task execution and task roles)
one shape.
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
