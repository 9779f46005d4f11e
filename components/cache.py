"""Cache: an ElastiCache (Valkey or Redis OSS) replication group in the isolated subnets.

Creates:
- a security group admitting 6379 only from the client security groups handed in (no CIDRs);
- a cache subnet group over the isolated subnets;
- a parameter group for the engine's family with an explicit `maxmemory-policy`, its family in
  the logical name so a major upgrade creates the new group before the old one is deleted
  (which needs `apply_immediately`, see Database);
- a KMS-encrypted CloudWatch log group for the slow log;
- the replication group: TLS required in transit, KMS at rest, an AUTH token, daily snapshots,
  automatic failover and Multi-AZ when it has replicas, a final snapshot named anew for each
  lifetime (none in a disposable stack);
- the REDIS_URL secret (`rediss://`) for the API and the worker.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from components.aws_facts import CACHE_PARAMETER_FAMILIES
from components.config import CacheConfig, SecretsConfig, StackWide
from components.secrets import store_secret
from components.security_groups import DataStorePlacement, data_tier_security_group
from components.snapshots import final_snapshot_identifier

PORT = 6379
# Daily snapshots after the database's backup window, then the weekly maintenance (UTC), which
# must not overlap them.
SNAPSHOT_WINDOW = "05:00-06:00"
MAINTENANCE_WINDOW = "sun:06:30-sun:07:30"


@dataclass(frozen=True, kw_only=True)
class CacheWiring:
    """What Cache takes from Network, WorkloadSecurityGroups and Secrets."""

    placement: DataStorePlacement
    """The VPC, the isolated subnets and the workload groups admitted on 6379."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for data at rest, the slow-log group and the URL secret."""
    auth_token: pulumi.Input[str]
    """AUTH token (a secret Output): 16-128 characters, none of `@`, `"`, `/`."""


@dataclass(frozen=True, kw_only=True)
class CacheArgs:
    """Inputs of Cache."""

    stack: StackWide
    """Identifiers start with its `name_prefix`; `protect` covers the group and the URL secret;
    `disposable` skips the final snapshot."""
    cache: CacheConfig
    """Engine and version, node type and count, eviction, snapshots, slow-log retention."""
    secrets: SecretsConfig
    """The recovery window of the REDIS_URL secret."""
    wiring: CacheWiring


