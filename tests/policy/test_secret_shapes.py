"""The shared secret detectors: standalone, equal to the config's names, right on real values.

`secret_shapes` is loaded from its file, not through the pack's package, as the program's config
will load it: that it works so is part of what is tested.
"""

from __future__ import annotations

import ast
import base64
import importlib.util
import json
import secrets
import string
import sys
import uuid
from pathlib import Path
from types import ModuleType

import pytest
from google.protobuf import json_format

from components.config import secret_detector
from tools.mockcloud import Evaluation

SHAPES = Path(__file__).resolve().parents[2] / "policies" / "webstack_policies" / "secret_shapes.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("secret_shapes", SHAPES)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


shapes = _load()


def _alphanumeric(length: int, alphabet: str = string.ascii_letters + string.digits) -> str:
    return "".join(secrets.choice(alphabet) for _ in range(length))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def test_the_config_judges_with_this_same_file() -> None:
    assert secret_detector.SHAPES_FILE == SHAPES


def test_module_imports_only_the_standard_library() -> None:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(SHAPES.read_text())):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            # A relative import (of the rest of the pack) has level > 0: never stdlib.
            imported.add("." if node.level else (node.module or "").split(".")[0])
    assert imported, "the module imports something"
    assert imported - {"__future__"} <= sys.stdlib_module_names, imported


@pytest.mark.parametrize(
    ("make", "kind"),
    [
        (lambda: "sk_live_" + _alphanumeric(24), "Stripe"),
        (lambda: "rk_live_" + _alphanumeric(24), "Stripe"),
        (lambda: "ghp_" + _alphanumeric(36), "GitHub"),
        (lambda: "gho_" + _alphanumeric(36), "GitHub"),
        (lambda: "ghs_" + _alphanumeric(36), "GitHub"),
        (lambda: "github_pat_" + _alphanumeric(22) + "_" + _alphanumeric(59), "GitHub"),
        (lambda: f"xoxb-{secrets.randbelow(10**12)}-{_alphanumeric(24)}", "Slack"),
        (lambda: f"xoxp-{secrets.randbelow(10**12)}-{_alphanumeric(24)}", "Slack"),
        (lambda: "AKIA" + _alphanumeric(16, string.ascii_uppercase + string.digits), "AWS"),
        (lambda: "ASIA" + _alphanumeric(16, string.ascii_uppercase + string.digits), "AWS"),
        (
            lambda: ".".join(
                [
                    _b64url(json.dumps({"alg": "RS256"}).encode()),
                    _b64url(json.dumps({"sub": secrets.token_hex(4)}).encode()),
                    secrets.token_urlsafe(64),
                ]
            ),
            "JWT",
        ),
        (lambda: ".".join(secrets.token_urlsafe(24) for _ in range(3)), "JWT"),
        (lambda: "Bearer " + ".".join(secrets.token_hex(8) for _ in range(3)), "JWT"),
        (lambda: "sk-proj-" + secrets.token_urlsafe(32), "OpenAI"),
        (
            lambda: (
                "-----BEGIN OPENSSH PRIVATE KEY-----\n"
                + base64.b64encode(secrets.token_bytes(64)).decode()
            ),
            "private key",
        ),
        (lambda: f"host=db.internal dbname=app password={secrets.token_urlsafe(9)}", "password="),
        (lambda: f"Server=db;Database=app;Pwd={secrets.token_urlsafe(9)};", "password="),
        (lambda: f"jdbc:postgresql://db/app?user=app&password={secrets.token_hex(6)}", "password"),
        (lambda: f"redis://:{secrets.token_urlsafe(12)}@cache:6379/0", "URL with a password"),
        (lambda: f"a, https://u:{secrets.token_hex(6)}@h.example.com/x", "URL with a password"),
    ],
)
def test_credentials_are_found_whatever_the_name(make, kind: str) -> None:
    found = shapes.credential_in(make())
    assert found and kind in found


