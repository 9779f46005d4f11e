"""The alarm catalog: one definition per signal, one way to turn a definition into an alarm.

Pure functions describe each alarm as an `AlarmDefinition` (what is measured, how it is
aggregated, when it fires, how bad that is and what the responder should do); `create_alarm`
is the only place that builds an `aws.cloudwatch.MetricAlarm`, always with alarm and OK actions
to the topic of the definition's severity. `DeploymentAlarms` (ECS rollback) and `Alarms`
(everything else) both build from here, so a signal is defined once; the data tier's signals
(RDS, Redis) are in components/data_alarms.py, what users reach from outside (Route 53 health
checks, certificate expiry) in components/edge_alarms.py.

Every threshold comes from `AlarmThresholds` (config: `webstack:alarms`, with the deployment
guide's defaults).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Literal

import pulumi
import pulumi_aws as aws

from components.config import AlarmThresholds

Severity = Literal["critical", "warning"]
SEVERITIES: tuple[Severity, ...] = ("critical", "warning")

ABOVE = "GreaterThanThreshold"
AT_OR_ABOVE = "GreaterThanOrEqualToThreshold"
BELOW = "LessThanThreshold"
AT_OR_BELOW = "LessThanOrEqualToThreshold"

# What a gap in the data means. Traffic-driven signals are silent when nobody calls (nothing
# is wrong); a gap in a task count means the tasks are gone; gauges AWS always publishes keep
# their state through a short gap instead of flapping.
NOT_BREACHING = "notBreaching"
BREACHING = "breaching"
MISSING = "missing"

GIB = 1024**3
MIB = 1024**2

SCHEDULER_FAILURE_METRIC = "SchedulerRunFailures"
SCHEDULER_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True, kw_only=True)
class Metric:
    """One CloudWatch metric with its aggregation."""

    namespace: str
    """CloudWatch namespace (`AWS/ApplicationELB`)."""
    name: str
    """Metric name (`TargetResponseTime`)."""
    dimensions: Mapping[str, pulumi.Input[str]]
    """Dimension name -> value."""
    stat: str
    """`Sum`, `Average`, `Minimum`, `Maximum` or a percentile such as `p95`."""


@dataclass(frozen=True, kw_only=True)
class MetricMath:
    """A metric-math expression over named metrics, e.g. an error rate."""

    expression: str
    """The expression over the ids of `metrics` (`100 * errors / requests`)."""
    label: str
    """What the expression's value means, shown in the console and notifications."""
    metrics: Mapping[str, Metric]
    """Query id -> metric; ids must start with a lower-case letter."""


@dataclass(frozen=True, kw_only=True)
class AlarmDefinition:
    """Everything about one alarm except the resources it watches' lifecycle."""

    key: str
    """Stable identifier: the suffix of the logical and the physical alarm name."""
    severity: Severity
    """Which topic is told: `critical` pages, `warning` goes to the team channel."""
    description: str
    """What the alarm means and what the responder should do first."""
    signal: Metric | MetricMath
    """What is measured."""
    threshold: float
    """Value compared with the signal."""
    comparison: str = ABOVE
    """CloudWatch comparison operator."""
    period: int = 60
    """Seconds per datapoint."""
    evaluation_periods: int = 1
    """Datapoints looked at."""
    datapoints_to_alarm: int | None = None
    """Of those, how many must breach (None: all of them)."""
    treat_missing_data: str = NOT_BREACHING
    """What a gap in the data counts as."""


@dataclass(frozen=True, kw_only=True)
class AlarmTopics:
    """The SNS topic per severity (in the alarms' region: actions cannot cross regions)."""

    critical: pulumi.Input[str]
    """Topic that pages."""
    warning: pulumi.Input[str]
    """Topic for the team channel."""

    def for_severity(self, severity: Severity) -> pulumi.Input[str]:
        return self.critical if severity == "critical" else self.warning


def create_alarm(
    component: str,
    name_prefix: str,
    definition: AlarmDefinition,
    topics: AlarmTopics,
    opts: pulumi.ResourceOptions,
) -> aws.cloudwatch.MetricAlarm:
    """The one way webstack makes an alarm: named `<prefix>-<key>`, alarm and OK actions."""
    topic = topics.for_severity(definition.severity)
    signal = definition.signal
    single = signal if isinstance(signal, Metric) else None
    percentile = single is not None and single.stat.startswith("p")
    queries = None
    if isinstance(signal, MetricMath):
        queries = [
            aws.cloudwatch.MetricAlarmMetricQueryArgs(
                id="e1", expression=signal.expression, label=signal.label, return_data=True
            ),
            *(
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id=query_id,
                    return_data=False,
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        namespace=metric.namespace,
                        metric_name=metric.name,
                        dimensions=dict(metric.dimensions),
                        stat=metric.stat,
                        period=definition.period,
                    ),
                )
                for query_id, metric in signal.metrics.items()
            ),
        ]
    return aws.cloudwatch.MetricAlarm(
        f"{component}-{definition.key}",
        name=f"{name_prefix}-{definition.key}",
        alarm_description=f"[{definition.severity}] {definition.description}",
        comparison_operator=definition.comparison,
        threshold=definition.threshold,
        evaluation_periods=definition.evaluation_periods,
        datapoints_to_alarm=definition.datapoints_to_alarm,
        treat_missing_data=definition.treat_missing_data,
        namespace=single.namespace if single else None,
        metric_name=single.name if single else None,
        dimensions=dict(single.dimensions) if single else None,
        statistic=single.stat if single and not percentile else None,
        extended_statistic=single.stat if single and percentile else None,
        period=definition.period if single else None,
        metric_queries=queries,
        alarm_actions=[topic],
        ok_actions=[topic],
        opts=opts,
    )


