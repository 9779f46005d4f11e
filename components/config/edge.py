"""`webstack:edge`: load balancer, CDN, WAF, DNS and the one CORS allow-list."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from components.aws_facts import MAX_CSP_LENGTH, PRICE_CLASSES
from components.config.reader import Section, get_log_retention, valid_hostname

INGRESS_MODES = ("internet", "cloudfront", "cidrs")
DNS_PROVIDERS = ("cloudflare", "none")
# Each allowed range becomes two ingress rules (80 and 443) in a group capped at 60 per family.
MAX_INGRESS_CIDRS = 25
# The largest API body limit the WAF rule can state: it matches Content-Length values above the
# limit with a regular expression, and WAF takes at most 512 characters of one.
MAX_API_BODY_BYTES = 2**30
DEFAULT_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'; upgrade-insecure-requests"
)


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
    """Add `preload` to HSTS: prod only, a commitment for the whole registrable domain."""
    waf_rate_limit: int
    """Requests per client IP per 5 minutes before WAF blocks that IP."""
    waf_log_retention_days: int
    """Retention of the WAF log groups."""
    api_max_body_bytes: int
    """Largest request body the API accepts: larger ones get 413 from the WAF. AWS's Common rule
    set blocks bodies over 8 KB, so that rule only counts on the ACLs the API's requests pass.
    WAF sees only the first 8 KB of a body at the ALB (16 KB at CloudFront), so a larger body is
    judged by its Content-Length and a chunked one without it passes: the API's body parser
    must enforce the same limit."""
    access_log_expiration_days: int
    """Days the ALB's and CloudFront's access logs are kept in their buckets."""
    health_check: HealthCheckConfig
    deregistration_delay_seconds: int
    """Seconds the ALB drains a stopping API task; the task's stop timeout should match."""
    ingress: str
    """Who may reach the ALB: `internet`, `cloudfront` (origin-facing ranges) or `cidrs`."""
    ingress_cidrs: tuple[str, ...]
    """IPv4 ranges admitted when `ingress` is `cidrs` (e.g. a proxy's published ranges)."""
    api_via_cdn: bool
    """Also serve the API through CloudFront at `https://<domain>/api/*`."""
    cdn_waf: bool
    """A CLOUDFRONT-scope WAF web ACL (us-east-1) on the distribution: a per-viewer rate limit,
    AWS's IP reputation list, its anonymous IP list (counting only) and Known Bad Inputs rules,
    plus the API's rules with `apiViaCdn` (which needs it). $9 a month plus $0.60 per million
    requests and its logs (default: on in prod only, and whenever `apiViaCdn`)."""
    price_class: str
    """CloudFront price class: which edge locations serve the frontend."""
    dns_provider: str
    """`cloudflare` (records managed here) or `none` (records exported for a person to create)."""
    cloudflare_zone_id: str
    """The Cloudflare zone of `domain` (32 hex characters); only with `cloudflare`."""
    cloudflare_proxied: bool
    """Serve `api.<domain>`, `<domain>` and `www` through Cloudflare's proxy (orange cloud). Off
    (DNS-only): Cloudflare only answers DNS, traffic goes straight to the ALB and CloudFront and
    the zone's settings touch none of it. On: Cloudflare terminates TLS in front of them (SSL
    Full (strict) to their ACM certificates), the WAFs rate-limit per CF-Connecting-IP, and only
    Cloudflare may reach the ALB (`ingress: cidrs` with Cloudflare's published ranges)."""
    manage_zone_settings: bool
    """This stack owns the zone-wide settings that govern proxied traffic (SSL Full (strict),
    Always Use HTTPS, minimum TLS 1.2); only with `cloudflareProxied`."""

    @property
    def managed_zone_id(self) -> str | None:
        """The Cloudflare zone this stack writes its records to; None when a person creates
        them (`dnsProvider: none`)."""
        return self.cloudflare_zone_id if self.dns_provider == "cloudflare" else None


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
    if not valid_hostname(host):
        return f"host must be a lowercase DNS hostname, got {origin!r}"
    return None


def read_health_check(section: Section) -> HealthCheckConfig:
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


