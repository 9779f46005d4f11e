"""The one recipe of a Fargate workload, shared by the API and the scheduler worker.

`workload` creates, for one `WorkloadSpec`:
- its egress rules on its (pre-made, empty) security group: HTTPS anywhere, PostgreSQL and Redis
  to the data tier's groups only;
- a log group `/ecs/<prefix>/<role>` with retention (encrypted with the logs key, if any);
- an execution role that pulls the image, writes that log group and reads exactly the injected
  secrets; a task role, empty unless ECS Exec is on;
- once there is an image to run: the task definition (read-only root filesystem, task-local
  scratch volumes, non-blocking logs), the service in the private subnets (on-demand Fargate or
  Fargate Spot; zero-downtime deployments with circuit breaker, rolling or, for a load-balanced
  spec that asks for it, shifting traffic between two target groups; waiting for the release
  order), and its target-tracking autoscaling when the spec asks for it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.app import traffic_shift as shifting
from components.app.cluster import log_group_name
from components.app.context import AppContext
from components.app.iam import exec_policy, execution_policy, task_trust_policy

# ECS rejects a stopTimeout above 120 s on Fargate.
MAX_STOP_TIMEOUT_SECONDS = 120
# Where ECS Exec's SSM agent writes inside the container; with a read-only root filesystem
# each needs a writable task-local volume (aws/containers-roadmap#1359).
EXEC_AGENT_PATHS = {
    "ssm-managed-agents": "/managed-agents",
    "ssm-state": "/var/lib/amazon/ssm",
    "ssm-logs": "/var/log/amazon/ssm",
}
HTTPS, POSTGRES, REDIS = 443, 5432, 6379


@dataclass(frozen=True, kw_only=True)
class Platform:
    """What every workload of the tier runs on and with (built once by the ApiService)."""

    name_prefix: str
    """Prefix of physical names (`webstack-staging`)."""
    repository: aws.ecr.Repository
    """The image repository."""
    cluster: aws.ecs.Cluster
    """The cluster the services run in."""
    image_tag: str | None
    """The release to run; None before the first image (no task definitions or services)."""
    cpu_architecture: str
    """`X86_64` or `ARM64`: what the image is built for."""
    spot_capacity: aws.ecs.ClusterCapacityProviders | None
    """The cluster's capacity providers when the tasks run on Fargate Spot; None for on-demand
    Fargate (the FARGATE launch type)."""
    log_retention_days: int
    """Retention of the service log groups."""
    logs_key: aws.kms.Key | None
    """The key of the log groups; None for CloudWatch's own encryption."""
    exec_logs: aws.cloudwatch.LogGroup | None
    """The ECS Exec session log; None when ECS Exec is off."""
    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the tasks (private, with a route to NAT or endpoints)."""
    database_security_group_id: pulumi.Input[str]
    """The database's group, the only destination of PostgreSQL traffic."""
    cache_security_group_id: pulumi.Input[str]
    """The cache's group, the only destination of Redis traffic."""
    secret_arns: Mapping[str, pulumi.Input[str]]
    """ENV_NAME -> Secrets Manager secret ARN, injected into every container."""
    secrets_key_arn: pulumi.Input[str]
    """The key the secrets are encrypted with."""
    run_after: Sequence[pulumi.Resource]
    """What every service waits for (the migration run)."""

    @property
    def execute_command(self) -> bool:
        return self.exec_logs is not None


@dataclass(frozen=True, kw_only=True)
class Scaling:
    """Target tracking of a service's desired count."""

    min_capacity: int
    max_capacity: int
    targets: Mapping[str, tuple[str, int]]
    """Name in the policy's logical name (`cpu`) -> (predefined metric type, target percent)."""
    scale_out_cooldown_seconds: int
    scale_in_cooldown_seconds: int


