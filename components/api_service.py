"""ApiService: the Node API and the scheduler worker on ECS Fargate.

Creates:
- an ECR repository (scan on push, immutable tags) with a lifecycle policy;
- an ECS cluster with Container Insights (and, with ECS Exec on, session logging to a log group
  `/ecs/<prefix>/exec`);
- optionally a customer-managed KMS key (with rotation) that encrypts the log groups;
- per service (`api`, `worker`): a log group `/ecs/<prefix>/<service>` with retention, an
  execution role that can pull from the repository, write that log group and read exactly the
  secrets the service injects, a task role (empty unless ECS Exec is on), a Fargate task
  definition and a service in the private subnets without public IPs;
- the API's rules on the (pre-made, empty) workload security groups: ingress from the load
  balancer on the container port; egress for both services to HTTPS, PostgreSQL and Redis only;
- for the API: registration in the Edge's target group, zero-downtime rolling deployments with
  circuit breaker and deployment alarms (both rolling back), and target tracking on CPU and
  memory; for the worker: target tracking on CPU when its config allows more than one count.

Both services wait for the `run_after` resources (the migration run), so a failed migration
stops the rollout before a new task definition reaches traffic; the API also waits for the
listener (and rule) that forward to its target group.

Bootstrap: without `api.image_tag` (a new stack, whose repository is still empty) the task
definitions, services and their autoscaling are left out, since no task could pull an image
and `pulumi up` would fail waiting for steady state; `first_deploy` then says what to do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import (
    GENERATED_SECRET_NAMES,
    MANAGED_ENV_NAMES,
    ApiConfig,
    WorkerConfig,
    db_max_pool_size,
    looks_secret,
)
from components.iam import service_trust_policy
from components.kms import cloudwatch_logs_grant, encryption_key

# The secrets the app cannot start without; external secrets come on top.
# ECS rejects a stopTimeout above 120 s on Fargate.
MAX_STOP_TIMEOUT_SECONDS = 120
# Where ECS Exec's SSM agent writes inside the container; with a read-only root filesystem
# each needs a writable task-local volume (aws/containers-roadmap#1359).
EXEC_AGENT_PATHS = {
    "ssm-managed-agents": "/managed-agents",
    "ssm-state": "/var/lib/amazon/ssm",
    "ssm-logs": "/var/log/amazon/ssm",
}
# Tagged images kept in ECR: enough rollback targets, bounded storage.
KEEP_IMAGES = 50
UNTAGGED_IMAGE_DAYS = 7
# The worker scales in slowly: an in-flight job is worth more than a few minutes of a task.
WORKER_SCALE_OUT_COOLDOWN_SECONDS = 60
WORKER_SCALE_IN_COOLDOWN_SECONDS = 600
HTTPS, POSTGRES, REDIS = 443, 5432, 6379


@dataclass(frozen=True, kw_only=True)
class ApiServiceArgs:
    """Inputs of ApiService."""

    name_prefix: str
    """Prefix of physical names (`webstack-staging`)."""
    api: ApiConfig
    """API settings (image, size, capacity, scaling, logs, pool, extra environment)."""
    worker: WorkerConfig
    """Worker settings (command, size, count, scaling)."""
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
    deregistration_delay_seconds: int
    """The target group's deregistration delay; the API's container stop timeout matches it."""
    allowed_origins: Sequence[str]
    """Origins the API accepts cross-origin requests from (ALLOWED_ORIGINS)."""
    secret_arns: Mapping[str, pulumi.Input[str]]
    """ENV_NAME -> Secrets Manager secret ARN: DATABASE_URL, REDIS_URL, JWT_SECRET and more."""
    kms_key_arn: pulumi.Input[str]
    """The key the secrets are encrypted with."""
    db_max_connections: int
    """The database's max_connections; DB_MAX_POOL_SIZE is derived from it."""
    deployment_alarm_names: Sequence[pulumi.Input[str]]
    """CloudWatch alarms (target 5xx rate, unhealthy hosts) that roll an API deployment back."""
    run_after: Sequence[pulumi.Resource] = ()
    """Resources both services wait for: the migration run."""
    kms_deletion_window_days: int = 30
    """Days a scheduled deletion of the logs key can still be cancelled (7 to 30)."""
    protect: bool = True
    """Pulumi `protect` on the image repository and the logs key."""


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
    api_min_capacity: int
    worker_min_capacity: int

    def __init__(
        self, name: str, args: ApiServiceArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _check_args(args)
        # parse_stack_config already rejects a budget the configured instance class cannot
        # carry; this raises only for a caller that wires in a database with fewer connections.
        pool_size = db_max_pool_size(
            db_max_connections=args.db_max_connections,
            api_max_tasks=args.api.max_capacity,
            worker_max_tasks=args.worker.max_capacity,
            min_pool_size=args.api.db_min_pool_size,
            max_pool_size=args.api.db_max_pool_size,
        )
        super().__init__("webstack:app:ApiService", name, None, opts)
        self._name = name
        self._args = args
        invoke = pulumi.InvokeOptions(parent=self)
        self._partition = aws.get_partition_output(opts=invoke).partition
        self._account = aws.get_caller_identity_output(opts=invoke).account_id
        self._region = aws.get_region_output(opts=invoke).region

        repository = self._repository()
        logs_key = self._logs_key() if args.api.logs_kms_key else None
        self._exec_logs = (
            self._exec_log_group(logs_key) if args.api.enable_execute_command else None
        )
        cluster = aws.ecs.Cluster(
            f"{name}-cluster",
            name=args.name_prefix,
            settings=[aws.ecs.ClusterSettingArgs(name="containerInsights", value="enabled")],
            configuration=self._exec_logging(self._exec_logs, encrypted=logs_key is not None)
            if self._exec_logs
            else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

        api, worker = args.api, args.worker
        database_env = {
            "DB_MAX_POOL_SIZE": str(pool_size),
            "DB_MIN_POOL_SIZE": str(api.db_min_pool_size),
            "DB_CONNECTION_TIMEOUT_MS": str(api.db_connection_timeout_ms),
            "DB_STATEMENT_TIMEOUT_MS": str(api.db_statement_timeout_ms),
            "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS": str(api.db_idle_in_transaction_timeout_ms),
        }
        common_env = {
            **api.environment,
            "NODE_ENV": "production",
            "LOG_LEVEL": api.log_level,
            "SSL_REJECT_UNAUTHORIZED": "true",
            **database_env,
        }

        api_rules = self._workload_rules("api", args.api_security_group_id)
        api_rules.append(
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-api-from-alb",
                security_group_id=args.api_security_group_id,
                referenced_security_group_id=args.alb_security_group_id,
                ip_protocol="tcp",
                from_port=api.port,
                to_port=api.port,
                description="API traffic from the load balancer",
                opts=pulumi.ResourceOptions(parent=self),
            )
        )
        api_service, api_logs = self._service(
            "api",
            repository=repository,
            cluster=cluster,
            logs_key=logs_key,
            cpu=api.cpu,
            memory=api.memory,
            security_group_id=args.api_security_group_id,
            network_rules=api_rules,
            environment={
                **common_env,
                "PORT": str(api.port),
                "ALLOWED_ORIGINS": ",".join(args.allowed_origins),
                "RUN_SCHEDULERS_IN_API": "false",
                "DB_APPLICATION_NAME": f"{args.name_prefix}-api",
            },
            container={
                "portMappings": [
                    {
                        "name": "http",
                        "containerPort": api.port,
                        "hostPort": api.port,
                        "protocol": "tcp",
                    }
                ],
                # Two grace periods, one after the other. On a stop (deployment, scale-in) ECS
                # first deregisters the task: the load balancer sends it no new requests and
                # lets those in flight finish for up to the deregistration delay. Only then
                # does ECS send SIGTERM; stopTimeout is how long the app has to shut down
                # (finish what is left, close its pools) before SIGKILL. The delay already
                # states how long the longest request may take, so the shutdown gets the same
                # bound (capped by Fargate); an app that exits promptly never waits it out.
                "stopTimeout": min(args.deregistration_delay_seconds, MAX_STOP_TIMEOUT_SECONDS),
            },
            service={
                "desired_count": api.min_capacity,
                "load_balancers": [
                    aws.ecs.ServiceLoadBalancerArgs(
                        target_group_arn=args.target_group_arn,
                        container_name="api",
                        container_port=api.port,
                    )
                ],
                "health_check_grace_period_seconds": api.health_check_grace_period_seconds,
                "alarms": aws.ecs.ServiceAlarmsArgs(
                    alarm_names=list(args.deployment_alarm_names), enable=True, rollback=True
                ),
            },
            autoscaled=True,
            wait_for=args.target_group_forwarding,
        )
        if api_service:
            self._autoscaling(
                "api",
                cluster,
                api_service,
                min_capacity=api.min_capacity,
                max_capacity=api.max_capacity,
                targets={
                    "cpu": ("ECSServiceAverageCPUUtilization", api.cpu_target_percent),
                    "memory": ("ECSServiceAverageMemoryUtilization", api.memory_target_percent),
                },
                scale_out_cooldown=api.scale_out_cooldown_seconds,
                scale_in_cooldown=api.scale_in_cooldown_seconds,
            )

        worker_rules = self._workload_rules("worker", args.worker_security_group_id)
        worker_service, worker_logs = self._service(
            "worker",
            repository=repository,
            cluster=cluster,
            logs_key=logs_key,
            cpu=worker.cpu,
            memory=worker.memory,
            security_group_id=args.worker_security_group_id,
            network_rules=worker_rules,
            environment={
                **common_env,
                "RUN_SCHEDULERS": "true",
                "DB_APPLICATION_NAME": f"{args.name_prefix}-worker",
            },
            container={
                "command": list(worker.command),
                # The longest ECS allows: a job in progress gets every second to finish.
                "stopTimeout": MAX_STOP_TIMEOUT_SECONDS,
            },
            service={"desired_count": worker.desired_count},
            autoscaled=worker.autoscaling,
        )
        if worker_service and worker.autoscaling:
            self._autoscaling(
                "worker",
                cluster,
                worker_service,
                min_capacity=worker.desired_count,
                max_capacity=worker.max_capacity,
                targets={"cpu": ("ECSServiceAverageCPUUtilization", worker.cpu_target_percent)},
                scale_out_cooldown=WORKER_SCALE_OUT_COOLDOWN_SECONDS,
                scale_in_cooldown=WORKER_SCALE_IN_COOLDOWN_SECONDS,
            )

        self.cluster_name = cluster.name
        self.api_service_name = api_service.name if api_service else None
        self.worker_service_name = worker_service.name if worker_service else None
        self.first_deploy = (
            None
            if api.image_tag
            else pulumi.Output.concat(
                "No image deployed yet, so the api and worker services do not exist. Push the "
                "first image to ",
                repository.repository_url,
                ":<tag>, then run `pulumi config set --path api.imageTag <tag>` and "
                "`pulumi up` to create them.",
            )
        )
        self.worker_log_group_name = worker_logs.name
        self.repository_url = repository.repository_url
        self.api_min_capacity = api.min_capacity
        self.worker_min_capacity = worker.desired_count
        self.register_outputs(
            {
                "cluster_name": self.cluster_name,
                "api_service_name": self.api_service_name,
                "worker_service_name": self.worker_service_name,
                "api_log_group_name": api_logs.name,
                "worker_log_group_name": self.worker_log_group_name,
                "repository_url": self.repository_url,
                "first_deploy": self.first_deploy,
                "db_max_pool_size": pool_size,
            }
        )

    # -- shared infrastructure ----------------------------------------------------------------

    def _repository(self) -> aws.ecr.Repository:
        name, args = self._name, self._args
        repository = aws.ecr.Repository(
            f"{name}-repository",
            name=f"{args.name_prefix}/api",
            # A tag names one image forever: the tag in config is what runs, and a rollback
            # to an older tag gets exactly the image that ran before.
            image_tag_mutability="IMMUTABLE",
            image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
                scan_on_push=True
            ),
            force_delete=False,
            opts=pulumi.ResourceOptions(parent=self, protect=args.protect),
        )
        aws.ecr.LifecyclePolicy(
            f"{name}-repository-lifecycle",
            repository=repository.name,
            policy=json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "description": f"untagged layers after {UNTAGGED_IMAGE_DAYS} days",
                            "selection": {
                                "tagStatus": "untagged",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": UNTAGGED_IMAGE_DAYS,
                            },
                            "action": {"type": "expire"},
                        },
                        {
                            "rulePriority": 2,
                            "description": f"keep the newest {KEEP_IMAGES} images",
                            "selection": {
                                "tagStatus": "any",
                                "countType": "imageCountMoreThan",
                                "countNumber": KEEP_IMAGES,
                            },
                            "action": {"type": "expire"},
                        },
                    ]
                }
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return repository

    def _logs_key(self) -> aws.kms.Key:
        name, args = self._name, self._args
        return encryption_key(
            f"{name}-logs-key",
            description=f"{args.name_prefix} ECS service logs",
            alias=f"alias/{args.name_prefix}-ecs-logs",
            partition=self._partition,
            account_id=self._account,
            grants=[
                cloudwatch_logs_grant(
                    region=self._region,
                    log_group_arns=pulumi.Output.concat(
                        "arn:",
                        self._partition,
                        ":logs:",
                        self._region,
                        ":",
                        self._account,
                        f":log-group:/ecs/{args.name_prefix}/*",
                    ),
                )
            ],
            deletion_window_days=args.kms_deletion_window_days,
            protect=args.protect,
            parent=self,
        )

    def _exec_log_group(self, logs_key: aws.kms.Key | None) -> aws.cloudwatch.LogGroup:
        """The log group every ECS Exec session's commands and output go to."""
        name, args = self._name, self._args
        return aws.cloudwatch.LogGroup(
            f"{name}-exec-logs",
            # Under /ecs/<prefix>/ like the service logs, so the logs key's policy covers it.
            name=f"/ecs/{args.name_prefix}/exec",
            retention_in_days=args.api.log_retention_days,
            kms_key_id=logs_key.arn if logs_key else None,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
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

    def _exec_policy(self, log_group: aws.cloudwatch.LogGroup) -> pulumi.Output[str]:
        """Task role permissions of ECS Exec: the session channels and the session log."""
        return pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EcsExecChannels",
                        "Effect": "Allow",
                        "Action": [
                            "ssmmessages:CreateControlChannel",
                            "ssmmessages:CreateDataChannel",
                            "ssmmessages:OpenControlChannel",
                            "ssmmessages:OpenDataChannel",
                        ],
                        # The ssmmessages actions have no resource-level permissions.
                        "Resource": "*",
                    },
                    {
                        # The agent looks the session log group up (and checks its encryption)
                        # by listing; DescribeLogGroups cannot be scoped to one group.
                        "Sid": "EcsExecFindTheSessionLog",
                        "Effect": "Allow",
                        "Action": "logs:DescribeLogGroups",
                        "Resource": "*",
                    },
                    {
                        "Sid": "EcsExecWriteTheSessionLog",
                        "Effect": "Allow",
                        "Action": [
                            "logs:CreateLogStream",
                            "logs:DescribeLogStreams",
                            "logs:PutLogEvents",
                        ],
                        "Resource": [
                            log_group.arn,
                            pulumi.Output.concat(log_group.arn, ":log-stream:*"),
                        ],
                    },
                ],
            }
        )

    def _workload_rules(
        self, workload: str, security_group_id: pulumi.Input[str]
    ) -> list[pulumi.Resource]:
        """Egress of a workload: HTTPS anywhere, PostgreSQL and Redis to their groups only."""
        name, args = self._name, self._args
        child = pulumi.ResourceOptions(parent=self)
        https = aws.vpc.SecurityGroupEgressRule(
            f"{name}-{workload}-https-out",
            security_group_id=security_group_id,
            # AWS APIs (ECR, logs, Secrets Manager, STS; endpoints or NAT) and third parties.
            cidr_ipv4="0.0.0.0/0",
            ip_protocol="tcp",
            from_port=HTTPS,
            to_port=HTTPS,
            description="HTTPS to AWS APIs and third parties",
            opts=child,
        )
        return [
            https,
            *(
                aws.vpc.SecurityGroupEgressRule(
                    f"{name}-{workload}-to-{role}",
                    security_group_id=security_group_id,
                    referenced_security_group_id=target,
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    description=f"{workload} to the {role}",
                    opts=child,
                )
                for role, port, target in (
                    ("database", POSTGRES, args.database_security_group_id),
                    ("cache", REDIS, args.cache_security_group_id),
                )
            ),
        ]

    # -- per service ----------------------------------------------------------------------------

    def _trust_policy(self) -> pulumi.Output[str]:
        """Only ECS tasks of this account and region assume the service roles."""
        return service_trust_policy(
            "ecs-tasks.amazonaws.com",
            account_id=self._account,
            source_arn=pulumi.Output.concat(
                "arn:", self._partition, ":ecs:", self._region, ":", self._account, ":*"
            ),
        )

    def _execution_policy(
        self, repository: aws.ecr.Repository, log_group: aws.cloudwatch.LogGroup
    ) -> pulumi.Output[str]:
        args = self._args
        secret_arns = pulumi.Output.all(*args.secret_arns.values()).apply(
            lambda arns: sorted(set(arns))
        )
        return pulumi.Output.json_dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "EcrLogin",
                        "Effect": "Allow",
                        # GetAuthorizationToken has no resource-level permissions.
                        "Action": "ecr:GetAuthorizationToken",
                        "Resource": "*",
                    },
                    {
                        "Sid": "PullTheImage",
                        "Effect": "Allow",
                        "Action": [
                            "ecr:BatchCheckLayerAvailability",
                            "ecr:BatchGetImage",
                            "ecr:GetDownloadUrlForLayer",
                        ],
                        "Resource": repository.arn,
                    },
                    {
                        "Sid": "WriteTheServiceLogs",
                        "Effect": "Allow",
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Resource": pulumi.Output.concat(log_group.arn, ":log-stream:*"),
                    },
                    {
                        "Sid": "ReadTheInjectedSecrets",
                        "Effect": "Allow",
                        "Action": "secretsmanager:GetSecretValue",
                        "Resource": secret_arns,
                    },
                    {
                        "Sid": "DecryptTheSecretsThroughSecretsManager",
                        "Effect": "Allow",
                        "Action": "kms:Decrypt",
                        "Resource": args.kms_key_arn,
                        "Condition": {
                            "StringEquals": {
                                "kms:ViaService": pulumi.Output.concat(
                                    "secretsmanager.", self._region, ".amazonaws.com"
                                )
                            }
                        },
                    },
                ],
            }
        )

    def _service(
        self,
        service_name: str,
        *,
        repository: aws.ecr.Repository,
        cluster: aws.ecs.Cluster,
        logs_key: aws.kms.Key | None,
        cpu: int,
        memory: int,
        security_group_id: pulumi.Input[str],
        network_rules: Sequence[pulumi.Resource],
        environment: Mapping[str, str],
        container: Mapping[str, Any],
        service: Mapping[str, Any],
        autoscaled: bool,
        wait_for: Sequence[pulumi.Resource] = (),
    ) -> tuple[aws.ecs.Service | None, aws.cloudwatch.LogGroup]:
        """Log group, roles, task definition and service of one workload (the last two only
        once there is an image to run)."""
        name, args = self._name, self._args
        prefix = f"{name}-{service_name}"
        child = pulumi.ResourceOptions(parent=self)

        log_group = aws.cloudwatch.LogGroup(
            f"{prefix}-logs",
            name=f"/ecs/{args.name_prefix}/{service_name}",
            retention_in_days=args.api.log_retention_days,
            kms_key_id=logs_key.arn if logs_key else None,
            opts=child,
        )

        execution_role = aws.iam.Role(
            f"{prefix}-execution-role",
            description=f"ECS agent of {args.name_prefix} {service_name}: image, logs, secrets",
            assume_role_policy=self._trust_policy(),
            opts=child,
        )
        execution_policy = aws.iam.RolePolicy(
            f"{prefix}-execution-policy",
            role=execution_role.id,
            policy=self._execution_policy(repository, log_group),
            opts=child,
        )
        task_role = aws.iam.Role(
            f"{prefix}-task-role",
            description=f"{args.name_prefix} {service_name} application",
            assume_role_policy=self._trust_policy(),
            opts=child,
        )
        if self._exec_logs:
            aws.iam.RolePolicy(
                f"{prefix}-exec-policy",
                role=task_role.id,
                policy=self._exec_policy(self._exec_logs),
                opts=child,
            )
        if not args.api.image_tag:
            return None, log_group

        exec_volumes = EXEC_AGENT_PATHS if args.api.enable_execute_command else {}
        definition = pulumi.Output.all(
            image=pulumi.Output.concat(repository.repository_url, ":", args.api.image_tag),
            log_group=log_group.name,
            region=self._region,
            secrets=pulumi.Output.all(
                **{env: pulumi.Output.from_input(arn) for env, arn in args.secret_arns.items()}
            ),
        ).apply(
            lambda v: json.dumps(
                [
                    {
                        "name": service_name,
                        "image": v["image"],
                        "essential": True,
                        **container,
                        "environment": [
                            {"name": k, "value": environment[k]} for k in sorted(environment)
                        ],
                        "secrets": [
                            {"name": k, "valueFrom": v["secrets"][k]} for k in sorted(v["secrets"])
                        ],
                        # Writable only where the app expects scratch space (and, with ECS Exec,
                        # where the SSM agent keeps its state and logs).
                        "readonlyRootFilesystem": True,
                        "mountPoints": [
                            {"sourceVolume": volume, "containerPath": path, "readOnly": False}
                            for volume, path in {"tmp": "/tmp", **exec_volumes}.items()
                        ],
                        # An init process forwards signals and reaps zombies (and ECS Exec
                        # needs it).
                        "linuxParameters": {"initProcessEnabled": True},
                        "logConfiguration": {
                            "logDriver": "awslogs",
                            "options": {
                                "awslogs-group": v["log_group"],
                                "awslogs-region": v["region"],
                                "awslogs-stream-prefix": service_name,
                                # A slow log API must not block the event loop; a bounded
                                # buffer trades the rare dropped line for availability.
                                "mode": "non-blocking",
                                "max-buffer-size": "25m",
                            },
                        },
                    }
                ]
            )
        )
        task_definition = aws.ecs.TaskDefinition(
            f"{prefix}-task",
            family=f"{args.name_prefix}-{service_name}",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            cpu=str(cpu),
            memory=str(memory),
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=args.api.cpu_architecture
            ),
            execution_role_arn=execution_role.arn,
            task_role_arn=task_role.arn,
            # No host path: task-local storage that lives and dies with the task.
            volumes=[
                aws.ecs.TaskDefinitionVolumeArgs(name=volume) for volume in ("tmp", *exec_volumes)
            ],
            container_definitions=definition,
            opts=child,
        )

        ecs_service = aws.ecs.Service(
            prefix,
            name=service_name,
            cluster=cluster.arn,
            task_definition=task_definition.arn,
            launch_type="FARGATE",
            platform_version="LATEST",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=args.private_subnet_ids,
                security_groups=[security_group_id],
                assign_public_ip=False,
            ),
            # Zero downtime: the old tasks serve until the new ones are healthy.
            deployment_minimum_healthy_percent=100,
            deployment_maximum_percent=200,
            deployment_circuit_breaker=aws.ecs.ServiceDeploymentCircuitBreakerArgs(
                enable=True, rollback=True
            ),
            availability_zone_rebalancing="ENABLED",
            enable_execute_command=args.api.enable_execute_command,
            enable_ecs_managed_tags=True,
            propagate_tags="SERVICE",
            # `pulumi up` returns only once the new tasks are running and healthy.
            wait_for_steady_state=True,
            **service,
            opts=pulumi.ResourceOptions(
                parent=self,
                # The migration must have succeeded, and the task must be able to fetch its
                # image and secrets (permissions and the network path), before a new task
                # definition rolls out; the API's target group must have a listener first.
                depends_on=[*args.run_after, execution_policy, *network_rules, *wait_for],
                # After creation the autoscaler owns the count; Pulumi must not reset it.
                ignore_changes=["desiredCount"] if autoscaled else None,
            ),
        )
        return ecs_service, log_group

    def _autoscaling(
        self,
        service_name: str,
        cluster: aws.ecs.Cluster,
        service: aws.ecs.Service,
        *,
        min_capacity: int,
        max_capacity: int,
        targets: Mapping[str, tuple[str, int]],
        scale_out_cooldown: int,
        scale_in_cooldown: int,
    ) -> None:
        prefix = f"{self._name}-{service_name}"
        child = pulumi.ResourceOptions(parent=self)
        target = aws.appautoscaling.Target(
            f"{prefix}-scaling",
            service_namespace="ecs",
            scalable_dimension="ecs:service:DesiredCount",
            resource_id=pulumi.Output.concat("service/", cluster.name, "/", service.name),
            min_capacity=min_capacity,
            max_capacity=max_capacity,
            opts=child,
        )
        for metric, (metric_type, percent) in targets.items():
            aws.appautoscaling.Policy(
                f"{prefix}-{metric}-scaling",
                policy_type="TargetTrackingScaling",
                service_namespace=target.service_namespace,
                scalable_dimension=target.scalable_dimension,
                resource_id=target.resource_id,
                target_tracking_scaling_policy_configuration={
                    "target_value": percent,
                    "predefined_metric_specification": {"predefined_metric_type": metric_type},
                    "scale_out_cooldown": scale_out_cooldown,
                    "scale_in_cooldown": scale_in_cooldown,
                },
                opts=child,
            )


def _check_args(args: ApiServiceArgs) -> None:
    """Wiring mistakes the config cannot see: missing secrets, unsafe names, no alarms."""
    problems = []
    if not args.target_group_forwarding:
        problems.append(
            "target_group_forwarding is empty: ECS would create the API service before a "
            "listener forwards to its target group"
        )
    missing = [s for s in GENERATED_SECRET_NAMES if s not in args.secret_arns]
    if missing:
        problems.append(f"secret_arns lacks {', '.join(missing)}")
    clashing = sorted(set(args.secret_arns) & (MANAGED_ENV_NAMES | set(args.api.environment)))
    if clashing:
        problems.append(f"secret_arns and the plain environment both set {', '.join(clashing)}")
    leaking = sorted(n for n in args.api.environment if looks_secret(n))
    if leaking:
        problems.append(f"secret-looking names in the plain environment: {', '.join(leaking)}")
    if not args.deployment_alarm_names:
        problems.append("deployment_alarm_names is empty: a bad deployment would not roll back")
    if not args.allowed_origins:
        problems.append("allowed_origins is empty: browsers could not call the API")
    if problems:
        raise ValueError("ApiService: " + "; ".join(problems))