class Cache(pulumi.ComponentResource):
    """ElastiCache replication group and the REDIS_URL secret."""

    primary_endpoint: pulumi.Output[str]
    port: int
    security_group_id: pulumi.Output[str]
    redis_url_secret_arn: pulumi.Output[str]
    replication_group_id: pulumi.Output[str]
    member_cluster_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: CacheArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("webstack:data:Cache", name, None, opts)
        sg, _ = data_tier_security_group(
            name,
            service=args.cache.engine,
            port=PORT,
            placement=args.wiring.placement,
            name_tag=f"{args.stack.name_prefix}-cache",
            parent=self,
        )
        group = self._replication_group(name, args, sg)
        self.redis_url_secret_arn = self._url_secret(name, args, group)
        self.primary_endpoint = group.primary_endpoint_address
        self.port = PORT
        self.security_group_id = sg.id
        self.replication_group_id = group.replication_group_id
        # ElastiCache names a group's nodes <group>-001, -002, ...; alarms need one per node
        # while the program runs, before the group's own output is known.
        self.member_cluster_ids = [
            pulumi.Output.concat(group.replication_group_id, f"-{n:03d}")
            for n in range(1, args.cache.nodes + 1)
        ]
        self.register_outputs(
            {
                "primary_endpoint": self.primary_endpoint,
                "port": self.port,
                "security_group_id": self.security_group_id,
                "redis_url_secret_arn": self.redis_url_secret_arn,
                "replication_group_id": self.replication_group_id,
                "member_cluster_ids": self.member_cluster_ids,
            }
        )

    def _groups(
        self, name: str, args: CacheArgs
    ) -> tuple[aws.elasticache.SubnetGroup, aws.elasticache.ParameterGroup]:
        """The subnet group over the isolated subnets and the engine family's parameters."""
        cache, prefix = args.cache, args.stack.name_prefix
        family = CACHE_PARAMETER_FAMILIES[cache.engine][cache.engine_version]
        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.wiring.placement.subnet_ids,
            description=f"{prefix} cache: isolated subnets",
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Auto-named, family in the logical name: see Database's parameter group.
        parameter_group = aws.elasticache.ParameterGroup(
            f"{name}-params-{family}",
            family=family,
            description=f"{prefix} {cache.engine} {cache.engine_version}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(
                    name="maxmemory-policy", value=cache.maxmemory_policy
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )
        return subnet_group, parameter_group

    def _replication_group(
        self, name: str, args: CacheArgs, sg: aws.ec2.SecurityGroup
    ) -> aws.elasticache.ReplicationGroup:
        """The group and its slow log: TLS, KMS, an AUTH token, snapshots, failover."""
        cache, wiring = args.cache, args.wiring
        subnet_group, parameter_group = self._groups(name, args)
        replication_group_id = f"{args.stack.name_prefix}-cache"
        slow_log = aws.cloudwatch.LogGroup(
            f"{name}-slow-log",
            name=f"/aws/elasticache/{replication_group_id}/slow-log",
            retention_in_days=cache.log_retention_days,
            kms_key_id=wiring.kms_key_arn,
            opts=pulumi.ResourceOptions(parent=self),
        )
        replicated = cache.nodes > 1
        return aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=replication_group_id,
            description=f"{args.stack.name_prefix} {cache.engine}",
            engine=cache.engine,
            engine_version=cache.engine_version,
            node_type=cache.node_type,
            num_cache_clusters=cache.nodes,
            port=PORT,
            parameter_group_name=parameter_group.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[sg.id],
            at_rest_encryption_enabled=True,
            kms_key_id=wiring.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=pulumi.Output.secret(wiring.auth_token),
            # ROTATE adds a changed token next to the old one: both stay valid, so running tasks
            # keep working. ECS injects REDIS_URL only when a task starts, so tasks use the new
            # token only after a new deployment; once they all have, a follow-up modification
            # with strategy SET drops the old token (until then it remains valid; see README).
            auth_token_update_strategy="ROTATE",
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            snapshot_retention_limit=cache.snapshot_retention_days,
            snapshot_window=SNAPSHOT_WINDOW,
            maintenance_window=MAINTENANCE_WINDOW,
            final_snapshot_identifier=None
            if args.stack.disposable
            else final_snapshot_identifier(name, replication_group_id, self),
            # Off, ElastiCache queues changes (a new engine version, the new family's parameter
            # group) for the maintenance window and the old group stays in use: deleting it fails.
            apply_immediately=cache.apply_immediately,
            auto_minor_version_upgrade=True,
            log_delivery_configurations=[
                aws.elasticache.ReplicationGroupLogDeliveryConfigurationArgs(
                    destination=slow_log.name,
                    destination_type="cloudwatch-logs",
                    log_format="json",
                    log_type="slow-log",
                )
            ],
            tags={"Name": replication_group_id},
            opts=pulumi.ResourceOptions(parent=self, protect=args.stack.protect),
        )

    def _url_secret(
        self, name: str, args: CacheArgs, group: aws.elasticache.ReplicationGroup
    ) -> pulumi.Output[str]:
        """The REDIS_URL secret (`rediss://`, the AUTH token); returns its ARN."""
        redis_url = pulumi.Output.all(group.primary_endpoint_address, args.wiring.auth_token).apply(
            lambda a: f"rediss://:{quote(a[1], safe='')}@{a[0]}:{PORT}"
        )
        return store_secret(
            f"{name}-url",
            secret_name=f"{args.stack.name_prefix}/REDIS_URL",
            description=f"REDIS_URL of the {args.cache.engine} primary (TLS, AUTH token)",
            value=pulumi.Output.secret(redis_url),
            kms_key_arn=args.wiring.kms_key_arn,
            recovery_window_days=args.secrets.recovery_window_days,
            protect=args.stack.protect,
            parent=self,
        )
