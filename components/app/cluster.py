"""The ECS cluster both services run in, and what its logs need.

- `logs_key`: the optional customer-managed key of every log group under `/ecs/<prefix>/`;
- `exec_session_logs`: with ECS Exec on, the log group every session's commands and output
  go to;
- `ecs_cluster`: the cluster, with Container Insights and (with ECS Exec) session logging;
- `spot_capacity`: the cluster's Fargate capacity providers, when the tasks run on Fargate Spot.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.app.context import AppContext
from components.kms import cloudwatch_logs_grant, encryption_key


def log_group_name(name_prefix: str, stream: str) -> str:
    """`/ecs/<prefix>/<stream>`: every log group of the tier, so the logs key covers them all."""
    return f"/ecs/{name_prefix}/{stream}"


def logs_key(
    ctx: AppContext, *, name_prefix: str, deletion_window_days: int, protect: bool
) -> aws.kms.Key:
    """A rotating key that CloudWatch Logs may use for this tier's log groups only."""
    return encryption_key(
        f"{ctx.name}-logs-key",
        description=f"{name_prefix} ECS service logs",
        alias=f"alias/{name_prefix}-ecs-logs",
        partition=ctx.partition,
        account_id=ctx.account_id,
        grants=[
            cloudwatch_logs_grant(
                region=ctx.region,
                log_group_arns=pulumi.Output.concat(
                    "arn:",
                    ctx.partition,
                    ":logs:",
                    ctx.region,
                    ":",
                    ctx.account_id,
                    f":log-group:{log_group_name(name_prefix, '*')}",
                ),
            )
        ],
        deletion_window_days=deletion_window_days,
        protect=protect,
        parent=ctx.parent,
    )


def exec_session_logs(
    ctx: AppContext, *, name_prefix: str, retention_days: int, key: aws.kms.Key | None
) -> aws.cloudwatch.LogGroup:
    """The log group every ECS Exec session's commands and output go to."""
    return aws.cloudwatch.LogGroup(
        f"{ctx.name}-exec-logs",
        # Under /ecs/<prefix>/ like the service logs, so the logs key's policy covers it.
        name=log_group_name(name_prefix, "exec"),
        retention_in_days=retention_days,
        kms_key_id=key.arn if key else None,
        opts=ctx.child(),
    )


def ecs_cluster(
    ctx: AppContext,
    *,
    name_prefix: str,
    exec_logs: aws.cloudwatch.LogGroup | None,
    encrypted_logs: bool,
) -> aws.ecs.Cluster:
    """The cluster `<prefix>`: Container Insights on (the running-task alarms read it)."""
    return aws.ecs.Cluster(
        f"{ctx.name}-cluster",
        name=name_prefix,
        settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
        configuration=_exec_logging(exec_logs, encrypted=encrypted_logs) if exec_logs else None,
        opts=ctx.child(),
    )


def spot_capacity(ctx: AppContext, cluster: aws.ecs.Cluster) -> aws.ecs.ClusterCapacityProviders:
    """FARGATE and FARGATE_SPOT associated with the cluster, Spot the default strategy.

    A service's capacity provider strategy may only name providers associated with its cluster
    (the built-in Fargate ones too), so the services wait for this.
    """
    return aws.ecs.ClusterCapacityProviders(
        f"{ctx.name}-capacity-providers",
        cluster_name=cluster.name,
        capacity_providers=["FARGATE", "FARGATE_SPOT"],
        default_capacity_provider_strategies=[
            aws.ecs.ClusterCapacityProvidersDefaultCapacityProviderStrategyArgs(
                capacity_provider="FARGATE_SPOT", weight=1
            )
        ],
        opts=ctx.child(),
    )


def _exec_logging(
    log_group: aws.cloudwatch.LogGroup, *, encrypted: bool
) -> aws.ecs.ClusterConfigurationArgs:
    """Cluster setting sending ECS Exec sessions to `log_group` instead of nowhere."""
    return aws.ecs.ClusterConfigurationArgs(
        execute_command_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationArgs(
            logging="OVERRIDE",
            log_configuration=aws.ecs.ClusterConfigurationExecuteCommandConfigurationLogConfigurationArgs(
                cloud_watch_log_group_name=log_group.name,
                # When on, only a KMS-encrypted group is accepted: follow the group.
                cloud_watch_encryption_enabled=encrypted,
            ),
        )
    )
