"""The modeled timeline of an API release: when it takes all traffic, how fast a firing alarm
gets the old version back, and how much traffic a bad release reaches before that.

Pure arithmetic over config. `schedule` is what any release does (the ApiService sizes the
service's custom timeouts from it); `exposure` is what a bad one gets away with before its
deployment alarm rolls it back; `make plan` prints both for every stack, beside ROLLING. The
model (docs/deploying.md, "The modeled timeline", says the same in prose):

- t = 0 is the moment ECS starts the deployment. The new tasks are healthy, and may take
  traffic, after TASK_START_SECONDS (Fargate placement, image pull, boot: an assumption) plus
  the target group's `healthyThreshold` x `intervalSeconds`.
- ROLLING: the new tasks join the one target group beside the old ones (equal counts: half the
  requests) until ECS deregisters the old ones, ECS_REACTION_SECONDS later; a deregistered task
  gets no new request, the delay only lets those in flight finish. ECS keeps watching the alarms
  for a bake of its own, which it derives from their configuration: taken here as the slowest
  alarm's time to fire. A rollback has to start the old tasks again: reaction, task start,
  health checks, then the bad tasks are deregistered.
- CANARY / LINEAR / BLUE_GREEN: the new tasks sit in the other target group and get requests
  only through the listener rule's weights: the canary share for its interval then all; equal
  steps with an interval between them (none after the last); or all at once. The old tasks keep
  running until `bakeTimeMinutes` after the last shift (then are drained for the deregistration
  delay), so a rollback is ECS noticing the alarm (ECS_REACTION_SECONDS) and setting the weights
  back (LISTENER_UPDATE_SECONDS). An alarm that fires after the bake is over finds no deployment
  to roll back: someone must.
- A bad release is bad from its first request. The deployment alarm that takes longest decides
  when the rollback starts: its `period` x datapoints to alarm, plus METRIC_DELAY_SECONDS for
  the load balancer's one-minute metrics to reach CloudWatch (`detection_seconds`).
- Exposure is the share of production requests the bad release receives when the rollback
  starts (the most it ever had), and the same integrated over time: the seconds of *all*
  traffic it answered, a figure to compare strategies by (requests = it x request rate).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from components.alarm_catalog import AlarmDefinition
from components.config import DeploymentConfig, HealthCheckConfig
from components.config.deployment import CANARY, LINEAR, ROLLING

# Assumptions of the model (see the module docstring); none is an AWS guarantee.
TASK_START_SECONDS = 60
ECS_REACTION_SECONDS = 30
LISTENER_UPDATE_SECONDS = 5
METRIC_DELAY_SECONDS = 60
# `pulumi up` waits for the whole deployment (wait_for_steady_state); its timeout is the modeled
# duration, a rollback at its very end and this margin, and never below the provider's default.
TIMEOUT_MARGIN_MINUTES = 10
PROVIDER_DEFAULT_TIMEOUT_MINUTES = 20
# The goal for prod: the old version has all traffic back within a minute of the alarm, and a
# bad release never answers more than a tenth of the requests.
ROLLBACK_GOAL_SECONDS = 60
EXPOSURE_GOAL_SHARE = 0.10


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A release under one strategy, in seconds from the start of the deployment."""

    deployment: DeploymentConfig
    first_traffic_seconds: int
    """The new release answers its first production request."""
    full_traffic_seconds: int
    """It answers all of them."""
    watched_until_seconds: int
    """ECS stops watching the deployment alarms (its bake is over)."""
    done_seconds: int
    """The deployment is complete (the old tasks drained): what `pulumi up` waits for."""
    rollback_seconds: int
    """From a firing alarm until the old version answers every request again."""

    @property
    def timeout_minutes(self) -> int:
        """The service's create/update timeout: the whole deployment, a rollback at its end,
        a margin."""
        minutes = math.ceil((self.done_seconds + self.rollback_seconds) / 60)
        return max(PROVIDER_DEFAULT_TIMEOUT_MINUTES, minutes + TIMEOUT_MARGIN_MINUTES)

    def share(self, t: int) -> float:
        """The share of production requests the new release answers at second `t`."""
        d, since = self.deployment, t - self.first_traffic_seconds
        if since < 0:
            return 0.0
        if d.strategy == ROLLING:
            # Equal task counts split the requests until the old tasks are deregistered.
            return 0.5 if since < ECS_REACTION_SECONDS else 1.0
        if d.strategy == CANARY:
            return d.canary_percent / 100 if since < d.canary_interval_minutes * 60 else 1.0
        if d.strategy == LINEAR:
            interval = d.linear_interval_minutes * 60
            steps = 1 + since // interval if interval else d.traffic_steps
            return min(1.0, steps * d.linear_step_percent / 100)
        return 1.0


