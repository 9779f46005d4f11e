"""`make plan-diff` end to end: a throwaway git repository holding this project."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tools.stackfile import ROOT

OLD_PLAN = """import argparse
parser = argparse.ArgumentParser()
parser.add_argument("stack")
parser.parse_args()
"""


def git(repo: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Commit 1: the project with a plan.py that predates --json; commit 2: the project."""
    repo = tmp_path_factory.mktemp("repo")
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    for name in files:
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    real_plan = (repo / "tools" / "plan.py").read_text()
    (repo / "tools" / "plan.py").write_text(OLD_PLAN)
    git(repo, "init", "--quiet")
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "old")
    git(repo, "tag", "old")
    (repo / "tools" / "plan.py").write_text(real_plan)
    git(repo, "commit", "--quiet", "-am", "plan --json")
    return repo


def plan_diff(repo: Path, base: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tools.plandiff", base],
        cwd=repo,
        env={"PYTHONPATH": str(repo), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_config_change_shows_added_resources_and_cost(repo: Path) -> None:
    stack_file = repo / "Pulumi.staging.yaml"
    original = stack_file.read_text()
    stack_file.write_text(original.replace("azCount: 2", "azCount: 3"))
    try:
        result = plan_diff(repo, "HEAD")
    finally:
        stack_file.write_text(original)
    assert result.returncode == 0, result.stderr
    staging = result.stdout.split("### staging")[1]
    assert "`aws:ec2/subnet:Subnet` **network-private-us-east-1c**" in staging
    assert "| `availabilityZones[2]` | — | us-east-1c |" in staging  # outputs are compared too
    assert "### prod\n\nNo changes." in result.stdout
    assert not list(repo.parent.glob("webstack-plan-diff-*"))  # the worktree is cleaned up


def test_a_base_without_json_plans_is_explained(repo: Path) -> None:
    # The stacks leave the working tree, so only the base is planned: the working tree's
    # plans (the other tests' subject, some ten seconds of CPU) would add nothing here.
    stack_files = {path: path.read_text() for path in repo.glob("Pulumi.*.yaml")}
    for path in stack_files:
        path.unlink()
    try:
        result = plan_diff(repo, "old")
    finally:
        for path, text in stack_files.items():
            path.write_text(text)
    assert result.returncode == 0, result.stderr
    assert "predates `tools.plan --json`: no diff of staging" in result.stdout


def test_an_unknown_base_is_a_clear_error(repo: Path) -> None:
    result = plan_diff(repo, "no-such-ref")
    assert result.returncode == 2
    assert "'no-such-ref' is not a commit" in result.stderr
