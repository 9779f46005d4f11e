"""What every builder of the application tier shares: the ApiService that parents each child,
the prefix of the children's logical names, and where the stack runs (partition, account,
region, looked up once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws


@dataclass(frozen=True)
class AppContext:
    """The owner of the application tier's resources and the facts their ARNs need."""

    name: str
    """The ApiService's logical name: every child is `<name>-<role>`."""
    parent: pulumi.Resource
    """The ApiService itself, the parent of every child (the URNs depend on it)."""
    partition: pulumi.Output[str]
    account_id: pulumi.Output[str]
    region: pulumi.Output[str]

    @classmethod
    def of(cls, name: str, parent: pulumi.Resource) -> AppContext:
        invoke = pulumi.InvokeOptions(parent=parent)
        return cls(
            name=name,
            parent=parent,
            partition=aws.get_partition_output(opts=invoke).partition,
            account_id=aws.get_caller_identity_output(opts=invoke).account_id,
            region=aws.get_region_output(opts=invoke).region,
        )

    def child(self, **options: Any) -> pulumi.ResourceOptions:
        """Options of a child: parented to the ApiService, plus `options`."""
        return pulumi.ResourceOptions(parent=self.parent, **options)
