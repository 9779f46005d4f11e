"""What the builders of a component packaged as plain functions share (components/app/,
components/backup/): the component that parents each child, the prefix of the children's logical
names, and where the stack runs (partition, account, region, looked up once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class ComponentContext:
    """The owner of a component's resources and the facts their ARNs need."""

    name: str
    """The component's logical name: every child is `<name>-<role>`."""
    parent: pulumi.Resource
    partition: pulumi.Output[str]
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]

    @classmethod
    def of(cls, name: str, parent: pulumi.Resource) -> ComponentContext:
        invoke = pulumi.InvokeOptions(parent=parent)
        return cls(
            name=name,
            parent=parent,
            partition=aws.get_partition_output(opts=invoke).partition,
            account_id=aws.get_caller_identity_output(opts=invoke).account_id,
            region=aws.get_region_output(opts=invoke).region,
        )

    def child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child: parented to the component, plus `options`."""
        return pulumi.ResourceOptions(parent=self.parent, **options)

    def arn(self, service: str, resource: str) -> pulumi.Output[str]:
        """An ARN of this account and region: `arn:<partition>:<service>:<region>:<account>:…`."""
        return pulumi.Output.concat(
            "arn:", self.partition, f":{service}:", self.region, ":", self.account_id, ":", resource
        )
