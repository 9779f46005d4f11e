"""Both committed stacks pass Checkov with the committed skips, and the skip file stays honest:
a failure it does not cover fails the run, and so does a skip that matches nothing."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools.checkov import skips
from tools.checkov.__main__ import EXIT_FAILED, main
from tools.stackfile import stack_names


def test_every_stack_passes_with_the_committed_skips(
    checkov: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--checkov", str(checkov)]) == 0
    out = capsys.readouterr().out
    for stack in stack_names():
        assert f"· stack {stack} ·" in out
    assert "FAILED" not in out and "STALE" not in out


def test_an_unskipped_failure_and_a_stale_skip_fail_the_run(
    checkov: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = yaml.safe_load(skips.SKIPS_FILE.read_text())
    # Drop the skip of the ECR repository's encryption, and skip a check prod passes.
    kept = [e for e in entries if e["check"] != "CKV_AWS_136"]
    assert len(kept) == len(entries) - 1
    kept.append(
        {"check": "CKV_AWS_16", "resources": ["database-primary"], "reason": "is encrypted"}
    )
    edited = tmp_path / "skips.yaml"
    edited.write_text(yaml.safe_dump(kept))

    assert main(["prod", "--checkov", str(checkov), "--skips", str(edited)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "FAILED       CKV_AWS_136" in out
    assert "STALE SKIP CKV_AWS_16 on database-primary (prod) no longer fails" in out
