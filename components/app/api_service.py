"""ApiService, the component: its Args, its wiring guards, and the composition of the package's
builders into the API and the worker (see components/app/__init__.py for what it creates)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.app.cluster import ecs_cluster, exec_session_logs, logs_key, spot_capacity
from components.app.context import AppContext
from components.app.repository import image_repository
from components.app.traffic_shift import TrafficShift, traffic_shift
from components.app.workload import (
    MAX_STOP_TIMEOUT_SECONDS,
    LoadBalancing,
    Platform,
    Scaling,
    Workload,
    WorkloadSpec,
    workload,
)
from components.config import (
    GENERATED_SECRET_NAMES,
    MANAGED_ENV_NAMES,
    ApiConfig,
    EdgeConfig,
    PoolBudget,
    SecretsConfig,
    StackWide,
    WorkerConfig,
)
from components.config.secret_detector import name_says_secret
from components.listener_rules import TrafficShiftRouting

# The worker scales in slowly: an in-flight job is worth more than a few minutes of a task.
WORKER_SCALE_OUT_COOLDOWN_SECONDS = 60
WORKER_SCALE_IN_COOLDOWN_SECONDS = 600


@dataclass(frozen=True, kw_only=True)
class ApiServiceWiring:
    """What ApiService takes from the network, data, edge, alarm and migration components."""

    private_subnet_ids: pulumi.Input[Sequence[pulumi.Input[str]]]
    """Subnets of the tasks (private, with a route to NAT or endpoints)."""
    api_security_group_id: pulumi.Input[str]
    """The API workload's (empty) security group; this component adds its rules."""
    worker_security_group_id: pulumi.Input[str]
    """The worker workload's (empty) security group; this component adds its rules."""
    alb_security_group_id: pulumi.Input[str]
    """The load balancer's security group, the only source of API traffic."""
    database_security_group_id: pulumi.Input[str]
    """The database's security group (PostgreSQL egress goes only there)."""
    cache_security_group_id: pulumi.Input[str]
    """The cache's security group (Redis egress goes only there)."""
    target_group_arn: pulumi.Input[str]
    """The Edge's target group the API tasks register in."""
    target_group_forwarding: Sequence[pulumi.Resource]
    """The listener (and rule) forwarding to `target_group_arn`: the API service waits for them,
    as ECS refuses a target group that no load balancer forwards to yet."""
    secret_arns: Mapping[str, pulumi.Input[str]]
    """ENV_NAME -> Secrets Manager secret ARN: DATABASE_URL, REDIS_URL, JWT_SECRET and more."""
    kms_key_arn: pulumi.Input[str]
    """The key the secrets are encrypted with."""
    deployment_alarm_names: Sequence[pulumi.Input[str]]
    """CloudWatch alarms (target 5xx rate, unhealthy hosts, per target group) that roll an API
    deployment back."""
    run_after: Sequence[pulumi.Resource]
    """Resources both services wait for: the migration run."""
    traffic_shift: TrafficShiftRouting | None = None
    """The second target group and the listener rules of a traffic-shifting strategy; None
    (and only None) with ROLLING."""


@dataclass(frozen=True, kw_only=True)
class ApiServiceArgs:
    """Inputs of ApiService."""

    stack: StackWide
    """Physical names start with its `name_prefix`; `protect` covers the repository and the
    logs key; `disposable` lets destroy delete the repository with its images."""
    api: ApiConfig
    """API settings (image, size, capacity, scaling, logs, pool, extra environment)."""
    worker: WorkerConfig
    """Worker settings (command, size, count, scaling)."""
    edge: EdgeConfig
    """The CORS allow-list (ALLOWED_ORIGINS), the target group's deregistration delay (which the
    API's container stop timeout matches) and health check (both time a deployment)."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the logs key can still be cancelled."""
    pool_budget: PoolBudget
    """DB_MAX_POOL_SIZE of every API and worker task."""
    wiring: ApiServiceWiring


class ApiService(pulumi.ComponentResource):
    """ECR, ECS cluster, and the API and worker Fargate services."""

    cluster_name: pulumi.Output[str]
    api_service_name: pulumi.Output[str] | None
    """None until the first image is deployed (no `api.image_tag`), as is the worker's."""
    worker_service_name: pulumi.Output[str] | None
    first_deploy: pulumi.Output[str] | None
    """What the operator does next when the stack has no image yet; None once it has."""
    worker_log_group_name: pulumi.Output[str]
    repository_url: pulumi.Output[str]

    def __init__(
        self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _check_args(args)
        super().__init__("webstack:app:ApiService", name, None, opts)
        ctx = AppContext.of(name, self)
        platform = _platform(ctx, args)
        environment = _shared_environment(args)
        from_alb = _api_ingress(ctx, args)
        shift = _traffic_shift(ctx, args)
        api = workload(ctx, platform, _api_spec(args, environment, ingress=from_alb, shift=shift))
        worker = workload(ctx, platform, _worker_spec(args, environment))
        self._publish(args, platform, api, worker)

    def _publish(
        self, args: ApiServiceArgs, platform: Platform, api: Workload, worker: Workload
    ) -> None:
        """The handles other components use, and the component's outputs."""
        self.cluster_name = platform.cluster.name
        self.api_service_name = api.service.name if api.service else None
        self.worker_service_name = worker.service.name if worker.service else None
        self.first_deploy = (
            None
            if args.api.image_tag
            else pulumi.Output.concat(
                "No image deployed yet, so the api and worker services do not exist. Push the "
                "first image to ",
                platform.repository.repository_url,
                ":<tag>, then run `pulumi config set --path api.imageTag <tag>` and "
                "`pulumi up` to create them.",
            )
        )
        self.worker_log_group_name = worker.log_group.name
        self.repository_url = platform.repository.repository_url
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "api_service_name": self.api_service_name,
                "worker_service_name": self.worker_service_name,
                "api_log_group_name": api.log_group.name,
                "worker_log_group_name": self.worker_log_group_name,
                "repository_url": self.repository_url,
                "first_deploy": self.first_deploy,
                "db_max_pool_size": args.pool_budget.db_max_pool_size,
            }
        )


