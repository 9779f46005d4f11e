"""WorkloadSecurityGroups: one security group per workload, created before the data tier.

Creates empty security groups for the API tasks, the worker tasks and the migration job. They
exist first so the Database and Cache can admit exactly these groups, while each workload's
component adds its own egress rules (and the API its ingress from the load balancer) as
standalone rules. AWS's default allow-all egress is removed by the provider on creation.

`data_tier_security_group` is the other side: the group of a data store (Database, Cache) that
admits its port from exactly those workload groups, given in the store's `DataStorePlacement`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import StackWide

WORKLOADS = ("api", "worker", "migrations")


@dataclass(frozen=True, kw_only=True)
class WorkloadSecurityGroupsWiring:
    """What WorkloadSecurityGroups takes from Network."""

    vpc_id: pulumi.Input[str]
    """The VPC the groups belong to."""


@dataclass(frozen=True, kw_only=True)
class WorkloadSecurityGroupsArgs:
    """Inputs of WorkloadSecurityGroups."""

    stack: StackWide
    """Name tags are `<name_prefix>-<workload>`."""
    wiring: WorkloadSecurityGroupsWiring


@dataclass(frozen=True, kw_only=True)
class DataStorePlacement:
    """Where a data store (Database, Cache) lives and which workload groups may reach it."""

    vpc_id: pulumi.Input[str]
    """The VPC of its security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated subnets, one per AZ."""
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Groups admitted on its port (the order names the rules: append, don't reorder)."""


def data_tier_security_group(
    name: str,
    *,
    service: str,
    port: int,
    placement: DataStorePlacement,
    name_tag: str,
    parent: pulumi.Resource,
) -> tuple[aws.ec2.SecurityGroup, list[aws.vpc.SecurityGroupIngressRule]]:
    """The group `<name>-sg` of a data store and its rules `<name>-ingress-<i>`, one per client
    group in order (so append clients, never reorder): `port` from those groups only, no CIDRs.

    `service` names the store in the descriptions (`PostgreSQL`); a changed description
    replaces the group, so it stays as it is.
    """
    child = pulumi.ResourceOptions(parent=parent)
    sg = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=placement.vpc_id,
        description=f"{service}: {port} from the application security groups only",
        tags={"Name": name_tag},
        opts=child,
    )
    rules = [
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-ingress-{i}",
            security_group_id=sg.id,
            referenced_security_group_id=client,
            ip_protocol="tcp",
            from_port=port,
            to_port=port,
            description=f"{service} from an application security group",
            opts=child,
        )
        for i, client in enumerate(placement.client_security_group_ids)
    ]
    return sg, rules


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
                vpc_id=args.wiring.vpc_id,
                description=f"{workload} workload; rules are added by its component",
                tags={"Name": f"{args.stack.name_prefix}-{workload}"},
                opts=pulumi.ResourceOptions(parent=self),
            ).id
            for workload in WORKLOADS
        }
        self.api = ids["api"]
        self.worker = ids["worker"]
        self.migrations = ids["migrations"]
        self.register_outputs(ids)
