"""`webstack:api` and `webstack:worker`: the two ECS services that run the application image."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.aws_facts import CPU_ARCHITECTURES, ECR_IMAGE_TAG_PATTERN, FARGATE_SIZES
from components.config.deployment import DeploymentConfig, read_deployment
from components.config.reader import REQUIRED, SameAs, Section, get_log_retention
from components.config.secret_detector import name_says_secret, value_problem

LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace")
# Fargate's two capacity providers: on-demand, and Spot (spare capacity at a discount, reclaimed
# with two minutes' notice; Linux X86_64 tasks only).
CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")
# Variables the ApiService sets itself; plain environment from config may not override them.
MANAGED_ENV_NAMES = frozenset(
    {
        "NODE_ENV",
        "PORT",
        "ALLOWED_ORIGINS",
        "LOG_LEVEL",
        "RUN_SCHEDULERS_IN_API",
        "RUN_SCHEDULERS",
        "SSL_REJECT_UNAUTHORIZED",
        "DB_MAX_POOL_SIZE",
        "DB_MIN_POOL_SIZE",
        "DB_CONNECTION_TIMEOUT_MS",
        "DB_STATEMENT_TIMEOUT_MS",
        "DB_IDLE_IN_TRANSACTION_TIMEOUT_MS",
        "DB_APPLICATION_NAME",
    }
)
# An environment variable name as the services (and Secrets Manager injection) take it.
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
IMAGE_TAG = re.compile(ECR_IMAGE_TAG_PATTERN)
# Names that would carry CORS origins: those come only from `webstack:edge.allowedOrigins` (the
# API's ALLOWED_ORIGINS and the CDN's CORS policy), so a second list cannot drift from it.
_ORIGIN_NAME = re.compile(r"CORS|ORIGIN", re.IGNORECASE)
# The guides: at least two tasks behind the load balancer, so one can fail or be replaced.
PROD_MIN_API_TASKS = 2


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """`webstack:api`: the API service, and what the worker shares with it.

    One image runs as both services, so the worker (and its task definition) deliberately
    shares the image tag, `cpu_architecture`, `capacity_provider`, the log settings (`log_level`,
    `log_retention_days`, `logs_kms_key`), `enable_execute_command` and `environment`; the
    migration Lambda's log group also keeps `log_retention_days` (one retention for the
    application's logs), while its architecture is its own package's.
    """

    image_tag: str | None
    """Tag of the image in the stack's ECR repository; a release is a new tag. None before the
    first image is pushed: the stack then creates everything but the two ECS services."""
    cpu: int
    """Task CPU units (a Fargate size: 256 ... 16384)."""
    memory: int
    """Task memory in MiB; must pair with `cpu` in Fargate's table."""
    cpu_architecture: str
    """`X86_64` or `ARM64` (the image's architecture; the worker runs the same image)."""
    capacity_provider: str
    """`FARGATE` (on-demand) or `FARGATE_SPOT` (interruptible, X86_64 only, never in prod):
    where both services' tasks run."""
    port: int
    """Container port the API listens on and the load balancer targets."""
    min_capacity: int
    """Tasks at least (and at creation); 2+ keeps serving through an AZ or task loss."""
    max_capacity: int
    """Tasks at most; bounds cost and the database connections the API can open."""
    cpu_target_percent: int
    """Target-tracking goal for average CPU utilisation."""
    memory_target_percent: int
    """Target-tracking goal for average memory utilisation."""
    scale_out_cooldown_seconds: int
    """Wait after a scale-out before the next one."""
    scale_in_cooldown_seconds: int
    """Wait after a scale-in before the next one; longer than scale-out to avoid flapping."""
    health_check_grace_period_seconds: int
    """Load-balancer health checks ignored this long after a task starts (boot time)."""
    log_level: str
    """LOG_LEVEL of both services."""
    log_retention_days: int
    """Retention of both services', the ECS Exec sessions' and the migration Lambda's logs."""
    logs_kms_key: bool
    """Encrypt both log groups with a dedicated customer-managed KMS key."""
    enable_execute_command: bool
    """ECS Exec (a shell in running API and worker tasks, sessions logged); off by default."""
    environment: Mapping[str, str]
    """Extra plain environment of both services; never secrets (those come from Secrets)."""
    db_min_pool_size: int
    """DB_MIN_POOL_SIZE, and the least DB_MAX_POOL_SIZE the connection budget must allow."""
    db_max_pool_size: int
    """Upper bound of DB_MAX_POOL_SIZE; lowered to fit the database's connection budget."""
    db_connection_timeout_ms: int
    """DB_CONNECTION_TIMEOUT_MS: give up acquiring a connection after this long."""
    db_statement_timeout_ms: int
    """DB_STATEMENT_TIMEOUT_MS: the server cancels a statement running longer."""
    db_idle_in_transaction_timeout_ms: int
    """DB_IDLE_IN_TRANSACTION_TIMEOUT_MS: the server ends sessions idle inside a transaction."""
    deployment: DeploymentConfig
    """How a release reaches traffic (`webstack:api.deployment`); the worker always rolls."""


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """`webstack:worker`: the scheduler worker (the API's image, no load balancer).

    Image, architecture, capacity provider, logs, ECS Exec and environment come from
    `webstack:api` (ApiConfig).
    """

    command: tuple[str, ...]
    """Container command (`npm run worker`)."""
    cpu: int
    """Task CPU units (a Fargate size)."""
    memory: int
    """Task memory in MiB; must pair with `cpu` in Fargate's table."""
    desired_count: int
    """Tasks at least (and at creation); the app's advisory lock makes more than one safe."""
    max_capacity: int
    """Tasks at most; above `desired_count` turns on CPU target tracking."""
    cpu_target_percent: int
    """Target-tracking goal for average CPU utilisation when autoscaling."""

    @property
    def autoscaling(self) -> bool:
        return self.max_capacity > self.desired_count