@dataclass(frozen=True, kw_only=True)
class Exposure:
    """What a release that is bad from its first request gets before the rollback."""

    alarm_seconds: int
    """Its slowest deployment alarm fires (seconds from the start of the deployment)."""
    rolls_back: bool
    """ECS still watches then; False: the deployment was complete, someone must roll back."""
    share: float
    """Share of production requests it answers when the rollback starts (or, with no
    rollback, when the alarm fires and from then on)."""
    traffic_seconds: float
    """Its share integrated up to the end of the rollback (or the alarm): seconds of all
    traffic it answered."""


def detection_seconds(definitions: Sequence[AlarmDefinition]) -> int:
    """When the slowest of `definitions` fires after its signal turns bad."""
    return METRIC_DELAY_SECONDS + max(
        d.period * (d.datapoints_to_alarm or d.evaluation_periods) for d in definitions
    )


def schedule(
    deployment: DeploymentConfig,
    health_check: HealthCheckConfig,
    *,
    deregistration_delay_seconds: int,
    detection: int,
) -> Schedule:
    """The modeled release under `deployment`; `detection` (the slowest deployment alarm's time
    to fire) is ROLLING's bake, which ECS derives from the alarms."""
    # Seconds from "start a task" to "the target group sends it requests".
    healthy = TASK_START_SECONDS + health_check.healthy_threshold * health_check.interval_seconds
    if deployment.strategy == ROLLING:
        full = healthy + ECS_REACTION_SECONDS
        watched = full + detection
        # Old tasks start again and get healthy; then ECS deregisters the bad ones.
        rollback = ECS_REACTION_SECONDS + healthy + ECS_REACTION_SECONDS
    else:
        full = healthy + deployment.shift_minutes * 60
        watched = full + deployment.bake_time_minutes * 60
        rollback = ECS_REACTION_SECONDS + LISTENER_UPDATE_SECONDS
    return Schedule(
        deployment=deployment,
        first_traffic_seconds=healthy,
        full_traffic_seconds=full,
        watched_until_seconds=watched,
        done_seconds=watched + deregistration_delay_seconds,
        rollback_seconds=rollback,
    )


def exposure(plan: Schedule, detection: int) -> Exposure:
    """What a release bad from its first request gets under `plan`, caught `detection` seconds
    after that request (see `detection_seconds`)."""
    alarm = plan.first_traffic_seconds + detection
    rolls_back = alarm <= plan.watched_until_seconds
    end = alarm + plan.rollback_seconds if rolls_back else alarm
    rollback_starts = alarm + ECS_REACTION_SECONDS if rolls_back else alarm
    return Exposure(
        alarm_seconds=alarm,
        rolls_back=rolls_back,
        share=plan.share(rollback_starts),
        # Summed second by second: the shares are steps minutes apart, so a one-second grid
        # is exact to a second of traffic and needs no closed form per strategy.
        traffic_seconds=sum(plan.share(t) for t in range(plan.first_traffic_seconds, end)),
    )


def meets_goal(plan: Schedule, bad: Exposure) -> bool:
    """Rolled back by itself within ROLLBACK_GOAL_SECONDS, never above EXPOSURE_GOAL_SHARE."""
    return (
        bad.rolls_back
        and plan.rollback_seconds <= ROLLBACK_GOAL_SECONDS
        and bad.share <= EXPOSURE_GOAL_SHARE + 1e-9
    )
