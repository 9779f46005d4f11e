"""WorkloadSecurityGroups: one security group per workload, created before the data tier.

Creates empty security groups for the API tasks, the worker tasks and the migration job. They
exist first so the Database and Cache can admit exactly these groups, while each workload's
component adds its own egress rules (and the API its ingress from the load balancer) as
standalone rules. AWS's default allow-all egress is removed by the provider on creation.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

WORKLOADS = ("api", "worker", "migrations")


@dataclass(frozen=True, kw_only=True)
class WorkloadSecurityGroupsArgs:
    """Inputs of WorkloadSecurityGroups."""

    name_prefix: str
    """Prefix of Name tags (`webstack-staging`)."""
    vpc_id: pulumi.Input[str]
    """The VPC the groups belong to."""


class WorkloadSecurityGroups(pulumi.ComponentResource):
    """Empty security groups for the api, worker and migrations workloads."""

    api: pulumi.Output[str]
    worker: pulumi.Output[str]
    migrations: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: WorkloadSecurityGroupsArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("webstack:network:WorkloadSecurityGroups", name, None, opts)
        ids = {
            workload: aws.ec2.SecurityGroup(
                f"{name}-{workload}",
                vpc_id=args.vpc_id,
                description=f"{workload} workload; rules are added by its component",
                tags={"Name": f"{args.name_prefix}-{workload}"},
                opts=pulumi.ResourceOptions(parent=self),
            ).id
            for workload in WORKLOADS
        }
        self.api = ids["api"]
        self.worker = ids["worker"]
        self.migrations = ids["migrations"]
        self.register_outputs(ids)