@dataclass(frozen=True, kw_only=True)
class LoadBalancing:
    """How a load balancer's target group reaches a workload's container."""

    target_group_arn: pulumi.Input[str]
    container_port: int
    health_check_grace_period_seconds: int
    traffic_shift: shifting.TrafficShift | None = None
    """None: rolling deployments behind the one target group."""


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """What differs between the API and the worker."""

    role: str
    """`api` or `worker`: the container, service, log stream and logical-name part."""
    cpu: int
    memory: int
    security_group_id: pulumi.Input[str]
    """The workload's (empty) security group; its egress rules are added here."""
    environment: Mapping[str, str]
    """The plain environment (secrets come from the platform's `secret_arns`)."""
    stop_timeout_seconds: int
    """Seconds between SIGTERM and SIGKILL (at most MAX_STOP_TIMEOUT_SECONDS)."""
    desired_count: int
    """The count at creation; the autoscaler owns it afterwards when `scaling` is set."""
    command: Sequence[str] | None = None
    """The container command; None for the image's own."""
    scaling: Scaling | None = None
    load_balancing: LoadBalancing | None = None
    rollback_alarm_names: Sequence[pulumi.Input[str]] = ()
    """Alarms that roll a deployment back (besides the circuit breaker)."""
    depends_on: Sequence[pulumi.Resource] = ()
    """What this service waits for besides the platform's `run_after` (its ingress, the
    listener forwarding to its target group)."""


@dataclass(frozen=True)
class Workload:
    """The handles of one built workload."""

    service: aws.ecs.Service | None
    """None until there is an image to run."""
    log_group: aws.cloudwatch.LogGroup


def workload(ctx: AppContext, platform: Platform, spec: WorkloadSpec) -> Workload:
    """Network rules, logs, roles and (with an image) task definition, service and scaling."""
    prefix = f"{ctx.name}-{spec.role}"
    rules = _egress_rules(ctx, platform, spec)
    log_group = aws.cloudwatch.LogGroup(
        f"{prefix}-logs",
        name=log_group_name(platform.name_prefix, spec.role),
        retention_in_days=platform.log_retention_days,
        kms_key_id=platform.logs_key.arn if platform.logs_key else None,
        opts=ctx.child(),
    )
    execution_role, execution_grant, task_role = _roles(ctx, platform, spec, log_group)
    if not platform.image_tag:
        return Workload(None, log_group)
    task_definition = _task_definition(
        ctx,
        platform,
        spec,
        image=pulumi.Output.concat(platform.repository.repository_url, ":", platform.image_tag),
        log_group=log_group,
        execution_role=execution_role,
        task_role=task_role,
    )
    service = _service(ctx, platform, spec, task_definition, depends_on=[execution_grant, *rules])
    if spec.scaling:
        _autoscaling(ctx, platform, spec.role, service, spec.scaling)
    return Workload(service, log_group)


def _egress_rules(ctx: AppContext, platform: Platform, spec: WorkloadSpec) -> list[pulumi.Resource]:
    """Egress of a workload: HTTPS anywhere, PostgreSQL and Redis to their groups only."""
    https = aws.vpc.SecurityGroupEgressRule(
        f"{ctx.name}-{spec.role}-https-out",
        security_group_id=spec.security_group_id,
        # AWS APIs (ECR, logs, Secrets Manager, STS; endpoints or NAT) and third parties.
        cidr_ipv4="0.0.0.0/0",
        ip_protocol="tcp",
        from_port=HTTPS,
        to_port=HTTPS,
        description="HTTPS to AWS APIs and third parties",
        opts=ctx.child(),
    )
    return [
        https,
        *(
            aws.vpc.SecurityGroupEgressRule(
                f"{ctx.name}-{spec.role}-to-{tier}",
                security_group_id=spec.security_group_id,
                referenced_security_group_id=target,
                ip_protocol="tcp",
                from_port=port,
                to_port=port,
                description=f"{spec.role} to the {tier}",
                opts=ctx.child(),
            )
            for tier, port, target in (
                ("database", POSTGRES, platform.database_security_group_id),
                ("cache", REDIS, platform.cache_security_group_id),
            )
        ),
    ]


