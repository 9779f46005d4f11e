"""DeploymentAlarms: the API alarms ECS watches during a deployment to roll it back.

Creates, from the alarm catalog, the API's target 5xx-rate alarm (metric math over target 5xx
and request counts) and its unhealthy-hosts alarm. They are made before the ApiService, which
lists `alarm_names` in its deployment configuration with rollback on; outside deployments the
same alarms page through the critical topic, so each signal exists once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi

from components.alarm_catalog import (
    AlarmThresholds,
    AlarmTopics,
    api_5xx_rate,
    api_unhealthy_hosts,
    create_alarm,
)


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    """Inputs of DeploymentAlarms."""

    name_prefix: str
    """Prefix of alarm names (`webstack-prod` -> `webstack-prod-api-5xx-rate`)."""
    alb_arn_suffix: pulumi.Input[str]
    """The load balancer's ARN suffix (`app/<name>/<id>`), its CloudWatch dimension."""
    target_group_arn_suffix: pulumi.Input[str]
    """The API target group's ARN suffix (`targetgroup/<name>/<id>`)."""
    topics: AlarmTopics
    """Topics per severity, in this component's region."""
    thresholds: AlarmThresholds = field(default_factory=AlarmThresholds)
    """Alarm thresholds (`webstack:alarms`)."""


class DeploymentAlarms(pulumi.ComponentResource):
    """The API's 5xx-rate and unhealthy-hosts alarms, shared by paging and ECS rollback."""

    alarm_names: list[pulumi.Output[str]]
    alarm_arns: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:DeploymentAlarms", name, None, opts)
        definitions = [
            api_5xx_rate(args.alb_arn_suffix, args.target_group_arn_suffix, args.thresholds),
            api_unhealthy_hosts(args.alb_arn_suffix, args.target_group_arn_suffix),
        ]
        alarms = [
            create_alarm(
                name, args.name_prefix, d, args.topics, pulumi.ResourceOptions(parent=self)
            )
            for d in definitions
        ]
        self.alarm_names = [alarm.name for alarm in alarms]
        self.alarm_arns = [alarm.arn for alarm in alarms]
        self.register_outputs({"alarm_names": self.alarm_names, "alarm_arns": self.alarm_arns})
