"""The policy pack started once per session, and a way to run fixture programs through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tools.mockcloud import Evaluation, run_program
from tools.policycheck import Analyzer, Violation

FIXTURE_STACK = "fixture"
Program = Callable[[], Mapping[str, Any] | None]


@pytest.fixture(scope="session")
def analyzer() -> Iterator[Analyzer]:
    """The real pack process, as `pulumi preview --policy-pack policies` starts it."""
    with Analyzer(FIXTURE_STACK) as pack:
        yield pack


def evaluate_program(program: Program) -> Evaluation:
    """Run a fixture program (registering real SDK resources) under the mock cloud."""
    return run_program(
        FIXTURE_STACK, {"aws:region": "us-east-1"}, [], lambda: dict(program() or {})
    )


@pytest.fixture
def violations_of(analyzer: Analyzer) -> Callable[..., list[Violation]]:
    """Violations of a fixture program under a policy config (the pack's defaults if none)."""

    def run(program: Program, config: Mapping[str, Any] | None = None) -> list[Violation]:
        return analyzer.check(evaluate_program(program), config or {})

    return run
