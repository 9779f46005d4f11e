"""Alarms: what pages whom once the stack runs, and the dashboard to look at when it does.

Creates, from the alarm catalog (each alarm with alarm and OK actions to its severity's topic):
- API: p95 target response time, a warning and a critical alarm (the 5xx-rate and
  unhealthy-hosts alarms belong to DeploymentAlarms, which ECS watches for rollback);
- ECS, for the api and the worker service once they exist (a stack waiting for its first
  image has none): CPU (warning), memory (critical), running tasks below the minimum
  (critical);
- RDS: CPU, connections as a share of max_connections, freeable memory, replica lag per replica
  (warnings), free storage as a share of allocated storage (critical);
- Redis, per member cluster: evictions and engine CPU (warnings), memory (critical);
- CloudFront: 5xx error rate, in us-east-1 (where its metrics live) with the us-east-1 topics;
- the migration Lambda's errors (warning);
- a log metric filter on the worker's log group counting failed scheduler runs, and an alarm at
  `scheduler_failures` or more in 15 minutes (critical);
- RDS event subscriptions: failover, failure, low storage -> critical; backup -> warning;
- an AWS Budgets monthly cost budget with forecast and actual notifications at 80 % and 100 %
  to the warning topic;
- a CloudWatch dashboard with the golden signals of the API, worker, database, cache and CDN
  and the state of every regional alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import (
    SCHEDULER_FAILURE_METRIC,
    AlarmDefinition,
    AlarmTopics,
    api_latency_p95,
    cache_engine_cpu,
    cache_evictions,
    cache_memory,
    cdn_5xx_rate,
    create_alarm,
    db_connections,
    db_cpu,
    db_free_memory,
    db_free_storage,
    db_replica_lag,
    ecs_cpu,
    ecs_memory,
    ecs_running_tasks,
    migration_errors,
    scheduler_failures,
)
from components.config import DEFAULT_SCHEDULER_FAILURE_PATTERN, AlarmThresholds

BUDGET_ALERT_PERCENTS = (80, 100)
# Failover, a failed instance and a filling disk need someone now; backup events (a failed
# automated backup among routine start/finish messages) can wait for working hours.
RDS_CRITICAL_EVENTS = ("failover", "failure", "low storage")
RDS_WARNING_EVENTS = ("backup",)


@dataclass(frozen=True, kw_only=True)
class AlarmsArgs:
    """Inputs of Alarms: plain handles of what the other components built."""

    name_prefix: str
    """Prefix of alarm, budget and dashboard names; also the custom metric namespace."""
    topics: AlarmTopics
    """Topics per severity in the stack's region."""
    us_east_1_topics: AlarmTopics
    """Topics per severity in us-east-1 for the CloudFront alarm (the same as `topics` when
    the stack lives there)."""
    us_east_1_provider: pulumi.ProviderResource
    """AWS provider for us-east-1, where CloudFront publishes its metrics."""
    alb_arn_suffix: pulumi.Input[str]
    """The load balancer's ARN suffix (`app/<name>/<id>`)."""
    target_group_arn_suffix: pulumi.Input[str]
    """The API target group's ARN suffix (`targetgroup/<name>/<id>`)."""
    cluster_name: pulumi.Input[str]
    """ECS cluster name (Container Insights must be on for the running-task alarms)."""
    api_service_name: pulumi.Input[str] | None
    """ECS service name of the API; None before the first image (no ECS alarms or graphs)."""
    worker_service_name: pulumi.Input[str] | None
    """ECS service name of the scheduler worker; None before the first image."""
    api_min_tasks: int
    """The API's autoscaling minimum: fewer running tasks pages."""
    worker_min_tasks: int = 1
    """The worker's desired minimum: fewer running tasks pages."""
    db_instance_identifier: pulumi.Input[str]
    """The primary RDS instance identifier."""
    db_allocated_storage_gb: int
    """Allocated storage of the primary, GiB (free storage is judged as a share of it)."""
    db_max_connections: int
    """The primary's max_connections."""
    db_replica_identifiers: Sequence[pulumi.Input[str]] = ()
    """Read-replica instance identifiers; each gets a replica-lag alarm."""
    cache_member_cluster_ids: Sequence[pulumi.Input[str]]
    """The Redis replication group's member cluster ids (metrics are per node)."""
    distribution_id: pulumi.Input[str]
    """The CloudFront distribution id."""
    migration_function_name: pulumi.Input[str]
    """Name of the migration Lambda function."""
    worker_log_group_name: pulumi.Input[str]
    """The worker's CloudWatch log group."""
    scheduler_failure_pattern: str = DEFAULT_SCHEDULER_FAILURE_PATTERN
    """CloudWatch Logs filter pattern matching one failed scheduler run."""
    monthly_budget_usd: float
    """Monthly cost budget in USD."""
    budget_scope_tag: tuple[str, str] | None = None
    """(key, value) of an activated cost-allocation tag limiting the budget to this stack;
    None budgets the whole account (one account per environment)."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """Alarm thresholds (`webstack:alarms`)."""
    deployment_alarm_arns: Sequence[pulumi.Input[str]] = ()
    """DeploymentAlarms' alarms, shown with the others on the dashboard."""


