"""`make plan` and its JSON: secrets never appear, cost and verdicts are shown."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from tests.helpers import committed
from tools import cost, plan
from tools.cost_assumptions import CostAssumptions, load_cost_assumptions
from tools.mockcloud import Evaluation, run_program
from tools.policycheck import Violation


@pytest.fixture(scope="module")
def with_secret() -> tuple[Evaluation, str]:
    token = secrets.token_urlsafe(24)

    def program() -> dict[str, Any]:
        secret = aws.secretsmanager.Secret("app-secret", name="app")
        aws.secretsmanager.SecretVersion(
            "app-secret-value", secret_id=secret.id, secret_string=pulumi.Output.secret(token)
        )
        return {"token": pulumi.Output.secret(token), "secretArn": secret.arn}

    return run_program("test", {"aws:region": "us-east-1"}, [], program), token


def test_json_plan_masks_secrets_but_shows_they_exist(with_secret: tuple[Evaluation, str]) -> None:
    evaluation, token = with_secret
    doc = plan.plan_json(evaluation, cost.estimate(evaluation.resources, CostAssumptions()))
    text = json.dumps(doc)
    assert token not in text
    version = next(r for r in doc["resources"] if r["name"] == "app-secret-value")
    assert version["inputs"]["secretString"].startswith(plan.MASK)
    assert doc["outputs"]["token"].startswith(plan.MASK)
    assert doc["outputs"]["secretArn"].startswith("arn:")
    # The secret is priced: $0.40 a month.
    assert doc["cost"]["total"] == pytest.approx(0.40)
    assert "policy" not in doc  # verdicts appear only when a policy check ran


def test_text_plan_shows_cost_and_verdicts_without_secrets(
    with_secret: tuple[Evaluation, str],
) -> None:
    evaluation, token = with_secret
    estimate = cost.estimate(evaluation.resources, CostAssumptions())
    violation = Violation(
        policy="secrets-via-value-from",
        enforcement="mandatory",
        message="plain env var",
        urn=evaluation.resources[-1].urn,
    )
    text = plan.render(evaluation, estimate, [violation])
    assert token not in text
    assert "Policy: 1 mandatory, 0 advisory" in text
    assert (
        "[mandatory] secrets-via-value-from "
        "(aws:secretsmanager/secretVersion:SecretVersion app-secret-value)\n      plain env var"
    ) in text
    assert "total  $0.40 per month" in text
    assert plan.plan_json(evaluation, estimate, [violation])["policy"][0] == {
        "policy": "secrets-via-value-from",
        "enforcement": "mandatory",
        "urn": violation.urn,
        "message": "plain env var",
    }


def test_main_prints_json_with_the_packs_verdict_and_reports_progress(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A known-bad stack: a CORS origin outside the domains staging's pack config allows, given
    # with --set (the stack file stays as it is).
    edge = {**committed("staging", "edge"), "allowedOrigins": ["https://elsewhere.example.net"]}
    bad_edge = f"webstack:edge={json.dumps(edge)}"
    assert plan.main(["staging", "--json", "--set", bad_edge]) == plan.EXIT_MANDATORY_VIOLATION
    out, err = capsys.readouterr()
    doc = json.loads(out)  # the whole plan is printed all the same
    assert doc["stack"] == "staging" and doc["cost"]["total"] > 0
    cors = [v for v in doc["policy"] if v["policy"] == "cors-origins-within-domains"]
    assert cors and {v["enforcement"] for v in cors} == {"mandatory"}
    assert all("elsewhere.example.net" in v["message"] for v in cors)
    assert "evaluating stack staging" in err and "checking it with the policy pack" in err


def test_a_stack_plans_identically_twice() -> None:
    """Mock-generated values are stable, or plan-diff would report phantom changes."""

    def program() -> dict[str, Any]:
        import pulumi_random as random

        return {"pw": random.RandomPassword("pw", length=24).result}

    first = run_program("test", {}, [], program).outputs["pw"]
    assert run_program("test", {}, [], program).outputs["pw"] == first
    assert run_program("other", {}, [], program).outputs["pw"] != first


def test_the_mock_cloud_hands_inputs_back_as_the_engine_would(tmp_path: Path) -> None:
    """A resource's outputs hold its inputs as given (an asset stays an asset, with its path)
    beside what the cloud computed, and its secret inputs stay secret."""
    page = tmp_path / "index.html"
    page.write_text("<!doctype html>")

    def program() -> dict[str, Any]:
        bucket = aws.s3.Bucket("site")
        page_object = aws.s3.BucketObjectv2(
            "page", bucket=bucket.bucket, key="index.html", source=pulumi.FileAsset(str(page))
        )
        token = aws.ssm.Parameter("token", type="SecureString", value=pulumi.Output.secret("t"))
        return {"source": page_object.source, "bucket": page_object.bucket, "token": token.value}

    ev = run_program("test", {}, [], program)
    assert isinstance(ev.outputs["source"], pulumi.FileAsset)
    assert ev.outputs["source"].path == str(page)
    assert ev.outputs["bucket"] == ev.one("aws:s3/bucket:Bucket").outputs["bucket"]
    assert ev.secret_outputs == {"token"}


def test_a_read_of_an_existing_resource_fails_loudly_and_leaves_nothing_behind() -> None:
    def program() -> dict[str, Any]:
        return {"bucket": aws.s3.Bucket.get("existing", "some-bucket").bucket}

    def next_program() -> dict[str, Any]:
        return {"bucket": aws.s3.Bucket("new").bucket}

    with pytest.raises(
        Exception, match=re.escape("reads no existing resource (aws:s3/bucket:Bucket existing)")
    ):
        run_program("test", {}, [], program)
    # The next run in this process meets none of the failed run's pending work.
    assert run_program("test", {}, [], next_program).outputs["bucket"].startswith("new-")


def test_a_resource_passed_by_reference_fails_loudly() -> None:
    def program() -> dict[str, Any]:
        bucket = aws.s3.Bucket("site")
        page = aws.s3.BucketObjectv2("page", bucket=bucket, key="index.html", content="<p>")
        return {"bucket": page.bucket}

    with pytest.raises(Exception, match="rebuilds no resource passed by reference"):
        run_program("test", {}, [], program)


def test_tree_shows_exec_logging_and_what_reruns_the_migrations(stack: Evaluation) -> None:
    cluster = plan.describe(stack.one("aws:ecs/cluster:Cluster"))
    assert stack.config is not None
    shows_exec = "configuration.executeCommandConfiguration.logging=OVERRIDE" in cluster
    assert shows_exec is stack.config.api.enable_execute_command
    run = stack.one("aws:lambda/invocation:Invocation")
    line = plan.describe(run)
    triggers = run.inputs["triggers"]
    # The secret-derived trigger is masked; the plain ones beside it in the same map are shown.
    assert f"triggers.databaseUrl={plan.MASK}" in line
    assert triggers["databaseUrl"] not in line
    assert f"triggers.database={triggers['database']}" in line
    assert f"triggers.package={triggers['package'][:20]}" in line
    assert "triggers.appRole=APP_CONNECTION_LIMIT=" in line


def test_plan_shows_the_deployment_timeline_beside_rolling(
    evaluations: dict[str, Evaluation],
) -> None:
    ev = evaluations["prod"]
    estimate = cost.estimate(ev.resources, load_cost_assumptions("prod"))
    text = plan.render(ev, estimate)
    section = text[text.index("Deployment timeline") : text.index("Estimated monthly cost")]
    header = section.splitlines()[1]
    assert "ROLLING" in header and "CANARY 10 % for 5 min, bake 10 min" in header
    # prod's canary: the old version back 35 s after the alarm, 10 % exposed; ROLLING: 3 min.
    assert re.search(r"old version has all traffic in\s+3 min\s+35 s", section)
    assert re.search(r"share of requests it answers, at most\s+100 %\s+10 %", section)
    assert re.search(r"goal: .*\s+not met\s+met\s*$", section.strip())
    timeline = plan.plan_json(ev, estimate)["deploymentTimeline"]
    assert timeline["configured"] == "CANARY"
    assert set(timeline["strategies"]) == {"ROLLING", "CANARY"}
    canary = timeline["strategies"]["CANARY"]
    assert (canary["rollbackSeconds"], canary["exposedShare"], canary["meetsGoal"]) == (
        35,
        0.1,
        True,
    )
    assert canary["timeoutMinutes"] == 29
    assert timeline["assumptions"]["metricDelaySeconds"] == 60


def test_a_plan_without_stack_config_has_no_timeline(with_secret: tuple[Evaluation, str]) -> None:
    evaluation, _ = with_secret
    estimate = cost.estimate(evaluation.resources, CostAssumptions())
    assert "deploymentTimeline" not in plan.plan_json(evaluation, estimate)
    assert "Deployment timeline" not in plan.render(evaluation, estimate)


@pytest.mark.parametrize("given", ["webstack:edge", "edge={}", "webstack:edge={unclosed"])
def test_a_bad_set_is_refused_before_anything_is_planned(
    given: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        plan.main(["staging", "--set", given])
    assert info.value.code == 2
    assert "--set" in capsys.readouterr().err
