"""Bad `webstack:alarms` input: each problem names the key and the stack.

Rejections are checked on the pure parser; the last test runs the whole program, to prove that
nothing is registered.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest

from tests.helpers import assert_problem, committed, parse_problems, problems_of

KEY = "webstack:alarms"


def valid(stack: str = "staging", **changes: Any) -> dict[str, Any]:
    """The stack's committed alarms config with some keys changed (None removes a key)."""
    return committed(stack, "alarms", **changes)


def token_url(scheme: str = "https") -> str:
    return f"{scheme}://events.pagerduty.com/integration/{secrets.token_urlsafe(16)}/enqueue"


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("ecsCpuPercent", 120, ("<= 100", "120")),
        ("dbFreeStoragePercent", 0, ("> 0",)),
        ("cacheMemoryPercent", -5, ("> 0",)),
        ("api5xxRatePercent", "one", ("must be a number", "'one'")),
        ("cdn5xxRatePercent", True, ("must be a number",)),
        ("dbReplicaLagSeconds", float("inf"), ("must be a number",)),
        ("apiLatencyP95WarningSeconds", 0, ("> 0",)),
        ("schedulerFailures", 0, (">= 1",)),
        ("schedulerFailures", 2.5, ("must be a int",)),
        ("api5xxMinRequests", 0, (">= 1",)),
        ("cacheEvictions", -1, (">= 0",)),
        ("dbFreeMemoryMb", 0, (">= 1",)),
        ("monthlyBudgetUsd", 0, ("> 0",)),
        ("monthlyBudgetUsd", None, ("is required",)),
        ("schedulerFailurePattern", "  ", ("must not be empty",)),
        ("schedulerFailurePattern", "x" * 1025, ("<= 1024",)),
        ("warningEmails", ["not-an-address"], ("email", "'not-an-address'")),
        ("criticalEmails", "oncall@example.com", ("must be a list",)),
    ],
)
def test_bad_values_name_the_key(key: str, value: Any, words: tuple[str, ...]) -> None:
    problems = parse_problems("staging", alarms=valid(**{key: value}))
    assert_problem(problems, f"{KEY}.{key}", "staging", *words)


def test_critical_latency_must_exceed_warning() -> None:
    alarms = valid("prod", apiLatencyP95WarningSeconds=2, apiLatencyP95CriticalSeconds=1.5)
    problems = parse_problems("prod", alarms=alarms)
    assert_problem(problems, f"{KEY}.apiLatencyP95CriticalSeconds", "prod", "above", "(2)", "1.5")


def test_the_critical_topic_needs_a_subscriber() -> None:
    problems = parse_problems("prod", alarms=valid("prod", criticalEmails=[]))
    assert_problem(problems, f"{KEY}.criticalEmails", "prod", "needs a subscriber")


def test_a_misspelt_threshold_is_not_silently_ignored() -> None:
    problems = parse_problems("staging", alarms=valid(ecsCpuPercnt=70))
    assert_problem(problems, f"{KEY}.ecsCpuPercnt", "staging", "unknown key")


def test_a_missing_section_reports_what_is_required() -> None:
    problems = parse_problems("staging", alarms=None)
    assert_problem(problems, f"{KEY}.monthlyBudgetUsd", "staging", "is required")
    assert_problem(problems, f"{KEY}.criticalEmails", "staging", "needs a subscriber")


def test_https_endpoint_in_plain_config_is_refused_without_echoing_it() -> None:
    url = token_url()
    problems = parse_problems("prod", alarms=valid("prod", criticalHttpsEndpoint=url))
    assert_problem(problems, f"{KEY}.criticalHttpsEndpoint", "prod", "--secret")
    assert not any(url in p for p in problems)


def test_https_endpoint_must_be_https_and_is_never_echoed() -> None:
    url = token_url("http")
    problems = parse_problems(
        "prod", secret_overrides={KEY: valid("prod", warningHttpsEndpoint=url)}
    )
    assert_problem(problems, f"{KEY}.warningHttpsEndpoint", "prod", "https://")
    assert not any(url in p for p in problems)


def test_every_problem_is_reported_at_once_and_nothing_is_registered() -> None:
    problems = problems_of(
        "staging", alarms=valid(ecsCpuPercent=101, dbCpuPercent=0, monthlyBudgetUsd=None)
    )
    for key in ("ecsCpuPercent", "dbCpuPercent", "monthlyBudgetUsd"):
        assert_problem(problems, f"{KEY}.{key}", "staging")
