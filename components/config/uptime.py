"""`webstack:uptime`: the external checks that tell whether users can reach the site and the API.

Route 53 health checkers in several regions request each URL every 30 seconds over HTTPS and
look for a string in the response; a check that fails `failureThreshold` times in a row from
most regions pages. What is checked (path, string), how soon it counts as down and from where
is configurable; the interval is not (30 s is the guides' figure; 10 s is a priced option).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from components.aws_facts import (
    ROUTE53_HEALTH_CHECK_REGIONS,
    ROUTE53_MAX_PATH_LENGTH,
    ROUTE53_MAX_SEARCH_STRING_LENGTH,
    ROUTE53_MIN_HEALTH_CHECK_REGIONS,
    ROUTE53_SEARCHED_BODY_BYTES,
)
from components.config.edge import EdgeConfig
from components.config.reader import Section

DEFAULT_REGIONS = ("us-east-1", "us-west-2", "eu-west-1")
# `/api/health` as the guides show it ({"status": "healthy", "database": "connected", ...})
# and as Express's res.json writes it, without spaces.
DEFAULT_API_SEARCH_STRING = '"status":"healthy"'
# Vite's built index.html loads the app with `<script type="module" crossorigin src=...>`: an
# S3 or CloudFront error page does not contain it.
DEFAULT_FRONTEND_SEARCH_STRING = '<script type="module"'
_PATH = re.compile(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*")


@dataclass(frozen=True, kw_only=True)
class UptimeCheckConfig:
    """One checked URL: the path on its host and the text its response must contain."""

    path: str
    """Path (and optional query) requested on the host."""
    search_string: str
    """Text the first 5,120 bytes of the response body must contain (case-sensitive); the
    response must also be 2xx or 3xx."""


@dataclass(frozen=True, kw_only=True)
class UptimeConfig:
    """`webstack:uptime`: the Route 53 health checks of the API and the site, and their alarms."""

    enabled: bool
    """Check the API and the site from outside (required in prod). A preview turns it off: nobody
    is paged for it, and its deploy workflow's smoke checks test it at every push."""
    regions: tuple[str, ...]
    """Route 53 health-checking regions that request each URL (at least 3)."""
    failure_threshold: int
    """Consecutive failed requests (30 s apart) before a checker calls the URL down; the alarm
    pages when most regions do."""
    api: UptimeCheckConfig
    """`https://api.<domain><path>` (through the CDN when only CloudFront may reach the ALB)."""
    frontend: UptimeCheckConfig
    """`https://<domain><path>`, the site as a browser first loads it."""


def _read_check(section: Section, path: str, search_string: str) -> UptimeCheckConfig:
    path = section.get_str("path", path)
    if not _PATH.fullmatch(path) or len(path) > ROUTE53_MAX_PATH_LENGTH:
        section.error(
            "path",
            f"must be an absolute URL path of at most {ROUTE53_MAX_PATH_LENGTH} characters "
            f"such as /api/health, got {path!r}",
        )
    text = section.get_str("searchString", search_string)
    if not text.strip() or len(text) > ROUTE53_MAX_SEARCH_STRING_LENGTH:
        section.error(
            "searchString",
            f"must be 1 to {ROUTE53_MAX_SEARCH_STRING_LENGTH} characters of text that the first "
            f"{ROUTE53_SEARCHED_BODY_BYTES:,} bytes of a healthy response contain, got {text!r}",
        )
    section.finish()
    return UptimeCheckConfig(path=path, search_string=text)


def read_uptime(section: Section, environment: str, edge: EdgeConfig) -> UptimeConfig:
    enabled = section.get_bool("enabled", True)
    if not enabled and environment == "prod":
        section.error(
            "enabled",
            "must stay true in prod: the uptime checks are what pages when users cannot reach "
            "the site or the API",
        )
    if not enabled:
        for key in ("regions", "failureThreshold", "api", "frontend"):
            if section.has(key):
                section.error(key, "is not used with enabled: false (no checks); remove it")
    direct_to_alb = edge.dns_provider == "cloudflare" and not edge.cloudflare_proxied
    if enabled and edge.ingress == "cidrs" and direct_to_alb:
        # Our DNS-only record sends the API's check straight to the ALB, whose group admits only
        # those ranges: it would page for as long as the stack stands. (With DNS kept elsewhere,
        # api.<domain> may well point at the proxy those ranges belong to.)
        section.error(
            "enabled",
            "Route 53's checkers cannot reach api.<domain>: its DNS-only record points at the "
            "ALB, and edge.ingress 'cidrs' admits only edge.ingressCidrs there; proxy the "
            "records (edge.cloudflareProxied) or turn the checks off outside prod",
        )
    regions = section.get_str_list("regions", list(DEFAULT_REGIONS))
    unknown = [r for r in regions if r not in ROUTE53_HEALTH_CHECK_REGIONS]
    if unknown:
        section.error(
            "regions",
            f"Route 53 checks only from {', '.join(ROUTE53_HEALTH_CHECK_REGIONS)}; "
            f"got {', '.join(unknown)}",
        )
    if len(set(regions)) < ROUTE53_MIN_HEALTH_CHECK_REGIONS:
        section.error(
            "regions",
            f"must name at least {ROUTE53_MIN_HEALTH_CHECK_REGIONS} different regions "
            f"(Route 53's minimum), got {len(set(regions))}",
        )
    duplicates = sorted({r for r in regions if regions.count(r) > 1})
    if duplicates:
        section.error("regions", f"lists {', '.join(duplicates)} more than once")
    failure_threshold = section.get_int("failureThreshold", 3, min=1, max=10)
    api = _read_check(section.section("api"), "/api/health", DEFAULT_API_SEARCH_STRING)
    frontend = _read_check(section.section("frontend"), "/", DEFAULT_FRONTEND_SEARCH_STRING)
    section.finish()
    return UptimeConfig(
        enabled=enabled,
        regions=regions,
        failure_threshold=failure_threshold,
        api=api,
        frontend=frontend,
    )
