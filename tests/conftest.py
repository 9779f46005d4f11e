"""Shared fixtures: the program evaluated under the mock cloud, once per stack and session
(once per xdist worker: `make test` runs pytest on every core)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tests.helpers import evaluated
from tools.mockcloud import Evaluation
from tools.stackfile import stack_names

STACKS = stack_names()


@pytest.fixture(scope="session")
def evaluations() -> dict[str, Evaluation]:
    """Both stacks exactly as their Pulumi.<stack>.yaml describe them."""
    with _sdk_loading():
        return {stack: evaluated(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def stack(request: pytest.FixtureRequest, evaluations: dict[str, Evaluation]) -> Evaluation:
    """Each committed stack in turn."""
    return evaluations[request.param]


@contextmanager
def _sdk_loading() -> Iterator[None]:
    """Load SDK modules without cyclic garbage collection, then freeze what is loaded.

    The SDKs the program touches come to some 650,000 objects that live as long as the process.
    While they load, full collections walk the growing heap again and again; afterwards every
    full collection would walk them once more. Both cost about a quarter of the suite's CPU
    (measured); loading leaves too little cyclic garbage to matter, and frozen objects are
    simply never collected.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


@pytest.hookimpl(wrapper=True)
def pytest_collection(session: pytest.Session) -> Iterator[object]:
    """Collection imports every test module, and with them the SDKs."""
    with _sdk_loading():
        return (yield)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test by its folder: tests/unit -> unit, tests/policy -> policy, ..."""
    for item in items:
        folder = item.path.parent.name
        if folder in ("unit", "policy", "integration"):
            item.add_marker(getattr(pytest.mark, folder))
