"""The requirements files exported from uv.lock, and `make lock` to rewrite them.

uv.lock (from pyproject.toml, `uv lock`) is the one record of every version and hash. Two plain
requirements files are derived from it for the readers that do not speak uv:
- `requirements.txt`: the program's and the policy pack's runtime dependencies, with hashes
  (`pip install --require-hashes -r requirements.txt` installs what a deploy runs);
- `tools/uv-requirements.txt`: uv itself, with hashes, which `make install` installs with pip
  into `.venv-tools` before uv installs everything else from the lock.
tests/unit/test_lockfiles.py fails when either file differs from what the lock exports.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tools.stackfile import ROOT

UV = Path(sys.executable).parent / "uv"
"""The locked uv in the project's virtualenv (the `bootstrap` group is part of `dev`)."""

EXPORTS: dict[str, tuple[str, ...]] = {
    "requirements.txt": ("--no-dev",),
    "tools/uv-requirements.txt": ("--only-group", "bootstrap"),
}
"""File (relative to the root) -> the `uv export` selection it holds."""

HEADER = "# Exported from uv.lock by `make lock` (tools/lockfiles.py); do not edit by hand.\n"


def exported(selection: tuple[str, ...], root: Path = ROOT) -> str:
    """What `uv export` makes of the lock for `selection`; fails when the lock is stale."""
    proc = subprocess.run(
        [str(UV), "export", "--locked", "--no-emit-project", "--no-header", *selection],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"uv export {' '.join(selection)} failed: {proc.stderr.strip()}")
    return HEADER + proc.stdout


def main() -> int:
    for name, selection in EXPORTS.items():
        (ROOT / name).write_text(exported(selection))
        print(f"wrote {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
