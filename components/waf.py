"""WebAcl: a WAFv2 web ACL with AWS managed rules, a per-IP rate limit and logging.

Creates:
- a web ACL (REGIONAL for the ALB, CLOUDFRONT for the distribution; a CLOUDFRONT one must be
  built with a us-east-1 provider) that allows by default and runs, in order: where a secret
  header is required (the distribution behind Cloudflare's proxy), a block of every request
  without it; a per-client-IP rate-based block (per CF-Connecting-IP behind Cloudflare's
  proxy); at CloudFront, AWS's IP reputation list; AWS's anonymous IP list (counted only: see
  ANONYMOUS_IP_RULES); AWS's Known Bad Inputs rules (Log4j among them); and, on an ACL the
  API's requests pass, the Common and SQL injection rule groups and the API's body-size limit
  (413);
- a CloudWatch log group (`aws-waf-logs-…`, the prefix WAF requires) with retention, encrypted
  with a key of its own, and the logging configuration, with credentials and the secret
  headers (origin-verify, Cloudflare-verify) redacted.

The ALB's ACL always guards the API, the CDN's only when it serves `/api/*`; there the Common
rules that break JSON APIs only count (COUNTED_COMMON_RULES) and `edge.apiMaxBodyBytes` takes
the place of the Common set's fixed 8 KB body limit. Rules are given as `rule_json` (WAF's own
API shape) so tests and policies read exactly what AWS receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.aws_facts import WAF_BODY_INSPECTION_BYTES
from components.cloudflare_verify import CLOUDFLARE_VERIFY_HEADER
from components.config import EdgeConfig, SecretsConfig, StackWide
from components.context import ComponentContext
from components.log_groups import log_group_with_key

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
KNOWN_BAD_INPUTS_RULE_SET = "AWSManagedRulesKnownBadInputsRuleSet"  # Log4JRCE among them
SQLI_RULE_SET = "AWSManagedRulesSQLiRuleSet"
IP_REPUTATION_RULE_SET = "AWSManagedRulesAmazonIpReputationList"
ANONYMOUS_IP_RULE_SET = "AWSManagedRulesAnonymousIpList"
# The anonymous IP list's two rules only count, on every ACL (labels, metrics and logs show how
# much traffic they would stop): blocking VPN, Tor and proxy users (AnonymousIPList) shuts out
# real viewers and API clients, a product decision nobody has taken, and HostingProviderIPList
# matches cloud addresses, which is where API clients on cloud hosts, the Route 53 health checks
# and the CI runners' smoke checks connect from. Dropping a name here is all a decision to
# block takes.
ANONYMOUS_IP_RULES = ("AnonymousIPList", "HostingProviderIPList")
# Common rules that block legitimate JSON API requests, set to count (their labels and metrics
# stay): SizeRestrictions_BODY blocks every body over 8 KB (`api-body-size` enforces the API's
# own limit instead); CrossSiteScripting_BODY blocks JSON whose strings hold markup (rich text,
# Markdown with HTML), which the API stores as data and the frontend escapes when it renders.
# The query-string, URI, cookie and header rules still block: nothing an API needs trips them.
# Counting the size rule means WAF's body rules (SQLi included) see only a body's first
# 8 KB at the ALB: the API's parameterised queries, not WAF, are the defence past that.
COUNTED_COMMON_RULES = ("SizeRestrictions_BODY", "CrossSiteScripting_BODY")
REDACTED_HEADERS = ("authorization", "cookie")
# Cloudflare's proxy puts the viewer's address here (and overwrites a client's own copy).
CLOUDFLARE_CLIENT_IP_HEADER = "CF-Connecting-IP"
BODY_TOO_LARGE = 413
REQUIRED_HEADER_RULE = "require-secret-header"


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def decimal_above(limit: int) -> str:
    """A regular expression matching exactly the decimal numbers (leading zeros allowed) greater
    than `limit`, for WAF, which cannot compare a header's value as a number.

    Hand-written: the one Python package that builds numeric-range expressions (range-regex) is
    unmaintained, and the construction is short: any number with more digits, or with as many
    digits and, at the first digit where it differs from `limit`, a larger one.
    """
    digits = str(limit)
    above = [f"[1-9][0-9]{{{len(digits)},}}"]
    for i, digit in enumerate(digits):
        if digit == "9":
            continue
        rest = len(digits) - i - 1
        larger = "9" if digit == "8" else f"[{int(digit) + 1}-9]"
        above.append(digits[:i] + larger + (f"[0-9]{{{rest}}}" if rest else ""))
    return f"^0*(?:{'|'.join(above)})$"


def _body_size_rule(limit: int, scope: str, priority: int) -> dict[str, Any]:
    """413 for a body over `limit` bytes: by its declared Content-Length, and, when WAF sees
    that much of a body (8 KB at the ALB, 16 KB at CloudFront), by its size, which catches a
    chunked body too. Past what WAF sees only the header can tell; a chunked body of that size
    passes to the API, whose body parser must hold the same limit."""
    none = [{"Priority": 0, "Type": "NONE"}]
    statements: list[dict[str, Any]] = [
        {
            "RegexMatchStatement": {
                "RegexString": decimal_above(limit),
                "FieldToMatch": {"SingleHeader": {"Name": "content-length"}},
                "TextTransformations": none,
            }
        }
    ]
    if limit < WAF_BODY_INSPECTION_BYTES[scope]:
        statements.append(
            {
                "SizeConstraintStatement": {
                    # A body past what WAF sees is past the limit too.
                    "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
                    "ComparisonOperator": "GT",
                    "Size": limit,
                    "TextTransformations": none,
                }
            }
        )
    return {
        "Name": "api-body-size",
        "Priority": priority,
        "Action": {"Block": {"CustomResponse": {"ResponseCode": BODY_TOO_LARGE}}},
        "Statement": statements[0]
        if len(statements) == 1
        else {"OrStatement": {"Statements": statements}},
        "VisibilityConfig": _visibility("api-body-size"),
    }


def _lacks(header: str, value: str) -> dict[str, Any]:
    """A statement matching requests whose `header` is not exactly `value` (or is missing)."""
    return {
        "NotStatement": {
            "Statement": {
                "ByteMatchStatement": {
                    "FieldToMatch": {"SingleHeader": {"Name": header.lower()}},
                    "PositionalConstraint": "EXACTLY",
                    "SearchString": value,
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            }
        }
    }


def _managed(
    group: str, priority: int, overrides: tuple[str, ...] = (), *, count: bool = False
) -> dict[str, Any]:
    """A rule running AWS's managed `group`; the rules in `overrides` (or, with `count`, the
    whole group) only count."""
    statement: dict[str, Any] = {"VendorName": "AWS", "Name": group}
    if overrides:
        statement["RuleActionOverrides"] = [
            {"Name": rule, "ActionToUse": {"Count": {}}} for rule in overrides
        ]
    return {
        "Name": group,
        "Priority": priority,
        "OverrideAction": {"Count": {}} if count else {"None": {}},
        "Statement": {"ManagedRuleGroupStatement": statement},
        "VisibilityConfig": _visibility(group),
    }


def waf_rules(
    edge: EdgeConfig,
    scope: str,
    *,
    guards_api: bool = True,
    exempt_header: tuple[str, str] | None = None,
    required_header: tuple[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The ACL's rules in WAF's JSON shape.

    `guards_api`: the API's requests pass this ACL, so it runs the Common and SQLi groups and
    the body limit. `exempt_header` (name, value) keeps requests carrying it out of the rate
    limit: our own CloudFront distribution, whose requests are rate-limited per viewer at the
    CDN and would otherwise be counted per edge server here. `required_header` (name, value):
    every request without it is blocked before any other rule runs: the distribution behind
    Cloudflare's proxy, which adds it, so that nobody skips Cloudflare (and with it the rate
    limit keyed on its CF-Connecting-IP) by calling CloudFront directly.
    """
    rate: dict[str, Any] = {"Limit": edge.waf_rate_limit, "AggregateKeyType": "IP"}
    if edge.cloudflare_proxied:
        # Every request comes from one of Cloudflare's servers: count the viewer behind it.
        # A request without the header (one that skipped Cloudflare) is not rate-limited, which
        # is why config admits only Cloudflare's ranges to the ALB when proxied.
        rate["AggregateKeyType"] = "FORWARDED_IP"
        rate["ForwardedIPConfig"] = {
            "HeaderName": CLOUDFLARE_CLIENT_IP_HEADER,
            "FallbackBehavior": "NO_MATCH",
        }
    if exempt_header is not None:
        rate["ScopeDownStatement"] = _lacks(*exempt_header)
    rules: list[dict[str, Any]] = []
    if required_header is not None:
        rules.append(
            {
                "Name": REQUIRED_HEADER_RULE,
                "Priority": 0,
                "Action": {"Block": {}},
                "Statement": _lacks(*required_header),
                "VisibilityConfig": _visibility(REQUIRED_HEADER_RULE),
            }
        )
    rules.append(
        {
            "Name": "rate-limit-per-ip",
            "Priority": len(rules),
            "Action": {"Block": {}},
            "Statement": {"RateBasedStatement": rate},
            "VisibilityConfig": _visibility("rate-limit-per-ip"),
        }
    )
    if scope == "CLOUDFRONT":
        # Every viewer's first stop: turn known-bad sources away before they cost a request to
        # S3 or the API. The list judges the connecting address, which behind Cloudflare's
        # proxy is Cloudflare's, so there it only counts: Cloudflare's own firewall judges the
        # viewer.
        rules.append(_managed(IP_REPUTATION_RULE_SET, len(rules), count=edge.cloudflare_proxied))
    rules.append(_managed(ANONYMOUS_IP_RULE_SET, len(rules), ANONYMOUS_IP_RULES))
    groups = (
        (COMMON_RULE_SET, KNOWN_BAD_INPUTS_RULE_SET, SQLI_RULE_SET)
        if guards_api
        else (KNOWN_BAD_INPUTS_RULE_SET,)
    )
    for group in groups:
        counted = COUNTED_COMMON_RULES if group == COMMON_RULE_SET else ()
        rules.append(_managed(group, len(rules), counted))
    if guards_api:
        rules.append(_body_size_rule(edge.api_max_body_bytes, scope, len(rules)))
    return rules


