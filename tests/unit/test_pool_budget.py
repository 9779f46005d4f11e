"""The database connection budget: DB_MAX_POOL_SIZE per task, and budgets that cannot work."""

from __future__ import annotations

import pytest

from components.pool_budget import POOL_BUDGET_SHARE, PoolBudgetError, db_max_pool_size


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
