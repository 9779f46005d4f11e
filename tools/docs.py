"""`make docs` / `make diagram`: regenerate every generated file under docs/ (and check them).

The generated files, each from the code it documents:

- docs/configuration.md: the configuration reference (tools/configdoc.py);
- docs/runbooks/alarm-fired.md: every alarm, what it means, what tunes it (tools/alarmdoc.py);
- docs/diagrams/<stack>-<view>.dot and .svg: the pictures of docs/architecture.md
  (tools/diagram.py; the SVGs need Graphviz's `dot`).

`python -m tools.docs` writes them all; `--only diagrams` just the pictures; `--check` writes
nothing and exits 1 naming each file that differs from what the code generates (the drift tests
in tests/unit/test_docs.py do the same).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from tools import alarmdoc, configdoc, diagram
from tools.mockcloud import Evaluation, evaluate
from tools.stackfile import ROOT

ALARM_RUNBOOK = ROOT / "docs" / "runbooks" / "alarm-fired.md"
REGENERATE = "make docs"


def evaluate_stacks() -> dict[str, Evaluation]:
    """Every committed stack under the mock cloud, staging first."""
    return {stack: evaluate(stack) for stack in configdoc.ordered_stacks()}


def text_files(evaluations: Mapping[str, Evaluation]) -> dict[Path, str]:
    """The generated pages (no Graphviz needed)."""
    keys = configdoc.gather()
    missing = configdoc.undocumented(keys)
    if missing:
        raise SystemExit(
            "these keys have no field docstring (document the field in components/config): "
            + ", ".join(missing)
        )
    return {
        configdoc.OUTPUT: configdoc.render(keys),
        ALARM_RUNBOOK: alarmdoc.render(evaluations, keys),
    }


def generated(evaluations: Mapping[str, Evaluation], only: str = "all") -> dict[Path, str]:
    """Every generated file and its content; SVGs only where `dot` is installed."""
    with_svg = diagram.dot_binary() is not None
    out = {} if only == "diagrams" else text_files(evaluations)
    out.update(diagram.files(evaluations, with_svg=with_svg))
    return out


def stale(files: Mapping[Path, str]) -> list[Path]:
    """The files whose committed content differs from the generated one."""
    return sorted(p for p, text in files.items() if not p.is_file() or p.read_text() != text)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make docs", description=__doc__)
    parser.add_argument("--only", choices=("all", "diagrams"), default="all")
    parser.add_argument("--check", action="store_true", help="write nothing; list stale files")
    args = parser.parse_args(argv)
    if diagram.dot_binary() is None:
        print(
            "Graphviz's dot is missing (tools/install-system-deps installs it): "
            "the SVGs are not regenerated",
            file=sys.stderr,
        )
    files = generated(evaluate_stacks(), args.only)
    outdated = stale(files)
    if args.check:
        for path in outdated:
            print(f"{path.relative_to(ROOT)} is stale: run `{REGENERATE}`", file=sys.stderr)
        return 1 if outdated else 0
    for path in outdated:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(files[path])
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)
    print(f"{len(files)} generated files, {len(outdated)} rewritten", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
