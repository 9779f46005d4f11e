"""Typed, validated stack configuration.

`load_stack_config` reads every `webstack:*` key (and `aws:region`) once, validates all of it and
either returns a frozen `StackConfig` or raises one `ConfigError` listing *every* problem, each
naming the key and the stack. Nothing else in the program reads `pulumi.Config`.

Each section is a frozen dataclass with a `_read_<section>` function; a new section adds both
and one field on `StackConfig`.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.cache import CACHE_PARAMETER_FAMILIES, MAXMEMORY_POLICIES
from components.database import INSTANCE_CLASS_MEMORY_GIB, POSTGRES_MAJORS

PROJECT = "webstack"
ENVIRONMENTS = ("staging", "prod")
NAT_STRATEGIES = ("single", "per_az", "none")
MAX_AZS = 4  # the subnet plan (network.subnet_plan) reserves four slots per tier

_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_MISSING: Any = object()
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip
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
        if min is not None and value < min:
            self.error(name, f"must be >= {min}, got {value}")
        if max is not None and value > max:
            self.error(name, f"must be <= {max}, got {value}")
        return value

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

    @property
    def major_version(self) -> int:
        return int(self.engine_version.split(".")[0])


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
    secrets: SecretsConfig
    database: DatabaseConfig
    cache: CacheConfig
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags applied by the AWS provider to every taggable resource."""

    @property
    def name_prefix(self) -> str:
        """`webstack-<environment>`: the prefix of physical names."""
        return f"{PROJECT}-{self.environment}"


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
    retention = section.get_int("flowLogRetentionDays", 90, min=1)
    section.finish()
    return NetworkConfig(
        cidr=cidr,
        az_count=az_count,
        nat_strategy=nat,
        interface_endpoints=endpoints,
        flow_log_retention_days=retention,
    )


def _get_log_retention(section: Section, name: str, default: int) -> int:
    days = section.get_int(name, default)
    if days not in LOG_RETENTION_DAYS:
        section.error(
            name, f"must be a CloudWatch Logs retention ({LOG_RETENTION_DAYS}), got {days}"
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
    top: Section, is_secret: Callable[[str], bool]
) -> dict[str, pulumi.Output[str]]:
    """`externalSecrets`: names checked as env var names, values kept only as secret Outputs."""
    key = "externalSecrets"
    values = top.get_secret_map(key)
    if values and not is_secret(f"{PROJECT}:{key}"):
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
    section.finish()
    return CacheConfig(
        engine=engine,
        engine_version=version,
        node_type=node_type,
        nodes=nodes,
        maxmemory_policy=policy,
        snapshot_retention_days=snapshots,
        log_retention_days=logs,
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


def parse_stack_config(
    stack: str,
    raw: Mapping[str, Any],
    region: str | None,
    region_azs: Callable[[str], Sequence[str]],
    is_secret: Callable[[str], bool],
) -> StackConfig:
    """Validate raw `webstack:*` values; raise one ConfigError with all problems.

    `is_secret(key)` says whether the engine marked a key secret (`pulumi config set --secret`).
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
    secrets = _read_secrets(top.section("secrets"), _read_external_secrets(top, is_secret))
    database = _read_database(top.section("database"), environment)
    cache = _read_cache(top.section("cache"), environment)
    top.finish()
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
        secrets=secrets,
        database=database,
        cache=cache,
        tags=tags,
    )


def load_stack_config(region_azs: Callable[[str], Sequence[str]]) -> StackConfig:
    """Read the running stack's config; `region_azs(region)` lists the region's zones."""
    return parse_stack_config(
        pulumi.get_stack(),
        read_raw_config(),
        pulumi.Config("aws").get("region"),
        region_azs,
        pulumi.runtime.is_config_secret,
    )
