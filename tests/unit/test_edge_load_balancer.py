"""The API's load balancer in both stacks: TLS, headers, target group, ingress, logs, WAF."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from pulumi.runtime import MockCallArgs

from components.waf import decimal_above
from tests.helpers import assert_problem, config_of, parse_problems
from tests.unit.edge_helpers import (
    assert_no_public_access,
    bucket_child,
    edge_section,
    edge_variant,
)
from tools.mockcloud import Evaluation, MockCloud, Resource

ALB = "aws:lb/loadBalancer:LoadBalancer"
LISTENER = "aws:lb/listener:Listener"
TG = "aws:lb/targetGroup:TargetGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
WAF = "aws:wafv2/webAcl:WebAcl"
ALB_ACL = "load-balancer-waf-acl"  # prod also has the CDN's, frontend-waf-acl


def listener(ev: Evaluation, port: int) -> Resource:
    (found,) = [r for r in ev.of_type(LISTENER) if r.inputs["port"] == port]
    return found


def alb_sg(ev: Evaluation) -> Resource:
    return ev.one("aws:ec2/securityGroup:SecurityGroup", "load-balancer-sg")


def test_alb_is_public_in_the_public_subnets(stack: Evaluation) -> None:
    alb = stack.one(ALB)
    assert alb.inputs["internal"] is False
    assert alb.inputs["loadBalancerType"] == "application"
    assert sorted(alb.inputs["subnets"]) == sorted(stack.outputs["publicSubnetIds"])
    assert alb.inputs["securityGroups"] == [alb_sg(stack).outputs["id"]]
    assert alb.inputs["dropInvalidHeaderFields"] is True
    assert alb.inputs["enableDeletionProtection"] is (stack.stack == "prod")


def test_https_listener_uses_tls13_and_the_validated_certificate(stack: Evaluation) -> None:
    https = listener(stack, 443)
    assert https.inputs["protocol"] == "HTTPS"
    assert https.inputs["sslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    validation = stack.one(
        "aws:acm/certificateValidation:CertificateValidation", "certificates-api-validation"
    )
    assert https.inputs["certificateArn"] == validation.outputs["certificateArn"]
    (action,) = https.inputs["defaultActions"]
    assert action["type"] == "forward"
    # The primary group: a traffic-shifting strategy's rule above it matches first (every path).
    assert action["targetGroupArn"] == stack.one(TG, "load-balancer-api").outputs["arn"]


def test_http_listener_only_redirects_to_https(stack: Evaluation) -> None:
    (action,) = listener(stack, 80).inputs["defaultActions"]
    assert action["type"] == "redirect"
    assert action["redirect"] == {"protocol": "HTTPS", "port": "443", "statusCode": "HTTP_301"}


def test_https_listener_adds_security_headers(stack: Evaluation) -> None:
    inputs = listener(stack, 443).inputs
    hsts = inputs["routingHttpResponseStrictTransportSecurityHeaderValue"]
    assert hsts.startswith("max-age=31536000; includeSubDomains")
    assert hsts.endswith("; preload") is (stack.stack == "prod")
    assert inputs["routingHttpResponseXContentTypeOptionsHeaderValue"] == "nosniff"
    assert inputs["routingHttpResponseXFrameOptionsHeaderValue"] == "DENY"
    assert inputs["routingHttpResponseServerEnabled"] is False
    # A static Allow-Origin at the ALB would bypass the API's allow-list.
    assert not any(k.startswith("routingHttpResponseAccessControl") for k in inputs)


def test_target_group_probes_readiness_and_drains_quickly(stack: Evaluation) -> None:
    # A traffic-shifting strategy's two groups take turns with the same tasks: alike but names.
    groups = [r.inputs for r in stack.of_type(TG)]
    assert len(groups) == (2 if config_of(stack).api.deployment.shifts_traffic else 1)
    assert all({**g, "tags": None} == {**groups[0], "tags": None} for g in groups)
    tg = groups[0]
    assert tg["targetType"] == "ip"
    assert tg["port"] == 3000 and tg["protocol"] == "HTTP"
    assert tg["deregistrationDelay"] == 30
    check = tg["healthCheck"]
    assert check["path"] == "/api/ready"
    assert check["interval"] == 30
    assert check["healthyThreshold"] == 2 and check["unhealthyThreshold"] == 2
    assert check["timeout"] < check["interval"]
    assert check["matcher"] == "200" and check["port"] == "traffic-port"


def test_health_check_and_drain_follow_config() -> None:
    ev = edge_variant(
        "staging",
        healthCheck={"path": "/api/health", "intervalSeconds": 10, "healthyThreshold": 3},
        deregistrationDelaySeconds=45,
    )
    for tg in (r.inputs for r in ev.of_type(TG)):
        assert tg["healthCheck"]["path"] == "/api/health"
        assert tg["healthCheck"]["interval"] == 10
        assert tg["healthCheck"]["healthyThreshold"] == 3
        assert tg["deregistrationDelay"] == 45


def test_alb_admits_the_internet_on_443_and_80_only(stack: Evaluation) -> None:
    sg_id = alb_sg(stack).outputs["id"]
    rules = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
    assert sorted((r["fromPort"], r["toPort"], r["cidrIpv4"]) for r in rules) == [
        (80, 80, "0.0.0.0/0"),
        (443, 443, "0.0.0.0/0"),
    ]


def test_alb_egress_goes_only_to_the_api_tasks(stack: Evaluation) -> None:
    sg = alb_sg(stack)
    assert not sg.inputs.get("egress")
    api_sg = stack.one("aws:ec2/securityGroup:SecurityGroup", "workloads-api").outputs["id"]
    rules = [
        r.inputs for r in stack.of_type(EGRESS) if r.inputs["securityGroupId"] == sg.outputs["id"]
    ]
    assert rules == [
        {
            "securityGroupId": sg.outputs["id"],
            "description": rules[0]["description"],
            "ipProtocol": "tcp",
            "fromPort": 3000,
            "toPort": 3000,
            "referencedSecurityGroupId": api_sg,
        }
    ]


def test_ingress_restricted_to_configured_ranges() -> None:
    cidrs = ["198.51.100.0/24", "203.0.113.0/24"]
    # DNS kept elsewhere (pointing at the proxy those ranges belong to): the uptime checks
    # reach the API through it.
    ev = edge_variant(
        "prod", ingress="cidrs", ingressCidrs=cidrs, dnsProvider="none", cloudflareZoneId=None
    )
    sg_id = alb_sg(ev).outputs["id"]
    rules = [r.inputs for r in ev.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
    assert sorted((r["cidrIpv4"], r["fromPort"]) for r in rules) == [
        (c, p) for c in cidrs for p in (80, 443)
    ]


def managed_prefix_list_id(name: str) -> str:
    """The id the (mock) cloud answers for the AWS-managed prefix list called `name`."""
    call = MockCallArgs("aws:ec2/getManagedPrefixList:getManagedPrefixList", {"name": name}, "")
    return str(MockCloud("us-east-1").call(call)["id"])


def test_cloudfront_only_ingress_needs_the_origin_secret() -> None:
    ev = edge_variant("prod", ingress="cloudfront", apiViaCdn=True)
    sg_id = alb_sg(ev).outputs["id"]
    (rule,) = [r.inputs for r in ev.of_type(INGRESS) if r.inputs["securityGroupId"] == sg_id]
    assert rule["fromPort"] == rule["toPort"] == 443
    assert rule["prefixListId"] == managed_prefix_list_id(
        "com.amazonaws.global.cloudfront.origin-facing"
    )
    assert "cidrIpv4" not in rule
    # Anything else reaching the listener (another CloudFront distribution) gets a 403.
    (default,) = listener(ev, 443).inputs["defaultActions"]
    assert default["type"] == "fixed-response" and default["fixedResponse"]["statusCode"] == "403"
    forward = ev.one("aws:lb/listenerRule:ListenerRule", "load-balancer-from-cloudfront")
    (condition,) = forward.inputs["conditions"]
    secret = ev.one(
        "random:index/randomPassword:RandomPassword", "load-balancer-origin-verify"
    ).outputs["result"]
    assert condition["httpHeader"] == {"httpHeaderName": "X-Origin-Verify", "values": [secret]}
    assert "conditions" in forward.secret_inputs
    # Prod shifts traffic, so the rule forwards to both groups, all weight on the primary.
    (action,) = forward.inputs["actions"]
    assert action["forward"]["targetGroups"] == [
        {"arn": ev.one(TG, "load-balancer-api").outputs["arn"], "weight": 100},
        {"arn": ev.one(TG, "load-balancer-api-alt").outputs["arn"], "weight": 0},
    ]


def test_access_logs_go_to_a_private_expiring_bucket(stack: Evaluation) -> None:
    bucket = stack.one("aws:s3/bucket:Bucket", "load-balancer-access-logs")
    logs = stack.one(ALB).inputs["accessLogs"]
    assert logs["enabled"] is True and logs["bucket"] == bucket.outputs["bucket"]
    assert bucket.protect is (stack.stack == "prod")
    name = "load-balancer-access-logs"
    sse = bucket_child(
        stack,
        name,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    assert_no_public_access(stack, name)
    (rule,) = bucket_child(
        stack, name, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )["rules"]
    assert rule["expiration"]["days"] == {"staging": 30, "prod": 365}[stack.stack]
    # A deleted or overwritten log can be recovered for a month, then is gone.
    versioning = bucket_child(stack, name, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}


def test_access_log_bucket_policy_admits_only_elb_delivery(stack: Evaluation) -> None:
    policy = json.loads(
        bucket_child(stack, "load-balancer-access-logs", "aws:s3/bucketPolicy:BucketPolicy")[
            "policy"
        ]
    )
    allow, deny = policy["Statement"]
    arn = stack.one("aws:s3/bucket:Bucket", "load-balancer-access-logs").outputs["arn"]
    assert allow["Principal"] == {"AWS": "arn:aws:iam::127311923021:root"}
    assert allow["Action"] == "s3:PutObject"
    assert allow["Resource"] == f"{arn}/alb/AWSLogs/123456789012/*"
    assert deny["Effect"] == "Deny" and deny["Condition"] == {
        "Bool": {"aws:SecureTransport": "false"}
    }


def waf_rules(acl: Resource) -> dict[str, dict[str, Any]]:
    return {r["Name"]: r for r in json.loads(acl.inputs["ruleJson"])}


def test_alb_has_a_regional_waf_with_managed_rules_and_rate_limit(stack: Evaluation) -> None:
    acl = stack.one(WAF, ALB_ACL)
    assert acl.inputs["scope"] == "REGIONAL"
    assert acl.inputs["defaultAction"] == {"allow": {}}
    rules = waf_rules(acl)
    managed = {
        r["Statement"]["ManagedRuleGroupStatement"]["Name"]
        for r in rules.values()
        if "ManagedRuleGroupStatement" in r["Statement"]
    }
    assert managed == {
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
    }
    # The anonymous IP list only counts: blocking VPN and cloud-hosted API clients is a product
    # decision not taken.
    anonymous = rules["AWSManagedRulesAnonymousIpList"]["Statement"]["ManagedRuleGroupStatement"]
    assert {o["Name"]: o["ActionToUse"] for o in anonymous["RuleActionOverrides"]} == {
        "AnonymousIPList": {"Count": {}},
        "HostingProviderIPList": {"Count": {}},
    }
    rate = rules["rate-limit-per-ip"]
    assert rate["Action"] == {"Block": {}}
    assert rate["Statement"]["RateBasedStatement"] == {"Limit": 2000, "AggregateKeyType": "IP"}
    assert len({r["Priority"] for r in rules.values()}) == len(rules)
    association = stack.one("aws:wafv2/webAclAssociation:WebAclAssociation")
    assert association.inputs["resourceArn"] == stack.one(ALB).outputs["arn"]
    assert association.inputs["webAclArn"] == acl.outputs["arn"]


def test_waf_rate_limit_follows_config() -> None:
    ev = edge_variant("staging", wafRateLimit=500)
    rate = waf_rules(ev.one(WAF, ALB_ACL))["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate["Limit"] == 500


def test_waf_logs_to_a_retained_group_with_credentials_redacted(stack: Evaluation) -> None:
    logging = stack.one(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "load-balancer-waf-logging",
    )
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "load-balancer-waf-logs")
    assert group.inputs["name"].startswith("aws-waf-logs-")
    assert group.inputs["retentionInDays"] == {"staging": 30, "prod": 365}[stack.stack]
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    redacted = {f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]}
    assert {"authorization", "cookie"} <= redacted


def test_api_via_cdn_exempts_only_our_distribution_from_the_alb_rate_limit() -> None:
    ev = edge_variant("prod", apiViaCdn=True)
    secret = ev.one(
        "random:index/randomPassword:RandomPassword", "load-balancer-origin-verify"
    ).outputs["result"]
    rate = waf_rules(ev.one(WAF, "load-balancer-waf-acl"))["rate-limit-per-ip"]
    match = rate["Statement"]["RateBasedStatement"]["ScopeDownStatement"]["NotStatement"][
        "Statement"
    ]["ByteMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "x-origin-verify"}}
    assert match["SearchString"] == secret and match["PositionalConstraint"] == "EXACTLY"
    # The secret never appears in plain state or WAF logs.
    assert "ruleJson" in ev.one(WAF, "load-balancer-waf-acl").secret_inputs
    logging = ev.one(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "load-balancer-waf-logging",
    )
    assert "x-origin-verify" in {
        f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]
    }
    # Without the CDN in front the API stays open to direct clients.
    (default,) = listener(ev, 443).inputs["defaultActions"]
    assert default["type"] == "forward"


def test_alb_handles_are_exported(stack: Evaluation) -> None:
    alb = stack.one(ALB)
    assert stack.outputs["albArnSuffix"] == alb.outputs["arnSuffix"]
    assert stack.outputs["albDnsName"] == alb.outputs["dnsName"]
    primary = stack.one(TG, "load-balancer-api")
    assert stack.outputs["targetGroupArnSuffix"] == primary.outputs["arnSuffix"]
    assert (
        stack.outputs["apiUrl"]
        == f"https://api.{'staging.' if stack.stack == 'staging' else ''}example.com"
    )


# -- request bodies: what a JSON API needs -------------------------------------------------------

COUNTED = {"SizeRestrictions_BODY", "CrossSiteScripting_BODY"}


def common_overrides(acl: Resource) -> dict[str, Any]:
    group = waf_rules(acl)["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    return {o["Name"]: o["ActionToUse"] for o in group.get("RuleActionOverrides", [])}


def body_rule(acl: Resource) -> dict[str, Any]:
    return waf_rules(acl)["api-body-size"]


def test_the_common_body_rules_only_count_on_every_acl_the_api_passes() -> None:
    ev = edge_variant("prod", apiViaCdn=True)
    for name in ("load-balancer-waf-acl", "frontend-waf-acl"):
        assert common_overrides(ev.one(WAF, name)) == {rule: {"Count": {}} for rule in COUNTED}


def test_the_api_body_limit_is_ours_and_answers_413(stack: Evaluation) -> None:
    rule = body_rule(stack.one(WAF, ALB_ACL))
    assert rule["Action"] == {"Block": {"CustomResponse": {"ResponseCode": 413}}}
    # 1 MiB is above what WAF sees of a body at the ALB (8 KB): only Content-Length can tell.
    match = rule["Statement"]["RegexMatchStatement"]
    assert match["FieldToMatch"] == {"SingleHeader": {"Name": "content-length"}}
    pattern = re.compile(match["RegexString"])
    limit = 1024 * 1024
    for length in (0, 1, 8192, limit - 1, limit, limit + 1, 2 * limit, 10**7, 10**12):
        assert bool(pattern.search(str(length))) == (length > limit), length
    assert pattern.search(f"00{limit + 1}") and not pattern.search(f"00{limit}")
    priorities = {r["Name"]: r["Priority"] for r in waf_rules(stack.one(WAF, ALB_ACL)).values()}
    assert priorities["api-body-size"] > priorities["AWSManagedRulesCommonRuleSet"]


@pytest.mark.parametrize("limit", [1, 9, 10, 999, 1000, 8191, 65536, 1048576, 2**30])
def test_the_content_length_pattern_matches_exactly_the_lengths_above_the_limit(
    limit: int,
) -> None:
    pattern = re.compile(decimal_above(limit))
    lengths = {*range(0, 2100), *(limit + d for d in range(-1100, 1100) if limit + d >= 0)}
    lengths |= {10**k for k in range(12)} | {10**k - 1 for k in range(1, 12)}
    wrong = [n for n in sorted(lengths) if bool(pattern.search(str(n))) != (n > limit)]
    assert wrong == []
    # WAF takes a regular expression of at most 512 characters.
    assert len(decimal_above(limit)) <= 512


def test_a_limit_waf_can_see_also_catches_chunked_bodies() -> None:
    ev = edge_variant("prod", apiViaCdn=True, apiMaxBodyBytes=10_000)
    alb = body_rule(ev.one(WAF, "load-balancer-waf-acl"))["Statement"]
    cdn = body_rule(ev.one(WAF, "frontend-waf-acl"))["Statement"]
    # The ALB shows WAF 8 KB of a body, less than 10,000 bytes: the header alone decides.
    assert "RegexMatchStatement" in alb
    # CloudFront shows 16 KB: the body's own size counts too, and anything past 16 KB matches.
    regex, size = cdn["OrStatement"]["Statements"]
    assert "RegexMatchStatement" in regex
    assert size["SizeConstraintStatement"] == {
        "FieldToMatch": {"Body": {"OversizeHandling": "MATCH"}},
        "ComparisonOperator": "GT",
        "Size": 10_000,
        "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
    }


@pytest.mark.parametrize(("value", "words"), [(0, [">= 1"]), (2**30 + 1, ["<= 1073741824"])])
def test_api_max_body_bytes_is_bounded(value: int, words: list[str]) -> None:
    problems = parse_problems("prod", edge=edge_section("prod", apiMaxBodyBytes=value))
    assert_problem(problems, "webstack:edge.apiMaxBodyBytes", "prod", *words)


def test_behind_cloudflare_the_rate_limit_counts_the_viewer_not_cloudflare() -> None:
    ev = edge_variant(
        "prod", cloudflareProxied=True, ingress="cidrs", ingressCidrs=["173.245.48.0/20"]
    )
    rate = waf_rules(ev.one(WAF, ALB_ACL))["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "FORWARDED_IP"
    assert rate["ForwardedIPConfig"] == {
        "HeaderName": "CF-Connecting-IP",
        "FallbackBehavior": "NO_MATCH",
    }