# ---------------------------------------------------------------------------------------------
# API behind the ALB

# The second target group's label, ending its alarms' keys (the first's keep their names).
ALTERNATE_TARGET_GROUP = "alt"


def target_group_variants(
    primary: pulumi.Input[str], alternate: pulumi.Input[str] | None
) -> list[tuple[str, pulumi.Input[str]]]:
    """(label, ARN suffix) per API target group: "" for the first, then ALTERNATE_TARGET_GROUP."""
    return [("", primary), *([(ALTERNATE_TARGET_GROUP, alternate)] if alternate else [])]


def for_target_group(definition: AlarmDefinition, label: str) -> AlarmDefinition:
    """`definition` as the alarm of the target group `label` (unchanged for the first)."""
    if not label:
        return definition
    text = f"Target group {label}: {definition.description}"
    return replace(definition, key=f"{definition.key}-{label}", description=text)


def _target_group(alb_arn_suffix: pulumi.Input[str], tg_arn_suffix: pulumi.Input[str]) -> dict:
    return {"LoadBalancer": alb_arn_suffix, "TargetGroup": tg_arn_suffix}


def api_5xx_rate(
    alb_arn_suffix: pulumi.Input[str],
    target_group_arn_suffix: pulumi.Input[str],
    t: AlarmThresholds,
) -> AlarmDefinition:
    dims = _target_group(alb_arn_suffix, target_group_arn_suffix)
    return AlarmDefinition(
        key="api-5xx-rate",
        severity="critical",
        description=(
            f"More than {t.api_5xx_rate_percent:g} % of API requests fail with 5xx from the "
            "tasks. During a deploy ECS rolls back on this alarm. Otherwise: check the API "
            "logs for the error, recent deploys, and the database and cache alarms."
        ),
        signal=MetricMath(
            # FILL: no 5xx datapoint means zero errors; below the minimum request count the
            # rate is not judged (a single error on an idle service is not an outage).
            expression=(
                f"IF(requests >= {t.api_5xx_min_requests}, 100 * FILL(errors, 0) / requests, 0)"
            ),
            label="Target 5xx rate (%)",
            metrics={
                "errors": Metric(
                    namespace="AWS/ApplicationELB",
                    name="HTTPCode_Target_5XX_Count",
                    dimensions=dims,
                    stat="Sum",
                ),
                "requests": Metric(
                    namespace="AWS/ApplicationELB",
                    name="RequestCount",
                    dimensions=dims,
                    stat="Sum",
                ),
            },
        ),
        threshold=t.api_5xx_rate_percent,
        evaluation_periods=3,
        datapoints_to_alarm=2,
    )


def api_unhealthy_hosts(
    alb_arn_suffix: pulumi.Input[str], target_group_arn_suffix: pulumi.Input[str]
) -> AlarmDefinition:
    return AlarmDefinition(
        key="api-unhealthy-hosts",
        severity="critical",
        description=(
            "API tasks fail the load balancer health check. During a deploy ECS rolls back on "
            "this alarm. Otherwise: check the stopped-task reasons in ECS and the health "
            "endpoint's dependencies (database, cache)."
        ),
        signal=Metric(
            namespace="AWS/ApplicationELB",
            name="UnHealthyHostCount",
            dimensions=_target_group(alb_arn_suffix, target_group_arn_suffix),
            stat="Maximum",
        ),
        threshold=0,
        evaluation_periods=3,
        datapoints_to_alarm=3,
    )


def api_latency_p95(
    alb_arn_suffix: pulumi.Input[str],
    target_group_arn_suffix: pulumi.Input[str],
    severity: Severity,
    t: AlarmThresholds,
) -> AlarmDefinition:
    seconds = (
        t.api_latency_p95_critical_seconds
        if severity == "critical"
        else t.api_latency_p95_warning_seconds
    )
    return AlarmDefinition(
        key=f"api-latency-p95-{severity}",
        severity=severity,
        description=(
            f"API p95 response time is above {seconds:g} s over 5 minutes. Check database CPU "
            "and connections, cache health and ECS CPU; scale out or roll back a slow release."
        ),
        signal=Metric(
            namespace="AWS/ApplicationELB",
            name="TargetResponseTime",
            dimensions=_target_group(alb_arn_suffix, target_group_arn_suffix),
            stat="p95",
        ),
        threshold=seconds,
        period=300,
    )


# ---------------------------------------------------------------------------------------------
# ECS services


