"""Bad `webstack:api` / `webstack:worker` input: each names the key and the stack.

Rejections are checked on the pure parser; the connection-budget case also runs the whole
program, to prove that nothing is registered.
"""

from __future__ import annotations

import json
import secrets
import string
import uuid
from typing import Any

import pytest

from tests.helpers import assert_problem, committed, evaluated, parse, parse_problems, problems_of


def api_problems(stack: str = "staging", **changes: Any) -> list[str]:
    return parse_problems(stack, api=committed(stack, "api", **changes))


def worker_problems(stack: str = "staging", **changes: Any) -> list[str]:
    return parse_problems(stack, worker=committed(stack, "worker", **changes))


@pytest.mark.parametrize(
    ("cpu", "memory", "key", "words"),
    [
        (512, 512, "memory", ("512 MiB with cpu 512", "1024 to 4096")),
        (256, 4096, "memory", ("cpu 256", "512 to 2048")),
        (1024, 9216, "memory", ("cpu 1024",)),
        (8192, 17408, "memory", ("steps of 4096",)),
        (300, 1024, "cpu", ("Fargate size", "256")),
    ],
)
def test_cpu_memory_pair_must_be_a_fargate_size(
    cpu: int, memory: int, key: str, words: tuple[str, ...]
) -> None:
    assert_problem(api_problems(cpu=cpu, memory=memory), f"webstack:api.{key}", "staging", *words)
    assert_problem(
        worker_problems("prod", cpu=cpu, memory=memory), f"webstack:worker.{key}", "prod", *words
    )


@pytest.mark.parametrize(
    "name",
    [
        "STRIPE_SECRET",
        "AWS_SECRET_ACCESS_KEY",
        "DB_PASSWORD",
        "GITHUB_TOKEN",
        "MAPS_API_KEY",
        "DATABASE_URL",
        "REDIS_URL",
        "SENTRY_DSN",
        "webhook_secret",
    ],
)
def test_secret_looking_names_are_rejected_from_plain_env(name: str) -> None:
    problems = api_problems("prod", environment={"FEATURE_FLAGS_SOURCE": "config", name: "x"})
    assert_problem(problems, f"webstack:api.environment.{name}", "prod", "valueFrom")


def test_plain_names_are_not_mistaken_for_secrets() -> None:
    # Names that merely contain KEY or TOKEN somewhere are plain settings.
    plain = {name: "x" for name in ("PUBLIC_URL", "KEYCLOAK_REALM", "TOKENIZER_MODE")}
    config = parse("prod", api=committed("prod", "api", environment=plain))
    assert dict(config.api.environment) == plain


def _alphanumeric(length: int) -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(length))


