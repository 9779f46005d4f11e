"""Alarms: what pages whom once the stack runs, and the dashboard to look at when it does.

Creates, from the alarm catalog (each alarm with alarm and OK actions to its severity's topic):
- API, per target group (both with a traffic-shifting deployment strategy): p95 target
  response time, a warning and a critical alarm (the 5xx-rate, unhealthy-hosts and release
  latency alarms belong to DeploymentAlarms, which ECS watches for rollback);
- ECS, for the api and the worker service once they exist (a stack waiting for its first
  image has none): CPU (warning), memory (critical), running tasks below the minimum
  (critical);
- RDS: CPU, connections as a share of max_connections, freeable memory, replica lag per replica
  (warnings), free storage as a share of allocated storage (critical);
- Redis, per member cluster: evictions and engine CPU (warnings), memory (critical);
- CloudFront: 5xx error rate, in us-east-1 (where its metrics live) with the us-east-1 topics;
- from outside: each Route 53 health check of UptimeChecks unhealthy (critical, in us-east-1
  where Route 53 publishes), and each edge certificate at `certificate_expiry_days` or fewer
  days from expiry (critical; the ALB's in the stack's region, CloudFront's in us-east-1);
- the migration Lambda's errors (warning), and the restore-test validation's (critical);
- a log metric filter on the worker's log group counting failed scheduler runs, and an alarm at
  `scheduler_failures` or more in 15 minutes (critical);
- RDS event subscriptions: failover, failure, low storage -> critical; backup -> warning;
- an AWS Budgets monthly cost budget of the whole account (no cost filter: a tag filter would
  count nothing until someone activates the tag in the payer account) with forecast and actual
  notifications at 80 % and 100 % to the warning topic;
- a CloudWatch dashboard with the golden signals of the API, worker, database, cache and CDN,
  the uptime checks and certificates, and the state of every alarm.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import (
    SCHEDULER_FAILURE_METRIC,
    AlarmDefinition,
    AlarmTopics,
    Severity,
    api_latency_p95,
    cdn_5xx_rate,
    create_alarm,
    ecs_cpu,
    ecs_memory,
    ecs_running_tasks,
    for_target_group,
    migration_errors,
    restore_check_failures,
    scheduler_failures,
    target_group_variants,
)
from components.config import (
    AlarmsConfig,
    ApiConfig,
    DatabaseConfig,
    PoolBudget,
    StackWide,
    WorkerConfig,
)
from components.dashboard import dashboard_body
from components.data_alarms import (
    cache_engine_cpu,
    cache_evictions,
    cache_memory,
    db_connections,
    db_cpu,
    db_free_memory,
    db_free_storage,
    db_replica_lag,
)
from components.edge_alarms import certificate_expiry, unreachable
from components.uptime_checks import UptimeTarget

BUDGET_ALERT_PERCENTS = (80, 100)
# The API's latency alarms, in the order the dashboard lists them.
LATENCY_SEVERITIES: tuple[Severity, ...] = ("warning", "critical")
# Failover, a failed instance and a filling disk need someone now; backup events (a failed
# automated backup among routine start/finish messages) can wait for working hours.
RDS_CRITICAL_EVENTS = ("failover", "failure", "low storage")
RDS_WARNING_EVENTS = ("backup",)


@dataclass(frozen=True, kw_only=True)
class AlarmsWiring:
    """Plain handles of what the other components built."""

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
    db_instance_identifier: pulumi.Input[str]
    """The primary RDS instance identifier."""
    db_replica_identifiers: Sequence[pulumi.Input[str]]
    """Read-replica instance identifiers; each gets a replica-lag alarm."""
    cache_member_cluster_ids: Sequence[pulumi.Input[str]]
    """The Redis replication group's member cluster ids (metrics are per node)."""
    distribution_id: pulumi.Input[str]
    """The CloudFront distribution id."""
    migration_function_name: pulumi.Input[str]
    """Name of the migration Lambda function."""
    restore_check_function_name: pulumi.Input[str] | None = None
    """Name of the restore tests' validation Lambda (its errors page); None without tests."""
    worker_log_group_name: pulumi.Input[str]
    """The worker's CloudWatch log group."""
    deployment_alarm_arns: Sequence[pulumi.Input[str]]
    """DeploymentAlarms' alarms, shown with the others on the dashboard."""
    uptime_targets: Sequence[UptimeTarget]
    """UptimeChecks' health checks, each alarmed on and graphed."""
    api_certificate_arn: pulumi.Input[str]
    """The ALB's ACM certificate (in the stack's region)."""
    cdn_certificate_arn: pulumi.Input[str]
    """CloudFront's ACM certificate (in us-east-1)."""
    alternate_target_group_arn_suffix: pulumi.Input[str] | None = None
    """The second API target group of a traffic-shifting strategy (None with ROLLING)."""


