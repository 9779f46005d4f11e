"""The release timeline model (components/app/rollout.py) against figures worked out by hand
from its stated rules, and the goal for prod's committed settings."""

from __future__ import annotations

from typing import Any

import pytest

from components.alarm_catalog import AlarmDefinition, Metric
from components.app import rollout
from components.config import DeploymentConfig, HealthCheckConfig
from tests.helpers import parse
from tools import timeline

# A target is healthy 60 s (task start) + 3 x 10 s (healthy threshold x interval) = 90 s in.
HEALTH = HealthCheckConfig(
    path="/api/ready",
    interval_seconds=10,
    timeout_seconds=5,
    healthy_threshold=3,
    unhealthy_threshold=2,
)


def model(detection: int, **deployment: Any) -> tuple[rollout.Schedule, rollout.Exposure]:
    plan = rollout.schedule(
        DeploymentConfig(**deployment),
        HEALTH,
        deregistration_delay_seconds=15,
        detection=detection,
    )
    return plan, rollout.exposure(plan, detection)


def test_canary_rolls_back_inside_its_interval() -> None:
    plan, bad = model(100, strategy="CANARY", canary_percent=20, canary_interval_minutes=4,
                      bake_time_minutes=7)  # fmt: skip
    # 90 s healthy, +240 s canary, +420 s bake, +15 s drain; a rollback is 30 s + 5 s.
    assert (plan.first_traffic_seconds, plan.full_traffic_seconds) == (90, 330)
    assert (plan.watched_until_seconds, plan.done_seconds, plan.rollback_seconds) == (750, 765, 35)
    # The alarm at 90 + 100; ECS acts at 220, still inside the canary: 20 % of 225 - 90 seconds.
    assert (bad.alarm_seconds, bad.rolls_back, bad.share) == (190, True, 0.2)
    assert bad.traffic_seconds == pytest.approx(0.2 * 135)
    # (765 + 35) s = 13.3 min -> 14, + 10 margin = 24 minutes.
    assert plan.timeout_minutes == 24


def test_linear_has_moved_a_step_further_by_the_time_ecs_acts() -> None:
    plan, bad = model(200, strategy="LINEAR", linear_step_percent=25, linear_interval_minutes=2,
                      bake_time_minutes=0)  # fmt: skip
    # Four moves, three 120 s waits: all traffic at 90 + 360.
    assert (plan.full_traffic_seconds, plan.done_seconds) == (450, 465)
    # The alarm at 290, ECS at 320: the second step (50 %) began at 210.
    assert (bad.alarm_seconds, bad.share) == (290, 0.5)
    # 25 % for 120 s (90-210) and 50 % for 115 s (210-325).
    assert bad.traffic_seconds == pytest.approx(0.25 * 120 + 0.5 * 115)


def test_an_alarm_after_the_bake_rolls_nothing_back() -> None:
    plan, bad = model(100, strategy="BLUE_GREEN", bake_time_minutes=0)
    assert plan.watched_until_seconds == 90 < bad.alarm_seconds == 190
    assert not bad.rolls_back and bad.share == 1.0
    assert bad.traffic_seconds == pytest.approx(100)
    assert not rollout.meets_goal(plan, bad)


def test_rolling_starts_the_old_tasks_again() -> None:
    plan, bad = model(100, strategy="ROLLING")
    # Half the requests for the 30 s until the old tasks leave; ECS watches one alarm time more.
    assert (plan.full_traffic_seconds, plan.watched_until_seconds, plan.done_seconds) == (
        120,
        220,
        235,
    )
    # 30 s to react, 90 s for old tasks to get healthy, 30 s to deregister the bad ones.
    assert plan.rollback_seconds == 150
    assert (bad.rolls_back, bad.share) == (True, 1.0)
    assert bad.traffic_seconds == pytest.approx(0.5 * 30 + (340 - 120))
    assert plan.timeout_minutes == 20  # pulumi-aws's own default for an ECS service update


def test_the_slowest_alarm_decides_detection() -> None:
    signal = Metric(namespace="AWS/ApplicationELB", name="RequestCount", dimensions={}, stat="Sum")

    def alarm(period: int, evaluation: int, datapoints: int | None) -> AlarmDefinition:
        return AlarmDefinition(
            key="x", severity="critical", description="x", signal=signal, threshold=1,
            period=period, evaluation_periods=evaluation, datapoints_to_alarm=datapoints,
        )  # fmt: skip

    # 2 of 3 one-minute datapoints: 120 s; all of 1 five-minute datapoint: 300 s; + 60 s delay.
    assert rollout.detection_seconds([alarm(60, 3, 2), alarm(300, 1, None)]) == 360
    assert rollout.detection_seconds([alarm(60, 3, 2)]) == 180


def test_prods_canary_meets_the_goal_and_rolling_would_not() -> None:
    """The goal for prod: the old version back <= 60 s after the alarm, <= 10 % of the requests
    ever on a bad release."""
    models = {
        plan.deployment.strategy: (plan, bad) for plan, bad in timeline.compared(parse("prod"))
    }
    canary, bad = models["CANARY"]
    assert rollout.meets_goal(canary, bad)
    assert canary.rollback_seconds <= 60 and bad.share <= 0.10
    rolling, rolling_bad = models["ROLLING"]
    assert rolling.rollback_seconds > 60 or rolling_bad.share > 0.10
    assert not rollout.meets_goal(rolling, rolling_bad)
