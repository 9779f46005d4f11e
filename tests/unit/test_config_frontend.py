"""`webstack:frontend`: the build to publish is found, walked once and refused with every problem
named (key and stack); without `distDir` nothing is published.

Rejections are checked on the pure parser; one test runs the whole program, to prove that nothing
is registered.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from components.config.frontend import (
    DEFAULT_KEEP_REMOVED_DAYS,
    PROJECT_ROOT,
    is_hashed_asset,
)
from tests.helpers import assert_problem, parse, parse_problems, problems_of
from tests.unit.frontend_build import VITE_BUILD, vite_build

KEY = "webstack:frontend.distDir"


def test_without_dist_dir_nothing_is_published() -> None:
    frontend = parse("prod").frontend
    assert frontend.dist_dir is None and frontend.files == ()
    assert frontend.keep_removed_days == DEFAULT_KEEP_REMOVED_DAYS


def test_the_build_is_walked_into_sorted_keys(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist")
    frontend = parse("staging", frontend={"distDir": str(build), "keepRemovedDays": 30}).frontend
    assert frontend.dist_dir == build
    assert frontend.files == tuple(sorted(VITE_BUILD))
    assert frontend.keep_removed_days == 30


def test_a_relative_dist_dir_starts_at_the_project_root(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist")
    relative = os.path.relpath(build, PROJECT_ROOT)
    assert not Path(relative).is_absolute()
    frontend = parse("staging", frontend={"distDir": relative}).frontend
    assert frontend.dist_dir is not None and frontend.dist_dir.resolve() == build.resolve()
    assert (PROJECT_ROOT / "Pulumi.yaml").is_file()


@pytest.mark.parametrize(
    ("key", "hashed"),
    [
        ("assets/index-C3ZDoKtq.js", True),
        ("assets/index-C3ZDoKtq.js.map", True),
        ("assets/vendor-react-DMsl0e5Q.js", True),
        ("assets/Settings-x_9-aB3c.js", True),
        ("assets/main.3b2f9c1e.chunk.js", True),  # webpack's contenthash
        ("assets/img/photo-Bx1zJ8Kp.png", True),  # a subdirectory of assets/
        ("assets/logo.svg", False),
        ("assets/app-1234567.js", False),  # seven characters are not a hash
        ("assets/index-C3ZDoKtq", False),  # no extension
        ("index-C3ZDoKtq.js", False),  # hashed, but not under assets/
        ("static/assets/index-C3ZDoKtq.js", False),
        ("assetsx/index-C3ZDoKtq.js", False),
    ],
)
def test_what_counts_as_a_hashed_asset(key: str, hashed: bool) -> None:
    assert is_hashed_asset(key) is hashed


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_a_missing_build_is_named(stack: str, tmp_path: Path) -> None:
    problems = parse_problems(stack, frontend={"distDir": str(tmp_path / "nope")})
    assert_problem(problems, KEY, stack, "does not exist", "npm run build")


def test_a_file_is_not_a_build(tmp_path: Path) -> None:
    (tmp_path / "dist").write_text("")
    problems = parse_problems("staging", frontend={"distDir": str(tmp_path / "dist")})
    assert_problem(problems, KEY, "staging", "is not a directory")


def test_a_build_needs_its_index_html(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist")
    (build / "index.html").unlink()
    problems = parse_problems("prod", frontend={"distDir": str(build)})
    assert_problem(problems, KEY, "prod", "no index.html")


def test_every_problem_of_the_build_is_reported_at_once(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist", {"assets/logo.svg": "<svg/>", "assets/data.json": "{}"})
    # Five directories of 250 characters (a file name's limit is 255 bytes): a 1,260-byte key.
    deep = build.joinpath(*(letter * 250 for letter in "defgh"))
    deep.mkdir(parents=True)
    (deep / "x.txt").write_text("x")
    (build / "linked.js").symlink_to(build / "robots.txt")
    (build / "linked-dir").symlink_to(build / "assets")
    problems = parse_problems("staging", frontend={"distDir": str(build)})
    assert_problem(problems, KEY, "staging", "assets/logo.svg has no content hash")
    assert_problem(problems, KEY, "staging", "assets/data.json has no content hash")
    assert_problem(problems, KEY, "staging", "1024-byte key limit")
    assert_problem(problems, KEY, "staging", "linked.js is a symlink")
    assert_problem(problems, KEY, "staging", "linked-dir is a symlink")
    assert len([p for p in problems if p.startswith(KEY)]) == 5, problems


def test_a_file_name_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist")
    (build / os.fsdecode(b"caf\xe9.txt")).write_text("x")
    problems = parse_problems("staging", frontend={"distDir": str(build)})
    assert_problem(problems, KEY, "staging", "not UTF-8")


@pytest.mark.parametrize("days", [-1, 3651, "7"])
def test_keep_removed_days_is_a_bounded_integer(days: object, tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist")
    problems = parse_problems("staging", frontend={"distDir": str(build), "keepRemovedDays": days})
    assert_problem(problems, "webstack:frontend.keepRemovedDays", "staging")


def test_keep_removed_days_may_be_set_without_a_build() -> None:
    # The stack file keeps the days; the deploy job sets distDir to the build it made.
    assert parse("prod", frontend={"keepRemovedDays": 30}).frontend.keep_removed_days == 30


def test_an_unknown_key_is_named() -> None:
    problems = parse_problems("staging", frontend={"distDirectory": "client/dist"})
    assert_problem(problems, "webstack:frontend.distDirectory", "staging", "unknown key")


def test_a_bad_build_registers_nothing(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist", {"assets/app.js": "x"})
    problems = problems_of("staging", frontend={"distDir": str(build)})
    assert_problem(problems, KEY, "staging", "assets/app.js has no content hash")