def _platform(ctx: AppContext, args: ApiServiceArgs) -> Platform:
    """The repository, the logs key and ECS Exec's session log (by config), and the cluster."""
    api, prefix, protect = args.api, args.stack.name_prefix, args.stack.protect
    repository = image_repository(
        ctx, name_prefix=prefix, protect=protect, force_delete=args.stack.disposable
    )
    key = (
        logs_key(
            ctx,
            name_prefix=prefix,
            deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=protect,
        )
        if api.logs_kms_key
        else None
    )
    exec_logs = (
        exec_session_logs(ctx, name_prefix=prefix, retention_days=api.log_retention_days, key=key)
        if api.enable_execute_command
        else None
    )
    cluster = ecs_cluster(
        ctx, name_prefix=prefix, exec_logs=exec_logs, encrypted_logs=key is not None
    )
    spot = spot_capacity(ctx, cluster) if api.capacity_provider == "FARGATE_SPOT" else None
    return Platform(
        name_prefix=prefix,
        repository=repository,
        cluster=cluster,
        image_tag=api.image_tag,
        cpu_architecture=api.cpu_architecture,
        spot_capacity=spot,
        log_retention_days=api.log_retention_days,
        logs_key=key,
        exec_logs=exec_logs,
        private_subnet_ids=args.wiring.private_subnet_ids,
        database_security_group_id=args.wiring.database_security_group_id,
        cache_security_group_id=args.wiring.cache_security_group_id,
        secret_arns=args.wiring.secret_arns,
        secrets_key_arn=args.wiring.kms_key_arn,
        run_after=args.wiring.run_after,
    )


def _shared_environment(args: ApiServiceArgs) -> dict[str, str]:
    """The plain environment both services get: config's extras, logging, the pool settings."""
    api = args.api
    return {
        **api.environment,
        "NODE_ENV": "production",
        "LOG_LEVEL": api.log_level,
        "SSL_REJECT_UNAUTHORIZED": "true",
        "DB_MAX_POOL_SIZE": str(args.pool_budget.db_max_pool_size),
        "DB_MIN_POOL_SIZE": str(api.db_min_pool_size),
        "DB_CONNECTION_TIMEOUT_MS": str(api.db_connection_timeout_ms),
        "DB_STATEMENT_TIMEOUT_MS": str(api.db_statement_timeout_ms),
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": str(api.db_idle_in_transaction_timeout_ms),
    }


def _api_ingress(ctx: AppContext, args: ApiServiceArgs) -> aws.vpc.SecurityGroupIngressRule:
    """The API's only ingress: the load balancer, on the container port."""
    return aws.vpc.SecurityGroupIngressRule(
        f"{ctx.name}-api-from-alb",
        security_group_id=args.wiring.api_security_group_id,
        referenced_security_group_id=args.wiring.alb_security_group_id,
        ip_protocol="tcp",
        from_port=args.api.port,
        to_port=args.api.port,
        description="API traffic from the load balancer",
        opts=ctx.child(),
    )


def _traffic_shift(
    ctx: AppContext, args: ApiServiceArgs
) -> tuple[TrafficShift, pulumi.Resource] | None:
    """With a traffic-shifting strategy: the role ECS shifts with (and its grant), and what the
    service is told; None with ROLLING."""
    routing = args.wiring.traffic_shift
    if routing is None:
        return None
    return traffic_shift(
        ctx,
        name_prefix=args.stack.name_prefix,
        deployment=args.api.deployment,
        edge=args.edge,
        target_group_arn=args.wiring.target_group_arn,
        routing=routing,
    )


