"""The skip file: its shape, how it sorts failures, and stale skips. No Checkov needed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tools.checkov import skips
from tools.checkov.__main__ import EXIT_ERROR, CheckovError, Report, main, render, run_checkov
from tools.checkov.skips import Failure, SkipsError, parse, sort

STACKS = ["prod", "staging"]


def _skip(**fields: Any) -> dict[str, Any]:
    return {"check": "CKV_AWS_158", "resources": ["flow-logs"], "reason": "why"} | fields


def _failure(check: str = "CKV_AWS_158", resource: str = "flow-logs") -> Failure:
    return Failure(check, "title", resource, "aws:cloudwatch/logGroup:LogGroup")


def test_the_committed_skip_file_parses_and_every_skip_has_a_reason() -> None:
    committed = skips.load(STACKS)
    assert committed
    assert all(s.reason for s in committed)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (_skip(reason=""), "entry 1 (CKV_AWS_158): `reason` is required"),
        (_skip(check="AWS_158"), "`check` must be a Checkov id"),
        (_skip(resources=[]), "`resources` must be a name or a non-empty list"),
        (_skip(resources=["*", "x"]), '`resources` is either "*" or a list'),
        (_skip(stacks=["qa"]), "no stack named qa"),
        (_skip(because="x"), "unknown field(s) because"),
        ("CKV_AWS_158", "entry 1: must be a mapping"),
    ],
)
def test_a_bad_entry_is_named_with_what_is_wrong(entry: Any, message: str) -> None:
    with pytest.raises(SkipsError) as info:
        parse([entry], STACKS)
    assert message in str(info.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SkipsError) as info:
        parse([_skip(reason=""), _skip(check="x")], STACKS)
    assert "entry 1" in str(info.value) and "entry 2" in str(info.value)


def test_the_same_check_on_the_same_resource_twice_is_an_error() -> None:
    with pytest.raises(SkipsError, match=r"entry 2 .* already skipped by skips.yaml entry 1"):
        parse([_skip(), _skip(stacks=["prod"])], STACKS)


def test_skips_cover_only_their_check_resources_and_stacks() -> None:
    [skip] = parse([_skip(stacks=["staging"])], STACKS)
    verdict = sort([_failure(), _failure(resource="waf-logs")], [skip], "staging")
    assert [f.resource for f, _ in verdict.skipped] == ["flow-logs"]
    assert [f.resource for f in verdict.unskipped] == ["waf-logs"]
    assert [f.resource for f in sort([_failure()], [skip], "prod").unskipped] == ["flow-logs"]


def test_a_skip_that_matches_no_failure_is_stale_on_each_of_its_stacks() -> None:
    [skip] = parse([_skip(resources=["flow-logs", "waf-logs"])], STACKS)
    verdict = sort([_failure()], [skip], "prod")
    assert verdict.stale == [
        "CKV_AWS_158 on waf-logs (prod) no longer fails: remove it from the skip file"
    ]
    assert sort([], [skip], "staging").stale[0].startswith("CKV_AWS_158 on flow-logs (staging)")


def test_the_summary_counts_skipped_failures_and_the_check_ids_they_fall_under() -> None:
    skip_list = parse(
        [_skip(resources=["flow-logs", "waf-logs"]), _skip(check="CKV_AWS_18")], STACKS
    )
    failures = [
        _failure(),
        _failure(resource="waf-logs"),
        _failure(check="CKV_AWS_18"),
        _failure("CKV_AWS_21"),
    ]
    report = Report("3.3.30", passed=[("CKV_AWS_7", "key")], failures=failures)
    summary = next(iter(render("prod", report, sort(failures, skip_list, "prod"))))
    assert summary == (
        "Checkov 3.3.30 · stack prod · 5 checks: 1 passed, 4 failed (3 skipped under 2 check "
        "ids, 0 of them pending a fix; 1 not skipped)"
    )


def test_a_skip_of_every_resource_is_stale_only_when_the_check_fails_nowhere() -> None:
    [skip] = parse([_skip(resources="*")], STACKS)
    assert sort([_failure(), _failure(resource="other")], [skip], "prod").stale == []
    assert sort([_failure(check="CKV_AWS_18")], [skip], "prod").stale != []


def test_a_missing_checkov_is_an_error_that_says_how_to_install_it(tmp_path: Path) -> None:
    with pytest.raises(
        CheckovError, match=r"checkov is not installed .* `make checkov` installs it"
    ):
        run_checkov(tmp_path / "no-checkov", tmp_path / "plan.json", [])


def test_a_bad_skip_file_stops_the_run_before_any_stack(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "skips.yaml"
    bad.write_text("- check: CKV_AWS_1\n  resources: [x]\n")
    assert main(["--skips", str(bad), "--checkov", str(tmp_path / "none")]) == EXIT_ERROR
    assert "`reason` is required" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("- check: CKV_AWS_1\n  resources: [x\n  reason: why\n", "skips.yaml:3:"),
        (
            "- check: CKV_AWS_1\n  resources: [x]\n  reason: why\n  reason: because\n",
            "skips.yaml:4: duplicate key 'reason' (first at line 3)",
        ),
    ],
    ids=["syntax-error", "duplicate-key"],
)
def test_a_skip_file_that_is_not_yaml_is_named_with_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, expected: str
) -> None:
    bad = tmp_path / "skips.yaml"
    bad.write_text(text)
    assert main(["--skips", str(bad), "--checkov", str(tmp_path / "none")]) == EXIT_ERROR
    err = capsys.readouterr().err
    assert expected in err
    assert "Traceback" not in err


def test_an_unknown_stack_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["qa"])
    assert info.value.code == EXIT_ERROR
    assert "no stack named qa" in capsys.readouterr().err