def _resolved(
    header: tuple[str, pulumi.Input[str]] | None,
) -> pulumi.Output[tuple[str, str] | None]:
    """(header, value) once the value is known; None stays None."""
    if header is None:
        return pulumi.Output.from_input(None)
    name, value = header
    return pulumi.Output.from_input(value).apply(lambda v: (name, v))


@dataclass(frozen=True, kw_only=True)
class WebAclWiring:
    """What WebAcl takes from the component that guards itself with it."""

    scope: str
    """`REGIONAL` (ALB) or `CLOUDFRONT` (create with a us-east-1 provider)."""
    guards_api: bool = True
    """The API's requests pass this ACL: it adds the Common and SQLi groups and the body limit
    (false for a distribution that serves only the static frontend)."""
    rate_limit_exempt_header: tuple[str, pulumi.Input[str]] | None = None
    """(header, secret value) whose requests skip the rate limit; the header is redacted."""
    required_header: tuple[str, pulumi.Input[str]] | None = None
    """(header, secret value) without which a request is blocked first; the header is
    redacted."""


@dataclass(frozen=True, kw_only=True)
class WebAclArgs:
    """Inputs of WebAcl."""

    stack: StackWide
    """The ACL, metric and log group names start with its `name_prefix`."""
    edge: EdgeConfig
    """The rate limit (and whether clients come through Cloudflare), the API's body limit, log
    retention."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the log group's key can still be cancelled."""
    wiring: WebAclWiring


