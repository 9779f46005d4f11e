"""Secrets: never in plain environment variables, long enough, KMS-encrypted, never literals."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Report, as_dict, as_json, as_list, config_of, label, schema

TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
SECRET = "aws:secretsmanager/secret:Secret"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"

ENV_DEFAULTS: dict[str, Any] = {
    # The same pattern as components/config.py's SECRET_NAME_PATTERN (the pack does not import
    # the program; tests/policy/test_secret_names.py keeps them equal).
    "secretNamePattern": (
        r"(SECRETS?|PASSWORDS?|PASSWD|TOKENS?|KEYS?|DSN|CREDENTIALS?)$|^(DATABASE_URL|REDIS_URL)$"
    ),
    "allowedNames": [],
}


def _plain_env(args: ResourceValidationArgs) -> Iterator[tuple[str, str, str]]:
    """(where, name, value) of every plain environment variable of the resource."""
    if args.resource_type == TASK_DEFINITION:
        for container in as_list(as_json(args.props.get("containerDefinitions"))):
            container = as_dict(container)
            for entry in (as_dict(e) for e in as_list(container.get("environment"))):
                where = f"container {container.get('name')!r}"
                yield where, str(entry.get("name")), str(entry.get("value") or "")
    elif args.resource_type == LAMBDA_FUNCTION:
        variables = as_dict(as_dict(args.props.get("environment")).get("variables"))
        for name, value in variables.items():
            yield "environment.variables", str(name), str(value or "")


def _has_url_password(value: str) -> bool:
    try:
        return bool(urlsplit(value).password)
    except ValueError:
        return False


def _env_validate(args: ResourceValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, ENV_DEFAULTS)
    pattern = re.compile(config["secretNamePattern"], re.IGNORECASE)
    for where, name, value in _plain_env(args):
        # `..._ARN` names where a secret lives (read at run time), not the secret itself.
        if name in config["allowedNames"] or name.upper().endswith("_ARN"):
            continue
        if pattern.search(name):
            report(
                f"{where}: {name} looks like a secret in the plain environment; inject it from "
                "Secrets Manager (ECS `secrets` valueFrom, or read it at runtime in Lambda)."
            )
        elif _has_url_password(value):
            report(f"{where}: {name} holds a URL with a password; inject it as a secret.")


no_plaintext_secret_env = ResourceValidationPolicy(
    name="no-plaintext-secret-env",
    description=(
        "No secret sits in the plain environment of an ECS container or Lambda function: plain "
        "variables are readable by anyone who can describe the task or function, and end up in "
        "state, logs and consoles."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        ENV_DEFAULTS,
        {
            "secretNamePattern": {"type": "string"},
            "allowedNames": {"type": "array", "items": {"type": "string"}},
        },
    ),
    validate=_env_validate,
)

LENGTH_DEFAULTS: dict[str, Any] = {
    "minimumLength": 16,
    "databaseMinimumLength": 16,
    "jwtMinimumLength": 32,
}
DATABASE_TYPES = ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster")


def _consumers(generated: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    return [
        r for r in resources if any(generated in deps for deps in r.property_dependencies.values())
    ]


def _length_validate(args: StackValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, LENGTH_DEFAULTS)
    for password in (r for r in args.resources if r.resource_type == RANDOM_PASSWORD):
        consumers = _consumers(password, args.resources)
        names = " ".join([password.name, *(c.name for c in consumers)]).lower()
        if "jwt" in names:
            purpose, minimum = "JWT signing secret", config["jwtMinimumLength"]
        elif any(c.resource_type in DATABASE_TYPES for c in consumers) or re.search(
            r"\b(db|database|postgres)\b|-db-|-database-", names
        ):
            purpose, minimum = "database password", config["databaseMinimumLength"]
        else:
            purpose, minimum = "secret", config["minimumLength"]
        length = int(password.props.get("length") or 0)
        if length < minimum:
            report(
                f"{label(password)}: a {purpose} needs length >= {minimum}, got {length}.",
                password.urn,
            )


secret_length = StackValidationPolicy(
    name="secret-length",
    description=(
        "Generated secrets are long enough to resist offline guessing: JWT signing secrets >= 32 "
        "characters (HS256 needs 256 bits), database passwords >= 16, anything else >= 16."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        LENGTH_DEFAULTS,
        {key: {"type": "integer", "minimum": 8} for key in LENGTH_DEFAULTS},
    ),
    validate=_length_validate,
)


def _kms_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == SECRET and not args.props.get("kmsKeyId"):
        report(
            "kmsKeyId is unset, so the secret uses the AWS-managed key: any principal with "
            "secretsmanager:GetSecretValue in the account can read it. Use the stack's KMS key."
        )


secrets_manager_kms = ResourceValidationPolicy(
    name="secrets-manager-kms",
    description=(
        "Secrets Manager secrets are encrypted with a customer-managed KMS key, whose key policy "
        "(not just IAM) decides who can decrypt them."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_kms_validate,
)

# Inputs that hold a secret value, per type. A value there should come from another resource
# (a generated password) or from `secure:` config; AWS-managed alternatives
# (manageMasterUserPassword, write-only *Wo inputs) are better still.
SECRET_INPUTS: dict[str, tuple[str, ...]] = {
    "aws:rds/instance:Instance": ("password",),
    "aws:rds/cluster:Cluster": ("masterPassword",),
    "aws:elasticache/replicationGroup:ReplicationGroup": ("authToken",),
    "aws:elasticache/user:User": ("passwords",),
    "aws:secretsmanager/secretVersion:SecretVersion": ("secretString",),
    "aws:ssm/parameter:Parameter": ("value",),
}
PLACEHOLDERS = re.compile(
    r"^(change[-_ ]?me|password\d*|passw0rd|secret\d*|admin\d*|root|test\d*|example|default|"
    r"letmein|qwerty\d*|12345\d*|todo|xxx+|dummy|placeholder)$",
    re.IGNORECASE,
)
LITERAL_DEFAULTS: dict[str, Any] = {"minimumEntropyBits": 64}


def _entropy_bits(value: str) -> float:
    counts = Counter(value)
    per_char = -sum(n / len(value) * math.log2(n / len(value)) for n in counts.values())
    return per_char * len(value)


def _strings(value: Any) -> Iterator[str]:
    """The leaf strings of a value; JSON documents (a secretString) are opened."""
    decoded = as_json(value) if isinstance(value, str) else value
    if isinstance(decoded, str):
        yield decoded
    elif isinstance(decoded, Mapping):
        for inner in decoded.values():
            yield from _strings(inner)
    elif as_list(decoded):
        for inner in as_list(decoded):
            yield from _strings(inner)
    elif isinstance(value, str):
        yield value


def _literal_validate(args: StackValidationArgs, report: Report) -> None:
    minimum = config_of(args.get_config, LITERAL_DEFAULTS)["minimumEntropyBits"]
    for resource in args.resources:
        for key in SECRET_INPUTS.get(resource.resource_type, ()):
            if key not in resource.props or resource.property_dependencies.get(key):
                continue  # absent, or computed from another resource (a generated secret)
            if (
                resource.resource_type.startswith("aws:ssm/")
                and resource.props.get("type") != "SecureString"
            ):
                continue
            for value in _strings(resource.props.get(key)):
                if PLACEHOLDERS.match(value) or _entropy_bits(value) < minimum:
                    report(
                        f"{label(resource)}: {key} holds a literal-looking secret (a placeholder "
                        f"or under {minimum} bits of entropy); generate it (pulumi-random) or "
                        "set it with `pulumi config set --secret`.",
                        resource.urn,
                    )
                    break


no_secret_literals = StackValidationPolicy(
    name="no-secret-literals",
    description=(
        "Inputs that hold secrets (database and cache passwords, secret values, SecureString "
        "parameters) are generated or come from encrypted config, never typed-in literals."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        LITERAL_DEFAULTS, {"minimumEntropyBits": {"type": "number", "minimum": 32}}
    ),
    validate=_literal_validate,
)

POLICIES = [no_plaintext_secret_env, secret_length, secrets_manager_kms, no_secret_literals]
