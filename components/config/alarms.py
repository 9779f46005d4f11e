"""`webstack:alarms`: who is told, and the threshold of every alarm.

`AlarmThresholds` holds every tunable threshold with the deployment guide's defaults; the
alarm catalog (components.alarm_catalog) builds each alarm from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pulumi

from components.config.reader import Section

# One failed run of a scheduler in the worker's JSON log.
DEFAULT_SCHEDULER_FAILURE_PATTERN = '{ $.event = "scheduler_run" && $.status = "failed" }'
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@dataclass(frozen=True, kw_only=True)
class AlarmThresholds:
    """Every tunable alarm threshold (`webstack:alarms`), defaulting to the guide's values."""

    api_latency_p95_warning_seconds: float = 1.0
    """p95 target response time over 5 minutes that warns."""
    api_latency_p95_critical_seconds: float = 2.0
    """p95 target response time over 5 minutes that pages."""
    api_5xx_rate_percent: float = 1.0
    """Share of API requests answered 5xx by the targets that pages (and rolls back a deploy)."""
    api_5xx_min_requests: int = 10
    """Requests per minute below which the 5xx rate is not judged (1 error in 2 is not 50 %)."""
    ecs_cpu_percent: float = 80.0
    """Average service CPU that warns."""
    ecs_memory_percent: float = 85.0
    """Average service memory that pages: past it, tasks get OOM-killed."""
    db_cpu_percent: float = 80.0
    """RDS CPU that warns."""
    db_free_storage_percent: float = 20.0
    """Free storage, as a share of allocated storage, below which it pages."""
    db_connections_percent: float = 80.0
    """Connections, as a share of max_connections, above which it warns."""
    db_replica_lag_seconds: float = 30.0
    """Read-replica lag that warns."""
    db_free_memory_mb: int = 256
    """Freeable memory below which it warns (the instance is about to swap)."""
    cache_evictions: int = 0
    """Evictions per 5 minutes above which it warns (0: any eviction means the cache is full)."""
    cache_cpu_percent: float = 80.0
    """Redis engine-thread CPU that warns (Redis is single-threaded: host CPU hides it)."""
    cache_memory_percent: float = 80.0
    """Redis memory use (of maxmemory) that pages."""
    cdn_5xx_rate_percent: float = 5.0
    """CloudFront 5xx error rate that pages (origin and edge errors, all paths)."""
    scheduler_failures: int = 3
    """Failed scheduler runs in 15 minutes that page."""
    certificate_expiry_days: int = 30
    """Days before an ACM certificate expires at which it pages: ACM renews from 60 days
    before, so a certificate this close to expiry has failed to renew (a validation record
    gone from DNS)."""


@dataclass(frozen=True, kw_only=True)
class AlarmsConfig:
    """`webstack:alarms`: who is told, and when."""

    paging: bool
    """Whether anyone is paged: False (previews) makes no critical topic, and the critical
    alarms notify the warning topic."""
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
    monthly_budget_usd: float | None
    """Monthly cost budget in USD of the whole AWS account the stack deploys into (forecast and
    actual alerts at 80 % and 100 %). It has no cost filter, so it counts from the first day
    without a cost-allocation tag to activate; give each environment its own account
    (`webstack:accountId`), or it also counts what else runs there. None for a preview, which
    deploys into staging's account and so is counted by staging's budget."""


_HTTPS_ENDPOINTS = ("criticalHttpsEndpoint", "warningHttpsEndpoint")


def read_alarms(section: Section, secret: bool, *, preview: bool) -> AlarmsConfig:
    """`webstack:alarms`; `secret` says whether the key holds `secure:` values, `preview`
    whether the stack is a PR's preview (which has no budget)."""
    emails = {}
    for key in ("criticalEmails", "warningEmails"):
        emails[key] = section.get_str_list(key, [])
        for address in emails[key]:
            if not EMAIL.match(address):
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
    paging = section.get_bool("paging", True)
    has_critical = emails["criticalEmails"] or endpoints["criticalHttpsEndpoint"] is not None
    if paging and not has_critical:
        section.error(
            "criticalEmails",
            "the critical topic needs a subscriber: list an address or set criticalHttpsEndpoint",
        )
    if not paging and has_critical:
        section.error(
            "paging",
            "is false, so there is no critical topic: remove criticalEmails and "
            "criticalHttpsEndpoint (critical alarms go to the warning topic's subscribers)",
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
        # ACM starts renewing 60 days ahead; alarming earlier would fire on every renewal.
        certificate_expiry_days=section.get_int(
            "certificateExpiryDays", d.certificate_expiry_days, min=1, max=59
        ),
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
    budget: float | None = None
    if not preview:
        budget = section.get_number("monthlyBudgetUsd", above=0)
    elif section.get_number("monthlyBudgetUsd", 0, min=0):
        # A budget counts the whole account: a preview's would count staging and every other
        # preview, and fire from the start.
        section.error(
            "monthlyBudgetUsd",
            "a preview has no budget of its own: budgets count the whole account, and a "
            "preview deploys into staging's, which staging's budget counts",
        )
    section.finish()
    return AlarmsConfig(
        paging=paging,
        critical_emails=emails["criticalEmails"],
        warning_emails=emails["warningEmails"],
        critical_https_endpoint=endpoints["criticalHttpsEndpoint"],
        warning_https_endpoint=endpoints["warningHttpsEndpoint"],
        thresholds=thresholds,
        scheduler_failure_pattern=pattern,
        monthly_budget_usd=budget,
    )