class Alarms(pulumi.ComponentResource):
    """Paging and warning alarms, RDS events, the cost budget and the dashboard."""

    dashboard_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:Alarms", name, None, opts)
        t = args.thresholds
        regional = pulumi.ResourceOptions(parent=self)
        us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.us_east_1_provider)

        aws.cloudwatch.LogMetricFilter(
            f"{name}-scheduler-failures",
            name=f"{args.name_prefix}-scheduler-failures",
            log_group_name=args.worker_log_group_name,
            pattern=args.scheduler_failure_pattern,
            # No default value: minutes without a failed run publish nothing, which the
            # alarm treats as not breaching, instead of a stream of zeros to pay for.
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=SCHEDULER_FAILURE_METRIC,
                namespace=args.name_prefix,
                value="1",
                unit="Count",
            ),
            opts=regional,
        )

        definitions: list[AlarmDefinition] = [
            api_latency_p95(args.alb_arn_suffix, args.target_group_arn_suffix, "warning", t),
            api_latency_p95(args.alb_arn_suffix, args.target_group_arn_suffix, "critical", t),
        ]
        for label, service, minimum in (
            ("api", args.api_service_name, args.api_min_tasks),
            ("worker", args.worker_service_name, args.worker_min_tasks),
        ):
            if service is None:
                continue
            definitions += [
                ecs_cpu(label, args.cluster_name, service, t),
                ecs_memory(label, args.cluster_name, service, t),
                ecs_running_tasks(label, args.cluster_name, service, minimum),
            ]
        definitions += [
            db_cpu(args.db_instance_identifier, t),
            db_free_storage(args.db_instance_identifier, args.db_allocated_storage_gb, t),
            db_connections(args.db_instance_identifier, args.db_max_connections, t),
            db_free_memory(args.db_instance_identifier, t),
            *(
                db_replica_lag(i, replica, t)
                for i, replica in enumerate(args.db_replica_identifiers, 1)
            ),
        ]
        for i, member in enumerate(args.cache_member_cluster_ids, 1):
            definitions += [
                cache_evictions(i, member, t),
                cache_engine_cpu(i, member, t),
                cache_memory(i, member, t),
            ]
        definitions += [
            migration_errors(args.migration_function_name),
            scheduler_failures(args.name_prefix, t),
        ]
        regional_alarms = [
            create_alarm(name, args.name_prefix, d, args.topics, regional) for d in definitions
        ]
        create_alarm(
            name,
            args.name_prefix,
            cdn_5xx_rate(args.distribution_id, t),
            args.us_east_1_topics,
            us_east_1,
        )

        db_sources = [args.db_instance_identifier, *args.db_replica_identifiers]
        for role, categories, topic in (
            ("critical", RDS_CRITICAL_EVENTS, args.topics.critical),
            ("backup", RDS_WARNING_EVENTS, args.topics.warning),
        ):
            aws.rds.EventSubscription(
                f"{name}-db-{role}-events",
                name=f"{args.name_prefix}-db-{role}-events",
                sns_topic=topic,
                source_type="db-instance",
                source_ids=db_sources,
                event_categories=list(categories),
                opts=regional,
            )

        aws.budgets.Budget(
            f"{name}-monthly-budget",
            name=f"{args.name_prefix}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.monthly_budget_usd:.2f}",
            limit_unit="USD",
            cost_filters=[
                aws.budgets.BudgetCostFilterArgs(
                    name="TagKeyValue",
                    values=[f"user:{args.budget_scope_tag[0]}${args.budget_scope_tag[1]}"],
                )
            ]
            if args.budget_scope_tag
            else None,
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[args.topics.warning],
                )
                for kind in ("FORECASTED", "ACTUAL")
                for percent in BUDGET_ALERT_PERCENTS
            ],
            opts=regional,
        )

        invoke = pulumi.InvokeOptions(parent=self)
        region = aws.get_region_output(opts=invoke).region
        cdn_region = aws.get_region_output(
            opts=pulumi.InvokeOptions(parent=self, provider=args.us_east_1_provider)
        ).region
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name_prefix,
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(
                    args,
                    region,
                    cdn_region,
                    [*args.deployment_alarm_arns, *(a.arn for a in regional_alarms)],
                )
            ),
            opts=regional,
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})


