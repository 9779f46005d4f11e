"""A traffic-shifting deployment of the API (CANARY, LINEAR, BLUE_GREEN): what ECS is told.

- `traffic_shift` creates the ECS infrastructure role for load balancers that ECS assumes to
  register the new tasks in the idle target group and move the listener rules' weights, with an
  inline policy scoped to exactly the stack's two target groups and its rules (iam.py), and
  sizes the service's timeouts from the modeled deployment (rollout.py);
- `deployment_configuration` and `advanced_configuration` are the service's two blocks: the
  strategy with its timing, and the alternate target group, the production and test rules and
  the role; `service_timeouts` its create/update timeouts.

ECS requires its own deployment controller (ECS, the default, which the service keeps) and an
ALB listener *rule* forwarding to both groups (components/listener_rules.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.app.context import AppContext
from components.app.iam import traffic_shift_policy
from components.app.rollout import schedule
from components.config import DeploymentConfig, EdgeConfig
from components.config.deployment import CANARY, LINEAR
from components.iam import passed_role_trust_policy
from components.listener_rules import TrafficShiftRouting


@dataclass(frozen=True, kw_only=True)
class TrafficShift:
    """How ECS moves a load-balanced workload's traffic between two target groups."""

    deployment: DeploymentConfig
    """CANARY, LINEAR or BLUE_GREEN, with its timing."""
    routing: TrafficShiftRouting
    role_arn: pulumi.Input[str]
    """The infrastructure role ECS shifts the traffic with."""
    timeout_minutes: int
    """How long `pulumi up` may wait for a deployment (shift, bake, a rollback, a margin)."""


def traffic_shift(
    ctx: AppContext,
    *,
    name_prefix: str,
    deployment: DeploymentConfig,
    edge: EdgeConfig,
    target_group_arn: pulumi.Input[str],
    routing: TrafficShiftRouting,
) -> tuple[TrafficShift, aws.iam.RolePolicy]:
    """The infrastructure role and its grant (the service must wait for it), and the shift."""
    role = aws.iam.Role(
        f"{ctx.name}-api-traffic-shift-role",
        description=f"ECS moves {name_prefix} api traffic between its target groups",
        # As AWS documents the infrastructure role: no source conditions, which ECS does not
        # document sending for it; only a holder of iam:PassRole on the role hands it to a service.
        assume_role_policy=passed_role_trust_policy("ecs.amazonaws.com"),
        opts=ctx.child(),
    )
    grant = aws.iam.RolePolicy(
        f"{ctx.name}-api-traffic-shift-policy",
        role=role.id,
        policy=traffic_shift_policy(
            target_group_arns=[target_group_arn, routing.alternate_target_group_arn],
            rule_arns=_rules(routing),
        ),
        opts=ctx.child(),
    )
    modeled = schedule(
        deployment,
        edge.health_check,
        deregistration_delay_seconds=edge.deregistration_delay_seconds,
        # Only ROLLING's bake depends on the alarms, and a rolling service keeps the provider's
        # own timeouts.
        detection=0,
    )
    shift = TrafficShift(
        deployment=deployment,
        routing=routing,
        role_arn=role.arn,
        timeout_minutes=modeled.timeout_minutes,
    )
    return shift, grant


def deployment_configuration(
    deployment: DeploymentConfig,
) -> aws.ecs.ServiceDeploymentConfigurationArgs:
    """ECS's strategy block; the provider takes the minutes as strings."""
    return aws.ecs.ServiceDeploymentConfigurationArgs(
        strategy=deployment.strategy,
        bake_time_in_minutes=str(deployment.bake_time_minutes),
        canary_configuration=aws.ecs.ServiceDeploymentConfigurationCanaryConfigurationArgs(
            canary_percent=deployment.canary_percent,
            canary_bake_time_in_minutes=str(deployment.canary_interval_minutes),
        )
        if deployment.strategy == CANARY
        else None,
        linear_configuration=aws.ecs.ServiceDeploymentConfigurationLinearConfigurationArgs(
            step_percent=deployment.linear_step_percent,
            step_bake_time_in_minutes=str(deployment.linear_interval_minutes),
        )
        if deployment.strategy == LINEAR
        else None,
    )


def advanced_configuration(
    shift: TrafficShift | None,
) -> aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs | None:
    """The second target group, the rules ECS shifts and the role it shifts them with."""
    if shift is None:
        return None
    return aws.ecs.ServiceLoadBalancerAdvancedConfigurationArgs(
        alternate_target_group_arn=shift.routing.alternate_target_group_arn,
        production_listener_rule=shift.routing.production_listener_rule_arn,
        test_listener_rule=shift.routing.test_listener_rule_arn,
        role_arn=shift.role_arn,
    )


def service_timeouts(shift: TrafficShift | None) -> pulumi.CustomTimeouts | None:
    """The service's create/update timeouts under a shifting strategy; None keeps the
    provider's (20 minutes), enough for a rolling deployment."""
    if shift is None:
        return None
    minutes = f"{shift.timeout_minutes}m"
    return pulumi.CustomTimeouts(create=minutes, update=minutes)


def _rules(routing: TrafficShiftRouting) -> Sequence[pulumi.Input[str]]:
    test = routing.test_listener_rule_arn
    return [routing.production_listener_rule_arn, *([test] if test is not None else [])]
