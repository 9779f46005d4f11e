"""Bad edge config: each key names itself and the stack.

Rejections are checked on the pure parser; the last test runs the whole program, to prove that
nothing is registered.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem, committed, parse, parse_problems, problems_of

ZONE = "023e105f4ecef8ad9ca31a8372d0c353"


def edge_problems(stack: str, **changes: Any) -> list[str]:
    return parse_problems(stack, edge=committed(stack, "edge", **changes))


@pytest.mark.parametrize(
    ("origin", "words"),
    [
        ("*", ("wildcards",)),
        ("https://*.example.com", ("wildcards",)),
        ("http://example.com", ("https://",)),
        ("https://example.com/", ("no path",)),
        ("https://example.com/app", ("no path",)),
        ("example.com", ("origin like",)),
        ("https://exa mple.com", ("hostname",)),
        ("https://Example.com", ("lowercase",)),
        ("https://example.com:70000", ("1..65535",)),
        ("ftp://example.com", ("https://",)),
        ("http://localhost:5173", ("allowLocalhostOrigins",)),
    ],
)
@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_bad_origins_are_rejected(stack: str, origin: str, words: tuple[str, ...]) -> None:
    problems = edge_problems(stack, allowedOrigins=[f"https://{stack}.example.com", origin])
    assert_problem(problems, "webstack:edge.allowedOrigins", stack, *words)


def test_no_origins_is_rejected() -> None:
    problems = edge_problems("staging", allowedOrigins=[])
    assert_problem(problems, "webstack:edge.allowedOrigins", "staging", "at least one origin")


def test_duplicate_origins() -> None:
    origins = ["https://example.com", "https://example.com"]
    problems = edge_problems("prod", allowedOrigins=origins)
    assert_problem(problems, "webstack:edge.allowedOrigins", "prod", "more than once")


def test_localhost_only_in_staging() -> None:
    problems = edge_problems(
        "prod", allowLocalhostOrigins=True, allowedOrigins=["http://localhost:5173"]
    )
    assert_problem(problems, "webstack:edge.allowLocalhostOrigins", "prod", "staging only")


def test_localhost_flag_does_not_open_other_http_origins() -> None:
    problems = edge_problems(
        "staging",
        allowLocalhostOrigins=True,
        allowedOrigins=["http://localhost:5173", "http://staging.example.com"],
    )
    assert_problem(problems, "webstack:edge.allowedOrigins", "staging", "https://")
    assert not any("localhost:5173" in p for p in problems)


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("contentSecurityPolicy", "", ("non-empty",)),
        ("contentSecurityPolicy", "default-src 'self';\nscript-src x", ("single line",)),
        ("contentSecurityPolicy", "default-src " + "a" * 1800, ("1783",)),
        ("wafRateLimit", 5, (">= 10",)),
        ("wafRateLimit", "many", ("must be a int",)),
        ("wafLogRetentionDays", 45, ("CloudWatch",)),
        ("accessLogExpirationDays", 0, (">= 1",)),
        ("deregistrationDelaySeconds", 4000, ("<= 3600",)),
        ("deregistrationDelaySeconds", -1, (">= 0",)),
        ("hstsPreload", "yes", ("must be a bool",)),
        ("apiViaCdn", "no", ("must be a bool",)),
        ("cdnWaf", "no", ("must be a bool",)),
        ("ingress", "vpn", ("internet, cloudfront, cidrs",)),
        ("priceClass", "PriceClass_1", ("PriceClass_100",)),
        ("dnsProvider", "route53", ("cloudflare, none",)),
        ("dnsProvider", None, ("required",)),
        ("cloudflareZoneId", "not-a-zone", ("32 hex",)),
        ("cloudflareZoneId", None, ("32 hex",)),
        ("allowedOrigins", "https://example.com", ("must be a list",)),
        ("manageZoneSetting", True, ("unknown key",)),
    ],
)
def test_bad_edge_values(key: str, value: Any, words: tuple[str, ...]) -> None:
    problems = edge_problems("prod", **{key: value})
    assert_problem(problems, f"webstack:edge.{key}", "prod", *words)


@pytest.mark.parametrize(
    ("health", "key", "words"),
    [
        ({"path": "api/ready"}, "path", ("absolute",)),
        ({"path": "/api/re ady"}, "path", ("absolute",)),
        ({"intervalSeconds": 2}, "intervalSeconds", (">= 5",)),
        ({"intervalSeconds": 10, "timeoutSeconds": 10}, "timeoutSeconds", ("shorter",)),
        ({"healthyThreshold": 1}, "healthyThreshold", (">= 2",)),
        ({"unhealthyThreshold": 11}, "unhealthyThreshold", ("<= 10",)),
        ({"pth": "/x"}, "pth", ("unknown key",)),
    ],
)
def test_bad_health_check(health: dict[str, Any], key: str, words: tuple[str, ...]) -> None:
    problems = edge_problems("staging", healthCheck=health)
    assert_problem(problems, f"webstack:edge.healthCheck.{key}", "staging", *words)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"ingress": "cidrs"}, "ingressCidrs", ("at least one",)),
        ({"ingressCidrs": ["203.0.113.0/24"]}, "ingressCidrs", ("only used with",)),
        ({"ingress": "cidrs", "ingressCidrs": ["0.0.0.0/0"]}, "ingressCidrs", ("internet",)),
        ({"ingress": "cidrs", "ingressCidrs": ["2400:cb00::/32"]}, "ingressCidrs", ("IPv4",)),
        ({"ingress": "cidrs", "ingressCidrs": ["203.0.113.1/24"]}, "ingressCidrs", ("IPv4",)),
        (
            {"ingress": "cidrs", "ingressCidrs": [f"10.0.{n}.0/24" for n in range(26)]},
            "ingressCidrs",
            ("at most 25",),
        ),
        ({"ingress": "cloudfront"}, "ingress", ("apiViaCdn",)),
        (
            {"ingress": "cidrs", "ingressCidrs": ["203.0.113.0/24"], "apiViaCdn": True},
            "apiViaCdn",
            ("ingress 'cloudfront'",),
        ),
        ({"apiViaCdn": True, "cdnWaf": False}, "cdnWaf", ("apiViaCdn", "drop cdnWaf: false")),
        (
            {"dnsProvider": "none", "cloudflareZoneId": ZONE, "manageZoneSettings": False},
            "cloudflareZoneId",
            ("only used with",),
        ),
        (
            {"dnsProvider": "none", "cloudflareZoneId": None, "manageZoneSettings": True},
            "manageZoneSettings",
            ("only used with",),
        ),
    ],
)
def test_inconsistent_edge_settings(
    changes: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    problems = edge_problems("prod", **changes)
    assert_problem(problems, f"webstack:edge.{key}", "prod", *words)


@pytest.mark.parametrize(("stack", "expected"), [("prod", True), ("staging", False)])
def test_only_prod_has_a_cdn_waf_unless_told(stack: str, expected: bool) -> None:
    assert parse(stack).edge.cdn_waf is expected
    told = committed(stack, "edge", cdnWaf=not expected)
    assert parse(stack, edge=told).edge.cdn_waf is not expected


def test_the_api_through_the_cdn_brings_its_waf_in_every_stack() -> None:
    assert parse("staging", edge=committed("staging", "edge", apiViaCdn=True)).edge.cdn_waf


def test_every_edge_problem_is_reported_at_once_and_nothing_is_registered() -> None:
    edge = committed(
        "staging",
        "edge",
        allowedOrigins=["*"],
        wafRateLimit=1,
        ingress="cloudfront",
        dnsProvider="x",
    )
    problems = problems_of("staging", edge=edge)
    keys = {p.split(" ")[0] for p in problems}
    assert {
        "webstack:edge.allowedOrigins",
        "webstack:edge.wafRateLimit",
        "webstack:edge.ingress",
        "webstack:edge.dnsProvider",
    } <= keys