def _read_task_size(section: Section, cpu_default: Any, memory_default: Any) -> tuple[int, int]:
    cpu = section.get_int(
        "cpu", cpu_default, one_of=tuple(FARGATE_SIZES), one_of_label="a Fargate size"
    )
    memory = section.get_int("memory", memory_default)
    if cpu in FARGATE_SIZES and memory not in FARGATE_SIZES[cpu]:
        accepted = FARGATE_SIZES[cpu]
        section.error(
            "memory",
            f"Fargate does not accept {memory} MiB with cpu {cpu}; "
            f"it takes {accepted[0]} to {accepted[-1]} in steps of "
            f"{accepted[1] - accepted[0]} (AWS's Fargate task size table)",
        )
    return cpu, memory


def _read_environment(section: Section) -> dict[str, str]:
    """Plain environment, refused where it would put a secret or a CORS origin in the clear.

    Secrets are judged by the policy pack's own detector (config.secret_detector), by name
    and by value, so config refuses before anything is registered what the pack would refuse
    after: a token-shaped or random-looking value, or a URL with a password, is a secret
    whatever the variable is called.
    """
    env = section.get_str_map("environment", {})
    for name, value in env.items():
        if name_says_secret(name):
            section.error(
                f"environment.{name}",
                "looks like a secret; plain environment is visible in the task definition, "
                "so add it to the Secrets component and inject it through valueFrom",
            )
        elif problem := value_problem(name, value):
            section.error(
                f"environment.{name}",
                f"value looks like a secret ({problem}); plain environment is visible in the "
                "task definition, so keep it in webstack:externalSecrets (set with --secret) "
                "and inject it through valueFrom",
            )
        elif _ORIGIN_NAME.search(name):
            section.error(
                f"environment.{name}",
                "names CORS origins, which come only from webstack:edge.allowedOrigins "
                "(the API's ALLOWED_ORIGINS); remove it here",
            )
        elif not ENV_NAME.match(name):
            section.error(f"environment.{name}", "must be an UPPER_SNAKE_CASE variable name")
        elif name in MANAGED_ENV_NAMES:
            section.error(f"environment.{name}", "is set by the ApiService; remove it here")
    return env


