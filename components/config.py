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

PROJECT = "webstack"
ENVIRONMENTS = ("staging", "prod")
NAT_STRATEGIES = ("single", "per_az", "none")
MAX_AZS = 4  # the subnet plan (network.subnet_plan) reserves four slots per tier

_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)
_MISSING: Any = object()


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

    def get_number(
        self,
        name: str,
        default: Any = _MISSING,
        *,
        min: float | None = None,
        max: float | None = None,
    ) -> float:
        """An int or a float (YAML writes `2` and `2.5` differently; both are numbers here)."""
        value = self._raw(name, default)
        if value is _MISSING:
            return min or 0.0
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            self.error(name, f"must be a number, got {type(value).__name__} {value!r}")
            return 0.0 if default is _MISSING else float(default)
        if min is not None and value < min:
            self.error(name, f"must be >= {min:g}, got {value:g}")
        if max is not None and value > max:
            self.error(name, f"must be <= {max:g}, got {value:g}")
        return float(value)

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
    cost_assumptions: CostAssumptions = field(default_factory=CostAssumptions)
    """Traffic assumptions for the offline cost estimate; the program itself ignores them."""
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


# camelCase config key -> CostAssumptions field, in the order the README lists them.
_COST_KEYS = {
    "apiRequestsPerMonth": "api_requests_per_month",
    "apiGbPerMonth": "api_gb_per_month",
    "cdnRequestsPerMonth": "cdn_requests_per_month",
    "cdnGbOutPerMonth": "cdn_gb_out_per_month",
    "s3StorageGb": "s3_storage_gb",
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
) -> StackConfig:
    """Validate raw `webstack:*` values; raise one ConfigError with all problems."""
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
    cost_assumptions = _read_cost_assumptions(top.section("costAssumptions"))
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
        cost_assumptions=cost_assumptions,
        tags=tags,
    )


def load_stack_config(region_azs: Callable[[str], Sequence[str]]) -> StackConfig:
    """Read the running stack's config; `region_azs(region)` lists the region's zones."""
    return parse_stack_config(
        pulumi.get_stack(),
        read_raw_config(),
        pulumi.Config("aws").get("region"),
        region_azs,
    )
