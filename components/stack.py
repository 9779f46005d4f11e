"""The composition of webstack: config in, components wired together, outputs out.

`build_stack` is the one place that knows the data flow
(config -> Network -> Secrets -> Database, Cache -> Edge -> MigrationJob -> ApiService -> Alarms);
`__main__.py`, the tests and the offline tooling all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import StackConfig, load_stack_config
from components.network import Network, NetworkArgs
from components.security_groups import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs


@dataclass(frozen=True)
class Providers:
    """Explicit providers; every AWS resource goes through one of them."""

    regional: aws.Provider
    """The stack's region, with the stack's default tags."""
    us_east_1: aws.Provider
    """us-east-1, for what CloudFront requires there (its certificate, WAF, metrics)."""


def region_availability_zones(region: str) -> Sequence[str]:
    """Names of the region's available zones (a data-source invoke, mocked offline)."""
    return aws.get_availability_zones(state="available", region=region).names


def make_providers(cfg: StackConfig) -> Providers:
    def provider(name: str, region: str) -> aws.Provider:
        return aws.Provider(
            name,
            region=region,
            allowed_account_ids=[cfg.account_id] if cfg.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(cfg.tags)),
        )

    return Providers(
        regional=provider("aws", cfg.region), us_east_1=provider("aws-us-east-1", "us-east-1")
    )


def build_stack(cfg: StackConfig) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs."""
    providers = make_providers(cfg)
    in_region = pulumi.ResourceOptions(providers={"aws": providers.regional})

    network = Network(
        "network",
        NetworkArgs(
            name_prefix=cfg.name_prefix,
            cidr=cfg.network.cidr,
            availability_zones=cfg.availability_zones,
            nat_strategy=cfg.network.nat_strategy,
            interface_endpoints=cfg.network.interface_endpoints,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
        ),
        opts=in_region,
    )

    workloads = WorkloadSecurityGroups(  # noqa: F841 (the data tier admits these groups next)
        "workloads",
        WorkloadSecurityGroupsArgs(name_prefix=cfg.name_prefix, vpc_id=network.vpc_id),
        opts=in_region,
    )

    return {
        "environment": cfg.environment,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "availabilityZones": network.availability_zones,
        "publicSubnetIds": network.public_subnet_ids,
        "privateSubnetIds": network.private_subnet_ids,
        "isolatedSubnetIds": network.isolated_subnet_ids,
    }


def main() -> None:
    """The Pulumi program: load config, build the stack, export its outputs."""
    outputs = build_stack(load_stack_config(region_availability_zones))
    for key, value in outputs.items():
        pulumi.export(key, value)
