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
- the migration Lambda's errors (warning), and the restore-test validation's (critical);
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

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import (
    SCHEDULER_FAILURE_METRIC,
    AlarmDefinition,
    AlarmTopics,
    api_latency_p95,
    cdn_5xx_rate,
    create_alarm,
    ecs_cpu,
    ecs_memory,
    ecs_running_tasks,
    migration_errors,
    restore_check_failures,
    scheduler_failures,
)
from components.config import DEFAULT_SCHEDULER_FAILURE_PATTERN, AlarmThresholds
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
    restore_check_function_name: pulumi.Input[str] | None = None
    """Name of the restore tests' validation Lambda (its errors page); None without tests."""
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
        regional = pulumi.ResourceOptions(parent=self)
        self._scheduler_failure_metric(name, args)
        regional_alarms = [
            create_alarm(name, args.name_prefix, d, args.topics, regional)
            for d in _regional_definitions(args)
        ]
        create_alarm(
            name,
            args.name_prefix,
            cdn_5xx_rate(args.distribution_id, args.thresholds),
            args.us_east_1_topics,
            pulumi.ResourceOptions(parent=self, provider=args.us_east_1_provider),
        )
        self._rds_events(name, args)
        self._budget(name, args)
        dashboard = self._dashboard(
            name, args, [*args.deployment_alarm_arns, *(a.arn for a in regional_alarms)]
        )
        self.dashboard_name = dashboard.dashboard_name
        self.register_outputs({"dashboard_name": self.dashboard_name})

    def _scheduler_failure_metric(self, name: str, args: AlarmsArgs) -> None:
        """Failed scheduler runs counted from the worker's log lines."""
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
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _rds_events(self, name: str, args: AlarmsArgs) -> None:
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
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _budget(self, name: str, args: AlarmsArgs) -> None:
        """The monthly cost budget: forecast and actual at each alert percent, as warnings."""
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
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _dashboard(
        self, name: str, args: AlarmsArgs, alarm_arns: Sequence[pulumi.Input[str]]
    ) -> aws.cloudwatch.Dashboard:
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        cdn_region = aws.get_region_output(
            opts=pulumi.InvokeOptions(parent=self, provider=args.us_east_1_provider)
        ).region
        return aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=args.name_prefix,
            dashboard_body=pulumi.Output.json_dumps(
                dashboard_body(args, region, cdn_region, alarm_arns)
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _regional_definitions(args: AlarmsArgs) -> list[AlarmDefinition]:
    """Every alarm in the stack's region: API latency, ECS per existing service, RDS, Redis per
    member cluster, the migration Lambda and the scheduler."""
    t = args.thresholds
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
    if args.restore_check_function_name is not None:
        definitions.append(restore_check_failures(args.restore_check_function_name))
    return [
        *definitions,
        migration_errors(args.migration_function_name),
        scheduler_failures(args.name_prefix, t),
    ]