def _service(cluster: pulumi.Input[str], service: pulumi.Input[str]) -> dict:
    return {"ClusterName": cluster, "ServiceName": service}


def ecs_cpu(
    label: str, cluster: pulumi.Input[str], service: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"{label}-cpu",
        severity="warning",
        description=(
            f"The {label} service's CPU is above {t.ecs_cpu_percent:g} % for 10 minutes. "
            "Autoscaling should be adding tasks; if it is at its maximum, raise it or the "
            "task size, or find the hot code path."
        ),
        signal=Metric(
            namespace="AWS/ECS",
            name="CPUUtilization",
            dimensions=_service(cluster, service),
            stat="Average",
        ),
        threshold=t.ecs_cpu_percent,
        period=300,
        evaluation_periods=2,
        treat_missing_data=MISSING,
    )


def ecs_memory(
    label: str, cluster: pulumi.Input[str], service: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"{label}-memory",
        severity="critical",
        description=(
            f"The {label} service's memory is above {t.ecs_memory_percent:g} % for 10 minutes; "
            "tasks are close to being OOM-killed. Look for a leak in a recent release, roll "
            "back or raise the task memory."
        ),
        signal=Metric(
            namespace="AWS/ECS",
            name="MemoryUtilization",
            dimensions=_service(cluster, service),
            stat="Average",
        ),
        threshold=t.ecs_memory_percent,
        period=300,
        evaluation_periods=2,
        treat_missing_data=MISSING,
    )


def ecs_running_tasks(
    label: str, cluster: pulumi.Input[str], service: pulumi.Input[str], minimum: int
) -> AlarmDefinition:
    return AlarmDefinition(
        key=f"{label}-running-tasks",
        severity="critical",
        description=(
            f"Fewer than {minimum} {label} task(s) have run for 3 minutes. Check the service "
            "events and stopped-task reasons (image pull, secrets, health checks, capacity)."
        ),
        # Container Insights publishes the running count; the cluster must have it enabled.
        signal=Metric(
            namespace="ECS/ContainerInsights",
            name="RunningTaskCount",
            dimensions=_service(cluster, service),
            stat="Minimum",
        ),
        threshold=minimum,
        comparison=BELOW,
        evaluation_periods=3,
        treat_missing_data=BREACHING,
    )


# ---------------------------------------------------------------------------------------------
# CloudFront, the migration job, the restore check, the scheduler


def cdn_5xx_rate(distribution_id: pulumi.Input[str], t: AlarmThresholds) -> AlarmDefinition:
    return AlarmDefinition(
        key="cdn-5xx-rate",
        severity="critical",
        description=(
            f"More than {t.cdn_5xx_rate_percent:g} % of CloudFront responses are 5xx for 10 "
            "minutes. Check the origin (S3 bucket policy / origin access, the API) and "
            "CloudFront's origin error metrics."
        ),
        # CloudFront publishes only in us-east-1, under Region=Global.
        signal=Metric(
            namespace="AWS/CloudFront",
            name="5xxErrorRate",
            dimensions={"DistributionId": distribution_id, "Region": "Global"},
            stat="Average",
        ),
        threshold=t.cdn_5xx_rate_percent,
        period=300,
        evaluation_periods=2,
    )


def _lambda_errors(
    key: str, severity: Severity, description: str, function_name: pulumi.Input[str]
) -> AlarmDefinition:
    """Any error of a Lambda function within 5 minutes."""
    return AlarmDefinition(
        key=key,
        severity=severity,
        description=description,
        signal=Metric(
            namespace="AWS/Lambda",
            name="Errors",
            dimensions={"FunctionName": function_name},
            stat="Sum",
        ),
        threshold=1,
        comparison=AT_OR_ABOVE,
        period=300,
    )


def migration_errors(function_name: pulumi.Input[str]) -> AlarmDefinition:
    return _lambda_errors(
        "migration-errors",
        "warning",
        "The database migration function failed, so the rollout stopped before the API "
        "changed. Read the function's log, fix the migration, deploy again.",
        function_name,
    )


def restore_check_failures(function_name: pulumi.Input[str]) -> AlarmDefinition:
    return _lambda_errors(
        "restore-check-failed",
        "critical",
        "A restore test of the database failed its validation, or the validation could not "
        "run: the backups may not restore. The verdict and its reason are on the restore job in "
        "AWS Backup (docs/runbooks/restore-from-backup.md).",
        function_name,
    )


def scheduler_failures(metric_namespace: str, t: AlarmThresholds) -> AlarmDefinition:
    return AlarmDefinition(
        key="scheduler-failures",
        severity="critical",
        description=(
            f"{t.scheduler_failures} or more scheduled job runs failed in 15 minutes (the "
            "worker logged scheduler_run with status failed). Read the worker logs for the job "
            "and its error; jobs are not being done."
        ),
        signal=Metric(
            namespace=metric_namespace, name=SCHEDULER_FAILURE_METRIC, dimensions={}, stat="Sum"
        ),
        threshold=t.scheduler_failures,
        comparison=AT_OR_ABOVE,
        period=SCHEDULER_WINDOW_SECONDS,
    )
