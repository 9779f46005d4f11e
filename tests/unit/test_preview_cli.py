"""`python -m tools.preview`: the files the preview workflow writes, its PR comment, and which
stale previews the clean-up destroys."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from tools import cost
from tools.cost import CostLine, Estimate
from tools.policycheck import load_policy_config
from tools.preview import comment
from tools.preview.cli import main
from tools.preview.derive import derive
from tools.preview.expiry import ExpiryError, expired

NOW = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_config_prints_the_derived_stack_file(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "config", "pr-42")
    assert status == 0
    assert yaml.safe_load(out) == {"config": derive("pr-42").config}


def test_policy_config_prints_the_previews_own(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "policy-config", "pr-42")
    assert status == 0
    assert json.loads(out) == load_policy_config("pr-42")


def test_a_committed_stack_is_no_preview(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["config", "staging"])
    assert info.value.code == 2
    assert "not a preview stack (pr-<number>): 'staging'" in capsys.readouterr().err


# -- the comment ----------------------------------------------------------------------------------


def line(item: str, monthly: float) -> CostLine:
    return CostLine("network", item.lower().replace(" ", "-"), item, 1, "month", monthly)


ESTIMATE = Estimate(
    (
        line("NAT gateway", 32.85),
        line("ALB", 16.425),
        line("KMS key", 1.0),
        line("secret", 0.4),
        line("dashboard", 3.0),
        line("web ACL", 5.0),
        CostLine("app", "odd", "something new", 0, "", None, "no price rule"),
    )
)
OUTPUTS = {
    "frontendUrl": "https://pr-42.staging.example.com",
    "apiUrl": "https://api.pr-42.staging.example.com",
}


def test_the_comment_gives_urls_the_per_day_cost_and_its_biggest_lines() -> None:
    body = comment.deployed("pr-42", OUTPUTS, ESTIMATE, commit="abc1234")
    assert body.startswith(comment.MARKER + "\n")
    assert "- Frontend: https://pr-42.staging.example.com" in body
    assert "- API: https://api.pr-42.staging.example.com" in body
    assert "Deployed from abc1234." in body
    # $58.675 a month over 730 hours: $1.93 a day.
    assert f"**About ${cost.per_day(58.675):,.2f} a day**" in body
    rows = [row for row in body.splitlines() if row.startswith("| ") and "|" in row[2:]]
    rows = [row for row in rows if not row.startswith(("| item", "| ---"))]
    assert [row.split(" (")[0] for row in rows] == [
        "| NAT gateway",
        "| ALB",
        "| web ACL",
        "| dashboard",
        "| KMS key",
    ]
    assert "| NAT gateway (nat-gateway) | $1.08 |" in rows
    assert "1 line(s) unpriced" in body
    assert "Smoke checks" not in body


def test_the_smoke_report_is_folded_in_and_cut_to_fit() -> None:
    body = comment.deployed("pr-42", OUTPUTS, ESTIMATE, commit="abc", smoke="| check | ok |\n")
    assert "<details><summary>Smoke checks</summary>" in body and "| check | ok |" in body
    long = comment.deployed("pr-42", OUTPUTS, ESTIMATE, commit="abc", smoke="x" * 100_000)
    assert len(long) < 65_536 and "(cut: the full report is in the job log)" in long


def test_the_destroyed_comment_keeps_the_marker(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = run(capsys, "comment", "pr-42", "--destroyed", "the PR was closed")
    assert status == 0
    assert out.startswith(comment.MARKER + "\n") and "Destroyed (the PR was closed)" in out


def test_the_comment_of_a_deploy_prices_the_prs_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = tmp_path / "outputs.json"
    outputs.write_text(json.dumps(OUTPUTS))
    smoke = tmp_path / "smoke.md"
    smoke.write_text("| check | result |\n")
    status, out, _ = run(
        capsys, "comment", "pr-42", "--outputs", str(outputs), "--commit", "c0ffee",
        "--smoke", str(smoke),
    )  # fmt: skip
    assert status == 0
    # The PR's code prices its own plan: the biggest line of a preview is its ALB.
    assert "https://api.pr-42.staging.example.com" in out and "| ALB (load-balancer-alb) |" in out
    assert "| check | result |" in out


@pytest.mark.parametrize(
    ("argv", "words"),
    [
        (["comment", "pr-42"], "needs --outputs and --commit"),
        (["comment", "pr-42", "--outputs", "/nonexistent.json", "--commit", "c"], "--outputs"),
    ],
)
def test_a_comment_without_its_inputs_exits_2(
    argv: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = run(capsys, *argv)
    assert status == 2 and words in err


# -- stale previews -------------------------------------------------------------------------------


def listing(*entries: dict[str, object]) -> str:
    return json.dumps(list(entries))


def test_previews_not_deployed_for_the_maximum_age_are_stale() -> None:
    stacks = listing(
        {"name": "pr-1", "lastUpdate": "2026-03-01T12:00:00.000Z"},  # 9 days
        {"name": "org/webstack/pr-2", "lastUpdate": "2026-03-04T11:59:00Z"},  # just over 6
        {"name": "pr-3", "lastUpdate": "2026-03-08T12:00:00Z"},  # 2 days: in use
        {"name": "pr-4", "lastUpdate": "2026-01-01T00:00:00Z", "updateInProgress": True},
        {"name": "pr-5"},  # never updated: its first deploy owns it
        {"name": "staging", "lastUpdate": "2025-01-01T00:00:00Z"},
        {"name": "prod", "lastUpdate": "2025-01-01T00:00:00Z"},
    )
    assert expired(stacks, max_age_days=6, now=NOW) == ["pr-1", "pr-2"]
    assert expired(stacks, max_age_days=10, now=NOW) == []


@pytest.mark.parametrize(
    ("text", "days", "words"),
    [
        ("not json", 5, "printed no JSON"),
        ('{"name": "pr-1"}', 5, "printed no list"),
        ('[{"lastUpdate": "2026-01-01T00:00:00Z"}]', 5, "without a name"),
        ('[{"name": "pr-1", "lastUpdate": "yesterday"}]', 5, "pr-1: lastUpdate"),
        ('[{"name": "pr-1", "lastUpdate": "2026-01-01T00:00:00"}]', 5, "no time zone"),
        ("[]", 0, "positive number of days"),
    ],
)
def test_unreadable_listings_are_errors(text: str, days: float, words: str) -> None:
    with pytest.raises(ExpiryError, match=words):
        expired(text, max_age_days=days, now=NOW)


def test_expired_reads_the_listing_on_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = listing({"name": "pr-9", "lastUpdate": "2026-03-01T00:00:00Z"})
    monkeypatch.setattr("sys.stdin", io.StringIO(entries))
    status, out, _ = run(capsys, "expired", "--max-age-days", "5", "--now", "2026-03-10T00:00:00Z")
    assert (status, json.loads(out)) == (0, ["pr-9"])
    monkeypatch.setattr("sys.stdin", io.StringIO("nonsense"))
    status, _, err = run(capsys, "expired", "--max-age-days", "5")
    assert status == 2 and "printed no JSON" in err
