"""WebAcl: a WAFv2 web ACL with AWS managed rules, a per-IP rate limit and logging.

Creates:
- a web ACL (REGIONAL for the ALB, CLOUDFRONT for the distribution; a CLOUDFRONT one must be
  built with a us-east-1 provider) that allows by default and runs, in order: a per-client-IP
  rate-based block, then AWS's Common, Known Bad Inputs and SQL injection rule groups;
- a CloudWatch log group (`aws-waf-logs-…`, the prefix WAF requires) with retention, encrypted
  with a key of its own, and the logging configuration, with credentials and the origin-verify
  header redacted.

Rules are given as `rule_json` (WAF's own API shape) so tests and policies read exactly what AWS
receives.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.config import EdgeConfig, SecretsConfig, StackWide
from components.log_groups import log_group_with_key

MANAGED_RULE_GROUPS = (
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesSQLiRuleSet",
)
REDACTED_HEADERS = ("authorization", "cookie")


def _visibility(metric: str) -> dict[str, Any]:
    return {
        "SampledRequestsEnabled": True,
        "CloudWatchMetricsEnabled": True,
        "MetricName": metric,
    }


def waf_rules(
    rate_limit: int, exempt_header: tuple[str, str] | None = None
) -> list[dict[str, Any]]:
    """The ACL's rules in WAF's JSON shape.

    `exempt_header` (name, value) keeps requests carrying it out of the rate limit: our own
    CloudFront distribution, whose requests are rate-limited per viewer at the CDN and would
    otherwise be counted per edge server here.
    """
    rate: dict[str, Any] = {"Limit": rate_limit, "AggregateKeyType": "IP"}
    if exempt_header is not None:
        header, value = exempt_header
        rate["ScopeDownStatement"] = {
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
    rules: list[dict[str, Any]] = [
        {
            "Name": "rate-limit-per-ip",
            "Priority": 0,
            "Action": {"Block": {}},
            "Statement": {"RateBasedStatement": rate},
            "VisibilityConfig": _visibility("rate-limit-per-ip"),
        }
    ]
    for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
        rules.append(
            {
                "Name": group,
                "Priority": priority,
                "OverrideAction": {"None": {}},
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": group}},
                "VisibilityConfig": _visibility(group),
            }
        )
    return rules


@dataclass(frozen=True, kw_only=True)
class WebAclWiring:
    """What WebAcl takes from the component that guards itself with it."""

    scope: str
    """`REGIONAL` (ALB) or `CLOUDFRONT` (create with a us-east-1 provider)."""
    rate_limit_exempt_header: tuple[str, pulumi.Input[str]] | None = None
    """(header, secret value) whose requests skip the rate limit; the header is redacted."""


@dataclass(frozen=True, kw_only=True)
class WebAclArgs:
    """Inputs of WebAcl."""

    stack: StackWide
    """The ACL, metric and log group names start with its `name_prefix`."""
    edge: EdgeConfig
    """Requests per client IP per 5 minutes before that IP is blocked; log retention."""
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
        rate_limit = args.edge.waf_rate_limit

        if args.wiring.rate_limit_exempt_header is None:
            rule_json: pulumi.Input[str] = pulumi.Output.json_dumps(waf_rules(rate_limit))
            redacted: tuple[str, ...] = REDACTED_HEADERS
        else:
            header, value = args.wiring.rate_limit_exempt_header
            rule_json = pulumi.Output.from_input(value).apply(
                lambda v: json.dumps(waf_rules(rate_limit, (header, v)))
            )
            redacted = (*REDACTED_HEADERS, header.lower())

        acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            name=acl_name,
            scope=args.wiring.scope,
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
            parent=self,
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
