"""Secrets in both stacks: the data KMS key, generated and external secrets, no leaks."""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

import pytest

from tests.helpers import config_of, evaluated
from tools.mockcloud import Evaluation, Resource

KEY = "aws:kms/key:Key"
PASSWORD = "random:index/randomPassword:RandomPassword"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"


@pytest.fixture(scope="module")
def with_external() -> tuple[Evaluation, dict[str, str]]:
    values = {
        "STRIPE_SECRET_KEY": secrets.token_urlsafe(32),
        "SENTRY_DSN": secrets.token_urlsafe(24),
    }
    ev = evaluated("prod", secret_overrides={"webstack:externalSecrets": values})
    return ev, values


def version_of(ev: Evaluation, secret: Resource) -> Resource:
    (version,) = [v for v in ev.of_type(VERSION) if v.inputs["secretId"] == secret.outputs["arn"]]
    return version


def secret_values(ev: Evaluation) -> list[str]:
    """Every secret value the stack holds: generated ones and what went into Secrets Manager."""
    return [p.outputs["result"] for p in ev.of_type(PASSWORD)] + [
        v.inputs["secretString"] for v in ev.of_type(VERSION)
    ]


def test_one_rotating_kms_key_encrypts_the_data_tier(stack: Evaluation) -> None:
    key = stack.one(KEY, "secrets-key")
    assert key.inputs["enableKeyRotation"] is True
    assert key.inputs["deletionWindowInDays"] == {"staging": 7, "prod": 30}[stack.stack]
    assert stack.outputs["dataKmsKeyArn"] == key.outputs["arn"]
    alias = stack.one("aws:kms/alias:Alias", "secrets-key-alias")
    assert alias.inputs["name"] == f"alias/webstack-{stack.stack}-data"


def test_key_policy_admits_the_account_and_only_its_log_groups(stack: Evaluation) -> None:
    policy = json.loads(stack.one(KEY, "secrets-key").inputs["policy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert set(by_sid) == {"AccountIamPolicies", "CloudWatchLogsOfThisAccount"}
    assert by_sid["AccountIamPolicies"]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    logs = by_sid["CloudWatchLogsOfThisAccount"]
    assert logs["Principal"] == {"Service": "logs.us-east-1.amazonaws.com"}
    assert "kms:*" not in logs["Action"]
    assert logs["Condition"]["ArnLike"] == {
        "kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-east-1:123456789012:log-group:*"
    }


def test_generated_secrets_are_long_and_url_safe(stack: Evaluation) -> None:
    """What the program asks pulumi-random for (the value itself is the provider's)."""
    minimum = {
        "secrets-jwt-secret": 64,
        "secrets-db-app-password": 32,
        # ElastiCache takes 16 to 128 characters for an AUTH token.
        "secrets-redis-auth-token": 32,
    }
    for name, length in minimum.items():
        asked = stack.one(PASSWORD, name).inputs
        assert length <= asked["length"], name
        # Letters and digits only: URL-safe, and none of what RDS and ElastiCache reject in a
        # password (/ @ " and spaces). The provider's default alphabet includes all three sets.
        assert asked["special"] is False, name
        assert all(asked.get(kind, True) is not False for kind in ("lower", "upper", "numeric"))
    assert stack.one(PASSWORD, "secrets-redis-auth-token").inputs["length"] <= 128


def test_jwt_secret_is_stored_encrypted_with_a_recovery_window(stack: Evaluation) -> None:
    secret = stack.one(SECRET, "secrets-jwt")
    assert secret.inputs["kmsKeyId"] == stack.one(KEY, "secrets-key").outputs["arn"]
    assert secret.inputs["recoveryWindowInDays"] == {"staging": 7, "prod": 30}[stack.stack]
    version = version_of(stack, secret)
    assert "secretString" in version.secret_inputs
    assert (
        version.inputs["secretString"]
        == stack.one(PASSWORD, "secrets-jwt-secret").outputs["result"]
    )
    assert stack.outputs["jwtSecretArn"] == secret.outputs["arn"]


def test_every_secrets_manager_secret_uses_the_data_key(stack: Evaluation) -> None:
    key_arn = stack.one(KEY, "secrets-key").outputs["arn"]
    stored = stack.of_type(SECRET)
    deployment = config_of(stack).api.deployment
    # The header value that reaches a new release first exists only with a test route.
    with_test_route = deployment.shifts_traffic and deployment.test_traffic
    test_header = {"secrets-api-test-header"} if with_test_route else set()
    assert {s.name for s in stored} == {"secrets-jwt", "database-url", "cache-url", *test_header}
    assert all(s.inputs["kmsKeyId"] == key_arn for s in stored)
    assert all(s.inputs["recoveryWindowInDays"] >= 7 for s in stored)


def test_external_secrets_become_one_secret_each(
    with_external: tuple[Evaluation, dict[str, str]],
) -> None:
    ev, values = with_external
    arns = ev.outputs["externalSecretArns"]
    assert set(arns) == set(values)
    for env, value in values.items():
        secret = ev.one(SECRET, f"secrets-external-{env.lower().replace('_', '-')}")
        assert secret.inputs["namePrefix"] == f"webstack-prod/{env}-"
        assert secret.inputs["kmsKeyId"] == ev.one(KEY, "secrets-key").outputs["arn"]
        version = version_of(ev, secret)
        assert version.inputs["secretString"] == value
        assert "secretString" in version.secret_inputs
        assert arns[env] == secret.outputs["arn"]
    assert "externalSecretArns" not in ev.secret_outputs


def _leaks(ev: Evaluation, values: list[str]) -> list[str]:
    found = []
    exported = json.dumps(ev.outputs)
    found += [f"output contains a secret ({v[:4]}...)" for v in values if v in exported]
    for r in ev.resources:
        plain: dict[str, Any] = {k: v for k, v in r.inputs.items() if k not in r.secret_inputs}
        text = json.dumps(plain, default=str)
        found += [f"{r.name}: plain input holds a secret" for v in values if v in text]
    return found


def test_no_secret_in_outputs_or_plain_inputs(stack: Evaluation) -> None:
    values = secret_values(stack)
    assert len(values) >= 6
    assert _leaks(stack, values) == []
    assert stack.secret_outputs == set()


def test_external_secret_values_do_not_leak(
    with_external: tuple[Evaluation, dict[str, str]],
) -> None:
    ev, values = with_external
    assert _leaks(ev, [*values.values(), *secret_values(ev)]) == []


def test_secrets_are_protected_in_prod_only(stack: Evaluation) -> None:
    kept = [stack.one(KEY, "secrets-key"), *stack.of_type(SECRET), *stack.of_type(PASSWORD)]
    assert all(r.protect == (stack.stack == "prod") for r in kept), [
        (r.name, r.protect) for r in kept
    ]


def test_every_password_or_token_input_is_a_secret(stack: Evaluation) -> None:
    sensitive = re.compile(r"(?i)(password|passwordWo|authToken|authTokenWo|secretString)$")
    found = [
        (r, key)
        for r in stack.resources
        for key, value in r.inputs.items()
        if sensitive.search(key) and isinstance(value, str)
    ]
    assert {(r.name, k) for r, k in found} >= {
        ("cache-group", "authToken"),
        ("database-url-value", "secretString"),
        ("cache-url-value", "secretString"),
        ("secrets-jwt-value", "secretString"),
    }
    assert [(r.name, k) for r, k in found if k not in r.secret_inputs] == []
