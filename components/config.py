"""Typed, validated stack configuration.

`load_stack_config` reads every `webstack:*` key (and `aws:region`) once, validates all of it and
either returns a frozen `StackConfig` or raises one `ConfigError` listing *every* problem, each
naming the key and the stack. Nothing else in the program reads `pulumi.Config`.

Each section is a frozen dataclass with a `_read_<section>` function; a new section adds both
and one field on `StackConfig`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.alarm_catalog import DEFAULT_SCHEDULER_FAILURE_PATTERN, AlarmThresholds
from components.cache import CACHE_PARAMETER_FAMILIES, MAXMEMORY_POLICIES
from components.database import (
    DEFAULT_CA_BUNDLE_PATH,
    INSTANCE_CLASS_MEMORY_GIB,
    POSTGRES_MAJORS,
    max_connections,
)
from components.pool_budget import PoolBudgetError, db_max_pool_size

PROJECT = "webstack"
ENVIRONMENTS = ("staging", "prod")
NAT_STRATEGIES = ("single", "per_az", "none")
INGRESS_MODES = ("internet", "cloudfront", "cidrs")
DNS_PROVIDERS = ("cloudflare", "none")
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip
# CloudFront's limit on a response headers policy's Content-Security-Policy value.
MAX_CSP_LENGTH = 1783
# Each allowed range becomes two ingress rules (80 and 443) in a group capped at 60 per family.
MAX_INGRESS_CIDRS = 25
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
)
MAX_AZS = 4  # the subnet plan (network.subnet_plan) reserves four slots per tier
CPU_ARCHITECTURES = ("X86_64", "ARM64")
LOG_LEVELS = ("fatal", "error", "warn", "info", "debug", "trace")
# AWS's table of Fargate task sizes (Linux): cpu units -> the memory values (MiB) it accepts.
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
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

_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_MISSING: Any = object()
# Env var names that say they hold a secret. The policy pack's `no-plaintext-secret-env` rule
# uses the same pattern by default (a test keeps the two equal), so what config accepts the pack
# accepts too.
SECRET_NAME_PATTERN = (
    r"(SECRETS?|PASSWORDS?|PASSWD|TOKENS?|KEYS?|DSN|CREDENTIALS?)$|^(DATABASE_URL|REDIS_URL)$"
)
_SECRET_NAME = re.compile(SECRET_NAME_PATTERN, re.IGNORECASE)
_CA_BUNDLE_PATH = re.compile(r"/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
# ECR's tag grammar.
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")


def looks_secret(name: str) -> bool:
    """Whether an environment variable name says it holds a secret (so belongs in `secrets`)."""
    return bool(_SECRET_NAME.search(name))


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_ENV_NAME = re.compile(r"^[A-Z][A-Z0-9_]*$")
# Env vars the stack generates itself, and prefixes the AWS runtimes reserve.
GENERATED_SECRET_NAMES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
_RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")
SECRETS_MANAGER_MAX_BYTES = 65536
PROD_MIN_BACKUP_RETENTION_DAYS = 30


class ConfigError(ValueError):
    """Raised with every configuration problem of a stack, one per line."""

    def __init__(self, stack: str, problems: Sequence[str]) -> None:
        self.stack = stack
        self.problems = list(problems)
        super().__init__(
            f"invalid configuration for stack '{stack}' ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


class _Problems:
    """Collects problems so that all of them are reported at once."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key} ({self.stack}): {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.stack, self.items)


class Section:
    """Typed access to one config object; records a problem instead of raising.

    On a problem the getters return the default (or a neutral value) so that reading can go
    on and every other problem is found too; `load_stack_config` raises before anything uses
    the values.
    """

    def __init__(
        self,
        problems: _Problems,
        key: str,
        data: Mapping[str, Any],
        *,
        separator: str = ".",
        scalars_are_strings: bool = False,
    ) -> None:
        self._problems = problems
        self.key = key
        self._data = data
        self._separator = separator
        # Top-level stack config reaches the program as strings ("true", "30"); inside an
        # object the YAML types survive.
        self._scalars_are_strings = scalars_are_strings
        self._read: set[str] = set()

    def _path(self, name: str) -> str:
        return f"{self.key}{self._separator}{name}"

    def error(self, name: str, message: str) -> None:
        self._problems.add(self._path(name), message)

    def _raw(self, name: str, default: Any) -> Any:
        self._read.add(name)
        value = self._data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if default is _MISSING:
                self.error(name, "is required")
            return default
        return value

    def _typed(self, name: str, default: Any, kind: type) -> Any:
        """The value if present and of `kind`, else the default (None when there is none)."""
        value = self._raw(name, default)
        if value is _MISSING:
            return None
        if self._scalars_are_strings and isinstance(value, str) and kind is not str:
            value = _decode_scalar(value)
        # bool is an int in Python; a YAML `true` where a number belongs is still a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.error(name, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
            return None if default is _MISSING else default
        return value

    def get_str(self, name: str, default: Any = _MISSING, *, choices: Sequence[str] = ()) -> str:
        value = self._typed(name, default, str)
        if value is None:
            return ""
        if choices and value not in choices:
            self.error(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def get_int(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        min: int | None = None,
        max: int | None = None,
    ) -> int:
        value = self._typed(name, default, int)
        if value is None:
            return min or 0
        self._check_bounds(name, value, min=min, max=max, show=str)
        return value

    def get_number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        min: float | None = None,
        above: float | None = None,
        max: float | None = None,
    ) -> float:
        """An int or a float (YAML writes `2` and `2.5` differently); `above` is exclusive."""
        value = self._raw(name, default)
        if value is _MISSING:
            return min or 0.0
        if self._scalars_are_strings and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            self.error(name, f"must be a number, got {type(value).__name__} {value!r}")
            return 0.0 if default is _MISSING else float(default)
        self._check_bounds(name, value, min=min, above=above, max=max, show="{:g}".format)
        return float(value)

    def _check_bounds(
        self,
        name: str,
        value: float,
        *,
        min: float | None,
        max: float | None,
        above: float | None = None,
        show: Callable[[float], str],
    ) -> None:
        """Record each bound `value` breaks; `show` renders numbers in the message."""
        if min is not None and value < min:
            self.error(name, f"must be >= {show(min)}, got {show(value)}")
        if above is not None and value <= above:
            self.error(name, f"must be > {show(above)}, got {show(value)}")
        if max is not None and value > max:
            self.error(name, f"must be <= {show(max)}, got {show(value)}")

    def get_bool(self, name: str, default: Any = _MISSING) -> bool:
        return bool(self._typed(name, default, bool))

    def get_str_list(self, name: str, default: Any = _MISSING) -> tuple[str, ...]:
        value = self._typed(name, default, list) or []
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            self.error(name, f"must be a list of strings, got {bad[0]!r}")
            return ()
        return tuple(value)

    def get_str_map(self, name: str, default: Any = _MISSING) -> dict[str, str]:
        value = self._typed(name, default, dict) or {}
        bad = {k: v for k, v in value.items() if not isinstance(v, str)}
        for k, v in bad.items():
            self.error(f"{name}.{k}", f"must be a str, got {type(v).__name__} {v!r}")
        return {k: v for k, v in value.items() if k not in bad}

    def get_secret_map(self, name: str) -> dict[str, str]:
        """A map of name -> secret text; problems never quote a value (it may be a secret)."""
        value = self._raw(name, {})
        if self._scalars_are_strings and isinstance(value, str):
            value = _parse_value(value)
        if not isinstance(value, dict):
            self.error(name, f"must be a map of NAME -> secret, got a {type(value).__name__}")
            return {}
        good = {}
        for k, v in value.items():
            if isinstance(v, str) and v:
                good[k] = v
            else:
                self.error(f"{name}.{k}", f"must be a non-empty string, got a {type(v).__name__}")
        return good

    def section(self, name: str) -> Section:
        value = self._typed(name, {}, dict)
        return Section(self._problems, self._path(name), value)

    def finish(self) -> None:
        """Report keys nobody read: almost always a typo of a real key."""
        for name in sorted(set(self._data) - self._read):
            self.error(name, "unknown key")