# ---------------------------------------------------------------------------------------------
# Dashboard


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


def dashboard_body(
    args: AlarmsArgs, region: Any, cdn_region: Any, alarm_arns: Sequence[Any]
) -> dict:
    """The dashboard: golden signals (traffic, errors, latency, saturation) per tier."""
    tg = {"LoadBalancer": args.alb_arn_suffix, "TargetGroup": args.target_group_arn_suffix}

    def service(name: pulumi.Input[str]) -> dict:
        return {"ClusterName": args.cluster_name, "ServiceName": name}

    def ecs_saturation(label: str, name: pulumi.Input[str] | None) -> list[dict]:
        if name is None:
            return []
        return [
            _graph(
                f"{label}: CPU and memory %",
                region,
                [
                    _metric("AWS/ECS", "CPUUtilization", service(name)),
                    _metric("AWS/ECS", "MemoryUtilization", service(name)),
                ],
            ),
            _graph(
                f"{label}: running tasks",
                region,
                [
                    _metric("ECS/ContainerInsights", "RunningTaskCount", service(name)),
                    _metric("ECS/ContainerInsights", "DesiredTaskCount", service(name)),
                ],
                stat="Minimum",
            ),
        ]

    db = {"DBInstanceIdentifier": args.db_instance_identifier}
    replicas = [{"DBInstanceIdentifier": r} for r in args.db_replica_identifiers]
    nodes = [{"CacheClusterId": m} for m in args.cache_member_cluster_ids]
    cdn = {"DistributionId": args.distribution_id, "Region": "Global"}
    lam = {"FunctionName": args.migration_function_name}

    api = [
        _graph(
            "API: requests / min",
            region,
            [
                _metric("AWS/ApplicationELB", "RequestCount", tg),
            ],
            stat="Sum",
        ),
        _graph(
            "API: target 5xx rate %",
            region,
            [
                [
                    {
                        "expression": "100 * FILL(errors, 0) / requests",
                        "label": "5xx %",
                        "id": "rate",
                    }
                ],
                _metric(
                    "AWS/ApplicationELB",
                    "HTTPCode_Target_5XX_Count",
                    tg,
                    id="errors",
                    visible=False,
                ),
                _metric("AWS/ApplicationELB", "RequestCount", tg, id="requests", visible=False),
            ],
            stat="Sum",
        ),
        _graph(
            "API: response time (s)",
            region,
            [
                _metric("AWS/ApplicationELB", "TargetResponseTime", tg, stat=p, label=p)
                for p in ("p50", "p95", "p99")
            ],
        ),
        _graph(
            "API: healthy / unhealthy targets",
            region,
            [
                _metric("AWS/ApplicationELB", "HealthyHostCount", tg),
                _metric("AWS/ApplicationELB", "UnHealthyHostCount", tg),
            ],
            stat="Maximum",
        ),
        *ecs_saturation("API", args.api_service_name),
    ]
    worker = [
        _graph(
            "Worker: failed scheduler runs",
            region,
            [
                _metric(args.name_prefix, SCHEDULER_FAILURE_METRIC, {}),
            ],
            stat="Sum",
            period=300,
        ),
        *ecs_saturation("Worker", args.worker_service_name),
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
    database = [
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
    cache = [
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
    cdn_widgets = [
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
    alarm_state = {
        "type": "alarm",
        "properties": {
            "title": "Alarms",
            "alarms": list(alarm_arns),
            "sortBy": "stateUpdatedTimestamp",
        },
    }
    return {
        "widgets": _layout(
            [
                *_section("Alarms", [alarm_state]),
                *_section("API", api),
                *_section("Worker", worker),
                *_section("Database", database),
                *_section("Cache", cache),
                *_section("CDN", cdn_widgets),
            ]
        )
    }
