"""Every rule, with a resource that breaks it and one that passes, through the real pack process."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.policy import fixtures as f
from tools.policycheck import Analyzer, Violation

ViolationsOf = Callable[..., list[Violation]]
PROD_DB = {
    "rds-backup-retention": {"minimumRetentionDays": 30},
    "rds-durability": {"requireDeletionProtection": True, "requireMultiAz": True},
}
DOMAINS = {"cors-origins-within-domains": {"allowedDomains": ["example.com"]}}

# rule, level, breaking program, passing program, policy config
CASES: list[tuple[str, str, Any, Any, dict[str, Any]]] = [
    ("rds-ssl-and-encryption", "mandatory", f.rds_plain, f.rds_secure, {}),
    ("rds-ssl-and-encryption", "mandatory", f.rds_group_without_force_ssl, f.rds_secure, {}),
    ("elasticache-encryption-and-auth", "mandatory", f.cache_plain, f.cache_secure, {}),
    ("alb-listener-tls", "mandatory", f.alb_weak, f.alb_secure, {}),
    ("cloudfront-tls", "mandatory", f.cloudfront_weak, f.cloudfront_secure, {}),
    ("s3-tls-and-private", "mandatory", f.bucket_open, f.bucket_secure, {}),
    ("cloudflare-ssl-strict", "mandatory", f.cloudflare_full, f.cloudflare_strict, {}),
    ("cors-https-origins", "mandatory", f.cors_wildcard, f.cors_own, DOMAINS),
    ("cors-origins-within-domains", "mandatory", f.cors_foreign, f.cors_own, DOMAINS),
    ("no-plaintext-secret-env", "mandatory", f.env_plain_secrets, f.env_secret_refs, {}),
    ("secret-length", "mandatory", f.jwt_short, f.jwt_long, {}),
    ("secrets-manager-kms", "mandatory", f.secret_default_key, f.jwt_long, {}),
    ("no-secret-literals", "mandatory", f.secret_literal, f.secret_from_config, {}),
    ("rds-backup-retention", "mandatory", f.rds_short_backups, f.rds_secure, PROD_DB),
    ("rds-not-public", "mandatory", f.rds_public, f.rds_secure, {}),
    ("rds-durability", "mandatory", f.rds_single_az_unprotected, f.rds_secure, PROD_DB),
    ("no-public-ingress", "mandatory", f.sg_open, f.sg_web_only, {}),
    ("ecs-service-safety", "mandatory", f.ecs_unsafe, f.ecs_safe, {}),
    ("log-group-retention", "advisory", f.logs_forever, f.logs_bounded, {}),
    ("required-tags", "advisory", f.tags_missing, f.tags_complete, {}),
]


def _ids(case: tuple[str, str, Any, Any, dict[str, Any]]) -> str:
    return f"{case[0]}:{case[2].__name__}"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_rule_flags_the_breaking_resource(violations_of: ViolationsOf, case: tuple) -> None:
    rule, level, breaking, _, config = case
    found = [v for v in violations_of(breaking, config) if v.policy == rule]
    assert found, f"{rule} did not flag {breaking.__name__}"
    assert {v.enforcement for v in found} == {level}
    assert all(v.urn for v in found), "every violation names the resource"


@pytest.mark.parametrize("case", CASES, ids=_ids)
def test_rule_passes_the_compliant_resource(violations_of: ViolationsOf, case: tuple) -> None:
    rule, _, _, passing, config = case
    assert [v.message for v in violations_of(passing, config) if v.policy == rule] == []


def test_every_rule_of_the_pack_has_a_case(analyzer: Analyzer) -> None:
    assert {case[0] for case in CASES} == {p.name for p in analyzer.info.policies}
