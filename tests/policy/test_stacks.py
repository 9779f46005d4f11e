"""The pack on whole stacks: an insecure fixture trips every rule; the real stacks pass."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import committed, evaluated, share_evaluations
from tests.policy.conftest import evaluate_program
from tests.policy.fixtures import cors, credentials, databases, edge
from tools.mockcloud import Evaluation
from tools.policycheck import (
    Analyzer,
    PolicyConfigError,
    Violation,
    load_policy_config,
    main,
    reconcile,
)

SSL_RULES = {
    "rds-ssl-and-encryption",
    "elasticache-encryption-and-auth",
    "alb-listener-tls",
    "cloudfront-tls",
    "s3-tls-and-private",
    "cloudflare-zone-settings",
}
CORS_RULES = {"cors-https-origins", "cors-origins-within-domains"}
SECRET_RULES = {
    "no-plaintext-secret-env",
    "secret-length",
    "secrets-manager-kms",
    "ssm-secure-string",
    "no-secret-literals",
}


def insecure_stack() -> None:
    """Everything wrong at once, as a careless first draft of the stack might be."""
    for program in (
        databases.rds_plain,
        databases.cache_plain,
        edge.alb_weak,
        edge.cloudfront_weak,
        edge.bucket_open,
        edge.cloudflare_proxied_full,
        cors.cors_wildcard,
        credentials.env_plain_secrets,
        credentials.jwt_short,
        credentials.secret_default_key,
        credentials.secret_literal,
        credentials.ssm_password_as_string,
    ):
        program()


def test_insecure_stack_trips_every_ssl_cors_and_secret_rule(analyzer: Analyzer) -> None:
    violations = analyzer.check(evaluate_program(insecure_stack), load_policy_config("prod"))
    tripped = {v.policy for v in violations if v.mandatory}
    expected = SSL_RULES | CORS_RULES | SECRET_RULES
    assert expected - tripped == set()


def test_stack_passes_its_policy_config_with_no_mandatory_violation(
    stack: Evaluation, stack_violations: Callable[[Evaluation], list[Violation]]
) -> None:
    mandatory = [v for v in stack_violations(stack) if v.mandatory]
    assert mandatory == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in mandatory)


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_a_stack_before_its_first_image_passes_its_policy_config(
    stack_name: str, stack_violations: Callable[[Evaluation], list[Violation]]
) -> None:
    api = {k: v for k, v in committed(stack_name, "api").items() if k != "imageTag"}
    ev = evaluated(stack_name, overrides={"webstack:api": api})
    assert ev.of_type("aws:ecs/service:Service") == []
    mandatory = [v for v in stack_violations(ev) if v.mandatory]
    assert mandatory == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in mandatory)


def test_make_policy_exits_zero_on_a_clean_stack(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    share_evaluations(monkeypatch)
    assert main(["staging"]) == 0
    assert "0 mandatory" in capsys.readouterr().out


def test_make_policy_exits_non_zero_on_a_mandatory_violation(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    share_evaluations(monkeypatch)
    config = tmp_path / "strict.json"
    # Require a tag the stack does not set, at mandatory level: the real stack must now fail.
    config.write_text(
        json.dumps(
            {
                "required-tags": {
                    "enforcementLevel": "mandatory",
                    "requiredTags": ["data-classification"],
                }
            }
        )
    )
    assert main(["staging", "--config", str(config)]) == 1
    out = capsys.readouterr().out
    assert "[mandatory] required-tags (aws:" in out and "data-classification" in out


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_policy_config_files_name_real_policies_and_settings(
    analyzer: Analyzer, stack_name: str
) -> None:
    settings = reconcile(analyzer.info, load_policy_config(stack_name))
    assert settings["cors-origins-within-domains"].properties["allowedDomains"]


def test_prod_policy_config_is_stricter_than_staging(analyzer: Analyzer) -> None:
    staging = reconcile(analyzer.info, load_policy_config("staging"))
    prod = reconcile(analyzer.info, load_policy_config("prod"))
    assert prod["rds-backup-retention"].properties["minimumRetentionDays"] >= 30
    assert (
        prod["rds-backup-retention"].properties["minimumRetentionDays"]
        > staging["rds-backup-retention"].properties["minimumRetentionDays"]
    )
    assert prod["rds-durability"].properties == {
        "requireDeletionProtection": True,
        "requireMultiAz": True,
    }
    for name, setting in staging.items():
        if setting.level == "mandatory":
            assert prod[name].level == "mandatory", name


@pytest.mark.parametrize(
    ("config", "words"),
    [
        (
            {"rds-backup-retension": {"minimumRetentionDays": 30}},
            ["rds-backup-retension", "no such policy"],
        ),
        (
            {"rds-backup-retention": {"minimumDays": 30}},
            ["rds-backup-retention.minimumDays", "no such setting"],
        ),
        (
            {"rds-backup-retention": {"minimumRetentionDays": "30"}},
            ["minimumRetentionDays", "integer"],
        ),
        ({"rds-backup-retention": {"minimumRetentionDays": 90}}, ["minimumRetentionDays", "<= 35"]),
        ({"cloudfront-tls": {"minimumProtocolVersion": "TLSv1"}}, []),
        (
            {"cloudfront-tls": {"minimumProtocolVersion": "TLS1.2"}},
            ["minimumProtocolVersion", "one of"],
        ),
        ({"required-tags": "strict"}, ["required-tags", "enforcement level"]),
    ],
)
def test_bad_policy_config_is_rejected_naming_the_setting(
    analyzer: Analyzer, config: dict, words: list[str]
) -> None:
    if not words:
        reconcile(analyzer.info, config)  # valid, if unwise: the schema allows it
        return
    with pytest.raises(PolicyConfigError) as info:
        reconcile(analyzer.info, config)
    assert all(w in str(info.value) for w in words), str(info.value)


def _proxied(stack_name: str, **changes: object) -> Evaluation:
    edge = {
        **committed(stack_name, "edge"),
        "cloudflareProxied": True,
        "ingress": "cidrs",
        "ingressCidrs": ["173.245.48.0/20"],
        **changes,
    }
    return evaluated(stack_name, overrides={"webstack:edge": edge})


def test_proxied_prod_passes_with_the_zone_settings_it_owns(analyzer: Analyzer) -> None:
    ev = _proxied("prod", manageZoneSettings=True)
    found = [v for v in analyzer.check(ev, load_policy_config("prod")) if v.mandatory]
    assert found == [], [v.message for v in found]


def test_proxied_prod_without_its_zone_settings_is_refused(analyzer: Analyzer) -> None:
    ev = _proxied("prod")
    found = [
        v
        for v in analyzer.check(ev, load_policy_config("prod"))
        if v.policy == "cloudflare-zone-settings"
    ]
    flagged = {v.urn.rsplit("::", 1)[1] for v in found}
    assert flagged == {"dns-api", "dns-apex", "dns-www"}
    assert all(v.mandatory for v in found)


def test_proxied_staging_leaves_the_settings_to_the_zone_owner(analyzer: Analyzer) -> None:
    ev = _proxied("staging")
    found = [v for v in analyzer.check(ev, load_policy_config("staging")) if v.mandatory]
    assert found == [], [v.message for v in found]
