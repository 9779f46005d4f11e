"""The policy pack's secret detector, for the program's config to refuse what the pack refuses.

`policies/webstack_policies/secret_shapes.py` says what a secret looks like, by a variable's name
and by its value. The config loads that one file, by path, rather than keeping a copy: the pack's
package imports pulumi_policy and registers every policy, which the program has no use for, and
the pack must stay self-contained for `pulumi preview --policy-pack policies`. The file is
stdlib-only (tests/policy/test_secret_shapes.py keeps it so).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SHAPES_FILE = (
    Path(__file__).resolve().parents[2] / "policies" / "webstack_policies" / "secret_shapes.py"
)
_MODULE_NAME = "webstack_secret_shapes"


def _load() -> ModuleType:
    loaded = sys.modules.get(_MODULE_NAME)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(_MODULE_NAME, SHAPES_FILE)
    if spec is None or spec.loader is None:  # pragma: no cover - the file is in the repository
        raise ImportError(f"cannot load the secret detector from {SHAPES_FILE}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[_MODULE_NAME] = module  # dataclasses and re-imports find it by name
    spec.loader.exec_module(module)
    return module


_SHAPES = _load()


def name_says_secret(name: str) -> bool:
    """Whether an environment variable's name says it holds a secret (`JWT_SECRET`, `DSN`)."""
    return bool(_SHAPES.name_says_secret(name))


def value_problem(name: str, value: str) -> str | None:
    """Why `name=value` looks like a secret in the clear (a sentence fragment), or None."""
    problem = _SHAPES.value_problem(name, value)
    return None if problem is None else str(problem)
