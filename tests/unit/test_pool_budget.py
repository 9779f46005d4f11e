"""The database connection budget: DB_MAX_POOL_SIZE per task, budgets that cannot work, and
the one budget config computes for the components."""

from __future__ import annotations

import json

import pytest

from components.config.data import POOL_BUDGET_SHARE, PoolBudget, PoolBudgetError, db_max_pool_size
from tests.helpers import assert_problem, committed, config_of, parse, parse_problems
from tools.mockcloud import Evaluation


@pytest.mark.parametrize(
    ("connections", "api", "worker", "cap", "expected"),
    [
        (100, 10, 2, 50, 6),  # 80 // 12
        (400, 10, 2, 10, 10),  # 26 fit, capped at the configured maximum
        (100, 3, 1, 50, 20),  # 80 // 4
        (25, 8, 2, 10, 2),  # 20 // 10: exactly the minimum still works
    ],
)
def test_pool_size_arithmetic(
    connections: int, api: int, worker: int, cap: int, expected: int
) -> None:
    pool = db_max_pool_size(
        db_max_connections=connections,
        api_max_tasks=api,
        worker_max_tasks=worker,
        min_pool_size=0,
        max_pool_size=cap,
    )
    assert pool == expected
    assert (api + worker) * pool <= POOL_BUDGET_SHARE * connections


@pytest.mark.parametrize(("connections", "min_pool"), [(24, 0), (100, 8)])
def test_a_budget_below_the_minimum_pool_names_the_keys(connections: int, min_pool: int) -> None:
    with pytest.raises(PoolBudgetError) as info:
        db_max_pool_size(
            db_max_connections=connections,
            api_max_tasks=10,
            worker_max_tasks=2,
            min_pool_size=min_pool,
            max_pool_size=20,
        )
    message = str(info.value)
    for key in ("webstack:api.maxCapacity", "webstack:worker.maxCapacity", "dbMinPoolSize"):
        assert key in message
    assert f"({connections})" in message


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        # db.t4g.medium, 4 GiB: 450 connections; 80 % is 360; 360 // (3 + 1) tasks = 90, cap 10.
        (
            "staging",
            PoolBudget(db_max_connections=450, app_connection_limit=360, db_max_pool_size=10),
        ),
        # db.r6g.xlarge, 32 GiB: 3604; 80 % is 2883; 2883 // (10 + 2) = 240, capped at 10.
        (
            "prod",
            PoolBudget(db_max_connections=3604, app_connection_limit=2883, db_max_pool_size=10),
        ),
    ],
)
def test_config_computes_each_stacks_budget(stack: str, expected: PoolBudget) -> None:
    assert parse(stack).pool_budget == expected


def test_a_budget_that_cannot_work_stops_the_parse() -> None:
    # db.t4g.micro, 1 GiB: 112 connections, 80 % is 89, over 60 + 1 tasks: 1 each.
    problems = parse_problems(
        "staging",
        api=committed("staging", "api", maxCapacity=60),
        database=committed("staging", "database", instanceClass="db.t4g.micro"),
    )
    assert_problem(problems, "webstack:api.maxCapacity", "staging", "(112)", "only 1")


def test_the_components_get_the_budget_config_computed(stack: Evaluation) -> None:
    budget = config_of(stack).pool_budget
    assert stack.outputs["databaseMaxConnections"] == budget.db_max_connections
    function = stack.one("aws:lambda/function:Function", "migrations-function")
    migration_env = function.inputs["environment"]["variables"]
    assert migration_env["APP_CONNECTION_LIMIT"] == str(budget.app_connection_limit)
    pools = {
        variable["value"]
        for task in stack.of_type("aws:ecs/taskDefinition:TaskDefinition")
        for variable in json.loads(task.inputs["containerDefinitions"])[0]["environment"]
        if variable["name"] == "DB_MAX_POOL_SIZE"
    }
    assert pools == {str(budget.db_max_pool_size)}
