"""CORS: browsers may call the API and read assets only from the product's own https origins.

Origins are read from CloudFront response-headers policies, S3 CORS rules and the API's
ALLOWED_ORIGINS variable (ECS container definitions and Lambda functions).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import Report, as_dict, as_json, as_list, config_of, schema

RESPONSE_HEADERS_POLICY = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
BUCKET_CORS = (
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration",
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2",
)
TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA_FUNCTION = "aws:lambda/function:Function"

ORIGIN_DEFAULTS: dict[str, Any] = {"originVariables": ["ALLOWED_ORIGINS", "CORS_ORIGINS"]}
ORIGIN_TYPES: dict[str, dict[str, Any]] = {
    "originVariables": {"type": "array", "items": {"type": "string"}},
}


def _env_origins(props: Any, resource_type: str, variables: list[str]) -> Iterator[tuple[str, str]]:
    if resource_type == TASK_DEFINITION:
        for container in as_list(as_json(props.get("containerDefinitions"))):
            container = as_dict(container)
            for entry in (as_dict(e) for e in as_list(container.get("environment"))):
                if entry.get("name") in variables:
                    for origin in str(entry.get("value") or "").split(","):
                        yield f"container {container.get('name')!r} {entry['name']}", origin
    elif resource_type == LAMBDA_FUNCTION:
        env = as_dict(as_dict(props.get("environment")).get("variables"))
        for name in variables:
            for origin in str(env.get(name) or "").split(","):
                yield name, origin


def origins_of(args: ResourceValidationArgs, variables: list[str]) -> list[tuple[str, str]]:
    """(where, origin) for every CORS origin the resource allows."""
    found: list[tuple[str, str]] = []
    props = args.props
    if args.resource_type == RESPONSE_HEADERS_POLICY:
        cors = as_dict(props.get("corsConfig"))
        items = as_list(as_dict(cors.get("accessControlAllowOrigins")).get("items"))
        found += [("corsConfig.accessControlAllowOrigins", str(o)) for o in items]
    elif args.resource_type in BUCKET_CORS:
        for i, rule in enumerate(as_dict(r) for r in as_list(props.get("corsRules"))):
            found += [
                (f"corsRules[{i}].allowedOrigins", str(o))
                for o in as_list(rule.get("allowedOrigins"))
            ]
    else:
        found += list(_env_origins(props, args.resource_type, variables))
    return [(where, origin.strip()) for where, origin in found if origin.strip()]


def _https_validate(args: ResourceValidationArgs, report: Report) -> None:
    variables = config_of(args.get_config, ORIGIN_DEFAULTS)["originVariables"]
    for where, origin in origins_of(args, variables):
        if "*" in origin:
            report(f"{where}: {origin!r} allows any origin; list the exact https origins.")
        elif urlsplit(origin).scheme != "https":
            report(f"{where}: {origin!r} is not an https origin.")


cors_https_origins = ResourceValidationPolicy(
    name="cors-https-origins",
    description=(
        "CORS origins are explicit https origins: a '*' lets any site read responses with the "
        "user's session, and an http origin can be impersonated on the network."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(ORIGIN_DEFAULTS, ORIGIN_TYPES),
    validate=_https_validate,
)

DOMAIN_DEFAULTS: dict[str, Any] = {**ORIGIN_DEFAULTS, "allowedDomains": []}


def within(host: str, domains: list[str]) -> bool:
    """The host is one of the domains or a subdomain of one."""
    host = host.lower().rstrip(".")
    return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)


def _domains_validate(args: ResourceValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, DOMAIN_DEFAULTS)
    domains = list(config["allowedDomains"])
    for where, origin in origins_of(args, config["originVariables"]):
        host = urlsplit(origin).hostname or ""
        if "*" not in origin and not within(host, domains):
            allowed = ", ".join(domains) or "none configured"
            report(f"{where}: {origin!r} is outside the allowed domains ({allowed}).")


cors_origins_within_domains = ResourceValidationPolicy(
    name="cors-origins-within-domains",
    description=(
        "CORS origins belong to the stack's own domains (policy config allowedDomains), so no "
        "third-party site can make credentialed calls to the API."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        DOMAIN_DEFAULTS,
        {**ORIGIN_TYPES, "allowedDomains": {"type": "array", "items": {"type": "string"}}},
    ),
    validate=_domains_validate,
)

POLICIES = [cors_https_origins, cors_origins_within_domains]