class WebAcl(pulumi.ComponentResource):
    """A WAFv2 web ACL with managed rules, a rate limit and CloudWatch logging."""

    arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: WebAclArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:edge:WebAcl", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        acl_name = f"{args.stack.name_prefix}-{name}"
        edge, scope, guards_api = args.edge, args.wiring.scope, args.wiring.guards_api

        exempt, required = args.wiring.rate_limit_exempt_header, args.wiring.required_header
        # Secret values are known only inside an apply; the rules built there stay secret.
        rule_json = pulumi.Output.all(_resolved(exempt), _resolved(required)).apply(
            lambda headers: json.dumps(
                waf_rules(
                    edge,
                    scope,
                    guards_api=guards_api,
                    exempt_header=headers[0],
                    required_header=headers[1],
                )
            )
        )
        secret_headers = [h[0].lower() for h in (exempt, required) if h is not None]
        if edge.cloudflare_proxied:
            # CloudFront passes every viewer header on to the ALB, Cloudflare's secret too.
            secret_headers.append(CLOUDFLARE_VERIFY_HEADER.lower())
        redacted = (*REDACTED_HEADERS, *sorted(set(secret_headers)))

        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=acl_name,
            scope=scope,
            default_action=aws.wafv2.WebAclDefaultActionArgs(
                allow=aws.wafv2.WebAclDefaultActionAllowArgs()
            ),
            rule_json=rule_json,
            visibility_config=aws.wafv2.WebAclVisibilityConfigArgs(
                cloudwatch_metrics_enabled=True,
                metric_name=acl_name,
                sampled_requests_enabled=True,
            ),
            opts=child,
        )
        # Client addresses, URIs and headers, on a key of the ACL's own in its region.
        log_group = log_group_with_key(
            f"{name}-logs",
            log_group_name=f"aws-waf-logs-{acl_name}",
            retention_days=args.edge.waf_log_retention_days,
            description=f"{acl_name} WAF logs",
            alias=f"alias/{acl_name}-logs",
            deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=args.stack.protect,
            ctx=ComponentContext.of(name, self),
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=acl.arn,
            log_destination_configs=[log_group.arn],
            redacted_fields=[
                aws.wafv2.WebAclLoggingConfigurationRedactedFieldArgs(
                    single_header=aws.wafv2.WebAclLoggingConfigurationRedactedFieldSingleHeaderArgs(
                        name=h
                    )
                )
                for h in redacted
            ],
            opts=child,
        )
        self.arn = acl.arn
        self.register_outputs({"arn": self.arn})
