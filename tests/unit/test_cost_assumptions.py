"""`webstack:costAssumptions`: read and validated by the cost tooling, accepted by the program."""

from __future__ import annotations

import re
from typing import Any

import pytest

from components.config import ConfigError
from tests.helpers import assert_problem, committed, parse, stack_values
from tools.cost_assumptions import CostAssumptions, load_cost_assumptions, parse_cost_assumptions


def cost_problems(stack: str, value: Any) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_cost_assumptions(stack, stack_values(stack, costAssumptions=value))
    assert info.value.stack == stack
    return info.value.problems


@pytest.mark.parametrize(
    ("values", "key", "words"),
    [
        ({"natGbPerMonth": -5}, "natGbPerMonth", (">= 0", "-5")),
        ({"cdnGbOutPerMonth": "lots"}, "cdnGbOutPerMonth", ("must be a number", "'lots'")),
        ({"averageScaledTasks": True}, "averageScaledTasks", ("must be a number",)),
        ({"deploysPerMonth": -1}, "deploysPerMonth", (">= 0",)),
        ({"dbDailyChangePercent": 150}, "dbDailyChangePercent", ("<= 100", "150")),
        ({"natGB": 10}, "natGB", ("unknown key",)),
    ],
)
def test_bad_cost_assumption(values: dict[str, Any], key: str, words: tuple[str, ...]) -> None:
    problems = cost_problems("prod", {"apiRequestsPerMonth": 1000, **values})
    assert_problem(problems, f"webstack:costAssumptions.{key}", "prod", *words)


def test_cost_assumptions_must_be_an_object() -> None:
    problems = cost_problems("staging", ["apiRequestsPerMonth"])
    assert_problem(problems, "webstack:costAssumptions", "staging", "must be a dict")


def test_fractions_and_missing_keys() -> None:
    # YAML writes 2.5 as a float and 2 as an int: both are numbers. Absent keys assume none.
    values = stack_values("staging", costAssumptions={"averageScaledTasks": 2.5})
    assumptions = parse_cost_assumptions("staging", values)
    assert assumptions.average_scaled_tasks == 2.5
    assert assumptions.nat_gb_per_month == 0
    assert assumptions.db_daily_change_percent == 2  # the one default that is not zero


def test_a_stack_without_the_key_assumes_no_traffic() -> None:
    assert parse_cost_assumptions("staging", stack_values("staging", costAssumptions=None)) == (
        CostAssumptions()
    )


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_committed_figure_reaches_its_field(stack: str) -> None:
    committed_figures = committed(stack, "costAssumptions")
    assumptions = load_cost_assumptions(stack)
    assert committed_figures, "the stack commits no assumptions"
    for key, value in committed_figures.items():
        # camelCase key -> snake_case field, by the naming rule rather than the tool's table.
        field = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", key).lower()
        assert getattr(assumptions, field) == value, key


def test_the_program_accepts_the_key_without_validating_it() -> None:
    # The cost tooling reports a bad value; the program must neither read nor refuse it, while a
    # misspelt key next to it is still a typo.
    config = parse("staging", costAssumptions={"natGB": "lots"})
    assert config.stack == "staging"
    with pytest.raises(ConfigError) as info:
        parse("staging", costAssumption={"natGbPerMonth": 1})
    assert_problem(info.value.problems, "webstack:costAssumption", "staging", "unknown key")