@dataclass(frozen=True, kw_only=True)
class AlarmsArgs:
    """Inputs of Alarms."""

    stack: StackWide
    """Prefix of alarm, budget and dashboard names (also the custom metric namespace); the
    hostnames the certificate alarms name."""
    alarms: AlarmsConfig
    """Thresholds, the scheduler-failure pattern and the monthly budget."""
    api: ApiConfig
    """The API's autoscaling minimum: fewer running tasks pages."""
    worker: WorkerConfig
    """The worker's desired count: fewer running tasks pages."""
    database: DatabaseConfig
    """Allocated storage of the primary (free storage is judged as a share of it)."""
    pool_budget: PoolBudget
    """The primary's max_connections (connections are judged as a share of it)."""
    wiring: AlarmsWiring


class Alarms(pulumi.ComponentResource):
    """Paging and warning alarms, RDS events, the cost budget and the dashboard."""

    dashboard_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: AlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:Alarms", name, None, opts)
        regional = pulumi.ResourceOptions(parent=self)
        self._scheduler_failure_metric(name, args)
        regional_alarms = [
            create_alarm(name, args.stack.name_prefix, d, args.wiring.topics, regional)
            for d in _regional_definitions(args)
        ]
        in_us_east_1 = pulumi.ResourceOptions(parent=self, provider=args.wiring.us_east_1_provider)
        us_east_1_topics = args.wiring.us_east_1_topics
        us_east_1_alarms = [
            create_alarm(name, args.stack.name_prefix, d, us_east_1_topics, in_us_east_1)
            for d in _us_east_1_definitions(args)
        ]
        self._rds_events(name, args)
        self._budget(name, args)
        dashboard = self._dashboard(
            name,
            args,
            [*args.wiring.deployment_alarm_arns, *(a.arn for a in regional_alarms)],
            [a.arn for a in us_east_1_alarms],
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})

    def _scheduler_failure_metric(self, name: str, args: AlarmsArgs) -> None:
        """Failed scheduler runs counted from the worker's log lines."""
        aws.cloudwatch.LogMetricFilter(
            f"{name}-scheduler-failures",
            name=f"{args.stack.name_prefix}-scheduler-failures",
            log_group_name=args.wiring.worker_log_group_name,
            pattern=args.alarms.scheduler_failure_pattern,
            # No default value: minutes without a failed run publish nothing, which the
            # alarm treats as not breaching, instead of a stream of zeros to pay for.
            metric_transformation=aws.cloudwatch.LogMetricFilterMetricTransformationArgs(
                name=SCHEDULER_FAILURE_METRIC,
                namespace=args.stack.name_prefix,
                value="1",
                unit="Count",
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _rds_events(self, name: str, args: AlarmsArgs) -> None:
        db_sources = [args.wiring.db_instance_identifier, *args.wiring.db_replica_identifiers]
        for role, categories, topic in (
            ("critical", RDS_CRITICAL_EVENTS, args.wiring.topics.critical),
            ("backup", RDS_WARNING_EVENTS, args.wiring.topics.warning),
        ):
            aws.rds.EventSubscription(
                f"{name}-db-{role}-events",
                name=f"{args.stack.name_prefix}-db-{role}-events",
                sns_topic=topic,
                source_type="db-instance",
                source_ids=db_sources,
                event_categories=list(categories),
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _budget(self, name: str, args: AlarmsArgs) -> None:
        """The monthly cost budget: forecast and actual at each alert percent, as warnings
        (none for a preview, which staging's budget counts)."""
        if args.alarms.monthly_budget_usd is None:
            return
        aws.budgets.Budget(
            f"{name}-monthly-budget",
            name=f"{args.stack.name_prefix}-monthly",
            budget_type="COST",
            time_unit="MONTHLY",
            limit_amount=f"{args.alarms.monthly_budget_usd:.2f}",
            limit_unit="USD",
            # No cost filter: the account's whole spend, counted from the first hour it is
            # billed. A filter on the `environment` tag would count nothing until the tag is
            # activated as a cost-allocation tag, which only the payer account can do, a day
            # after the tag first appears in billing data (docs/runbooks/budget-alarm.md).
            notifications=[
                aws.budgets.BudgetNotificationArgs(
                    notification_type=kind,
                    comparison_operator="GREATER_THAN",
                    threshold=percent,
                    threshold_type="PERCENTAGE",
                    subscriber_sns_topic_arns=[args.wiring.topics.warning],
                )
                for kind in ("FORECASTED", "ACTUAL")
                for percent in BUDGET_ALERT_PERCENTS
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _dashboard(
        self,
        name: str,
        args: AlarmsArgs,
        alarm_arns: Sequence[pulumi.Input[str]],
        us_east_1_alarm_arns: Sequence[pulumi.Input[str]],
    ) -> aws.cloudwatch.Dashboard:
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        cdn_region = aws.get_region_output(
            opts=pulumi.InvokeOptions(parent=self, provider=args.wiring.us_east_1_provider)
        ).region
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.stack.name_prefix,
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(args, region, cdn_region, alarm_arns, us_east_1_alarm_arns)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _regional_definitions(args: AlarmsArgs) -> list[AlarmDefinition]:
    """Every alarm in the stack's region: API latency, ECS per existing service, RDS, Redis per
    member cluster, the migration Lambda and the scheduler."""
    t, w = args.alarms.thresholds, args.wiring
    definitions: list[AlarmDefinition] = [
        for_target_group(api_latency_p95(w.alb_arn_suffix, group, severity, t), label)
        for label, group in target_group_variants(
            w.target_group_arn_suffix, w.alternate_target_group_arn_suffix
        )
        for severity in LATENCY_SEVERITIES
    ]
    for label, service, minimum in (
        ("api", w.api_service_name, args.api.min_capacity),
        ("worker", w.worker_service_name, args.worker.desired_count),
    ):
        if service is None:
            continue
        definitions += [
            ecs_cpu(label, w.cluster_name, service, t),
            ecs_memory(label, w.cluster_name, service, t),
            ecs_running_tasks(label, w.cluster_name, service, minimum),
        ]
    primary = w.db_instance_identifier
    definitions += [
        db_cpu(primary, t),
        db_free_storage(primary, args.database.allocated_storage_gb, t),
        db_connections(primary, args.pool_budget.db_max_connections, t),
        db_free_memory(primary, t),
        *(db_replica_lag(i, replica, t) for i, replica in enumerate(w.db_replica_identifiers, 1)),
    ]
    for i, member in enumerate(w.cache_member_cluster_ids, 1):
        definitions += [
            cache_evictions(i, member, t),
            cache_engine_cpu(i, member, t),
            cache_memory(i, member, t),
        ]
    if w.restore_check_function_name is not None:
        definitions.append(restore_check_failures(w.restore_check_function_name))
    return [
        *definitions,
        migration_errors(w.migration_function_name),
        scheduler_failures(args.stack.name_prefix, t),
        certificate_expiry("api", args.stack.api_hostname, w.api_certificate_arn, t),
    ]


def _us_east_1_definitions(args: AlarmsArgs) -> list[AlarmDefinition]:
    """The alarms whose metrics only us-east-1 has: CloudFront's, Route 53's health checks and
    CloudFront's certificate."""
    t, w, domain = args.alarms.thresholds, args.wiring, args.stack.domain
    return [
        cdn_5xx_rate(w.distribution_id, t),
        *(unreachable(u.role, u.url, u.health_check_id) for u in w.uptime_targets),
        certificate_expiry("cdn", f"{domain} and www.{domain}", w.cdn_certificate_arn, t),
    ]
