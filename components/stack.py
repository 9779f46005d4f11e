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

from components.cache import Cache, CacheArgs
from components.config import StackConfig, load_stack_config
from components.database import Database, DatabaseArgs
from components.network import Network, NetworkArgs
from components.secrets import Secrets, SecretsArgs
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

    workloads = WorkloadSecurityGroups(
        "workloads",
        WorkloadSecurityGroupsArgs(name_prefix=cfg.name_prefix, vpc_id=network.vpc_id),
        opts=in_region,
    )

    secrets = Secrets(
        "secrets",
        SecretsArgs(
            name_prefix=cfg.name_prefix,
            recovery_window_days=cfg.secrets.recovery_window_days,
            kms_deletion_window_days=cfg.secrets.kms_deletion_window_days,
            external_secrets=cfg.secrets.external,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    db = cfg.database
    database = Database(
        "database",
        DatabaseArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=[workloads.api, workloads.worker, workloads.migrations],
            kms_key_arn=secrets.kms_key_arn,
            app_password=secrets.db_app_password,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            performance_insights_retention_days=db.performance_insights_retention_days,
            monitoring_interval_seconds=db.monitoring_interval_seconds,
            read_replicas=db.read_replicas,
            log_retention_days=db.log_retention_days,
            secret_recovery_window_days=cfg.secrets.recovery_window_days,
            deletion_protection=cfg.protect,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    cache = Cache(
        "cache",
        CacheArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=[workloads.api, workloads.worker],
            kms_key_arn=secrets.kms_key_arn,
            auth_token=secrets.redis_auth_token,
            engine=cfg.cache.engine,
            engine_version=cfg.cache.engine_version,
            node_type=cfg.cache.node_type,
            nodes=cfg.cache.nodes,
            maxmemory_policy=cfg.cache.maxmemory_policy,
            snapshot_retention_days=cfg.cache.snapshot_retention_days,
            log_retention_days=cfg.cache.log_retention_days,
            secret_recovery_window_days=cfg.secrets.recovery_window_days,
            protect=cfg.protect,
        ),
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
        "dataKmsKeyArn": secrets.kms_key_arn,
        "jwtSecretArn": secrets.jwt_secret_arn,
        "externalSecretArns": secrets.external_secret_arns,
        "databaseAddress": database.address,
        "databasePort": database.port,
        "databaseSecurityGroupId": database.security_group_id,
        "databaseMasterSecretArn": database.master_secret_arn,
        "databaseUrlSecretArn": database.database_url_secret_arn,
        "databaseMaxConnections": database.max_connections,
        "databaseReplicaAddresses": database.replica_addresses,
        "cachePrimaryEndpoint": cache.primary_endpoint,
        "cachePort": cache.port,
        "cacheSecurityGroupId": cache.security_group_id,
        "cacheUrlSecretArn": cache.redis_url_secret_arn,
        "cacheMemberClusterIds": cache.member_cluster_ids,
    }


def main() -> None:
    """The Pulumi program: load config, build the stack, export its outputs."""
    outputs = build_stack(load_stack_config(region_availability_zones))
    for key, value in outputs.items():
        pulumi.export(key, value)
