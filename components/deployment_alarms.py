"""DeploymentAlarms: the API alarms ECS watches during a deployment to roll it back.

Creates, from the alarm catalog, per API target group (one with ROLLING; both with a
traffic-shifting strategy, since either one can hold the new release): the target 5xx-rate
alarm (metric math over target 5xx and request counts) and the unhealthy-hosts alarm, and, for
a traffic-shifting strategy, a one-minute p95 latency alarm (a slow release rolls back too,
before its canary interval is over). They are made before the ApiService, which lists
`alarm_names` in its deployment configuration with rollback on; outside deployments the same
alarms notify through their severity's topic, so each signal exists once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.alarm_catalog import (
    AlarmDefinition,
    AlarmTopics,
    Metric,
    api_5xx_rate,
    api_unhealthy_hosts,
    create_alarm,
    for_target_group,
    target_group_variants,
)
from components.config import AlarmsConfig, AlarmThresholds, StackWide


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsWiring:
    """What DeploymentAlarms takes from LoadBalancer and Notifications."""

    alb_arn_suffix: pulumi.Input[str]
    """The load balancer's ARN suffix (`app/<name>/<id>`), its CloudWatch dimension."""
    target_group_arn_suffix: pulumi.Input[str]
    """The API target group's ARN suffix (`targetgroup/<name>/<id>`)."""
    topics: AlarmTopics
    """Topics per severity, in this component's region."""
    alternate_target_group_arn_suffix: pulumi.Input[str] | None = None
    """The second target group of a traffic-shifting strategy (None with ROLLING)."""


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    """Inputs of DeploymentAlarms."""

    stack: StackWide
    """Alarm names start with its `name_prefix` (`webstack-prod-api-5xx-rate`)."""
    alarms: AlarmsConfig
    """The alarms' thresholds."""
    wiring: DeploymentAlarmsWiring


def deployment_alarm_definitions(
    alb_arn_suffix: pulumi.Input[str],
    target_group_arn_suffix: pulumi.Input[str],
    alternate_target_group_arn_suffix: pulumi.Input[str] | None,
    t: AlarmThresholds,
) -> list[AlarmDefinition]:
    """The rollback triggers, per target group (see the module docstring)."""
    shifting = alternate_target_group_arn_suffix is not None
    definitions = []
    for label, group in target_group_variants(
        target_group_arn_suffix, alternate_target_group_arn_suffix
    ):
        signals = [
            api_5xx_rate(alb_arn_suffix, group, t),
            api_unhealthy_hosts(alb_arn_suffix, group),
        ]
        if shifting:
            signals.append(api_release_latency_p95(alb_arn_suffix, group, t))
        definitions += [for_target_group(d, label) for d in signals]
    return definitions


def api_release_latency_p95(
    alb_arn_suffix: pulumi.Input[str],
    target_group_arn_suffix: pulumi.Input[str],
    t: AlarmThresholds,
) -> AlarmDefinition:
    """p95 latency at one-minute resolution: the rollback trigger of a release that is slow
    rather than failing (the five-minute api-latency-p95 alarms would outlast a canary)."""
    seconds = t.api_latency_p95_critical_seconds
    return AlarmDefinition(
        key="api-release-latency-p95",
        severity="warning",
        description=(
            f"API p95 response time is above {seconds:g} s in 2 of 3 minutes. During a "
            "traffic-shifting deploy ECS rolls the release back on this alarm. Otherwise: see "
            "the api-latency-p95 alarms."
        ),
        signal=Metric(
            namespace="AWS/ApplicationELB",
            name="TargetResponseTime",
            dimensions={"LoadBalancer": alb_arn_suffix, "TargetGroup": target_group_arn_suffix},
            stat="p95",
        ),
        threshold=seconds,
        evaluation_periods=3,
        datapoints_to_alarm=2,
    )


class DeploymentAlarms(pulumi.ComponentResource):
    """The API's rollback alarms per target group, shared by notifications and ECS rollback."""

    alarm_names: list[pulumi.Output[str]]
    alarm_arns: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:DeploymentAlarms", name, None, opts)
        wiring = args.wiring
        definitions = deployment_alarm_definitions(
            wiring.alb_arn_suffix,
            wiring.target_group_arn_suffix,
            wiring.alternate_target_group_arn_suffix,
            args.alarms.thresholds,
        )
        alarms = [
            create_alarm(
                name, args.stack.name_prefix, d, wiring.topics, pulumi.ResourceOptions(parent=self)
            )
            for d in definitions
        ]
        self.alarm_names = [alarm.name for alarm in alarms]
        self.alarm_arns = [alarm.arn for alarm in alarms]
        self.register_outputs({"alarm_names": self.alarm_names, "alarm_arns": self.alarm_arns})
