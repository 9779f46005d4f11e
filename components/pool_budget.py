"""The database connection budget of the API and worker fleets (pure arithmetic).

Shared by config validation (which rejects a budget that cannot work before anything is
registered) and ApiService (which sets DB_MAX_POOL_SIZE from it).
"""

from __future__ import annotations

# Share of the database's max_connections the services' pools may take together; the rest is
# left for migrations, the superuser reserve, consoles and a deployment's overlap.
POOL_BUDGET_SHARE = 0.8
# Below two connections a pool serialises every request behind one slow query.
MIN_POOL_SIZE = 2


class PoolBudgetError(ValueError):
    """The database cannot give every task a usable connection pool."""


def db_max_pool_size(
    *,
    db_max_connections: int,
    api_max_tasks: int,
    worker_max_tasks: int,
    min_pool_size: int,
    max_pool_size: int,
) -> int:
    """DB_MAX_POOL_SIZE: the most per task so that all tasks at full scale fit the budget.

    (api_max_tasks + worker_max_tasks) x pool <= POOL_BUDGET_SHARE x db_max_connections, capped
    at `max_pool_size`. A budget that leaves a task fewer than max(MIN_POOL_SIZE,
    min_pool_size) connections is an error naming the keys to change.
    """
    tasks = api_max_tasks + worker_max_tasks
    fits = int(db_max_connections * POOL_BUDGET_SHARE) // tasks
    floor = max(MIN_POOL_SIZE, min_pool_size)
    if fits < floor:
        raise PoolBudgetError(
            f"webstack:api.maxCapacity ({api_max_tasks}) + webstack:worker.maxCapacity "
            f"({worker_max_tasks}) = {tasks} tasks get only {fits} database connections each "
            f"from {POOL_BUDGET_SHARE:.0%} of the database's max_connections "
            f"({db_max_connections}), below the minimum pool of {floor} "
            "(webstack:api.dbMinPoolSize, at least 2)"
        )
    return min(fits, max_pool_size)
