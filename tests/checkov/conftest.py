"""Checkov's tests: the real Checkov on converted plans. Slow, so they run on request only.

`make checkov-test` installs Checkov's locked environment and runs them with $CHECKOV set. Without
$CHECKOV every test here is skipped, with that reason in pytest's summary; with $CHECKOV naming
no executable they fail, because then someone asked for them and would otherwise see nothing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "checkov: runs the real Checkov (make checkov-test)")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if item.path.is_relative_to(here):
            item.add_marker(pytest.mark.checkov)


@pytest.fixture(scope="session")
def checkov() -> Path:
    """The Checkov executable named by $CHECKOV."""
    given = os.environ.get("CHECKOV")
    if not given:
        pytest.skip("Checkov's tests need $CHECKOV: run `make checkov-test`")
    path = Path(given)
    if not (path.is_file() and os.access(path, os.X_OK)):
        pytest.fail(f"$CHECKOV={given} is not an executable: run `make checkov-test`")
    return path