def _api_spec(
    args: ApiServiceArgs,
    shared: Mapping[str, str],
    *,
    ingress: pulumi.Resource,
    shift: tuple[TrafficShift, pulumi.Resource] | None,
) -> WorkloadSpec:
    """The API: behind the load balancer, rolled back by the deployment alarms, scaled on CPU
    and memory; its service waits for its ingress, the listener forwarding to it and, when ECS
    shifts its traffic, the role's grant."""
    api = args.api
    traffic, grant = shift if shift else (None, None)
    return WorkloadSpec(
        role="api",
        cpu=api.cpu,
        memory=api.memory,
        security_group_id=args.wiring.api_security_group_id,
        environment={
            **shared,
            "PORT": str(api.port),
            "ALLOWED_ORIGINS": ",".join(args.edge.allowed_origins),
            "RUN_SCHEDULERS_IN_API": "false",
            "DB_APPLICATION_NAME": f"{args.stack.name_prefix}-api",
        },
        # Two grace periods, one after the other. On a stop (deployment, scale-in) ECS first
        # deregisters the task: the load balancer sends it no new requests and lets those in
        # flight finish for up to the deregistration delay. Only then does ECS send SIGTERM;
        # stopTimeout is how long the app has to shut down (finish what is left, close its
        # pools) before SIGKILL. The delay already states how long the longest request may
        # take, so the shutdown gets the same bound (capped by Fargate); an app that exits
        # promptly never waits it out.
        stop_timeout_seconds=min(args.edge.deregistration_delay_seconds, MAX_STOP_TIMEOUT_SECONDS),
        desired_count=api.min_capacity,
        scaling=Scaling(
            min_capacity=api.min_capacity,
            max_capacity=api.max_capacity,
            targets={
                "cpu": ("ECSServiceAverageCPUUtilization", api.cpu_target_percent),
                "memory": ("ECSServiceAverageMemoryUtilization", api.memory_target_percent),
            },
            scale_out_cooldown_seconds=api.scale_out_cooldown_seconds,
            scale_in_cooldown_seconds=api.scale_in_cooldown_seconds,
        ),
        load_balancing=LoadBalancing(
            target_group_arn=args.wiring.target_group_arn,
            container_port=api.port,
            health_check_grace_period_seconds=api.health_check_grace_period_seconds,
            traffic_shift=traffic,
        ),
        rollback_alarm_names=args.wiring.deployment_alarm_names,
        depends_on=[ingress, *args.wiring.target_group_forwarding, *([grant] if grant else [])],
    )


def _worker_spec(args: ApiServiceArgs, shared: Mapping[str, str]) -> WorkloadSpec:
    """The scheduler worker: no traffic, every second to finish a job, scaled on CPU when its
    config allows more than one count."""
    worker = args.worker
    return WorkloadSpec(
        role="worker",
        cpu=worker.cpu,
        memory=worker.memory,
        security_group_id=args.wiring.worker_security_group_id,
        environment={
            **shared,
            "RUN_SCHEDULERS": "true",
            "DB_APPLICATION_NAME": f"{args.stack.name_prefix}-worker",
        },
        command=worker.command,
        # The longest ECS allows: a job in progress gets every second to finish.
        stop_timeout_seconds=MAX_STOP_TIMEOUT_SECONDS,
        desired_count=worker.desired_count,
        scaling=Scaling(
            min_capacity=worker.desired_count,
            max_capacity=worker.max_capacity,
            targets={"cpu": ("ECSServiceAverageCPUUtilization", worker.cpu_target_percent)},
            scale_out_cooldown_seconds=WORKER_SCALE_OUT_COOLDOWN_SECONDS,
            scale_in_cooldown_seconds=WORKER_SCALE_IN_COOLDOWN_SECONDS,
        )
        if worker.autoscaling
        else None,
    )


def _check_args(args: ApiServiceArgs) -> None:
    """Wiring mistakes the config cannot see: missing secrets, unsafe names, no alarms."""
    problems = []
    if not args.wiring.target_group_forwarding:
        problems.append(
            "target_group_forwarding is empty: ECS would create the API service before a "
            "listener forwards to its target group"
        )
    missing = [s for s in GENERATED_SECRET_NAMES if s not in args.wiring.secret_arns]
    if missing:
        problems.append(f"secret_arns lacks {', '.join(missing)}")
    clashing = sorted(
        set(args.wiring.secret_arns) & (MANAGED_ENV_NAMES | set(args.api.environment))
    )
    if clashing:
        problems.append(f"secret_arns and the plain environment both set {', '.join(clashing)}")
    leaking = sorted(n for n in args.api.environment if name_says_secret(n))
    if leaking:
        problems.append(f"secret-looking names in the plain environment: {', '.join(leaking)}")
    if not args.wiring.deployment_alarm_names:
        problems.append("deployment_alarm_names is empty: a bad deployment would not roll back")
    strategy = args.api.deployment.strategy
    if args.api.deployment.shifts_traffic and args.wiring.traffic_shift is None:
        problems.append(f"traffic_shift is missing: strategy {strategy} needs two target groups")
    if not args.api.deployment.shifts_traffic and args.wiring.traffic_shift is not None:
        problems.append(f"traffic_shift is set, but strategy {strategy} shifts no traffic")
    if not args.edge.allowed_origins:
        problems.append("allowed_origins is empty: browsers could not call the API")
    if problems:
        raise ValueError("ApiService: " + "; ".join(problems))
