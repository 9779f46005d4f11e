"""DeploymentAlarms: the API alarms ECS watches during a deployment to roll it back.

Creates, from the alarm catalog, the API's target 5xx-rate alarm (metric math over target 5xx
and request counts) and its unhealthy-hosts alarm. They are made before the ApiService, which
lists `alarm_names` in its deployment configuration with rollback on; outside deployments the
same alarms page through the critical topic, so each signal exists once.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from components.alarm_catalog import (
    AlarmTopics,
    api_5xx_rate,
    api_unhealthy_hosts,
    create_alarm,
)
from components.config import AlarmsConfig, StackWide


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsWiring:
    """What DeploymentAlarms takes from LoadBalancer and Notifications."""

    alb_arn_suffix: pulumi.Input[str]
    """The load balancer's ARN suffix (`app/<name>/<id>`), its CloudWatch dimension."""
    target_group_arn_suffix: pulumi.Input[str]
    """The API target group's ARN suffix (`targetgroup/<name>/<id>`)."""
    topics: AlarmTopics
    """Topics per severity, in this component's region."""


@dataclass(frozen=True, kw_only=True)
class DeploymentAlarmsArgs:
    """Inputs of DeploymentAlarms."""

    stack: StackWide
    """Alarm names start with its `name_prefix` (`webstack-prod-api-5xx-rate`)."""
    alarms: AlarmsConfig
    """The alarms' thresholds."""
    wiring: DeploymentAlarmsWiring


class DeploymentAlarms(pulumi.ComponentResource):
    """The API's 5xx-rate and unhealthy-hosts alarms, shared by paging and ECS rollback."""

    alarm_names: list[pulumi.Output[str]]
    alarm_arns: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: DeploymentAlarmsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:DeploymentAlarms", name, None, opts)
        wiring = args.wiring
        alb, target_group = wiring.alb_arn_suffix, wiring.target_group_arn_suffix
        definitions = [
            api_5xx_rate(alb, target_group, args.alarms.thresholds),
            api_unhealthy_hosts(alb, target_group),
        ]
        alarms = [
            create_alarm(
                name, args.stack.name_prefix, d, wiring.topics, pulumi.ResourceOptions(parent=self)
            )
            for d in definitions
        ]
        self.alarm_names = [alarm.name for alarm in alarms]
        self.alarm_arns = [alarm.arn for alarm in alarms]
        self.register_outputs({"alarm_names": self.alarm_names, "alarm_arns": self.alarm_arns})
