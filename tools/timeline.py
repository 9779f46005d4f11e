"""The deployment timeline section of `make plan` (and its `--json`): a stack's API release
under its configured strategy, beside the same release under ROLLING.

The figures are components.app.rollout's model (its docstring, and docs/deploying.md, state
every assumption) fed with the stack's config: `api.deployment`, the target group's health check
and deregistration delay, and the detection time of the deployment alarms the strategy gets
(components.deployment_alarms), so a change to any of them shows here.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from components.app import rollout
from components.config import DeploymentConfig, StackConfig
from components.config.deployment import CANARY, LINEAR, ROLLING
from components.deployment_alarms import deployment_alarm_definitions


def compared(cfg: StackConfig) -> list[tuple[rollout.Schedule, rollout.Exposure]]:
    """ROLLING and the configured strategy (once, when that is ROLLING)."""
    configured = cfg.api.deployment
    strategies = [replace(configured, strategy=ROLLING), configured]
    if not configured.shifts_traffic:
        strategies = strategies[1:]
    return [_model(cfg, deployment) for deployment in strategies]


def _model(
    cfg: StackConfig, deployment: DeploymentConfig
) -> tuple[rollout.Schedule, rollout.Exposure]:
    # The alarms' dimensions do not change when they fire; only their periods matter here.
    definitions = deployment_alarm_definitions(
        "", "", "" if deployment.shifts_traffic else None, cfg.alarms.thresholds
    )
    detection = rollout.detection_seconds(definitions)
    plan = rollout.schedule(
        deployment,
        cfg.edge.health_check,
        deregistration_delay_seconds=cfg.edge.deregistration_delay_seconds,
        detection=detection,
    )
    return plan, rollout.exposure(plan, detection)


def describe(deployment: DeploymentConfig) -> str:
    """`CANARY 10 % for 5 min, bake 10 min`, `ROLLING`, ..."""
    if deployment.strategy == ROLLING:
        return ROLLING
    steps = {
        CANARY: (f" {deployment.canary_percent:g} % for {deployment.canary_interval_minutes} min"),
        LINEAR: (
            f" {deployment.linear_step_percent:g} % every {deployment.linear_interval_minutes} min"
        ),
    }.get(deployment.strategy, "")
    return f"{deployment.strategy}{steps}, bake {deployment.bake_time_minutes} min"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "never (manual)"
    minutes, rest = divmod(round(seconds), 60)
    if not minutes:
        return f"{rest} s"
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def _percent(share: float) -> str:
    return f"{share * 100:g} %"


def _timeout(plan: rollout.Schedule) -> str:
    if not plan.deployment.shifts_traffic:
        return f"{rollout.PROVIDER_DEFAULT_TIMEOUT_MINUTES} min (the provider's)"
    return f"{plan.timeout_minutes} min"


def render(cfg: StackConfig) -> list[str]:
    """The section as text: one column per strategy."""
    models = compared(cfg)
    rows = [
        ("", [describe(plan.deployment) for plan, _ in models]),
        (
            "new release answers its first request",
            [_duration(p.first_traffic_seconds) for p, _ in models],
        ),
        (
            "new release answers all requests",
            [_duration(p.full_traffic_seconds) for p, _ in models],
        ),
        ("deployment complete (pulumi up returns)", [_duration(p.done_seconds) for p, _ in models]),
        ("pulumi up timeout (service create/update)", [_timeout(p) for p, _ in models]),
        (
            "bad release: slowest deployment alarm fires",
            [_duration(b.alarm_seconds) for _, b in models],
        ),
        (
            "  then the old version has all traffic in",
            [_duration(p.rollback_seconds if b.rolls_back else None) for p, b in models],
        ),
        ("  share of requests it answers, at most", [_percent(b.share) for _, b in models]),
        ("  seconds of all traffic it answers", [f"{b.traffic_seconds:,.0f} s" for _, b in models]),
        (
            f"goal: back <= {rollout.ROLLBACK_GOAL_SECONDS} s after the alarm, "
            f"<= {_percent(rollout.EXPOSURE_GOAL_SHARE)} exposed",
            ["met" if rollout.meets_goal(p, b) else "not met" for p, b in models],
        ),
    ]
    label_width = max(len(label) for label, _ in rows)
    widths = [max(len(cells[i]) for _, cells in rows) for i in range(len(models))]
    lines = [
        "Deployment timeline (modeled from api.deployment, the health check and the deployment "
        "alarms; assumptions in docs/deploying.md):"
    ]
    for label, cells in rows:
        row = "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))
        lines.append(f"  {label.ljust(label_width)}  {row}".rstrip())
    return lines


def to_json(cfg: StackConfig) -> dict[str, Any]:
    """The section for `make plan --json`: seconds, shares and the model's assumptions."""
    strategies = {}
    for plan, bad in compared(cfg):
        strategies[plan.deployment.strategy] = {
            "describe": describe(plan.deployment),
            "firstTrafficSeconds": plan.first_traffic_seconds,
            "fullTrafficSeconds": plan.full_traffic_seconds,
            "doneSeconds": plan.done_seconds,
            "timeoutMinutes": plan.timeout_minutes if plan.deployment.shifts_traffic else None,
            "alarmSeconds": bad.alarm_seconds,
            "rollbackSeconds": plan.rollback_seconds if bad.rolls_back else None,
            "exposedShare": round(bad.share, 4),
            "exposedTrafficSeconds": round(bad.traffic_seconds, 1),
            "meetsGoal": rollout.meets_goal(plan, bad),
        }
    return {
        "configured": cfg.api.deployment.strategy,
        "strategies": strategies,
        "assumptions": {
            "taskStartSeconds": rollout.TASK_START_SECONDS,
            "ecsReactionSeconds": rollout.ECS_REACTION_SECONDS,
            "listenerUpdateSeconds": rollout.LISTENER_UPDATE_SECONDS,
            "metricDelaySeconds": rollout.METRIC_DELAY_SECONDS,
            "rollbackGoalSeconds": rollout.ROLLBACK_GOAL_SECONDS,
            "exposureGoalShare": rollout.EXPOSURE_GOAL_SHARE,
        },
    }
