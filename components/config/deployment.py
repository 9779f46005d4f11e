"""`webstack:api.deployment`: how a new API release reaches traffic, and how fast it leaves it.

ROLLING replaces tasks behind the one target group (a rollback starts the old tasks again).
CANARY, LINEAR and BLUE_GREEN are ECS's traffic-shifting strategies: the new tasks start in a
second target group and ECS moves the production listener rule's weights to them (a canary
share first, equal steps, or all at once); the old tasks keep running until the bake time after
the last shift is over, so a rollback is a weight flip. Every value is checked against ECS's
ranges (components.aws_facts), and a key that the chosen strategy does not use is a mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from components.aws_facts import (
    ECS_BAKE_MINUTES,
    ECS_CANARY_PERCENT,
    ECS_DEPLOYMENT_STRATEGIES,
    ECS_LINEAR_STEP_PERCENT,
    ECS_PERCENT_STEP,
)
from components.config.reader import Section

ROLLING = "ROLLING"
CANARY = "CANARY"
LINEAR = "LINEAR"
BLUE_GREEN = "BLUE_GREEN"
# The keys each strategy reads besides `strategy`; any other is reported.
_STRATEGY_KEYS = {
    ROLLING: (),
    CANARY: ("bakeTimeMinutes", "testTraffic", "canaryPercent", "canaryIntervalMinutes"),
    LINEAR: ("bakeTimeMinutes", "testTraffic", "linearStepPercent", "linearIntervalMinutes"),
    BLUE_GREEN: ("bakeTimeMinutes", "testTraffic"),
}


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """`webstack:api.deployment`: the API service's deployment strategy and its timing."""

    strategy: str = CANARY
    """ROLLING, CANARY, LINEAR or BLUE_GREEN (ECS's `deploymentConfiguration.strategy`)."""
    bake_time_minutes: int = 10
    """Minutes the old tasks keep running after the last traffic shift: the window in which a
    rollback is a listener-weight flip. Unused by ROLLING (ECS times its own bake there)."""
    canary_percent: float = 10.0
    """CANARY: share of production traffic the new release gets first."""
    canary_interval_minutes: int = 5
    """CANARY: minutes at that share before the rest of the traffic moves."""
    linear_step_percent: float = 10.0
    """LINEAR: share of production traffic moved per step."""
    linear_interval_minutes: int = 5
    """LINEAR: minutes between steps (none after the last)."""
    test_traffic: bool = True
    """A test listener rule: requests with the generated `X-Webstack-Test` header reach the new
    release as soon as it is healthy, before it takes production traffic."""

    @property
    def shifts_traffic(self) -> bool:
        """Whether ECS moves traffic between two target groups (every strategy but ROLLING)."""
        return self.strategy != ROLLING

    @property
    def traffic_steps(self) -> int:
        """How many times ECS moves production traffic (ROLLING: none, it replaces tasks)."""
        if self.strategy == CANARY:
            return 2
        if self.strategy == LINEAR:
            return math.ceil(100 / self.linear_step_percent - 1e-9)
        return 1 if self.strategy == BLUE_GREEN else 0

    @property
    def shift_minutes(self) -> int:
        """Minutes from the first production shift to the last (the waits between steps)."""
        if self.strategy == CANARY:
            return self.canary_interval_minutes
        if self.strategy == LINEAR:
            return (self.traffic_steps - 1) * self.linear_interval_minutes
        return 0


def _percent(section: Section, key: str, default: float, bounds: tuple[float, float]) -> float:
    low, high = bounds
    value = section.get_number(key, default, min=low, max=high)
    tenths = value / ECS_PERCENT_STEP
    if abs(tenths - round(tenths)) > 1e-6:
        section.error(key, f"ECS takes multiples of {ECS_PERCENT_STEP:g}, got {value:g}")
    return value


def read_deployment(section: Section) -> DeploymentConfig:
    """`webstack:api.deployment`; a missing key takes the DeploymentConfig default."""
    d = DeploymentConfig()
    strategy = section.get_str("strategy", d.strategy, choices=ECS_DEPLOYMENT_STRATEGIES)
    used = _STRATEGY_KEYS.get(strategy, ())
    for key in sorted({k for keys in _STRATEGY_KEYS.values() for k in keys} - set(used)):
        if section.has(key):
            section.error(key, f"is not used by strategy {strategy}; remove it")
    low, high = ECS_BAKE_MINUTES

    def minutes(key: str, default: int) -> int:
        return section.get_int(key, default, min=low, max=high)

    deployment = DeploymentConfig(
        strategy=strategy,
        bake_time_minutes=minutes("bakeTimeMinutes", d.bake_time_minutes),
        canary_percent=_percent(section, "canaryPercent", d.canary_percent, ECS_CANARY_PERCENT),
        canary_interval_minutes=minutes("canaryIntervalMinutes", d.canary_interval_minutes),
        linear_step_percent=_percent(
            section, "linearStepPercent", d.linear_step_percent, ECS_LINEAR_STEP_PERCENT
        ),
        linear_interval_minutes=minutes("linearIntervalMinutes", d.linear_interval_minutes),
        test_traffic=section.get_bool("testTraffic", d.test_traffic),
    )
    section.finish()
    return deployment
