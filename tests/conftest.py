"""Shared fixtures: the program evaluated under the mock cloud, once per stack and session
(once per xdist worker: `make test` runs pytest on every core)."""

from __future__ import annotations

import gc

import pytest

from tools.mockcloud import Evaluation, evaluate
from tools.stackfile import stack_names

STACKS = stack_names()


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    """Both stacks exactly as their Pulumi.<stack>.yaml describe them."""
    evaluations = {stack: evaluate(stack) for stack in STACKS}
    # The SDK modules the program touches are loaded now: some 650,000 objects that live as
    # long as the process. Freezing them keeps every later full garbage collection from
    # walking them again (measured: about a second of CPU per evaluation without this).
    gc.freeze()
    return evaluations


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, evaluations: dict[str, Evaluation]) -> Evaluation:
    """Each committed stack in turn."""
    return evaluations[request.param]


def pytest_collection_finish(session: pytest.Session) -> None:
    """The test modules have imported the SDKs: keep full collections from walking them."""
    gc.freeze()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder: tests/unit -> unit, tests/policy -> policy, ..."""
    for item in items:
        folder = item.path.parent.name
        if folder in ("unit", "policy", "integration"):
            item.add_marker(getattr(pytest.mark, folder))
