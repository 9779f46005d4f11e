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
  lifetime;
- the REDIS_URL secret (`rediss://`) for the API and the worker.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

import pulumi
import pulumi_aws as aws

from components.aws_facts import CACHE_PARAMETER_FAMILIES
from components.secrets import store_secret
from components.security_groups import data_tier_security_group
from components.snapshots import final_snapshot_identifier

PORT = 6379


@dataclass(frozen=True, kw_only=True)
class CacheArgs:
    """Inputs of Cache."""

    name_prefix: str
    """Prefix of identifiers and Name tags (`webstack-prod`)."""
    vpc_id: pulumi.Input[str]
    """The VPC of the security group."""
    subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Isolated subnets, one per AZ."""
    client_security_group_ids: Sequence[pulumi.Input[str]]
    """Security groups admitted on 6379 (the order names the rules: append, don't reorder)."""
    kms_key_arn: pulumi.Input[str]
    """KMS key for data at rest, the slow-log group and the URL secret."""
    auth_token: pulumi.Input[str]
    """AUTH token (a secret Output): 16-128 characters, none of `@`, `"`, `/`."""
    node_type: str
    """ElastiCache node type."""
    engine: str = "valkey"
    """`valkey` or `redis`."""
    engine_version: str = "8.0"
    """A version listed in CACHE_PARAMETER_FAMILIES."""
    nodes: int = 2
    """Primary plus replicas; 2 or more enables automatic failover and Multi-AZ."""
    maxmemory_policy: str = "volatile-lru"
    """Eviction policy when memory is full."""
    snapshot_retention_days: int = 7
    """Daily snapshots kept."""
    snapshot_window: str = "05:00-06:00"
    """Daily snapshot window (UTC), after the database's backup window."""
    maintenance_window: str = "sun:06:30-sun:07:30"
    """Weekly maintenance window (UTC); must not overlap the snapshot window."""
    log_retention_days: int = 90
    """Retention of the slow log."""
    secret_recovery_window_days: int = 30
    """Recovery window of the REDIS_URL secret."""
    apply_immediately: bool = False
    """Apply modifications now, not in the next maintenance window (a major upgrade needs it)."""
    protect: bool = True
    """Pulumi `protect` on the replication group and the URL secret."""


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
        child = pulumi.ResourceOptions(parent=self)
        family = CACHE_PARAMETER_FAMILIES[args.engine][args.engine_version]

        sg, _ = data_tier_security_group(
            name,
            service=args.engine,
            port=PORT,
            vpc_id=args.vpc_id,
            name_tag=f"{args.name_prefix}-cache",
            client_security_group_ids=args.client_security_group_ids,
            parent=self,
        )

        subnet_group = aws.elasticache.SubnetGroup(
            f"{name}-subnets",
            subnet_ids=args.subnet_ids,
            description=f"{args.name_prefix} cache: isolated subnets",
            opts=child,
        )
        # Auto-named, family in the logical name: see Database's parameter group.
        parameter_group = aws.elasticache.ParameterGroup(
            f"{name}-params-{family}",
            family=family,
            description=f"{args.name_prefix} {args.engine} {args.engine_version}",
            parameters=[
                aws.elasticache.ParameterGroupParameterArgs(
                    name="maxmemory-policy", value=args.maxmemory_policy
                )
            ],
            opts=child,
        )
        replication_group_id = f"{args.name_prefix}-cache"
        slow_log = aws.cloudwatch.LogGroup(
            f"{name}-slow-log",
            name=f"/aws/elasticache/{replication_group_id}/slow-log",
            retention_in_days=args.log_retention_days,
            kms_key_id=args.kms_key_arn,
            opts=child,
        )

        replicated = args.nodes > 1
        group = aws.elasticache.ReplicationGroup(
            f"{name}-group",
            replication_group_id=replication_group_id,
            description=f"{args.name_prefix} {args.engine}",
            engine=args.engine,
            engine_version=args.engine_version,
            node_type=args.node_type,
            num_cache_clusters=args.nodes,
            port=PORT,
            parameter_group_name=parameter_group.name,
            subnet_group_name=subnet_group.name,
            security_group_ids=[sg.id],
            at_rest_encryption_enabled=True,
            kms_key_id=args.kms_key_arn,
            transit_encryption_enabled=True,
            transit_encryption_mode="required",
            auth_token=pulumi.Output.secret(args.auth_token),
            # ROTATE adds a changed token next to the old one: both stay valid, so running tasks
            # keep working. ECS injects REDIS_URL only when a task starts, so tasks use the new
            # token only after a new deployment; once they all have, a follow-up modification
            # with strategy SET drops the old token (until then it remains valid; see README).
            auth_token_update_strategy="ROTATE",
            automatic_failover_enabled=replicated,
            multi_az_enabled=replicated,
            snapshot_retention_limit=args.snapshot_retention_days,
            snapshot_window=args.snapshot_window,
            maintenance_window=args.maintenance_window,
            final_snapshot_identifier=final_snapshot_identifier(name, replication_group_id, self),
            # Off, ElastiCache queues changes (a new engine version, the new family's parameter
            # group) for the maintenance window and the old group stays in use: deleting it fails.
            apply_immediately=args.apply_immediately,
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
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )

        redis_url = pulumi.Output.all(group.primary_endpoint_address, args.auth_token).apply(
            lambda a: f"rediss://:{quote(a[1], safe='')}@{a[0]}:{PORT}"
        )
        self.redis_url_secret_arn = store_secret(
            f"{name}-url",
            secret_name=f"{args.name_prefix}/REDIS_URL",
            description=f"REDIS_URL of the {args.engine} primary (TLS, AUTH token)",
            value=pulumi.Output.secret(redis_url),
            kms_key_arn=args.kms_key_arn,
            recovery_window_days=args.secret_recovery_window_days,
            protect=args.protect,
            parent=self,
        )
        self.primary_endpoint = group.primary_endpoint_address
        self.port = PORT
        self.security_group_id = sg.id
        self.replication_group_id = group.replication_group_id
        # ElastiCache names a group's nodes <group>-001, -002, ...; alarms need one per node
        # while the program runs, before the group's own output is known.
        self.member_cluster_ids = [
            pulumi.Output.concat(group.replication_group_id, f"-{n:03d}")
            for n in range(1, args.nodes + 1)
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