def _decode_scalar(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        return value


# ---------------------------------------------------------------------------------------------
# Sections


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """`webstack:network`."""

    cidr: str
    """VPC CIDR: a private (RFC 1918) network, /16 to /24."""
    az_count: int
    """Zones to spread every tier over: 2 to MAX_AZS, and no more than the region has."""
    nat_strategy: str
    """`single` (one NAT gateway), `per_az` (one per AZ, survives an AZ outage) or `none`."""
    interface_endpoints: bool
    """Private interface endpoints for ECR, CloudWatch Logs, Secrets Manager and STS."""
    flow_log_retention_days: int
    """How long VPC flow logs are kept in CloudWatch Logs."""


@dataclass(frozen=True, kw_only=True)
class ApiConfig:
    """`webstack:api`: the API service, and what the worker shares with it.

    One image runs as both services, so the worker (and its task definition) deliberately
    shares the image tag, `cpu_architecture`, the log settings (`log_level`,
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


@dataclass(frozen=True, kw_only=True)
class WorkerConfig:
    """`webstack:worker`: the scheduler worker (the API's image, no load balancer).

    Image, architecture, logs, ECS Exec and environment come from `webstack:api` (ApiConfig).
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


@dataclass(frozen=True, kw_only=True)
class AlarmsConfig:
    """`webstack:alarms`: who is told, and when."""

    critical_emails: tuple[str, ...]
    """Addresses subscribed to the critical (paging) topic."""
    warning_emails: tuple[str, ...]
    """Addresses subscribed to the warning topic (also RDS backup events and budget alerts)."""
    critical_https_endpoint: pulumi.Output[str] | None
    """Secret HTTPS URL (a pager integration) subscribed to the critical topic, or None."""
    warning_https_endpoint: pulumi.Output[str] | None
    """Secret HTTPS URL (a chat webhook) subscribed to the warning topic, or None."""
    thresholds: AlarmThresholds
    """Every alarm threshold."""
    scheduler_failure_pattern: str
    """CloudWatch Logs filter pattern matching one failed scheduler run in the worker's log."""
    monthly_budget_usd: float
    """Monthly AWS cost budget in USD; forecast and actual alerts at 80 % and 100 %."""


@dataclass(frozen=True, kw_only=True)
class SecretsConfig:
    """`webstack:secrets` and `webstack:externalSecrets`."""

    recovery_window_days: int
    """Days a deleted Secrets Manager secret can still be restored (7 to 30)."""
    kms_deletion_window_days: int
    """Days a scheduled deletion of the data KMS key can still be cancelled (7 to 30)."""
    external: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """`webstack:externalSecrets`: env var name -> value (secret Outputs) the API receives."""


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """`webstack:database`: RDS PostgreSQL."""

    engine_version: str
    """PostgreSQL version: a major (`17`, minors follow automatically) or `major.minor`."""
    instance_class: str
    """A known RDS class (`db.r6g.xlarge`); its memory sizes `max_connections`."""
    allocated_storage_gb: int
    """Initial gp3 storage (20 to 65536 GiB)."""
    max_allocated_storage_gb: int
    """Storage autoscaling ceiling: at least 10% above the allocated storage."""
    multi_az: bool
    """A synchronous standby in another AZ (required in prod)."""
    backup_retention_days: int
    """Automated backup retention, 1 to 35 days (at least 30 in prod)."""
    performance_insights_retention_days: int
    """7 (free tier) or a multiple of 31 up to 731."""
    monitoring_interval_seconds: int
    """Enhanced monitoring granularity: 1, 5, 10, 15, 30 or 60 seconds."""
    read_replicas: int
    """Read replicas of the primary (0 to 5)."""
    log_retention_days: int
    """Retention of the exported postgresql and upgrade logs."""
    apply_immediately: bool
    """Apply instance changes at once, not in the maintenance window (a major upgrade needs it)."""
    ca_bundle_path: str
    """Absolute path of AWS's RDS CA bundle inside the application image (`sslrootcert`)."""


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    """`webstack:cache`: ElastiCache replication group."""

    engine: str
    """`valkey` or `redis`."""
    engine_version: str
    """`major.minor`, one with a known parameter-group family (e.g. valkey `8.0`)."""
    node_type: str
    """ElastiCache node type (`cache.r6g.large`)."""
    nodes: int
    """Primary plus replicas, 1 to 6; 2 or more turns on automatic failover and Multi-AZ."""
    maxmemory_policy: str
    """What the engine evicts when memory is full."""
    snapshot_retention_days: int
    """Daily snapshots kept (1 to 35)."""
    log_retention_days: int
    """Retention of the slow log in CloudWatch Logs."""
    apply_immediately: bool
    """Apply group changes at once, not in the maintenance window (needed for a major upgrade)."""


@dataclass(frozen=True, kw_only=True)
class CostAssumptions:
    """`webstack:costAssumptions`: traffic the cost estimate (tools/cost.py) cannot read off
    the resources. Every amount is per month; a missing key assumes no such traffic."""

    api_requests_per_month: float = 0.0
    """Requests through the ALB to the API (ALB LCUs; WAF on a regional web ACL)."""
    api_gb_per_month: float = 0.0
    """GB the ALB processes (requests and responses), for its LCU estimate."""
    cdn_requests_per_month: float = 0.0
    """HTTPS requests CloudFront serves (and a CloudFront-scope WAF inspects)."""
    cdn_gb_out_per_month: float = 0.0
    """GB CloudFront sends to viewers."""
    s3_storage_gb: float = 0.0
    """GB stored across the stack's S3 buckets."""
    ecr_storage_gb: float = 0.0
    """GB of images kept in the ECR repository (its lifecycle policy bounds the count)."""
    s3_requests_per_month: float = 0.0
    """GET-class requests to S3 (CloudFront cache misses, log reads)."""
    nat_gb_per_month: float = 0.0
    """GB through the NAT gateways (third-party APIs, anything without a VPC endpoint)."""
    endpoint_gb_per_month: float = 0.0
    """GB through interface VPC endpoints (image pulls, logs, secret reads)."""
    log_gb_per_month: float = 0.0
    """GB ingested into CloudWatch Logs across all log groups (application and flow logs)."""
    secret_api_calls_per_month: float = 0.0
    """Secrets Manager API calls (task starts read each injected secret once)."""
    kms_requests_per_month: float = 0.0
    """KMS requests (encrypt, decrypt, generate data key) beyond those AWS services cache."""
    average_scaled_tasks: float = 0.0
    """Average running tasks of an autoscaled ECS service (clamped to its min/max capacity)."""
    db_daily_change_percent: float = 2.0
    """Share of the database's storage that changes per day: sizes incremental backups."""


@dataclass(frozen=True, kw_only=True)
class HealthCheckConfig:
    """`webstack:edge.healthCheck`: how the ALB decides an API task may take traffic."""

    path: str
    """Readiness path the target group probes (the app also serves /api/live, /api/health)."""
    interval_seconds: int
    """Seconds between probes (5 to 300)."""
    timeout_seconds: int
    """Seconds before a probe counts as failed; shorter than the interval."""
    healthy_threshold: int
    """Consecutive successes before a target receives traffic."""
    unhealthy_threshold: int
    """Consecutive failures before a target is taken out."""


@dataclass(frozen=True, kw_only=True)
class EdgeConfig:
    """`webstack:edge`: load balancer, CDN, WAF, DNS and the CORS allow-list."""

    allowed_origins: tuple[str, ...]
    """The one CORS allow-list (https origins, no `*`); the API's ALLOWED_ORIGINS too."""
    allow_localhost_origins: bool
    """Staging only: also accept `http(s)://localhost[:port]` origins for local development."""
    content_security_policy: str
    """Content-Security-Policy the CDN adds to every frontend response."""
    hsts_preload: bool
    """Add `preload` to HSTS (a commitment for the whole registrable domain; see README)."""
    waf_rate_limit: int
    """Requests per client IP per 5 minutes before WAF blocks that IP."""
    waf_log_retention_days: int
    """Retention of the WAF log groups."""
    access_log_expiration_days: int
    """Days ALB access logs are kept in their bucket."""
    health_check: HealthCheckConfig
    deregistration_delay_seconds: int
    """Seconds the ALB drains a stopping API task; the task's stop timeout should match."""
    ingress: str
    """Who may reach the ALB: `internet`, `cloudfront` (origin-facing ranges) or `cidrs`."""
    ingress_cidrs: tuple[str, ...]
    """IPv4 ranges admitted when `ingress` is `cidrs` (e.g. a proxy's published ranges)."""
    api_via_cdn: bool
    """Also serve the API through CloudFront at `https://<domain>/api/*`."""
    price_class: str
    """CloudFront price class: which edge locations serve the frontend."""
    dns_provider: str
    """`cloudflare` (records managed here) or `none` (records exported for a person to create)."""
    cloudflare_zone_id: str
    """The Cloudflare zone of `domain` (32 hex characters); only with `cloudflare`."""
    manage_zone_settings: bool
    """This stack owns the zone-wide settings (SSL strict, always HTTPS, min TLS 1.2)."""


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything that differs between stacks, validated."""

    stack: str
    """The Pulumi stack name (e.g. `staging`)."""
    environment: str
    """`staging` or `prod`; used in names and tags."""
    region: str
    """`aws:region` — the region of everything but the CloudFront certificate."""
    availability_zones: tuple[str, ...]
    """The zones the network spans (the first `network.az_count` zones of the region)."""
    domain: str
    """The product's apex domain (`example.com`); the API lives at `api.<domain>`."""
    account_id: str
    """AWS account the stack must deploy into (`webstack:accountId`); empty to allow any."""
    owner: str
    """Team that owns the stack, for the `owner` tag."""
    cost_center: str
    """Cost center, for the `cost-center` tag."""
    protect: bool
    """Pulumi `protect` on stateful resources (database, cache, data buckets, KMS keys)."""
    network: NetworkConfig
    api: ApiConfig
    worker: WorkerConfig
    alarms: AlarmsConfig
    secrets: SecretsConfig
    database: DatabaseConfig
    cache: CacheConfig
    cost_assumptions: CostAssumptions = field(default_factory=CostAssumptions)
    """Traffic assumptions for the offline cost estimate; the program itself ignores them."""
    edge: EdgeConfig
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags applied by the AWS provider to every taggable resource."""

    @property
    def name_prefix(self) -> str:
        """`webstack-<environment>`: the prefix of physical names."""
        return f"{PROJECT}-{self.environment}"

    @property
    def api_hostname(self) -> str:
        """`api.<domain>`: where the ALB answers (and CloudFront's API origin)."""
        return f"api.{self.domain}"


def _valid_hostname(name: str) -> bool:
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_HOSTNAME_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


def _read_network(section: Section, region_azs: Sequence[str]) -> NetworkConfig:
    cidr = section.get_str("cidr")
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError as exc:
        if cidr:
            section.error(
                "cidr", f"must be an IPv4 network such as 10.20.0.0/16, got {cidr!r} ({exc})"
            )
    else:
        if not isinstance(net, ipaddress.IPv4Network) or not any(
            net.subnet_of(r) for r in _PRIVATE_RANGES
        ):
            section.error("cidr", f"must be a private RFC 1918 IPv4 range, got {cidr!r}")
        elif not 16 <= net.prefixlen <= 24:
            section.error("cidr", f"prefix must be between /16 and /24, got /{net.prefixlen}")
    az_count = section.get_int("azCount", min=2, max=MAX_AZS)
    if region_azs and az_count > len(region_azs):
        section.error(
            "azCount", f"the region has only {len(region_azs)} available zones, got {az_count}"
        )
    nat = section.get_str("natStrategy", choices=NAT_STRATEGIES)
    endpoints = section.get_bool("interfaceEndpoints", False)
    if nat == "none" and not endpoints:
        section.error(
            "natStrategy",
            "'none' needs interfaceEndpoints: true, or tasks cannot reach ECR, logs or secrets",
        )
    retention = _get_log_retention(section, "flowLogRetentionDays", 90)
    section.finish()
    return NetworkConfig(
        cidr=cidr,
        az_count=az_count,
        nat_strategy=nat,
        interface_endpoints=endpoints,
        flow_log_retention_days=retention,
    )


def _read_task_size(section: Section, cpu_default: Any, memory_default: Any) -> tuple[int, int]:
    cpu = section.get_int("cpu", cpu_default)
    memory = section.get_int("memory", memory_default)
    if cpu not in FARGATE_SIZES:
        section.error("cpu", f"must be a Fargate size ({', '.join(map(str, FARGATE_SIZES))})")
    elif memory not in FARGATE_SIZES[cpu]:
        accepted = FARGATE_SIZES[cpu]
        section.error(
            "memory",
            f"Fargate does not accept {memory} MiB with cpu {cpu}; "
            f"it takes {accepted[0]} to {accepted[-1]} in steps of "
            f"{accepted[1] - accepted[0]} (AWS's Fargate task size table)",
        )
    return cpu, memory


def _read_environment(section: Section) -> dict[str, str]:
    env = section.get_str_map("environment", {})
    for name in env:
        if looks_secret(name):
            section.error(
                f"environment.{name}",
                "looks like a secret; plain environment is visible in the task definition, "
                "so add it to the Secrets component and inject it through valueFrom",
            )
        elif not _ENV_NAME.match(name):
            section.error(f"environment.{name}", "must be an UPPER_SNAKE_CASE variable name")
        elif name in MANAGED_ENV_NAMES:
            section.error(f"environment.{name}", "is set by the ApiService; remove it here")
    return env


def _read_api(section: Section) -> ApiConfig:
    # Optional: the first `pulumi up` creates the repository the first image is pushed to.
    image_tag = section.get_str("imageTag", "") or None
    if image_tag and not _IMAGE_TAG.match(image_tag):
        section.error("imageTag", f"must be a valid image tag, got {image_tag!r}")
    elif image_tag == "latest":
        section.error("imageTag", "must name a release; 'latest' cannot be rolled back to")
    cpu, memory = _read_task_size(section, _MISSING, _MISSING)
    min_capacity = section.get_int("minCapacity", min=1)
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
    retention = _get_log_retention(section, "logRetentionDays", 90)
    min_pool = section.get_int("dbMinPoolSize", 0, min=0, max=100)
    max_pool = section.get_int("dbMaxPoolSize", 10, min=2, max=100)
    if max_pool < min_pool:
        section.error("dbMaxPoolSize", f"must be >= dbMinPoolSize ({min_pool}), got {max_pool}")
    api = ApiConfig(
        image_tag=image_tag,
        cpu=cpu,
        memory=memory,
        cpu_architecture=section.get_str("cpuArchitecture", "X86_64", choices=CPU_ARCHITECTURES),
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
    )
    section.finish()
    return api


def _read_worker(section: Section) -> WorkerConfig:
    command = section.get_str_list("command", ())
    if not command:
        section.error(
            "command", "is required: the worker's command as a list, e.g. [npm, run, worker]"
        )
    cpu, memory = _read_task_size(section, 256, 512)
    desired = section.get_int("desiredCount", 1, min=1)
    max_capacity = section.get_int("maxCapacity", desired, min=1)
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


_HTTPS_ENDPOINTS = ("criticalHttpsEndpoint", "warningHttpsEndpoint")


def _read_alarms(section: Section, secret: bool) -> AlarmsConfig:
    """`webstack:alarms`; `secret` says whether the key holds `secure:` values."""
    emails = {}
    for key in ("criticalEmails", "warningEmails"):
        emails[key] = section.get_str_list(key, [])
        for address in emails[key]:
            if not _EMAIL.match(address):
                section.error(key, f"must be email addresses, got {address!r}")
    endpoints: dict[str, pulumi.Output[str] | None] = {}
    for key in _HTTPS_ENDPOINTS:
        url = section.get_str(key, "")
        endpoints[key] = None
        if not url:
            continue
        # The URL carries the integration's token: never echo it in a message.
        if not secret:
            section.error(
                key,
                "carries a token, so it must be a secret: "
                f"pulumi config set --secret --path alarms.{key} <url>",
            )
        elif not url.startswith("https://") or " " in url:
            section.error(key, "must be an https:// URL (value not shown: it is a secret)")
        else:
            endpoints[key] = pulumi.Output.secret(url)
    if not emails["criticalEmails"] and endpoints["criticalHttpsEndpoint"] is None:
        section.error(
            "criticalEmails",
            "the critical topic needs a subscriber: list an address or set criticalHttpsEndpoint",
        )

    d = AlarmThresholds()

    def percent(key: str, default: float) -> float:
        return section.get_number(key, default, above=0, max=100)

    def positive(key: str, default: float) -> float:
        return section.get_number(key, default, above=0)

    thresholds = AlarmThresholds(
        api_latency_p95_warning_seconds=positive(
            "apiLatencyP95WarningSeconds", d.api_latency_p95_warning_seconds
        ),
        api_latency_p95_critical_seconds=positive(
            "apiLatencyP95CriticalSeconds", d.api_latency_p95_critical_seconds
        ),
        api_5xx_rate_percent=percent("api5xxRatePercent", d.api_5xx_rate_percent),
        api_5xx_min_requests=section.get_int("api5xxMinRequests", d.api_5xx_min_requests, min=1),
        ecs_cpu_percent=percent("ecsCpuPercent", d.ecs_cpu_percent),
        ecs_memory_percent=percent("ecsMemoryPercent", d.ecs_memory_percent),
        db_cpu_percent=percent("dbCpuPercent", d.db_cpu_percent),
        db_free_storage_percent=percent("dbFreeStoragePercent", d.db_free_storage_percent),
        db_connections_percent=percent("dbConnectionsPercent", d.db_connections_percent),
        db_replica_lag_seconds=positive("dbReplicaLagSeconds", d.db_replica_lag_seconds),
        db_free_memory_mb=section.get_int("dbFreeMemoryMb", d.db_free_memory_mb, min=1),
        cache_evictions=section.get_int("cacheEvictions", d.cache_evictions, min=0),
        cache_cpu_percent=percent("cacheCpuPercent", d.cache_cpu_percent),
        cache_memory_percent=percent("cacheMemoryPercent", d.cache_memory_percent),
        cdn_5xx_rate_percent=percent("cdn5xxRatePercent", d.cdn_5xx_rate_percent),
        scheduler_failures=section.get_int("schedulerFailures", d.scheduler_failures, min=1),
    )
    if thresholds.api_latency_p95_critical_seconds <= thresholds.api_latency_p95_warning_seconds:
        section.error(
            "apiLatencyP95CriticalSeconds",
            "must be above apiLatencyP95WarningSeconds "
            f"({thresholds.api_latency_p95_warning_seconds:g}), "
            f"got {thresholds.api_latency_p95_critical_seconds:g}",
        )
    pattern = section.get_str("schedulerFailurePattern", DEFAULT_SCHEDULER_FAILURE_PATTERN)
    if not pattern.strip():
        section.error("schedulerFailurePattern", "must not be empty (it would match every line)")
    elif len(pattern) > 1024:
        section.error("schedulerFailurePattern", f"must be <= 1024 characters, got {len(pattern)}")
    budget = section.get_number("monthlyBudgetUsd", above=0)
    section.finish()
    return AlarmsConfig(
        critical_emails=emails["criticalEmails"],
        warning_emails=emails["warningEmails"],
        critical_https_endpoint=endpoints["criticalHttpsEndpoint"],
        warning_https_endpoint=endpoints["warningHttpsEndpoint"],
        thresholds=thresholds,
        scheduler_failure_pattern=pattern,
        monthly_budget_usd=budget,
    )


def _get_log_retention(section: Section, name: str, default: int) -> int:
    days = section.get_int(name, default)
    if days not in LOG_RETENTION_DAYS:
        section.error(
            name,
            f"must be one of CloudWatch's values ({', '.join(map(str, LOG_RETENTION_DAYS))}), "
            f"got {days}",
        )
    return days


def _read_secrets(section: Section, external: Mapping[str, pulumi.Output[str]]) -> SecretsConfig:
    recovery = section.get_int("recoveryWindowDays", 30, min=7, max=30)
    kms_window = section.get_int("kmsDeletionWindowDays", 30, min=7, max=30)
    section.finish()
    return SecretsConfig(
        recovery_window_days=recovery, kms_deletion_window_days=kms_window, external=external
    )


def _read_external_secrets(
    top: Section, secret_keys: Collection[str]
) -> dict[str, pulumi.Output[str]]:
    """`externalSecrets`: names checked as env var names, values kept only as secret Outputs."""
    key = "externalSecrets"
    values = top.get_secret_map(key)
    if values and key not in secret_keys:
        top.error(
            key,
            "holds plain text; set each value with "
            f"`pulumi config set --secret --path {key}.NAME` so the stack file stores it encrypted",
        )
        return {}
    for env in values:
        path = f"{key}.{env}"
        if not _ENV_NAME.match(env):
            top.error(path, "must be an env var name: A-Z, 0-9 and _, starting with a letter")
        elif env in GENERATED_SECRET_NAMES:
            top.error(path, f"collides with a secret the stack generates ({env})")
        elif env.startswith(_RESERVED_ENV_PREFIXES):
            top.error(path, f"prefixes {', '.join(_RESERVED_ENV_PREFIXES)} belong to the runtime")
        if len(values[env].encode()) > SECRETS_MANAGER_MAX_BYTES:
            top.error(path, f"is longer than Secrets Manager's {SECRETS_MANAGER_MAX_BYTES} bytes")
    return {env: pulumi.Output.secret(value) for env, value in values.items()}


def _read_database(section: Section, environment: str) -> DatabaseConfig:
    version = section.get_str("engineVersion")
    if version:
        major = version.split(".")[0]
        if not re.fullmatch(r"\d+(\.\d+)?", version) or int(major) not in POSTGRES_MAJORS:
            section.error(
                "engineVersion",
                f"must be a supported PostgreSQL major ({', '.join(map(str, POSTGRES_MAJORS))}) "
                f"or major.minor, got {version!r}",
            )
            version = ""
    instance_class = section.get_str("instanceClass")
    if instance_class and instance_class not in INSTANCE_CLASS_MEMORY_GIB:
        section.error(
            "instanceClass",
            f"unknown RDS instance class {instance_class!r} (its memory sizes max_connections); "
            "known: db.{t3,t4g,m5,m6g,m6i,m7g,m7i,r5,r6g,r6i,r7g,r7i}.<size>",
        )
    storage = section.get_int("allocatedStorageGb", min=20, max=65536)
    max_storage = section.get_int("maxAllocatedStorageGb", max=65536)
    # RDS storage autoscaling needs the ceiling at least 10% above the allocation.
    if max_storage < -(-storage * 11 // 10):
        section.error(
            "maxAllocatedStorageGb",
            f"must be at least 10% above allocatedStorageGb ({storage}), got {max_storage}",
        )
    multi_az = section.get_bool("multiAz")
    if environment == "prod" and not multi_az:
        section.error("multiAz", "must be true in prod (a standby in another AZ)")
    retention = section.get_int("backupRetentionDays", min=1, max=35)
    if environment == "prod" and retention < PROD_MIN_BACKUP_RETENTION_DAYS:
        section.error(
            "backupRetentionDays",
            f"must be >= {PROD_MIN_BACKUP_RETENTION_DAYS} in prod, got {retention}",
        )
    insights = section.get_int("performanceInsightsRetentionDays", 7)
    if insights != 7 and not (insights % 31 == 0 and 31 <= insights <= 731):
        section.error(
            "performanceInsightsRetentionDays",
            f"must be 7 or a multiple of 31 up to 731, got {insights}",
        )
    interval = section.get_int("monitoringIntervalSeconds", 60)
    if interval not in (1, 5, 10, 15, 30, 60):
        section.error(
            "monitoringIntervalSeconds", f"must be one of 1, 5, 10, 15, 30, 60, got {interval}"
        )
    replicas = section.get_int("readReplicas", 0, min=0, max=5)
    logs = _get_log_retention(section, "logRetentionDays", 90)
    apply_immediately = section.get_bool("applyImmediately", False)
    ca_bundle_path = section.get_str("caBundlePath", DEFAULT_CA_BUNDLE_PATH)
    # It goes into DATABASE_URL's query string as is: a plain absolute path, nothing to escape.
    if not _CA_BUNDLE_PATH.fullmatch(ca_bundle_path):
        section.error(
            "caBundlePath",
            "must be an absolute path of letters, digits and . _ - / "
            f"(e.g. {DEFAULT_CA_BUNDLE_PATH}), got {ca_bundle_path!r}",
        )
    section.finish()
    return DatabaseConfig(
        engine_version=version,
        instance_class=instance_class,
        allocated_storage_gb=storage,
        max_allocated_storage_gb=max_storage,
        multi_az=multi_az,
        backup_retention_days=retention,
        performance_insights_retention_days=insights,
        monitoring_interval_seconds=interval,
        read_replicas=replicas,
        log_retention_days=logs,
        apply_immediately=apply_immediately,
        ca_bundle_path=ca_bundle_path,
    )


def _read_cache(section: Section, environment: str) -> CacheConfig:
    engine = section.get_str("engine", choices=tuple(CACHE_PARAMETER_FAMILIES))
    version = section.get_str("engineVersion")
    versions = CACHE_PARAMETER_FAMILIES.get(engine, {})
    if engine in CACHE_PARAMETER_FAMILIES and version and version not in versions:
        section.error(
            "engineVersion", f"{engine} versions known: {', '.join(versions)}, got {version!r}"
        )
    node_type = section.get_str("nodeType")
    if node_type and not re.fullmatch(r"cache\.[a-z0-9]+\.[a-z0-9]+", node_type):
        section.error(
            "nodeType", f"must be an ElastiCache node type like cache.r6g.large, got {node_type!r}"
        )
    nodes = section.get_int("nodes", min=1, max=6)
    if environment == "prod" and nodes < 2:
        section.error(
            "nodes", f"must be >= 2 in prod (automatic failover needs a replica), got {nodes}"
        )
    policy = section.get_str("maxmemoryPolicy", choices=MAXMEMORY_POLICIES)
    snapshots = section.get_int("snapshotRetentionDays", min=1, max=35)
    logs = _get_log_retention(section, "logRetentionDays", 90)
    apply_immediately = section.get_bool("applyImmediately", False)
    section.finish()
    return CacheConfig(
        engine=engine,
        engine_version=version,
        node_type=node_type,
        nodes=nodes,
        maxmemory_policy=policy,
        snapshot_retention_days=snapshots,
        log_retention_days=logs,
        apply_immediately=apply_immediately,
    )


# camelCase config key -> CostAssumptions field, in the order the README lists them.
_COST_KEYS = {
    "apiRequestsPerMonth": "api_requests_per_month",
    "apiGbPerMonth": "api_gb_per_month",
    "cdnRequestsPerMonth": "cdn_requests_per_month",
    "cdnGbOutPerMonth": "cdn_gb_out_per_month",
    "s3StorageGb": "s3_storage_gb",
    "ecrStorageGb": "ecr_storage_gb",
    "s3RequestsPerMonth": "s3_requests_per_month",
    "natGbPerMonth": "nat_gb_per_month",
    "endpointGbPerMonth": "endpoint_gb_per_month",
    "logGbPerMonth": "log_gb_per_month",
    "secretApiCallsPerMonth": "secret_api_calls_per_month",
    "kmsRequestsPerMonth": "kms_requests_per_month",
    "averageScaledTasks": "average_scaled_tasks",
}


def _read_cost_assumptions(section: Section) -> CostAssumptions:
    defaults = CostAssumptions()
    values = {
        field_name: section.get_number(key, getattr(defaults, field_name), min=0)
        for key, field_name in _COST_KEYS.items()
    }
    values["db_daily_change_percent"] = section.get_number(
        "dbDailyChangePercent", defaults.db_daily_change_percent, min=0, max=100
    )
    section.finish()
    return CostAssumptions(**values)


_LOCALHOSTS = ("localhost", "127.0.0.1")


def _origin_problem(origin: str, *, localhost_allowed: bool) -> str | None:
    """Why `origin` is not an acceptable CORS origin, or None when it is."""
    if "*" in origin:
        return f"wildcards are never allowed, got {origin!r}"
    match = re.fullmatch(r"(?P<scheme>[a-z]+)://(?P<host>[^:/?#]+)(?::(?P<port>\d{1,5}))?", origin)
    if not match:
        return (
            f"must be an origin like https://app.example.com (scheme, host and optional port; "
            f"no path, query or trailing slash), got {origin!r}"
        )
    scheme, host, port = match["scheme"], match["host"], match["port"]
    if port is not None and not 1 <= int(port) <= 65535:
        return f"port must be 1..65535, got {origin!r}"
    if host in _LOCALHOSTS:
        if not localhost_allowed:
            return (
                f"localhost origins need allowLocalhostOrigins: true (staging only), got {origin!r}"
            )
        return None if scheme in ("http", "https") else f"must be http(s), got {origin!r}"
    if scheme != "https":
        return (
            f"must use https:// (browsers send credentials in the clear otherwise), got {origin!r}"
        )
    if not _valid_hostname(host):
        return f"host must be a lowercase DNS hostname, got {origin!r}"
    return None


def _read_health_check(section: Section) -> HealthCheckConfig:
    path = section.get_str("path", "/api/ready")
    if not re.fullmatch(r"/[A-Za-z0-9._~/-]{0,1023}", path):
        section.error("path", f"must be an absolute URL path such as /api/ready, got {path!r}")
    interval = section.get_int("intervalSeconds", 30, min=5, max=300)
    timeout = section.get_int("timeoutSeconds", 5, min=2, max=120)
    if timeout >= interval:
        section.error(
            "timeoutSeconds", f"must be shorter than intervalSeconds ({interval}), got {timeout}"
        )
    healthy = section.get_int("healthyThreshold", 2, min=2, max=10)
    unhealthy = section.get_int("unhealthyThreshold", 2, min=2, max=10)
    section.finish()
    return HealthCheckConfig(
        path=path,
        interval_seconds=interval,
        timeout_seconds=timeout,
        healthy_threshold=healthy,
        unhealthy_threshold=unhealthy,
    )


def _read_edge(section: Section, environment: str) -> EdgeConfig:
    allow_localhost = section.get_bool("allowLocalhostOrigins", False)
    if allow_localhost and environment != "staging":
        section.error(
            "allowLocalhostOrigins",
            f"localhost origins are for staging only, not {environment!r}",
        )
    origins = section.get_str_list("allowedOrigins")
    if not origins:
        # The frontend calls the API on another host: with no origin, browsers cannot.
        section.error("allowedOrigins", "must list at least one origin (the frontend's)")
    for origin in origins:
        problem = _origin_problem(origin, localhost_allowed=allow_localhost)
        if problem:
            section.error("allowedOrigins", problem)
    duplicates = sorted({o for o in origins if origins.count(o) > 1})
    if duplicates:
        section.error("allowedOrigins", f"lists {', '.join(duplicates)} more than once")

    csp = section.get_str("contentSecurityPolicy", DEFAULT_CSP).strip()
    if not csp or not csp.isprintable() or not csp.isascii():
        section.error("contentSecurityPolicy", "must be a non-empty single line of ASCII text")
    elif len(csp) > MAX_CSP_LENGTH:
        section.error(
            "contentSecurityPolicy",
            f"CloudFront allows at most {MAX_CSP_LENGTH} characters, got {len(csp)}",
        )
    hsts_preload = section.get_bool("hstsPreload", False)

    rate_limit = section.get_int("wafRateLimit", 2000, min=10, max=2_000_000_000)
    waf_retention = _get_log_retention(section, "wafLogRetentionDays", 90)
    log_expiration = section.get_int("accessLogExpirationDays", 90, min=1, max=3650)
    health = _read_health_check(section.section("healthCheck"))
    deregistration = section.get_int("deregistrationDelaySeconds", 30, min=0, max=3600)

    ingress = section.get_str("ingress", "internet", choices=INGRESS_MODES)
    cidrs = section.get_str_list("ingressCidrs", [])
    if ingress == "cidrs" and not cidrs:
        section.error("ingressCidrs", "ingress 'cidrs' needs at least one range")
    if ingress != "cidrs" and cidrs:
        section.error("ingressCidrs", f"is only used with ingress 'cidrs', not {ingress!r}")
    if len(cidrs) > MAX_INGRESS_CIDRS:
        section.error(
            "ingressCidrs", f"at most {MAX_INGRESS_CIDRS} ranges fit the ALB's security group"
        )
    for cidr in cidrs:
        try:
            net = ipaddress.IPv4Network(cidr)
        except ValueError:
            section.error(
                "ingressCidrs", f"must be IPv4 networks (the ALB is IPv4-only), got {cidr!r}"
            )
            continue
        if net.prefixlen == 0:
            section.error("ingressCidrs", "0.0.0.0/0 is not a restriction: use ingress 'internet'")
    api_via_cdn = section.get_bool("apiViaCdn", False)
    if ingress == "cloudfront" and not api_via_cdn:
        section.error("ingress", "'cloudfront' admits only CloudFront, so it needs apiViaCdn: true")
    price_class = section.get_str("priceClass", "PriceClass_100", choices=PRICE_CLASSES)

    dns_provider = section.get_str("dnsProvider", choices=DNS_PROVIDERS)
    zone_id = section.get_str("cloudflareZoneId", "")
    manage_zone = section.get_bool("manageZoneSettings", False)
    if dns_provider == "cloudflare" and not re.fullmatch(r"[0-9a-f]{32}", zone_id):
        section.error(
            "cloudflareZoneId",
            f"dnsProvider 'cloudflare' needs the zone id (32 hex characters), got {zone_id!r}",
        )
    if dns_provider == "none":
        for key, value in (("cloudflareZoneId", zone_id), ("manageZoneSettings", manage_zone)):
            if value:
                section.error(key, "is only used with dnsProvider 'cloudflare'")
    section.finish()
    return EdgeConfig(
        allowed_origins=origins,
        allow_localhost_origins=allow_localhost,
        content_security_policy=csp,
        hsts_preload=hsts_preload,
        waf_rate_limit=rate_limit,
        waf_log_retention_days=waf_retention,
        access_log_expiration_days=log_expiration,
        health_check=health,
        deregistration_delay_seconds=deregistration,
        ingress=ingress,
        ingress_cidrs=cidrs,
        api_via_cdn=api_via_cdn,
        price_class=price_class,
        dns_provider=dns_provider,
        cloudflare_zone_id=zone_id,
        manage_zone_settings=manage_zone,
    )


# ---------------------------------------------------------------------------------------------
# Loading


def _parse_value(raw: str) -> Any:
    """Objects and lists arrive as JSON; scalars stay strings (`Section` converts them)."""
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def read_raw_config(namespace: str = PROJECT) -> dict[str, Any]:
    """Every `<namespace>:*` key of the running stack, objects decoded from JSON."""
    prefix = f"{namespace}:"
    # The engine hands config to the program through set_all_config (CONFIG) and, in some
    # hosts, the PULUMI_CONFIG environment; pulumi.Config can read but not list keys.
    everything = {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}
    return {
        key[len(prefix) :]: _parse_value(value)
        for key, value in everything.items()
        if key.startswith(prefix)
    }


def _check_pool_budget(
    problems: _Problems, api: ApiConfig, worker: WorkerConfig, database: DatabaseConfig
) -> None:
    """Every API and worker task at full scale must get a usable pool from the database."""
    known_class = database.instance_class in INSTANCE_CLASS_MEMORY_GIB
    if not known_class or min(api.max_capacity, worker.max_capacity) < 1:
        return  # already reported
    try:
        db_max_pool_size(
            db_max_connections=max_connections(database.instance_class),
            api_max_tasks=api.max_capacity,
            worker_max_tasks=worker.max_capacity,
            min_pool_size=api.db_min_pool_size,
            max_pool_size=api.db_max_pool_size,
        )
    except PoolBudgetError as error:
        problems.add(
            "webstack:api.maxCapacity",
            f"{error}; max_connections follows webstack:database.instanceClass "
            f"({database.instance_class}): lower the capacities or choose a larger class",
        )


def parse_stack_config(
    stack: str,
    raw: Mapping[str, Any],
    region: str | None,
    region_azs: Callable[[str], Sequence[str]],
    secret_keys: Collection[str] = (),
) -> StackConfig:
    """Validate raw `webstack:*` values; raise one ConfigError with all problems.

    `secret_keys` names the keys (without `webstack:`) that hold `secure:` values.
    """
    problems = _Problems(stack)
    if not region:
        problems.add("aws:region", "is required")
    top = Section(problems, PROJECT, raw, separator=":", scalars_are_strings=True)

    environment = top.get_str("environment", choices=ENVIRONMENTS)
    domain = top.get_str("domain").lower().rstrip(".")
    if domain and not _valid_hostname(domain):
        top.error("domain", f"must be a valid DNS hostname such as example.com, got {domain!r}")
    owner = top.get_str("owner")
    cost_center = top.get_str("costCenter")
    protect = top.get_bool("protect", False)
    account_id = top.get_str("accountId", "")
    if account_id and not re.fullmatch(r"\d{12}", account_id):
        top.error("accountId", f"must be a 12-digit AWS account id, got {account_id!r}")

    azs: Sequence[str] = region_azs(region) if region else ()
    network = _read_network(top.section("network"), azs)
    api = _read_api(top.section("api"))
    worker = _read_worker(top.section("worker"))
    alarms = _read_alarms(top.section("alarms"), "alarms" in secret_keys)
    secrets = _read_secrets(top.section("secrets"), _read_external_secrets(top, secret_keys))
    database = _read_database(top.section("database"), environment)
    cache = _read_cache(top.section("cache"), environment)
    cost_assumptions = _read_cost_assumptions(top.section("costAssumptions"))
    edge = _read_edge(top.section("edge"), environment)
    top.finish()
    _check_pool_budget(problems, api, worker, database)
    problems.raise_if_any()

    tags = {
        "project": PROJECT,
        "environment": environment,
        "managed-by": "pulumi",
        "owner": owner,
        "cost-center": cost_center,
        "pulumi-stack": stack,
    }
    return StackConfig(
        stack=stack,
        environment=environment,
        region=region or "",
        availability_zones=tuple(azs[: network.az_count]),
        domain=domain,
        account_id=account_id,
        owner=owner,
        cost_center=cost_center,
        protect=protect,
        network=network,
        api=api,
        worker=worker,
        alarms=alarms,
        secrets=secrets,
        database=database,
        cache=cache,
        cost_assumptions=cost_assumptions,
        edge=edge,
        tags=tags,
    )


def load_stack_config(region_azs: Callable[[str], Sequence[str]]) -> StackConfig:
    """Read the running stack's config; `region_azs(region)` lists the region's zones."""
    raw = read_raw_config()
    return parse_stack_config(
        pulumi.get_stack(),
        raw,
        pulumi.Config("aws").get("region"),
        region_azs,
        secret_keys={k for k in raw if pulumi.runtime.is_config_secret(f"{PROJECT}:{k}")},
    )
