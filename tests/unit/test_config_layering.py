"""The layering of config (it imports no component), and small modules and functions everywhere
under components/."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tools.stackfile import ROOT

CONFIG = ROOT / "components" / "config"
AWS_FACTS = ROOT / "components" / "aws_facts.py"
MAX_FILE_LINES = 450
MAX_FUNCTION_LINES = 120


def imported_modules(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; the project uses no relative imports)."""
    modules: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.name}: relative import"
            modules.add(node.module or "")
    return modules


def config_modules() -> list[Path]:
    modules = sorted(CONFIG.glob("*.py"))
    assert len(modules) >= 7, modules  # the reader, five sections, the assembly (and __init__)
    return modules


@pytest.mark.parametrize("path", config_modules(), ids=lambda p: p.name)
def test_config_imports_no_component(path: Path) -> None:
    project = {m for m in imported_modules(path) if m.split(".")[0] == "components"}
    allowed = {"components.aws_facts"}
    strays = {m for m in project if m not in allowed and not m.startswith("components.config")}
    assert not strays, f"{path.name} imports components: {sorted(strays)}"


def test_aws_facts_is_a_leaf() -> None:
    project = {m for m in imported_modules(AWS_FACTS) if m.split(".")[0] in ("components", "tools")}
    assert not project, sorted(project)


def test_the_check_sees_an_import_of_a_component(tmp_path: Path) -> None:
    # The test above would pass on any file if the parser missed one of the import forms.
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import components.database\nfrom components import cache\n"
        "from components.config.reader import Section\n"
    )
    assert imported_modules(sample) == {
        "components.database",
        "components",
        "components.config.reader",
    }


def component_modules() -> list[Path]:
    modules = sorted((ROOT / "components").rglob("*.py"))
    assert {*config_modules(), AWS_FACTS} <= set(modules)
    return modules


@pytest.mark.parametrize(
    "path", component_modules(), ids=lambda p: p.relative_to(ROOT / "components").as_posix()
)
def test_small_modules_and_functions(path: Path) -> None:
    text = path.read_text()
    assert len(text.splitlines()) <= MAX_FILE_LINES, path.name
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            assert node.end_lineno is not None
            length = node.end_lineno - node.lineno + 1
            assert length <= MAX_FUNCTION_LINES, f"{path.name}: {node.name} has {length} lines"
