"""The policy pack started once per stack and session (per xdist worker), and a way to run
fixture programs through it."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest

from tools.mockcloud import Evaluation, run_program
from tools.policycheck import Analyzer, Violation, load_policy_config

FIXTURE_STACK = "fixture"
Program = Callable[[], Mapping[str, Any] | None]


@pytest.fixture(scope="session")
def packs() -> Iterator[Callable[[str], Analyzer]]:
    """The real pack process of a stack, as `pulumi preview --policy-pack policies` starts it:
    started on first use, then kept for the session (a start costs about a second of CPU;
    every check configures the pack anew)."""
    started: dict[str, Analyzer] = {}

    def pack(stack: str) -> Analyzer:
        if stack not in started:
            started[stack] = Analyzer(stack)
        return started[stack]

    try:
        yield pack
    finally:
        for analyzer in started.values():
            analyzer.close()


@pytest.fixture(scope="session")
def analyzer(packs: Callable[[str], Analyzer]) -> Analyzer:
    """The pack for fixture programs."""
    return packs(FIXTURE_STACK)


@pytest.fixture
def stack_violations(packs: Callable[[str], Analyzer]) -> Callable[[Evaluation], list[Violation]]:
    """What `tools.policycheck.check` finds in an evaluation (the pack under the stack's policy
    config file), from the session's pack of that stack."""

    def run(evaluation: Evaluation) -> list[Violation]:
        return packs(evaluation.stack).check(evaluation, load_policy_config(evaluation.stack))

    return run


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