def read_api(section: Section, environment: str) -> ApiConfig:
    # Optional: the first `pulumi up` creates the repository the first image is pushed to.
    image_tag = section.get_str("imageTag", "") or None
    if image_tag and not IMAGE_TAG.match(image_tag):
        section.error("imageTag", f"must be a valid image tag, got {image_tag!r}")
    elif image_tag == "latest":
        section.error("imageTag", "must name a release; 'latest' cannot be rolled back to")
    cpu, memory = _read_task_size(section, REQUIRED, REQUIRED)
    min_capacity = section.get_int("minCapacity", min=1)
    if environment == "prod" and min_capacity < PROD_MIN_API_TASKS:
        section.error(
            "minCapacity",
            f"must be >= {PROD_MIN_API_TASKS} in prod (a task or AZ loss must leave one "
            f"serving behind the load balancer), got {min_capacity}",
        )
    max_capacity = section.get_int("maxCapacity", min=1)
    if max_capacity < min_capacity:
        section.error("maxCapacity", f"must be >= minCapacity ({min_capacity}), got {max_capacity}")
    scale_out = section.get_int("scaleOutCooldownSeconds", 30, min=0, max=3600)
    scale_in = section.get_int("scaleInCooldownSeconds", 300, min=0, max=3600)
    if scale_out > scale_in:
        section.error(
            "scaleOutCooldownSeconds",
            f"must be <= scaleInCooldownSeconds ({scale_in}): scale out fast, in slowly; "
            f"got {scale_out}",
        )
    architecture = section.get_str("cpuArchitecture", "X86_64", choices=CPU_ARCHITECTURES)
    capacity_provider = section.get_str("capacityProvider", "FARGATE", choices=CAPACITY_PROVIDERS)
    if capacity_provider == "FARGATE_SPOT":
        if architecture != "X86_64":
            section.error(
                "capacityProvider",
                f"Fargate Spot runs only X86_64 tasks, not cpuArchitecture {architecture}",
            )
        if environment == "prod":
            section.error(
                "capacityProvider",
                "must be FARGATE in prod: Spot reclaims tasks with two minutes' notice",
            )
    retention = get_log_retention(section, "logRetentionDays", 90)
    min_pool = section.get_int("dbMinPoolSize", 0, min=0, max=100)
    max_pool = section.get_int("dbMaxPoolSize", 10, min=2, max=100)
    if max_pool < min_pool:
        section.error("dbMaxPoolSize", f"must be >= dbMinPoolSize ({min_pool}), got {max_pool}")
    api = ApiConfig(
        image_tag=image_tag,
        cpu=cpu,
        memory=memory,
        cpu_architecture=architecture,
        capacity_provider=capacity_provider,
        # A non-root container cannot bind below 1024.
        port=section.get_int("port", 3000, min=1024, max=65535),
        min_capacity=min_capacity,
        max_capacity=max_capacity,
        cpu_target_percent=section.get_int("cpuTargetPercent", 70, min=10, max=95),
        memory_target_percent=section.get_int("memoryTargetPercent", 80, min=10, max=95),
        scale_out_cooldown_seconds=scale_out,
        scale_in_cooldown_seconds=scale_in,
        health_check_grace_period_seconds=section.get_int(
            "healthCheckGracePeriodSeconds", 60, min=0, max=3600
        ),
        log_level=section.get_str("logLevel", "info", choices=LOG_LEVELS),
        log_retention_days=retention,
        logs_kms_key=section.get_bool("logsKmsKey", True),
        enable_execute_command=section.get_bool("enableExecuteCommand", False),
        environment=_read_environment(section),
        db_min_pool_size=min_pool,
        db_max_pool_size=max_pool,
        db_connection_timeout_ms=section.get_int(
            "dbConnectionTimeoutMs", 5000, min=100, max=60_000
        ),
        db_statement_timeout_ms=section.get_int(
            "dbStatementTimeoutMs", 30_000, min=100, max=3_600_000
        ),
        db_idle_in_transaction_timeout_ms=section.get_int(
            "dbIdleInTransactionTimeoutMs", 60_000, min=100, max=3_600_000
        ),
        deployment=read_deployment(section.section("deployment")),
    )
    section.finish()
    return api


def read_worker(section: Section) -> WorkerConfig:
    command = section.get_str_list("command", ())
    if not command:
        section.error(
            "command", "is required: the worker's command as a list, e.g. [npm, run, worker]"
        )
    cpu, memory = _read_task_size(section, 256, 512)
    desired = section.get_int("desiredCount", 1, min=1)
    max_capacity = section.get_int("maxCapacity", SameAs("desiredCount", desired), min=1)
    if max_capacity < desired:
        section.error("maxCapacity", f"must be >= desiredCount ({desired}), got {max_capacity}")
    worker = WorkerConfig(
        command=command,
        cpu=cpu,
        memory=memory,
        desired_count=desired,
        max_capacity=max_capacity,
        cpu_target_percent=section.get_int("cpuTargetPercent", 70, min=10, max=95),
    )
    section.finish()
    return worker
