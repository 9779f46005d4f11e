"""CORS: browsers may call the API and read assets only from the product's own https origins.

Origins are read wherever AWS lets a stack allow them: CloudFront response-headers policies, S3
CORS rules, Lambda function URLs, API Gateway v2 APIs (`corsConfiguration`, an OpenAPI `body`'s
`x-amazon-apigateway-cors`, integrations' response parameter mappings), API Gateway v1
`Access-Control-Allow-Origin` response headers (integration, method and gateway responses, or an
OpenAPI `body`), and the environment of ECS containers and Lambda functions: every variable
whose name contains CORS or ORIGIN.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import Report, as_dict, as_json, as_list, config_of, plain_environment, schema

ORIGIN_DEFAULTS: dict[str, Any] = {"originNamePattern": "CORS|ORIGIN"}
ORIGIN_TYPES: dict[str, dict[str, Any]] = {"originNamePattern": {"type": "string"}}
# CORS settings that are not origins (`CORS_ALLOWED_HEADERS=*` is fine) unless the name also
# says ORIGIN.
NOT_ORIGIN_SETTING = re.compile(r"HEADER|METHOD|MAX_?AGE|CREDENTIAL|EXPOSE", re.IGNORECASE)
ALLOW_ORIGIN_HEADER = re.compile(r"header\.access-control-allow-origin$", re.IGNORECASE)
# A mapping that copies the caller's Origin header back: any site is allowed.
REFLECTED_ORIGIN = re.compile(r"^method\.request\.header\.origin$", re.IGNORECASE)

Found = Iterator[tuple[str, str]]  # (where, origin)


def split_origins(value: Any) -> list[str]:
    """The items of a list given as a JSON array, or separated by commas or whitespace."""
    decoded = as_json(value) if isinstance(value, str) else value
    if isinstance(decoded, list):
        return [str(item).strip() for item in decoded if str(item).strip()]
    return [item for item in re.split(r"[\s,]+", str(value or "")) if item]


def _env_origins(where: str, name: str, value: Any, pattern: re.Pattern[str]) -> Found:
    if not pattern.search(name):
        return
    names_origin = "ORIGIN" in name.upper()
    if not names_origin and NOT_ORIGIN_SETTING.search(name):
        return
    for item in split_origins(value):
        # Under a CORS_* name that is not about origins (CORS_ENABLED=true), only what looks
        # like an origin is one.
        if names_origin or "*" in item or "://" in item:
            yield f"{where} {name}", item


def _header_origins(where: str, parameters: Any) -> Found:
    """Access-Control-Allow-Origin in API Gateway v1 responseParameters.

    Values are quoted literals (`'*'`) or mappings; a mapping from the backend's own header is
    the backend's business, one from the request's Origin allows every origin.
    """
    for key, value in as_dict(parameters).items():
        if not ALLOW_ORIGIN_HEADER.search(str(key)) or not isinstance(value, str):
            continue  # method responses only declare the header (a boolean)
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            for origin in split_origins(value[1:-1]):
                yield f"{where}[{key!r}]", origin
        elif REFLECTED_ORIGIN.match(value):
            yield f"{where}[{key!r}] (copies the request's Origin)", "*"


def _openapi_origins(where: str, body: Any) -> Found:
    """Origins in an OpenAPI body (JSON), as API Gateway reads its CORS extensions."""
    stack: list[tuple[str, Any]] = [(where, as_json(body))]
    while stack:
        path, node = stack.pop()
        if isinstance(node, Mapping):
            cors = as_dict(node.get("x-amazon-apigateway-cors"))
            for origin in as_list(cors.get("allowOrigins")):
                yield f"{path}.x-amazon-apigateway-cors.allowOrigins", str(origin)
            if "responseParameters" in node:
                yield from _header_origins(f"{path}.responseParameters", node["responseParameters"])
            stack += [(f"{path}.{k}", v) for k, v in node.items() if k != "responseParameters"]
        elif isinstance(node, list):
            stack += [(f"{path}[{i}]", v) for i, v in enumerate(node)]


def _listed(where: str, origins: Any) -> Found:
    for origin in as_list(origins):
        yield where, str(origin)


def _response_headers_policy(props: Mapping[str, Any]) -> Found:
    allow = as_dict(as_dict(props.get("corsConfig")).get("accessControlAllowOrigins"))
    yield from _listed("corsConfig.accessControlAllowOrigins", allow.get("items"))


def _bucket_cors(props: Mapping[str, Any]) -> Found:
    for i, rule in enumerate(as_dict(r) for r in as_list(props.get("corsRules"))):
        yield from _listed(f"corsRules[{i}].allowedOrigins", rule.get("allowedOrigins"))


def _function_url(props: Mapping[str, Any]) -> Found:
    yield from _listed("cors.allowOrigins", as_dict(props.get("cors")).get("allowOrigins"))


def _http_api(props: Mapping[str, Any]) -> Found:
    cors = as_dict(props.get("corsConfiguration"))
    yield from _listed("corsConfiguration.allowOrigins", cors.get("allowOrigins"))
    yield from _openapi_origins("body", props.get("body"))


def _http_api_integration(props: Mapping[str, Any]) -> Found:
    """Response parameter mappings that set the header (`overwrite:header.<name>`).

    A value starting with `$` maps from the backend's response or the context, not an origin.
    """
    for i, entry in enumerate(as_dict(e) for e in as_list(props.get("responseParameters"))):
        for key, value in as_dict(entry.get("mappings")).items():
            action, _, target = str(key).partition(":")
            if (
                action.lower() in ("append", "overwrite")
                and target.lower() == "header.access-control-allow-origin"
                and not str(value).startswith("$")
            ):
                where = f"responseParameters[{i}].mappings[{key!r}]"
                yield from ((where, origin) for origin in split_origins(value))


def _rest_api(props: Mapping[str, Any]) -> Found:
    yield from _openapi_origins("body", props.get("body"))


def _api_response(props: Mapping[str, Any]) -> Found:
    yield from _header_origins("responseParameters", props.get("responseParameters"))


# Where each resource type allows origins, apart from the environment.
EXTRACTORS: dict[str, Callable[[Mapping[str, Any]], Found]] = {
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": _response_headers_policy,
    "aws:s3/bucketCorsConfiguration:BucketCorsConfiguration": _bucket_cors,
    "aws:s3/bucketCorsConfigurationV2:BucketCorsConfigurationV2": _bucket_cors,
    "aws:lambda/functionUrl:FunctionUrl": _function_url,
    "aws:apigatewayv2/api:Api": _http_api,
    "aws:apigatewayv2/integration:Integration": _http_api_integration,
    "aws:apigateway/restApi:RestApi": _rest_api,
    "aws:apigateway/integrationResponse:IntegrationResponse": _api_response,
    "aws:apigateway/methodResponse:MethodResponse": _api_response,
    "aws:apigateway/response:Response": _api_response,
}


def origins_of(args: ResourceValidationArgs, name_pattern: str) -> list[tuple[str, str]]:
    """(where, origin) for every CORS origin the resource allows."""
    props = args.props
    if args.resource_type in EXTRACTORS:
        found = list(EXTRACTORS[args.resource_type](props))
    else:
        pattern = re.compile(name_pattern, re.IGNORECASE)
        found = [
            origin
            for where, name, value in plain_environment(args.resource_type, props)
            for origin in _env_origins(where, name, value, pattern)
        ]
    return [(where, origin.strip()) for where, origin in found if origin.strip()]


def _https_validate(args: ResourceValidationArgs, report: Report) -> None:
    pattern = config_of(args.get_config, ORIGIN_DEFAULTS)["originNamePattern"]
    for where, origin in origins_of(args, pattern):
        if "*" in origin:
            report(f"{where}: {origin!r} allows any origin; list the exact https origins.")
        elif urlsplit(origin).scheme.lower() != "https":
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
    for where, origin in origins_of(args, config["originNamePattern"]):
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
