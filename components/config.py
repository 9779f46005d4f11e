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
INGRESS_MODES = ("internet", "cloudfront", "cidrs")
DNS_PROVIDERS = ("cloudflare", "none")
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")
# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (
    1,
    3,
    5,
    7,
    14,
    30,
    60,
    90,
    120,
    150,
    180,
    365,
    400,
    545,
    731,
    1096,
    1827,
    2192,
    2557,
    2922,
    3288,
    3653,
)
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
    retention = section.get_int("flowLogRetentionDays", 90, min=1)
    section.finish()
    return NetworkConfig(
        cidr=cidr,
        az_count=az_count,
        nat_strategy=nat,
        interface_endpoints=endpoints,
        flow_log_retention_days=retention,
    )


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
    origins = section.get_str_list("allowedOrigins", [])
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
    waf_retention = section.get_int("wafLogRetentionDays", 90)
    if waf_retention not in LOG_RETENTION_DAYS:
        section.error(
            "wafLogRetentionDays",
            f"must be one of CloudWatch's periods {LOG_RETENTION_DAYS}, got {waf_retention}",
        )
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
    edge = _read_edge(top.section("edge"), environment)
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
        edge=edge,
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
