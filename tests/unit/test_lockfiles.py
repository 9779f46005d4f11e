"""The dependency records agree: the exported requirements files equal what uv.lock exports
(regenerate with `make lock`), and the program and the policy pack run in one environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools import lockfiles
from tools.stackfile import ROOT


@pytest.mark.parametrize("name", sorted(lockfiles.EXPORTS))
def test_exported_requirements_match_the_lock(name: str) -> None:
    assert lockfiles.UV.is_file(), f"{lockfiles.UV} missing: run `make install`"
    committed = (ROOT / name).read_text()
    assert committed == lockfiles.exported(lockfiles.EXPORTS[name]), (
        f"{name} differs from uv.lock: run `make lock`"
    )


def _runtime(project_file: Path) -> dict[str, str]:
    options = yaml.safe_load(project_file.read_text())["runtime"]["options"]
    return {
        "toolchain": options["toolchain"],
        "virtualenv": str((project_file.parent / options["virtualenv"]).resolve()),
    }


def test_the_policy_pack_runs_in_the_programs_locked_environment() -> None:
    program = _runtime(ROOT / "Pulumi.yaml")
    assert program == {"toolchain": "uv", "virtualenv": str(ROOT / ".venv")}
    assert _runtime(ROOT / "policies" / "PulumiPolicy.yaml") == program