def _read_cdn_waf(section: Section, environment: str, *, api_via_cdn: bool) -> bool:
    cdn_waf = section.get_bool("cdnWaf", environment == "prod" or api_via_cdn)
    if api_via_cdn and not cdn_waf:
        section.error(
            "cdnWaf",
            "apiViaCdn rate-limits the API per viewer with the CDN's web ACL (the ALB's sees only "
            "CloudFront's servers and exempts them), so it needs cdnWaf: drop cdnWaf: false",
        )
    return cdn_waf


def _read_ingress(section: Section) -> tuple[str, tuple[str, ...], bool]:
    """`ingress`, `ingressCidrs` and `apiViaCdn`: who may reach the ALB, and whether CloudFront
    is one of them."""
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
    if ingress == "cidrs" and api_via_cdn:
        section.error(
            "apiViaCdn",
            "CloudFront's requests to the ALB come from CloudFront, which ingress 'cidrs' does not "
            "admit: use ingress 'cloudfront' with apiViaCdn (behind Cloudflare too)",
        )
    return ingress, cidrs, api_via_cdn


def read_edge(section: Section, environment: str) -> EdgeConfig:
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
    waf_retention = get_log_retention(section, "wafLogRetentionDays", 90)
    # Express's json() default is 100 KB; a megabyte leaves room for the larger payloads the 8 KB
    # managed rule broke, without inviting uploads (those belong in S3 with a presigned URL).
    api_max_body = section.get_int("apiMaxBodyBytes", 1024 * 1024, min=1, max=MAX_API_BODY_BYTES)
    log_expiration = section.get_int("accessLogExpirationDays", 90, min=1, max=3650)
    health = read_health_check(section.section("healthCheck"))
    deregistration = section.get_int("deregistrationDelaySeconds", 30, min=0, max=3600)

    ingress, cidrs, api_via_cdn = _read_ingress(section)
    cdn_waf = _read_cdn_waf(section, environment, api_via_cdn=api_via_cdn)
    price_class = section.get_str("priceClass", "PriceClass_100", choices=PRICE_CLASSES)

    dns_provider = section.get_str("dnsProvider", choices=DNS_PROVIDERS)
    zone_id = section.get_str("cloudflareZoneId", "")
    proxied = section.get_bool("cloudflareProxied", False)
    manage_zone = section.get_bool("manageZoneSettings", False)
    if dns_provider == "cloudflare" and not re.fullmatch(r"[0-9a-f]{32}", zone_id):
        section.error(
            "cloudflareZoneId",
            f"dnsProvider 'cloudflare' needs the zone id (32 hex characters), got {zone_id!r}",
        )
    if dns_provider == "none":
        for key, value in (
            ("cloudflareZoneId", zone_id),
            ("cloudflareProxied", proxied),
            ("manageZoneSettings", manage_zone),
        ):
            if value:
                section.error(key, "is only used with dnsProvider 'cloudflare'")
    elif manage_zone and not proxied:
        section.error(
            "manageZoneSettings",
            "the zone settings act only on proxied records, and with cloudflareProxied false "
            "every record is DNS-only: set cloudflareProxied: true or drop manageZoneSettings",
        )
    if proxied and ingress == "internet":
        section.error(
            "cloudflareProxied",
            "behind Cloudflare the WAF trusts CF-Connecting-IP, so only Cloudflare may reach the "
            "ALB: set ingress 'cidrs' with Cloudflare's published ranges (or 'cloudfront' with "
            "apiViaCdn)",
        )
    section.finish()
    return EdgeConfig(
        allowed_origins=origins,
        allow_localhost_origins=allow_localhost,
        content_security_policy=csp,
        hsts_preload=hsts_preload,
        waf_rate_limit=rate_limit,
        waf_log_retention_days=waf_retention,
        api_max_body_bytes=api_max_body,
        access_log_expiration_days=log_expiration,
        health_check=health,
        deregistration_delay_seconds=deregistration,
        ingress=ingress,
        ingress_cidrs=cidrs,
        api_via_cdn=api_via_cdn,
        cdn_waf=cdn_waf,
        price_class=price_class,
        dns_provider=dns_provider,
        cloudflare_zone_id=zone_id,
        cloudflare_proxied=proxied,
        manage_zone_settings=manage_zone,
    )
