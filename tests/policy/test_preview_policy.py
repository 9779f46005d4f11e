"""A preview's own policy config: TLS, CORS and secret rules stay mandatory, prod's durability
rules do not apply, CORS origins are held to the preview's own domain, and pr-123 passes it."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import committed, evaluated
from tests.policy.test_stacks import CORS_RULES, SECRET_RULES, SSL_RULES
from tools import policycheck
from tools.mockcloud import Evaluation
from tools.policycheck import (
    Analyzer,
    PolicyConfigError,
    Violation,
    load_policy_config,
    reconcile,
)

STACK = "pr-123"


def test_the_preview_passes_its_policy_config_without_a_single_finding(
    stack_violations: Callable[[Evaluation], list[Violation]],
) -> None:
    violations = stack_violations(evaluated(STACK))
    assert violations == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in violations)


def test_tls_cors_and_secret_rules_stay_mandatory(analyzer: Analyzer) -> None:
    preview = reconcile(analyzer.info, load_policy_config(STACK))
    staging = reconcile(analyzer.info, load_policy_config("staging"))
    for name in SSL_RULES | CORS_RULES | SECRET_RULES:
        assert preview[name].level == "mandatory", name
    # Nothing mandatory in staging is less than that in a preview.
    for name, setting in staging.items():
        if setting.level == "mandatory":
            assert preview[name].level == "mandatory", name


def test_prods_durability_rules_do_not_apply(analyzer: Analyzer) -> None:
    preview = reconcile(analyzer.info, load_policy_config(STACK))
    assert preview["rds-durability"].properties == {
        "requireDeletionProtection": False,
        "requireMultiAz": False,
    }
    assert preview["rds-backup-retention"].properties["minimumRetentionDays"] == 1


def test_cors_origins_are_held_to_the_previews_own_domain(
    stack_violations: Callable[[Evaluation], list[Violation]],
) -> None:
    config = load_policy_config(STACK)
    assert config["cors-origins-within-domains"]["allowedDomains"] == ["pr-123.staging.example.com"]
    assert load_policy_config("pr-7")["cors-origins-within-domains"]["allowedDomains"] == [
        "pr-7.staging.example.com"
    ]
    # Staging's own origin is another site as far as a preview is concerned.
    edge = {
        **committed("staging", "edge"),
        "allowedOrigins": ["https://staging.example.com"],
    }
    violations = stack_violations(evaluated(STACK, overrides={"webstack:edge": edge}))
    assert {v.policy for v in violations if v.mandatory} == {"cors-origins-within-domains"}


def test_the_shared_file_may_not_fix_the_allowed_domains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "preview.json").write_text(
        json.dumps({"cors-origins-within-domains": {"allowedDomains": ["example.com"]}})
    )
    monkeypatch.setattr(policycheck, "CONFIG_DIR", tmp_path)
    with pytest.raises(PolicyConfigError, match="follows each preview's domain"):
        load_policy_config(STACK)