def _roles(
    ctx: AppContext, platform: Platform, spec: WorkloadSpec, log_group: aws.cloudwatch.LogGroup
) -> tuple[aws.iam.Role, aws.iam.RolePolicy, aws.iam.Role]:
    """The execution role with its policy, and the task role (ECS Exec's grant, if on)."""
    prefix = f"{ctx.name}-{spec.role}"
    label = f"{platform.name_prefix} {spec.role}"
    execution_role = aws.iam.Role(
        f"{prefix}-execution-role",
        description=f"ECS agent of {label}: image, logs, secrets",
        assume_role_policy=task_trust_policy(ctx),
        opts=ctx.child(),
    )
    execution_grant = aws.iam.RolePolicy(
        f"{prefix}-execution-policy",
        role=execution_role.id,
        policy=execution_policy(
            ctx,
            repository=platform.repository,
            log_group=log_group,
            secret_arns=platform.secret_arns,
            secrets_key_arn=platform.secrets_key_arn,
        ),
        opts=ctx.child(),
    )
    task_role = aws.iam.Role(
        f"{prefix}-task-role",
        description=f"{label} application",
        assume_role_policy=task_trust_policy(ctx),
        opts=ctx.child(),
    )
    if platform.exec_logs:
        aws.iam.RolePolicy(
            f"{prefix}-exec-policy",
            role=task_role.id,
            policy=exec_policy(platform.exec_logs),
            opts=ctx.child(),
        )
    return execution_role, execution_grant, task_role


def _task_definition(
    ctx: AppContext,
    platform: Platform,
    spec: WorkloadSpec,
    *,
    image: pulumi.Output[str],
    log_group: aws.cloudwatch.LogGroup,
    execution_role: aws.iam.Role,
    task_role: aws.iam.Role,
) -> aws.ecs.TaskDefinition:
    exec_volumes = EXEC_AGENT_PATHS if platform.execute_command else {}
    definitions = pulumi.Output.all(
        image=image,
        log_group=log_group.name,
        region=ctx.region,
        secrets=pulumi.Output.all(
            **{env: pulumi.Output.from_input(arn) for env, arn in platform.secret_arns.items()}
        ),
    ).apply(lambda v: json.dumps([_container(spec, exec_volumes, **v)]))
    return aws.ecs.TaskDefinition(
        f"{ctx.name}-{spec.role}-task",
        family=f"{platform.name_prefix}-{spec.role}",
        requires_compatibilities=["FARGATE"],
        network_mode="awsvpc",
        cpu=str(spec.cpu),
        memory=str(spec.memory),
        runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
            operating_system_family="LINUX", cpu_architecture=platform.cpu_architecture
        ),
        execution_role_arn=execution_role.arn,
        task_role_arn=task_role.arn,
        # No host path: task-local storage that lives and dies with the task.
        volumes=[
            aws.ecs.TaskDefinitionVolumeArgs(name=volume) for volume in ("tmp", *exec_volumes)
        ],
        container_definitions=definitions,
        opts=ctx.child(),
    )


def _container(
    spec: WorkloadSpec,
    exec_volumes: Mapping[str, str],
    *,
    image: str,
    log_group: str,
    region: str,
    secrets: Mapping[str, str],
) -> dict[str, Any]:
    """The one container of a task definition (key order as ECS shows it back)."""
    own: dict[str, Any] = {}
    if spec.load_balancing:
        port = spec.load_balancing.container_port
        own["portMappings"] = [
            {"name": "http", "containerPort": port, "hostPort": port, "protocol": "tcp"}
        ]
    if spec.command is not None:
        own["command"] = list(spec.command)
    own["stopTimeout"] = spec.stop_timeout_seconds
    return {
        "name": spec.role,
        "image": image,
        "essential": True,
        **own,
        "environment": [
            {"name": k, "value": spec.environment[k]} for k in sorted(spec.environment)
        ],
        "secrets": [{"name": k, "valueFrom": secrets[k]} for k in sorted(secrets)],
        # Writable only where the app expects scratch space (and, with ECS Exec, where the SSM
        # agent keeps its state and logs).
        "readonlyRootFilesystem": True,
        "mountPoints": [
            {"sourceVolume": volume, "containerPath": path, "readOnly": False}
            for volume, path in {"tmp": "/tmp", **exec_volumes}.items()
        ],
        # An init process forwards signals and reaps zombies (and ECS Exec needs it).
        "linuxParameters": {"initProcessEnabled": True},
        "logConfiguration": {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": log_group,
                "awslogs-region": region,
                "awslogs-stream-prefix": spec.role,
                # A slow log API must not block the event loop; a bounded buffer trades the
                # rare dropped line for availability.
                "mode": "non-blocking",
                "max-buffer-size": "25m",
            },
        },
    }