@pytest.mark.parametrize(
    "value",
    [
        "arn:aws:secretsmanager:us-east-1:123456789012:secret:webstack-prod/DATABASE_URL-d0-bad2b8",
        "postgres://app@db.internal:5432/app?sslmode=verify-full",
        "https://auth.example.com/.well-known/jwks.json",
        "host=db.internal port=5432 dbname=app user=app sslmode=verify-full",
        "password=",
        "pk_live_" + "0" * 24,  # a publishable key is public by design
        "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----",
        "webstack-prod-postgres.c487d653406a.us-east-1.rds.amazonaws.com",
        "api.example.com",
        "webstack-staging.internal-zone.example-corp",
        "1.2.3",
        "info",
    ],
)
def test_ordinary_values_hold_no_credential(value: str) -> None:
    assert shapes.credential_in(value) is None


@pytest.mark.parametrize("name", ["DB_PASS", "SESSION_SIGNING", "MY_PWD", "x_auth", "CredBlob"])
@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32)])
def test_random_values_under_secret_sounding_names_are_secrets(name: str, make) -> None:
    for _ in range(50):
        assert shapes.value_problem(name, make()), name


NOT_SECRETS = [
    ("REQUEST_SAMPLE", secrets.token_urlsafe(32)),  # random, but nothing says secret
    ("KMS_KEY_ID", str(uuid.uuid4())),  # an identifier
    ("AUTH0_CLIENT_ID", _alphanumeric(32)),  # public by design
    ("TOKEN_TTL", "3600"),
    ("SIGNING_ALGORITHM", "RS256"),
    ("AUTH_ISSUER", "https://auth.example.com/"),
    ("CACHE_KEY_PREFIX", "webstack:sessions:"),
    ("SECRET_NAME", "webstack-prod/JWT_SECRET"),
    ("CREDENTIALS_PROVIDER", "EcsContainer"),
    ("PASSWORD_POLICY", "ELBSecurityPolicy-TLS13-1-2-2021-06"),
    ("MASTER_SECRET_ARN", "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-1a"),
    ("BUCKET_ARN", "arn:aws:s3:::webstack-assets"),
    ("POLICY_ARN", "arn:aws:iam::aws:policy/ReadOnlyAccess"),
    ("OPTIONAL_ARN", ""),
]


@pytest.mark.parametrize(
    ("name", "value"),
    NOT_SECRETS,
    # Ids from the names alone: random values would differ between the xdist workers.
    ids=[name for name, _ in NOT_SECRETS],
)
def test_settings_and_references_are_not_secrets(name: str, value: str) -> None:
    assert shapes.value_problem(name, value) is None


RANDOM_PARTS = [
    ("AUTHORIZATION_HEADER", "Bearer " + secrets.token_urlsafe(32)),
    ("UPSTREAM", "user=app token=" + secrets.token_urlsafe(32)),
    ("ASSETS", "https://b.example.com/x?X-Amz-Signature=" + secrets.token_hex(32)),
    ("APP_CONFIG", json.dumps({"mail": {"apiKey": secrets.token_urlsafe(32)}})),
]


@pytest.mark.parametrize(
    ("name", "value"),
    RANDOM_PARTS,
    # Ids from the names alone: random values would differ between the xdist workers.
    ids=[name for name, _ in RANDOM_PARTS],
)
def test_random_parts_are_judged_by_their_own_names(name: str, value: str) -> None:
    assert shapes.value_problem(name, value)


@pytest.mark.parametrize(
    "value",
    ["alias/webstack", secrets.token_urlsafe(32), "webstack-prod/DATABASE_URL"],
    ids=["alias", "random", "secret-name"],
)
def test_an_arn_name_must_hold_an_arn(value: str) -> None:
    problem = shapes.value_problem("DATABASE_URL_SECRET_ARN", value)
    assert problem and "ARN" in problem


def _plain_environments(evaluation: Evaluation) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for resource in evaluation.resources:
        props = json_format.MessageToDict(resource.raw_inputs)
        if resource.type == "aws:ecs/taskDefinition:TaskDefinition":
            for container in json.loads(props["containerDefinitions"]):
                found += [(e["name"], e["value"]) for e in container.get("environment", [])]
        elif resource.type == "aws:lambda/function:Function":
            found += list(props.get("environment", {}).get("variables", {}).items())
    return found


def test_the_committed_stacks_plain_values_are_not_secrets(stack: Evaluation) -> None:
    environment = _plain_environments(stack)
    assert len(environment) > 20, "the stack's containers and functions have an environment"
    flagged = {n: shapes.value_problem(n, v) for n, v in environment if shapes.value_problem(n, v)}
    assert flagged == {}
