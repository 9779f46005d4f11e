"""`make plan` with the real pack: verdicts in the text and JSON plan, and in plan-diff."""

from __future__ import annotations

import json

import pytest

from tests.helpers import share_evaluations
from tools import cost, plan, plandiff
from tools.cost_assumptions import load_cost_assumptions
from tools.mockcloud import Evaluation
from tools.policycheck import Analyzer, load_policy_config

# The stack's own config, plus a tag the stack does not set, required at mandatory level.
STRICT_TAGS = {
    "required-tags": {"enforcementLevel": "mandatory", "requiredTags": ["data-classification"]}
}


def plan_of(evaluation: Evaluation, analyzer: Analyzer, extra: dict | None = None) -> dict:
    config = {**load_policy_config(evaluation.stack), **(extra or {})}
    violations = analyzer.check(evaluation, config)
    estimate = cost.estimate(evaluation.resources, load_cost_assumptions(evaluation.stack))
    return json.loads(json.dumps(plan.plan_json(evaluation, estimate, violations)))


def test_plan_diff_lists_a_violation_the_head_adds(
    evaluations: dict[str, Evaluation], analyzer: Analyzer
) -> None:
    staging = evaluations["staging"]
    base, head = plan_of(staging, analyzer), plan_of(staging, analyzer, STRICT_TAGS)
    assert not any(v["enforcement"] == "mandatory" for v in base["policy"])
    diff = plandiff.diff_plans("staging", base, head)
    assert diff.new_violations, "the stricter head config added no violation"
    assert {(v["policy"], v["enforcement"]) for v in diff.new_violations} == {
        ("required-tags", "mandatory")
    }
    assert all(v["urn"].startswith("urn:pulumi:staging::webstack::") for v in diff.new_violations)
    markdown = plandiff.render("`main`", [diff], [])
    assert f"**New policy violations** ({len(diff.new_violations)})" in markdown
    assert "[mandatory] `required-tags`" in markdown and "data-classification" in markdown
    # Verdicts the base already had are not news.
    assert plandiff.diff_plans("staging", head, head).new_violations == []


def test_make_plan_shows_verdicts_and_fails_on_a_mandatory_one(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    share_evaluations(monkeypatch)
    assert plan.main(["staging"]) == 0
    out = capsys.readouterr().out
    assert "\nPolicy: 0 mandatory," in out
    assert out.index("\nOutputs:") < out.index("\nPolicy:") < out.index("\nEstimated monthly")

    real = load_policy_config
    monkeypatch.setattr(
        "tools.policycheck.load_policy_config", lambda stack: {**real(stack), **STRICT_TAGS}
    )
    assert plan.main(["staging", "--json"]) == plan.EXIT_MANDATORY_VIOLATION
    doc = json.loads(capsys.readouterr().out)  # the whole plan is still printed
    assert doc["resources"] and doc["cost"]["total"] > 0
    assert any(
        v["policy"] == "required-tags" and v["enforcement"] == "mandatory" for v in doc["policy"]
    )
