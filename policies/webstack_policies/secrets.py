"""Secrets: never in plain environment variables, long enough, KMS-encrypted, never literals.

What counts as secret-looking (names, token shapes, embedded passwords, random values) is
`secret_shapes`, shared with the program's config.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Report, as_json, as_list, config_of, label, plain_environment, schema
from .secret_shapes import (
    SECRET_NAME_PATTERN,
    credential_in,
    entropy_bits,
    is_placeholder,
    name_says_secret,
    value_problem,
)

SECRET = "aws:secretsmanager/secret:Secret"
SECRET_VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
SSM_PARAMETER = "aws:ssm/parameter:Parameter"
RANDOM_PASSWORD = "random:index/randomPassword:RandomPassword"
KMS_KEYS = ("aws:kms/key:Key", "aws:kms/alias:Alias", "aws:kms/replicaKey:ReplicaKey")

ENV_DEFAULTS: dict[str, Any] = {
    "secretNamePattern": SECRET_NAME_PATTERN,
    # Names that are not secrets despite the pattern (PUBLIC_KEY); a credential in their value
    # (a token shape, a URL with a password) is still a violation.
    "allowedNames": [],
}


def _env_validate(args: ResourceValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, ENV_DEFAULTS)
    for where, name, value in plain_environment(args.resource_type, args.props):
        if name in config["allowedNames"]:
            found = credential_in(value)
            problem = f"holds {found}" if found else None
        # `..._ARN` names say where a secret lives (read at run time), not the secret itself.
        elif not name.upper().endswith("_ARN") and name_says_secret(
            name, config["secretNamePattern"]
        ):
            problem = "looks like a secret by its name"
        else:
            problem = value_problem(name, value)
        if problem:
            report(
                f"{where}: {name} {problem}, in the plain environment; inject it from Secrets "
                "Manager (ECS `secrets` valueFrom, or read it at runtime in Lambda)."
            )


no_plaintext_secret_env = ResourceValidationPolicy(
    name="no-plaintext-secret-env",
    description=(
        "No secret sits in the plain environment of an ECS container or Lambda function, judged "
        "by name and by value (token shapes, passwords in URLs and connection strings, random "
        "values under secret-sounding names, `*_ARN` names that hold no ARN): plain variables "
        "are readable by anyone who can describe the task or function, and end up in state, "
        "logs and consoles."
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


def _aws_managed_key(resource: PolicyResource, prop: str) -> bool:
    """Whether `prop` leaves the resource on an AWS-managed KMS key (`alias/aws/<service>`).

    Unset means the service's AWS-managed key; so does its alias, by name or by ARN. A key this
    stack creates is referenced through a property dependency, whose value a preview may not
    know yet, so that is read first.
    """
    if any(d.resource_type in KMS_KEYS for d in resource.property_dependencies.get(prop, [])):
        return False
    key = str(resource.props.get(prop) or "").strip()
    return not key or re.search(r"(^|:)alias/aws/", key) is not None


def _kms_validate(args: StackValidationArgs, report: Report) -> None:
    for secret in (r for r in args.resources if r.resource_type == SECRET):
        if _aws_managed_key(secret, "kmsKeyId"):
            key = secret.props.get("kmsKeyId")
            report(
                f"{label(secret)}: kmsKeyId {f'{key!r} is' if key else 'unset means'} the "
                "AWS-managed key (alias/aws/secretsmanager): any principal with "
                "secretsmanager:GetSecretValue in the account can read the secret. Use the "
                "stack's customer-managed KMS key.",
                secret.urn,
            )


secrets_manager_kms = StackValidationPolicy(
    name="secrets-manager-kms",
    description=(
        "Secrets Manager secrets are encrypted with a customer-managed KMS key, whose key policy "
        "(not just IAM) decides who can decrypt them; the AWS-managed alias/aws/secretsmanager, "
        "by alias, by ARN or by leaving kmsKeyId unset, does not count."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_kms_validate,
)

# Where an SSM parameter's content may come from: a generated secret or a secret's value.
SECRET_SOURCES = (RANDOM_PASSWORD, SECRET_VERSION)
SSM_VALUES = ("value", "insecureValue")


def _ssm_secret_reason(parameter: PolicyResource) -> str | None:
    """Why the parameter holds a secret (its name, its value, where its value comes from)."""
    name = str(parameter.props.get("name") or parameter.name)
    # `/webstack/prod/db-password` is judged like an env var called DB_PASSWORD.
    as_env_name = re.sub(r"[^A-Za-z0-9]+", "_", name.rsplit("/", 1)[-1]).upper()
    if name_says_secret(as_env_name):
        return f"its name {name!r} says it holds a secret"
    for prop in SSM_VALUES:
        sources = parameter.property_dependencies.get(prop, [])
        generated = [s for s in sources if s.resource_type in SECRET_SOURCES]
        if generated:
            return f"its {prop} comes from {label(generated[0])}"
        value = parameter.props.get(prop) if not sources else None
        problem = value_problem(as_env_name, value) if isinstance(value, str) else None
        if problem:
            return f"its {prop} {problem}"
    return None


def _ssm_validate(args: StackValidationArgs, report: Report) -> None:
    for parameter in (r for r in args.resources if r.resource_type == SSM_PARAMETER):
        reason = _ssm_secret_reason(parameter)
        if reason is None:
            continue
        kind = parameter.props.get("type")
        if kind != "SecureString":
            report(
                f"{label(parameter)}: {reason}, so it must be a SecureString, not {kind!r}.",
                parameter.urn,
            )
        elif _aws_managed_key(parameter, "keyId"):
            report(
                f"{label(parameter)}: {reason}; its keyId must be a customer-managed KMS key, "
                "not the AWS-managed alias/aws/ssm.",
                parameter.urn,
            )


ssm_secure_string = StackValidationPolicy(
    name="ssm-secure-string",
    description=(
        "SSM parameters that hold secrets (by name, by value, or fed from a generated password "
        "or a secret) are SecureString, encrypted with a customer-managed KMS key: a String "
        "parameter is readable by anyone with ssm:GetParameter."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_ssm_validate,
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
LITERAL_DEFAULTS: dict[str, Any] = {"minimumEntropyBits": 64}


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
                if is_placeholder(value) or entropy_bits(value) < minimum:
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

POLICIES = [
    no_plaintext_secret_env,
    secret_length,
    secrets_manager_kms,
    ssm_secure_string,
    no_secret_literals,
]