# Secret values under names that do not say "secret": each is judged by what it holds.
SECRET_VALUES = {
    "a URL with a password": lambda: (
        f"postgres://app:{secrets.token_urlsafe(12)}@db.internal:5432/app"
    ),
    "a Stripe key": lambda: "sk_live_" + _alphanumeric(24),
    "a GitHub token": lambda: "ghp_" + _alphanumeric(36),
    "an AWS access key id": lambda: (
        "AKIA" + "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    ),
    "a libpq password=": lambda: f"host=db user=app password={secrets.token_urlsafe(9)}",
    "a random value under an AUTH name": lambda: secrets.token_urlsafe(24),
}


@pytest.mark.parametrize("kind", sorted(SECRET_VALUES))
def test_secret_looking_values_are_rejected_whatever_the_name(kind: str) -> None:
    name = "UPSTREAM_AUTH" if "AUTH" in kind else "UPSTREAM"
    value = SECRET_VALUES[kind]()
    problems = api_problems("prod", environment={"FEATURE_FLAGS_SOURCE": "config", name: value})
    assert_problem(problems, f"webstack:api.environment.{name}", "prod", "externalSecrets")
    assert all(value not in problem for problem in problems), "the error repeats the secret"


def test_plain_values_are_not_mistaken_for_secrets() -> None:
    plain = {
        "UPSTREAM": "https://api.partner.example/v2",
        "SIGNING_KEY_ARN": "arn:aws:kms:eu-west-1:123456789012:key/" + str(uuid.uuid4()),
        "FEATURE_FLAGS_SOURCE": "config",
        "CACHE_CONTROL_DEFAULT": "public, max-age=31536000, immutable",
    }
    config = parse("prod", api=committed("prod", "api", environment=plain))
    assert dict(config.api.environment) == plain


@pytest.mark.parametrize(
    ("name", "words"),
    [("NODE_ENV", ("set by the ApiService",)), ("lower-case", ("UPPER_SNAKE_CASE",))],
)
def test_plain_env_cannot_override_managed_names_or_be_malformed(
    name: str, words: tuple[str, ...]
) -> None:
    problems = api_problems(environment={name: "x"})
    assert_problem(problems, f"webstack:api.environment.{name}", "staging", *words)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"minCapacity": 0}, "minCapacity", (">= 1",)),
        ({"minCapacity": 3, "maxCapacity": 2}, "maxCapacity", ("minCapacity (3)", "got 2")),
        (
            {"scaleOutCooldownSeconds": 600, "scaleInCooldownSeconds": 300},
            "scaleOutCooldownSeconds",
            ("scaleInCooldownSeconds (300)",),
        ),
        ({"cpuTargetPercent": 100}, "cpuTargetPercent", ("<= 95",)),
        ({"memoryTargetPercent": 5}, "memoryTargetPercent", (">= 10",)),
        ({"healthCheckGracePeriodSeconds": -1}, "healthCheckGracePeriodSeconds", (">= 0",)),
        ({"logRetentionDays": 42}, "logRetentionDays", ("CloudWatch", "got 42")),
        ({"cpuArchitecture": "arm"}, "cpuArchitecture", ("X86_64, ARM64",)),
        ({"logLevel": "verbose"}, "logLevel", ("info",)),
        ({"port": 80}, "port", (">= 1024",)),
        ({"imageTag": "latest"}, "imageTag", ("rolled back",)),
        ({"imageTag": "v1 beta"}, "imageTag", ("valid image tag",)),
        ({"dbMinPoolSize": 8, "dbMaxPoolSize": 4}, "dbMaxPoolSize", ("dbMinPoolSize (8)",)),
        ({"dbConnectionTimeoutMs": 10}, "dbConnectionTimeoutMs", (">= 100",)),
        ({"dbStatementTimeoutMs": 0}, "dbStatementTimeoutMs", (">= 100",)),
        ({"dbIdleInTransactionTimeoutMs": 0}, "dbIdleInTransactionTimeoutMs", (">= 100",)),
        ({"enableExecuteCommand": "yes"}, "enableExecuteCommand", ("must be a bool",)),
        ({"logsKmsKey": 1}, "logsKmsKey", ("must be a bool",)),
        (
            {"environment": {"FEATURE_FLAGS_SOURCE": 1}},
            "environment.FEATURE_FLAGS_SOURCE",
            ("str",),
        ),
        ({"maxCapacty": 4}, "maxCapacty", ("unknown key",)),
    ],
)
def test_bad_api_values_name_the_key(
    changes: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    for stack in ("staging", "prod"):
        assert_problem(api_problems(stack, **changes), f"webstack:api.{key}", stack, *words)


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"command": []}, "command", ("required", "npm")),
        ({"command": None}, "command", ("required",)),
        ({"command": "npm run worker"}, "command", ("must be a list",)),
        ({"desiredCount": 0}, "desiredCount", (">= 1",)),
        ({"desiredCount": 3, "maxCapacity": 2}, "maxCapacity", ("desiredCount (3)",)),
        ({"cpuTargetPercent": 5}, "cpuTargetPercent", (">= 10",)),
        ({"replicas": 2}, "replicas", ("unknown key",)),
    ],
)
def test_bad_worker_values_name_the_key(
    changes: dict[str, Any], key: str, words: tuple[str, ...]
) -> None:
    assert_problem(worker_problems("prod", **changes), f"webstack:worker.{key}", "prod", *words)


def test_missing_sections_report_their_required_keys() -> None:
    problems = parse_problems("staging", api=None, worker=None)
    # imageTag is not among them: a new stack has no image yet (see test_api_service).
    for key in ("cpu", "memory", "minCapacity", "maxCapacity"):
        assert_problem(problems, f"webstack:api.{key}", "staging", "required")
    assert_problem(problems, "webstack:worker.command", "staging", "required")


def test_a_fleet_the_database_cannot_give_pools_is_rejected_before_anything_exists() -> None:
    # db.t4g.micro: max_connections 112, 80% of it shared by 60 + 1 tasks is 1 connection each.
    problems = problems_of(
        "staging",
        api=committed("staging", "api", maxCapacity=60),
        database=committed("staging", "database", instanceClass="db.t4g.micro"),
    )
    assert_problem(
        problems,
        "webstack:api.maxCapacity",
        "staging",
        "webstack:worker.maxCapacity",
        "webstack:database.instanceClass",
        "db.t4g.micro",
        "(112)",
    )


def test_the_same_fleet_on_a_larger_class_gets_smaller_pools_not_an_error() -> None:
    ev = evaluated("staging", {"webstack:api": committed("staging", "api", maxCapacity=60)})
    assert ev.config is not None and ev.config.database.instance_class == "db.t4g.medium"
    (api,) = [t for t in ev.of_type("aws:ecs/taskDefinition:TaskDefinition") if "api" in t.name]
    (container,) = json.loads(api.inputs["containerDefinitions"])
    env = {e["name"]: e["value"] for e in container["environment"]}
    # max_connections 450: 80% of it over 60 + 1 tasks is 5 each (below the cap of 10).
    assert ev.outputs["databaseMaxConnections"] == 450
    assert env["DB_MAX_POOL_SIZE"] == "5"
