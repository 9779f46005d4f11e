"""`webstack:api.deployment`: the strategy and its timing, checked against ECS's ranges on the
pure parser; one end-to-end case proves nothing is registered on a bad value."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import DeploymentConfig
from tests.helpers import assert_problem, committed, parse, parse_problems, problems_of

KEY = "webstack:api.deployment"


def with_deployment(**deployment: Any) -> dict[str, Any]:
    return committed("prod", "api", deployment=deployment)


def deployment_problems(stack: str = "prod", **deployment: Any) -> list[str]:
    return parse_problems(stack, api=committed(stack, "api", deployment=deployment))


def test_the_committed_strategies() -> None:
    prod, staging = parse("prod").api.deployment, parse("staging").api.deployment
    assert (prod.strategy, prod.canary_percent, prod.canary_interval_minutes) == ("CANARY", 10, 5)
    assert prod.bake_time_minutes == 10 and prod.test_traffic
    assert (staging.strategy, staging.bake_time_minutes) == ("BLUE_GREEN", 5)


def test_without_the_key_a_release_is_a_canary_with_test_traffic() -> None:
    api = {k: v for k, v in committed("staging", "api").items() if k != "deployment"}
    deployment = parse("staging", api=api).api.deployment
    assert deployment == DeploymentConfig()
    assert (deployment.strategy, deployment.canary_percent, deployment.test_traffic) == (
        "CANARY",
        10,
        True,
    )


@pytest.mark.parametrize(
    ("deployment", "key", "words"),
    [
        ({"strategy": "CODE_DEPLOY"}, "strategy", ("ROLLING, CANARY, LINEAR, BLUE_GREEN",)),
        ({"strategy": "canary"}, "strategy", ("must be one of",)),
        ({"strategy": "CANARY", "canaryPercent": 0}, "canaryPercent", (">= 0.1",)),
        ({"strategy": "CANARY", "canaryPercent": 100.5}, "canaryPercent", ("<= 100",)),
        ({"strategy": "CANARY", "canaryPercent": 10.05}, "canaryPercent", ("multiples of 0.1",)),
        ({"strategy": "CANARY", "canaryPercent": "10%"}, "canaryPercent", ("must be a number",)),
        (
            {"strategy": "CANARY", "canaryIntervalMinutes": 1441},
            "canaryIntervalMinutes",
            ("<= 1440",),
        ),
        ({"strategy": "CANARY", "canaryIntervalMinutes": 2.5}, "canaryIntervalMinutes", ("int",)),
        ({"strategy": "LINEAR", "linearStepPercent": 2.9}, "linearStepPercent", (">= 3",)),
        ({"strategy": "LINEAR", "linearStepPercent": 33.33}, "linearStepPercent", ("0.1",)),
        ({"strategy": "LINEAR", "linearIntervalMinutes": -1}, "linearIntervalMinutes", (">= 0",)),
        ({"strategy": "BLUE_GREEN", "bakeTimeMinutes": 1441}, "bakeTimeMinutes", ("<= 1440",)),
        ({"strategy": "BLUE_GREEN", "testTraffic": "yes"}, "testTraffic", ("must be a bool",)),
        ({"strategy": "CANARY", "canaryPercentage": 5}, "canaryPercentage", ("unknown key",)),
    ],
)
def test_values_outside_ecs_ranges_are_rejected(
    deployment: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    for stack in ("prod", "staging"):
        assert_problem(deployment_problems(stack, **deployment), f"{KEY}.{key}", stack, *words)


@pytest.mark.parametrize(
    ("deployment", "key"),
    [
        # ROLLING has no bake of ours (ECS derives its own from the alarms) and no test route.
        ({"strategy": "ROLLING", "bakeTimeMinutes": 10}, "bakeTimeMinutes"),
        ({"strategy": "ROLLING", "testTraffic": False}, "testTraffic"),
        ({"strategy": "BLUE_GREEN", "canaryPercent": 10}, "canaryPercent"),
        ({"strategy": "CANARY", "linearStepPercent": 10}, "linearStepPercent"),
        ({"strategy": "LINEAR", "canaryIntervalMinutes": 5}, "canaryIntervalMinutes"),
    ],
)
def test_a_key_the_strategy_does_not_use_is_a_mistake(deployment: dict[str, Any], key: str) -> None:
    problems = deployment_problems(**deployment)
    assert_problem(
        problems, f"{KEY}.{key}", "prod", f"not used by strategy {deployment['strategy']}"
    )
    assert not [p for p in problems if "unknown key" in p]


def test_every_problem_is_reported_at_once() -> None:
    problems = deployment_problems(strategy="CANARY", canaryPercent=0, bakeTimeMinutes=-5)
    assert_problem(problems, f"{KEY}.canaryPercent", "prod", ">= 0.1")
    assert_problem(problems, f"{KEY}.bakeTimeMinutes", "prod", ">= 0")


@pytest.mark.parametrize(
    ("deployment", "steps", "shift_minutes"),
    [
        ({"strategy": "ROLLING"}, 0, 0),
        ({"strategy": "BLUE_GREEN", "bakeTimeMinutes": 30}, 1, 0),
        ({"strategy": "CANARY", "canaryPercent": 5, "canaryIntervalMinutes": 15}, 2, 15),
        # 100 / 25 = 4 moves, waits between them only: 3 x 6 minutes.
        ({"strategy": "LINEAR", "linearStepPercent": 25, "linearIntervalMinutes": 6}, 4, 18),
        # 33.3 % x 3 = 99.9 %: a fourth move takes the last tenth.
        ({"strategy": "LINEAR", "linearStepPercent": 33.3, "linearIntervalMinutes": 2}, 4, 6),
        ({"strategy": "LINEAR", "linearStepPercent": 100, "linearIntervalMinutes": 9}, 1, 0),
    ],
)
def test_how_many_moves_and_how_long_between_them(
    deployment: dict[str, Any], steps: int, shift_minutes: int
) -> None:
    parsed = parse("prod", api=with_deployment(**deployment)).api.deployment
    assert (parsed.traffic_steps, parsed.shift_minutes) == (steps, shift_minutes)
    assert parsed.shifts_traffic is (deployment["strategy"] != "ROLLING")


def test_a_bad_strategy_registers_nothing() -> None:
    problems = problems_of("staging", api=committed("staging", "api", deployment={"strategy": "X"}))
    assert_problem(problems, f"{KEY}.strategy", "staging", "must be one of")
