"""Bad `webstack:costAssumptions` values name the key and the stack; nothing is registered."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem, problems_of
from tools.mockcloud import evaluate


@pytest.mark.parametrize(
    ("values", "key", "words"),
    [
        ({"natGbPerMonth": -5}, "natGbPerMonth", (">= 0", "-5")),
        ({"cdnGbOutPerMonth": "lots"}, "cdnGbOutPerMonth", ("must be a number", "'lots'")),
        ({"averageScaledTasks": True}, "averageScaledTasks", ("must be a number",)),
        ({"dbDailyChangePercent": 150}, "dbDailyChangePercent", ("<= 100", "150")),
        ({"natGB": 10}, "natGB", ("unknown key",)),
    ],
)
def test_bad_cost_assumption(values: dict[str, Any], key: str, words: tuple[str, ...]) -> None:
    problems = problems_of("prod", costAssumptions={"apiRequestsPerMonth": 1000, **values})
    assert_problem(problems, f"webstack:costAssumptions.{key}", "prod", *words)


def test_cost_assumptions_must_be_an_object() -> None:
    problems = problems_of("staging", costAssumptions=["apiRequestsPerMonth"])
    assert_problem(problems, "webstack:costAssumptions", "staging", "must be a dict")


def test_fractions_and_missing_keys() -> None:
    # YAML writes 2.5 as a float and 2 as an int: both are numbers. Absent keys assume none.
    evaluation = evaluate(
        "staging", overrides={"webstack:costAssumptions": {"averageScaledTasks": 2.5}}
    )
    assert evaluation.config is not None
    assumptions = evaluation.config.cost_assumptions
    assert assumptions.average_scaled_tasks == 2.5
    assert assumptions.nat_gb_per_month == 0
