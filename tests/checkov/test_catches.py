"""Known-insecure resources, converted, make Checkov fail the expected check; their secure
twins pass it. Graph checks pass only when the converter's references connect the resources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.checkov.fixture_program import evaluate_fixture
from tools.checkov.__main__ import Report, run_checkov
from tools.checkov.terraform_plan import convert, plan_resources

# (check id, insecure resource, its secure twin or None)
CASES = [
    ("CKV_AWS_16", "plain-db", "encrypted-db"),  # RDS storage encryption
    ("CKV2_AWS_6", "origin-bucket", "closed-bucket"),  # bucket without a public-access block
    ("CKV2_AWS_6", "open-bucket", "closed-bucket"),  # ... or with one that blocks nothing
    ("CKV_AWS_53", "open-bucket-access", "closed-bucket-access"),  # block public ACLs
    ("CKV_AWS_24", "ssh-from-anywhere", "ssh-from-vpc"),  # SSH open to the world
    ("CKV_AWS_158", "plain-logs", "encrypted-logs"),  # log group without KMS
    ("CKV_AWS_2", "http-forward", "http-redirect"),  # HTTP listener that does not redirect
    ("CKV_AWS_68", "open-cdn", "guarded-cdn"),  # CloudFront without a WAF
    ("CKV2_AWS_28", "bare-alb", "guarded-alb"),  # public ALB without a WAF association
    ("CKV2_AWS_76", "half-guarded-alb", "guarded-alb"),  # WAF rules from ruleJson
    ("CKV_AWS_7", "unrotated-key", "rotated-key"),  # KMS key rotation
    ("CKV_AWS_26", "plain-topic", "encrypted-topic"),  # SNS encryption
    ("CKV_AWS_149", "plain-secret", "encrypted-secret"),  # Secrets Manager with a CMK
]


@pytest.fixture(scope="module")
def report(checkov: Path, tmp_path_factory: pytest.TempPathFactory) -> Report:
    resources = plan_resources(evaluate_fixture())
    plan_file = tmp_path_factory.mktemp("checkov") / "fixture.tfplan.json"
    plan_file.write_text(json.dumps(convert(resources)))
    return run_checkov(checkov, plan_file, resources)


@pytest.mark.parametrize(("check", "insecure", "secure"), CASES)
def test_checkov_fails_the_insecure_resource_and_passes_its_twin(
    report: Report, check: str, insecure: str, secure: str
) -> None:
    failed = {(f.check, f.resource) for f in report.failures}
    assert (check, insecure) in failed
    assert (check, secure) in set(report.passed)
    assert (check, secure) not in failed


def test_failures_name_the_pulumi_resource_and_type(report: Report) -> None:
    failure = next(
        f for f in report.failures if (f.check, f.resource) == ("CKV_AWS_16", "plain-db")
    )
    assert failure.pulumi_type == "aws:rds/instance:Instance"
    assert "encrypted" in failure.title