def _service(
    ctx: AppContext,
    platform: Platform,
    spec: WorkloadSpec,
    task_definition: aws.ecs.TaskDefinition,
    *,
    depends_on: Sequence[pulumi.Resource],
) -> aws.ecs.Service:
    lb = spec.load_balancing
    shift = lb.traffic_shift if lb else None
    return aws.ecs.Service(
        f"{ctx.name}-{spec.role}",
        name=spec.role,
        cluster=platform.cluster.arn,
        task_definition=task_definition.arn,
        # A launch type and a capacity provider strategy exclude each other.
        launch_type=None if platform.spot_capacity else "FARGATE",
        capacity_provider_strategies=[
            aws.ecs.ServiceCapacityProviderStrategyArgs(capacity_provider="FARGATE_SPOT", weight=1)
        ]
        if platform.spot_capacity
        else None,
        platform_version="LATEST",
        desired_count=spec.desired_count,
        network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
            subnets=platform.private_subnet_ids,
            security_groups=[spec.security_group_id],
            assign_public_ip=False,
        ),
        load_balancers=[
            aws.ecs.ServiceLoadBalancerArgs(
                target_group_arn=lb.target_group_arn,
                container_name=spec.role,
                container_port=lb.container_port,
                advanced_configuration=shifting.advanced_configuration(shift),
            )
        ]
        if lb
        else None,
        health_check_grace_period_seconds=lb.health_check_grace_period_seconds if lb else None,
        # Zero downtime: the old tasks serve until the new ones are healthy.
        deployment_minimum_healthy_percent=100,
        deployment_maximum_percent=200,
        # The deployment controller stays ECS's own (the default): the one that runs the
        # traffic-shifting strategies.
        deployment_configuration=(
            shifting.deployment_configuration(shift.deployment) if shift else None
        ),
        deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
            enable=True, rollback=True
        ),
        alarms=aws.ecs.ServiceAlarmsArgs(
            alarm_names=list(spec.rollback_alarm_names), enable=True, rollback=True
        )
        if spec.rollback_alarm_names
        else None,
        availability_zone_rebalancing="ENABLED",
        enable_execute_command=platform.execute_command,
        enable_ecs_managed_tags=True,
        propagate_tags="SERVICE",
        # `pulumi up` returns only once the new tasks are running and healthy, and the old ones
        # are gone: with a shifting strategy that is after the bake, hence the timeouts.
        wait_for_steady_state=True,
        opts=ctx.child(
            # The migration must have succeeded, and the task must be able to fetch its image
            # and secrets (permissions and the network path), before a new task definition
            # rolls out; a load-balanced service's target group must have a listener first.
            depends_on=[
                *platform.run_after,
                *depends_on,
                *spec.depends_on,
                *([platform.spot_capacity] if platform.spot_capacity else []),
            ],
            # After creation the autoscaler owns the count; Pulumi must not reset it.
            ignore_changes=["desiredCount"] if spec.scaling else None,
            custom_timeouts=shifting.service_timeouts(shift),
        ),
    )


def _autoscaling(
    ctx: AppContext,
    platform: Platform,
    role: str,
    service: aws.ecs.Service,
    scaling: Scaling,
) -> None:
    prefix = f"{ctx.name}-{role}"
    target = aws.appautoscaling.Target(
        f"{prefix}-scaling",
        service_namespace="ecs",
        scalable_dimension="ecs:service:DesiredCount",
        resource_id=pulumi.Output.concat("service/", platform.cluster.name, "/", service.name),
        min_capacity=scaling.min_capacity,
        max_capacity=scaling.max_capacity,
        opts=ctx.child(),
    )
    for metric, (metric_type, percent) in scaling.targets.items():
        aws.appautoscaling.Policy(
            f"{prefix}-{metric}-scaling",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration={
                "target_value": percent,
                "predefined_metric_specification": {"predefined_metric_type": metric_type},
                "scale_out_cooldown": scaling.scale_out_cooldown_seconds,
                "scale_in_cooldown": scaling.scale_in_cooldown_seconds,
            },
            opts=ctx.child(),
        )
