"""The body of the Alarms component's CloudWatch dashboard: the golden signals (traffic, errors,
latency, saturation) of the API, worker, database, cache and CDN, the uptime checks and the
certificates' days to expiry, and the state of every alarm. Pure functions; `Alarms` creates
the dashboard from `dashboard_body`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from components.alarm_catalog import SCHEDULER_FAILURE_METRIC, target_group_variants
from components.edge_alarms import DAY_SECONDS

if TYPE_CHECKING:
    # Only the annotation: Alarms imports this module to build its dashboard.
    from components.alarms import AlarmsArgs


def dashboard_body(
    args: AlarmsArgs,
    region: Any,
    cdn_region: Any,
    alarm_arns: Sequence[Any],
    us_east_1_alarm_arns: Sequence[Any],
) -> dict:
    """The dashboard: golden signals (traffic, errors, latency, saturation) per tier.

    `us_east_1_alarm_arns` are the alarms on metrics only us-east-1 has (CloudFront, Route 53,
    CloudFront's certificate), shown in a widget of their own.
    """
    return {
        "widgets": _layout(
            [
                *_section(
                    "Alarms",
                    [
                        _alarm_state("Alarms", alarm_arns),
                        _alarm_state("Alarms in us-east-1 (CDN, uptime)", us_east_1_alarm_arns),
                    ],
                ),
                *_section("Uptime", _uptime(args, region, cdn_region)),
                *_section("API", _api(args, region)),
                *_section("Worker", _worker(args, region)),
                *_section("Database", _database(args, region)),
                *_section("Cache", _cache(args, region)),
                *_section("CDN", _cdn(args, cdn_region)),
            ]
        )
    }


def _alarm_state(title: str, alarm_arns: Sequence[Any]) -> dict:
    return {
        "type": "alarm",
        "properties": {
            "title": title,
            "alarms": list(alarm_arns),
            "sortBy": "stateUpdatedTimestamp",
        },
    }


def _uptime(args: AlarmsArgs, region: Any, cdn_region: Any) -> list[dict]:
    """Route 53's view of each checked URL (published in us-east-1), and the certificates' days
    to expiry, each in its certificate's region."""
    checks = [({"HealthCheckId": t.health_check_id}, t.role) for t in args.wiring.uptime_targets]
    certificates = [
        (args.wiring.api_certificate_arn, "api", region),
        (args.wiring.cdn_certificate_arn, "cdn", cdn_region),
    ]
    # A stack without uptime checks (a preview) shows only the certificates: a graph needs a metric.
    check_graphs = [
        _graph(
            "Uptime: healthy (1) or down (0)",
            cdn_region,
            [_metric("AWS/Route53", "HealthCheckStatus", d, label=r) for d, r in checks],
            stat="Minimum",
        ),
        _graph(
            "Uptime: % of checkers that see it healthy",
            cdn_region,
            [_metric("AWS/Route53", "HealthCheckPercentageHealthy", d, label=r) for d, r in checks],
        ),
    ]
    return [
        *(check_graphs if checks else []),
        _graph(
            "Certificates: days to expiry",
            cdn_region,
            [
                _metric(
                    "AWS/CertificateManager",
                    "DaysToExpiry",
                    {"CertificateArn": arn},
                    label=label,
                    region=where,
                )
                for arn, label, where in certificates
            ],
            stat="Minimum",
            period=DAY_SECONDS,
        ),
    ]


def _api(args: AlarmsArgs, region: Any) -> list[dict]:
    """Traffic, errors, latency and health per target group (both, side by side, while a
    traffic-shifting strategy keeps two), then the service's saturation."""
    w = args.wiring
    groups = target_group_variants(w.target_group_arn_suffix, w.alternate_target_group_arn_suffix)
    lines: dict[str, list] = {"requests": [], "rates": [], "latency": [], "health": []}
    for label, suffix in groups:
        for graph, metrics in _target_group_lines(w.alb_arn_suffix, suffix, label, groups).items():
            lines[graph] += metrics
    return [
        _graph("API: requests / min", region, lines["requests"], stat="Sum"),
        _graph("API: target 5xx rate %", region, lines["rates"], stat="Sum"),
        _graph("API: response time (s)", region, lines["latency"]),
        _graph("API: healthy / unhealthy targets", region, lines["health"], stat="Maximum"),
        *_ecs_saturation(args, region, "API", w.api_service_name),
    ]


def _target_group_lines(
    alb: Any, suffix: Any, label: str, groups: Sequence[tuple[str, Any]]
) -> dict[str, list]:
    """One target group's lines of the API graphs. Alone it keeps the plain lines; beside the
    other group, each line is named after its group (`api`, `api-alt`)."""
    tg = {"LoadBalancer": alb, "TargetGroup": suffix}
    both = len(groups) > 1
    name = (" api-" + label if label else " api") if both else ""
    ids = f"_{label}" if label else ""

    def named(text: str) -> dict[str, Any]:
        return {"label": f"{text}{name}".strip()} if both else {}

    elb = "AWS/ApplicationELB"
    return {
        "requests": [_metric(elb, "RequestCount", tg, **named(""))],
        "rates": [
            [
                {
                    "expression": f"100 * FILL(errors{ids}, 0) / requests{ids}",
                    "label": f"5xx %{name}",
                    "id": f"rate{ids}",
                }
            ],
            _metric(elb, "HTTPCode_Target_5XX_Count", tg, id=f"errors{ids}", visible=False),
            _metric(elb, "RequestCount", tg, id=f"requests{ids}", visible=False),
        ],
        "latency": [
            _metric(elb, "TargetResponseTime", tg, stat=p, label=f"{p}{name}")
            for p in ("p50", "p95", "p99")
        ],
        "health": [
            _metric(elb, metric, tg, **named(metric))
            for metric in ("HealthyHostCount", "UnHealthyHostCount")
        ],
    }


def _worker(args: AlarmsArgs, region: Any) -> list[dict]:
    """The worker's scheduler runs and saturation, and the migration Lambda beside it."""
    lam = {"FunctionName": args.wiring.migration_function_name}
    return [
        _graph(
            "Worker: failed scheduler runs",
            region,
            [
                _metric(args.stack.name_prefix, SCHEDULER_FAILURE_METRIC, {}),
            ],
            stat="Sum",
            period=300,
        ),
        *_ecs_saturation(args, region, "Worker", args.wiring.worker_service_name),
        _graph(
            "Migrations: invocations and errors",
            region,
            [
                _metric("AWS/Lambda", "Invocations", lam),
                _metric("AWS/Lambda", "Errors", lam),
            ],
            stat="Sum",
            period=300,
        ),
    ]


def _ecs_saturation(
    args: AlarmsArgs, region: Any, label: str, name: pulumi.Input[str] | None
) -> list[dict]:
    """CPU, memory and task counts of a service; nothing for one that does not exist yet."""
    if name is None:
        return []
    service = {"ClusterName": args.wiring.cluster_name, "ServiceName": name}
    return [
        _graph(
            f"{label}: CPU and memory %",
            region,
            [
                _metric("AWS/ECS", "CPUUtilization", service),
                _metric("AWS/ECS", "MemoryUtilization", service),
            ],
        ),
        _graph(
            f"{label}: running tasks",
            region,
            [
                _metric("ECS/ContainerInsights", "RunningTaskCount", service),
                _metric("ECS/ContainerInsights", "DesiredTaskCount", service),
            ],
            stat="Minimum",
        ),
    ]


def _database(args: AlarmsArgs, region: Any) -> list[dict]:
    db = {"DBInstanceIdentifier": args.wiring.db_instance_identifier}
    replicas = [{"DBInstanceIdentifier": r} for r in args.wiring.db_replica_identifiers]
    return [
        _graph("Database: CPU %", region, [_metric("AWS/RDS", "CPUUtilization", db)]),
        _graph(
            "Database: connections",
            region,
            [
                _metric("AWS/RDS", "DatabaseConnections", db),
            ],
            stat="Maximum",
        ),
        _graph(
            "Database: read / write latency (s)",
            region,
            [
                _metric("AWS/RDS", "ReadLatency", db),
                _metric("AWS/RDS", "WriteLatency", db),
            ],
        ),
        _graph(
            "Database: free storage and memory (bytes)",
            region,
            [
                _metric("AWS/RDS", "FreeStorageSpace", db),
                _metric("AWS/RDS", "FreeableMemory", db),
            ],
            stat="Minimum",
        ),
        *(
            [
                _graph(
                    "Database: replica lag (s)",
                    region,
                    [_metric("AWS/RDS", "ReplicaLag", r) for r in replicas],
                    stat="Maximum",
                )
            ]
            if replicas
            else []
        ),
    ]


def _cache(args: AlarmsArgs, region: Any) -> list[dict]:
    """Per member cluster: Redis metrics are published per node."""
    nodes = [{"CacheClusterId": m} for m in args.wiring.cache_member_cluster_ids]
    return [
        _graph(
            "Cache: engine CPU %",
            region,
            [_metric("AWS/ElastiCache", "EngineCPUUtilization", n) for n in nodes],
        ),
        _graph(
            "Cache: memory %",
            region,
            [_metric("AWS/ElastiCache", "DatabaseMemoryUsagePercentage", n) for n in nodes],
            stat="Maximum",
        ),
        _graph(
            "Cache: hit rate % and evictions",
            region,
            [
                *(_metric("AWS/ElastiCache", "CacheHitRate", n) for n in nodes),
                *(_metric("AWS/ElastiCache", "Evictions", n, stat="Sum") for n in nodes),
            ],
        ),
    ]


def _cdn(args: AlarmsArgs, cdn_region: Any) -> list[dict]:
    """CloudFront publishes its metrics in us-east-1 only, as the `Global` region."""
    cdn = {"DistributionId": args.wiring.distribution_id, "Region": "Global"}
    return [
        _graph(
            "CDN: requests",
            cdn_region,
            [_metric("AWS/CloudFront", "Requests", cdn)],
            stat="Sum",
            period=300,
        ),
        _graph(
            "CDN: error rates %",
            cdn_region,
            [
                _metric("AWS/CloudFront", "4xxErrorRate", cdn),
                _metric("AWS/CloudFront", "5xxErrorRate", cdn),
            ],
            period=300,
        ),
    ]


# ---------------------------------------------------------------------------------------------
# Widgets and layout


def _metric(namespace: str, metric: str, dims: dict[str, Any], **options: Any) -> list:
    row: list[Any] = [namespace, metric]
    for key, value in dims.items():
        row += [key, value]
    return [*row, options] if options else row


def _graph(
    title: str, region: Any, metrics: list, *, stat: str = "Average", period: int = 60
) -> dict:
    return {
        "type": "metric",
        "properties": {
            "title": title,
            "region": region,
            "view": "timeSeries",
            "stat": stat,
            "period": period,
            "metrics": metrics,
        },
    }


def _section(title: str, widgets: list[dict]) -> list[dict]:
    return [{"type": "text", "properties": {"markdown": f"## {title}"}}, *widgets]


def _layout(widgets: list[dict]) -> list[dict]:
    """Headers span the width; graphs go three to a row below them."""
    placed, x, y = [], 0, 0
    for widget in widgets:
        if widget["type"] == "text":
            if x:
                x, y = 0, y + 6
            placed.append({**widget, "x": 0, "y": y, "width": 24, "height": 1})
            y += 1
            continue
        if x >= 24:
            x, y = 0, y + 6
        placed.append({**widget, "x": x, "y": y, "width": 8, "height": 6})
        x += 8
    return placed
