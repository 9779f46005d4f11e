"""The frontend in both stacks: private bucket, CloudFront, caching, headers, SPA fallback."""

from __future__ import annotations

import json
import shutil
import subprocess
from typing import Any

import pytest

from components.viewer_functions import viewer_request_code, www_redirect_code
from tests.helpers import evaluated
from tests.unit.edge_helpers import (
    assert_no_public_access,
    bucket_child,
    edge_section,
    edge_variant,
    provider_region,
)
from tools.mockcloud import Evaluation, Resource

DIST = "aws:cloudfront/distribution:Distribution"
BUCKET = "frontend-bucket"
HEADERS = "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy"
CACHE = "aws:cloudfront/cachePolicy:CachePolicy"
YEAR = 31536000
FUNCTION = "aws:cloudfront/function:Function"
WAF = "aws:wafv2/webAcl:WebAcl"
DOMAINS = {"staging": "staging.example.com", "prod": "example.com"}


def distribution(ev: Evaluation) -> dict[str, Any]:
    return ev.one(DIST).inputs


def behaviours(ev: Evaluation) -> dict[str, dict[str, Any]]:
    d = distribution(ev)
    return {"default": d["defaultCacheBehavior"]} | {
        b["pathPattern"]: b for b in d.get("orderedCacheBehaviors", [])
    }


def by_id(ev: Evaluation, type_: str, id_: str) -> Resource:
    (found,) = [r for r in ev.of_type(type_) if r.outputs["id"] == id_]
    return found


def test_bucket_is_private_encrypted_and_versioned(stack: Evaluation) -> None:
    assert_no_public_access(stack, BUCKET)
    sse = bucket_child(
        stack,
        BUCKET,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
    )
    assert sse["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    versioning = bucket_child(stack, BUCKET, "aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["versioningConfiguration"]["status"] == "Enabled"
    ownership = bucket_child(
        stack, BUCKET, "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
    )
    assert ownership["rule"]["objectOwnership"] == "BucketOwnerEnforced"
    assert stack.one("aws:s3/bucket:Bucket", "frontend-bucket").protect is (stack.stack == "prod")


def test_only_this_distribution_may_read_and_only_over_tls(stack: Evaluation) -> None:
    policy = json.loads(bucket_child(stack, BUCKET, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    allow, deny = policy["Statement"]
    assert allow["Principal"] == {"Service": "cloudfront.amazonaws.com"}
    assert allow["Action"] == "s3:GetObject"
    assert allow["Condition"] == {"StringEquals": {"AWS:SourceArn": stack.one(DIST).outputs["arn"]}}
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert stack.outputs["frontendBucketName"] == allow["Resource"].split(":::")[1][:-2]


def test_distribution_reads_s3_through_origin_access_control(stack: Evaluation) -> None:
    (origin,) = distribution(stack)["origins"]
    oac = stack.one("aws:cloudfront/originAccessControl:OriginAccessControl")
    assert origin["originAccessControlId"] == oac.outputs["id"]
    assert oac.inputs["signingBehavior"] == "always" and oac.inputs["signingProtocol"] == "sigv4"
    bucket = stack.one("aws:s3/bucket:Bucket", "frontend-bucket")
    assert origin["domainName"] == bucket.outputs["bucketRegionalDomainName"]


def test_cloudfront_logs_every_request_to_a_bucket_of_their_own(stack: Evaluation) -> None:
    logs_bucket = stack.one("aws:s3/bucket:Bucket", "frontend-access-logs")
    logging = distribution(stack)["loggingConfig"]
    assert logging["bucket"] == logs_bucket.outputs["bucketDomainName"]
    assert logging["includeCookies"] is False
    # CloudFront delivers with an ACL grant and refuses a bucket whose ACLs are off: the
    # distribution waits for the ownership controls that turn them on.
    name = "frontend-access-logs"
    ownership = stack.one(
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls", f"{name}-ownership"
    )
    assert ownership.inputs["rule"]["objectOwnership"] == "BucketOwnerPreferred"
    assert ownership.urn in stack.one(DIST).property_dependencies["loggingConfig"]
    assert_no_public_access(stack, name)
    (rule,) = bucket_child(
        stack, name, "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
    )["rules"]
    assert rule["expiration"]["days"] == {"staging": 30, "prod": 365}[stack.stack]
    assert rule["noncurrentVersionExpiration"] == {"noncurrentDays": 30}
    policy = json.loads(bucket_child(stack, name, "aws:s3/bucketPolicy:BucketPolicy")["policy"])
    (deny,) = policy["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert logs_bucket.protect is (stack.stack == "prod")


def test_cloudfront_logs_go_to_us_east_1_wherever_the_stack_is() -> None:
    # CloudFront does not deliver standard logs to buckets in some opt-in regions.
    ev = evaluated("staging", overrides={"aws:region": "eu-south-1"})
    # The bucket and every setting of it (ownership, public access, encryption, versioning,
    # lifecycle, policy).
    parts = [r for r in ev.resources if r.custom and r.name.startswith("frontend-access-logs")]
    assert len(parts) == 7
    assert {provider_region(ev, r) for r in parts} == {"us-east-1"}
    assert provider_region(ev, ev.one("aws:s3/bucket:Bucket", BUCKET)) == "eu-south-1"


def test_viewers_get_modern_tls_http3_and_compression(stack: Evaluation) -> None:
    d = distribution(stack)
    domain = {"staging": "staging.example.com", "prod": "example.com"}[stack.stack]
    assert sorted(d["aliases"]) == sorted([domain, f"www.{domain}"])
    assert d["httpVersion"] == "http2and3" and d["isIpv6Enabled"] is True
    cert = d["viewerCertificate"]
    assert cert["minimumProtocolVersion"] == "TLSv1.2_2021"
    assert cert["sslSupportMethod"] == "sni-only"
    for b in behaviours(stack).values():
        assert b["viewerProtocolPolicy"] == "redirect-to-https"
        assert b["compress"] is True


def test_cloudfront_certificate_is_validated_in_us_east_1(stack: Evaluation) -> None:
    validation = stack.one(
        "aws:acm/certificateValidation:CertificateValidation", "certificates-cdn-validation"
    )
    cert = stack.one("aws:acm/certificate:Certificate", "certificates-cdn")
    assert (
        distribution(stack)["viewerCertificate"]["acmCertificateArn"]
        == (validation.outputs["certificateArn"])
    )
    assert provider_region(stack, cert) == provider_region(stack, validation) == "us-east-1"


def test_hashed_assets_are_cached_a_year_and_html_revalidates(stack: Evaluation) -> None:
    b = behaviours(stack)
    assets_cache = by_id(stack, CACHE, b["/assets/*"]["cachePolicyId"]).inputs
    assert assets_cache["minTtl"] == assets_cache["defaultTtl"] == YEAR
    html_cache = by_id(stack, CACHE, b["default"]["cachePolicyId"]).inputs
    assert html_cache["minTtl"] == 0 and html_cache["defaultTtl"] == 0

    def cache_control(behaviour: dict[str, Any]) -> str:
        policy = by_id(stack, HEADERS, behaviour["responseHeadersPolicyId"]).inputs
        (item,) = policy["customHeadersConfig"]["items"]
        assert item["header"] == "Cache-Control" and item["override"] is True
        return str(item["value"])

    assert cache_control(b["/assets/*"]) == f"public, max-age={YEAR}, immutable"
    assert cache_control(b["default"]) == "no-cache"
    for policy in (assets_cache, html_cache):
        key = policy["parametersInCacheKeyAndForwardedToOrigin"]
        assert key["cookiesConfig"]["cookieBehavior"] == "none"
        assert key["queryStringsConfig"]["queryStringBehavior"] == "none"
        assert key["enableAcceptEncodingBrotli"] and key["enableAcceptEncodingGzip"]


def test_every_static_response_carries_the_security_headers(stack: Evaluation) -> None:
    for behaviour in behaviours(stack).values():
        policy = by_id(stack, HEADERS, behaviour["responseHeadersPolicyId"]).inputs
        sec = policy["securityHeadersConfig"]
        hsts = sec["strictTransportSecurity"]
        assert hsts["accessControlMaxAgeSec"] == YEAR and hsts["includeSubdomains"] is True
        assert hsts["preload"] is (stack.stack == "prod")
        assert sec["contentTypeOptions"]["override"] is True
        assert sec["frameOptions"]["frameOption"] == "DENY"
        assert sec["referrerPolicy"]["referrerPolicy"] == "strict-origin-when-cross-origin"
        csp = sec["contentSecurityPolicy"]["contentSecurityPolicy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp


def test_cors_allows_exactly_the_configured_origins(stack: Evaluation) -> None:
    expected = stack.outputs["allowedOrigins"]
    assert expected and all(o.startswith("https://") for o in expected)
    for behaviour in behaviours(stack).values():
        cors = by_id(stack, HEADERS, behaviour["responseHeadersPolicyId"]).inputs["corsConfig"]
        assert cors["accessControlAllowOrigins"]["items"] == expected
        assert cors["accessControlAllowCredentials"] is False
        assert cors["originOverride"] is True


def test_csp_and_origins_follow_config() -> None:
    csp = "default-src 'self'; img-src 'self' https://images.example.com"
    origins = ["https://example.com", "https://admin.example.com"]
    ev = edge_variant("prod", contentSecurityPolicy=csp, allowedOrigins=origins)
    policy = by_id(ev, HEADERS, behaviours(ev)["default"]["responseHeadersPolicyId"]).inputs
    assert policy["securityHeadersConfig"]["contentSecurityPolicy"]["contentSecurityPolicy"] == csp
    assert policy["corsConfig"]["accessControlAllowOrigins"]["items"] == origins
    assert ev.outputs["allowedOrigins"] == origins


def test_spa_fallback_never_rewrites_errors(stack: Evaluation) -> None:
    assert not distribution(stack).get("customErrorResponses")
    b = behaviours(stack)
    (association,) = b["default"]["functionAssociations"]
    function = stack.one(FUNCTION, "frontend-viewer-request")
    assert association == {"eventType": "viewer-request", "functionArn": function.outputs["arn"]}
    assert function.inputs["code"] == viewer_request_code(DOMAINS[stack.stack])
    # The hashed assets only get the redirect: a missing one stays a 403/404.
    (assets,) = b["/assets/*"]["functionAssociations"]
    assert assets["functionArn"] == stack.one(FUNCTION, "frontend-www-redirect").outputs["arn"]
    for f in stack.of_type(FUNCTION):
        assert f.inputs["runtime"] == "cloudfront-js-2.0" and f.inputs["publish"]


def test_every_behaviour_redirects_www() -> None:
    ev = edge_variant("prod", apiViaCdn=True)
    redirect = ev.one(FUNCTION, "frontend-www-redirect")
    assert redirect.inputs["code"] == www_redirect_code("example.com")
    for path, behaviour in behaviours(ev).items():
        (association,) = behaviour["functionAssociations"]
        assert association["eventType"] == "viewer-request", path
        if path != "default":
            assert association["functionArn"] == redirect.outputs["arn"], path


def test_api_through_the_cdn() -> None:
    ev = edge_variant("prod", apiViaCdn=True)
    d = distribution(ev)
    api_origin = next(o for o in d["origins"] if o["originId"] == "api")
    assert api_origin["domainName"] == "api.example.com"
    custom = api_origin["customOriginConfig"]
    assert custom["originProtocolPolicy"] == "https-only"
    assert custom["originSslProtocols"] == ["TLSv1.2"]
    secret = ev.one(
        "random:index/randomPassword:RandomPassword", "load-balancer-origin-verify"
    ).outputs["result"]
    assert api_origin["customHeaders"] == [{"name": "X-Origin-Verify", "value": secret}]
    assert "origins" in ev.one(DIST).secret_inputs

    api = behaviours(ev)["/api/*"]
    assert api["targetOriginId"] == "api"
    assert {"POST", "PUT", "PATCH", "DELETE"} <= set(api["allowedMethods"])
    # Only the www redirect and no error rewriting on the API path: its 4xx/5xx reach the
    # client.
    (association,) = api["functionAssociations"]
    assert association["functionArn"] == ev.one(FUNCTION, "frontend-www-redirect").outputs["arn"]
    assert not d.get("customErrorResponses")
    assert api["cachePolicyId"] and api["originRequestPolicyId"]
    api_headers = by_id(ev, HEADERS, api["responseHeadersPolicyId"]).inputs
    assert "corsConfig" not in api_headers and "customHeadersConfig" not in api_headers
    assert api_headers["securityHeadersConfig"]["strictTransportSecurity"]["preload"] is True

    acl = ev.one(WAF, "frontend-waf-acl")
    assert acl.inputs["scope"] == "CLOUDFRONT"
    assert d["webAclId"] == acl.outputs["arn"]
    assert provider_region(ev, acl) == "us-east-1"
    group = ev.one("aws:cloudwatch/logGroup:LogGroup", "frontend-waf-logs")
    assert provider_region(ev, group) == "us-east-1"
    assert group.inputs["name"].startswith("aws-waf-logs-")
    # The static distribution's rules, then the API's.
    rules = sorted(acl_rules(ev).values(), key=lambda r: r["Priority"])
    assert [r["Name"] for r in rules] == [
        "rate-limit-per-ip",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesCommonRuleSet",
        "AWSManagedRulesKnownBadInputsRuleSet",
        "AWSManagedRulesSQLiRuleSet",
        "api-body-size",
    ]


def test_without_the_api_the_cdn_has_no_api_path(stack: Evaluation) -> None:
    assert "/api/*" not in behaviours(stack)
    assert [o["originId"] for o in distribution(stack)["origins"]] == ["s3-frontend"]


def acl_rules(ev: Evaluation) -> dict[str, dict[str, Any]]:
    return {r["Name"]: r for r in json.loads(ev.one(WAF, "frontend-waf-acl").inputs["ruleJson"])}


def managed_group(rule: dict[str, Any]) -> dict[str, Any]:
    return dict(rule["Statement"]["ManagedRuleGroupStatement"])


def test_prod_guards_the_static_distribution_with_a_web_acl(stack: Evaluation) -> None:
    """edge.cdnWaf: on in prod, off in staging (their committed files leave it to the default)."""
    if stack.stack == "staging":
        assert "webAclId" not in distribution(stack)
        assert [a.name for a in stack.of_type(WAF)] == ["load-balancer-waf-acl"]
        return
    acl = stack.one(WAF, "frontend-waf-acl")
    assert acl.inputs["scope"] == "CLOUDFRONT" and provider_region(stack, acl) == "us-east-1"
    # WAFv2: the distribution takes the ACL's ARN, not its id.
    assert distribution(stack)["webAclId"] == acl.outputs["arn"]
    rules = acl_rules(stack)
    by_priority = sorted(rules.values(), key=lambda r: r["Priority"])
    assert [r["Name"] for r in by_priority] == [
        "rate-limit-per-ip",
        "AWSManagedRulesAmazonIpReputationList",
        "AWSManagedRulesAnonymousIpList",
        "AWSManagedRulesKnownBadInputsRuleSet",
    ]
    assert [r["Priority"] for r in by_priority] == list(range(len(rules)))
    assert rules["rate-limit-per-ip"]["Action"] == {"Block": {}}
    rate = rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate == {"Limit": 2000, "AggregateKeyType": "IP"}
    # Reputation and Known Bad Inputs (Log4j) block; the anonymous list's two rules only count.
    for group in ("AWSManagedRulesAmazonIpReputationList", "AWSManagedRulesKnownBadInputsRuleSet"):
        assert rules[group]["OverrideAction"] == {"None": {}}, group
        assert "RuleActionOverrides" not in managed_group(rules[group]), group
    anonymous = rules["AWSManagedRulesAnonymousIpList"]
    assert anonymous["OverrideAction"] == {"None": {}}
    assert managed_group(anonymous)["RuleActionOverrides"] == [
        {"Name": "AnonymousIPList", "ActionToUse": {"Count": {}}},
        {"Name": "HostingProviderIPList", "ActionToUse": {"Count": {}}},
    ]
    # Static files take no body and run no SQL: none of the API's rules.
    assert "api-body-size" not in rules and "AWSManagedRulesSQLiRuleSet" not in rules
    logging = stack.one(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "frontend-waf-logging"
    )
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "frontend-waf-logs")
    assert logging.inputs["resourceArn"] == acl.outputs["arn"]
    assert logging.inputs["logDestinationConfigs"] == [group.outputs["arn"]]
    assert group.inputs["name"].startswith("aws-waf-logs-") and group.inputs["kmsKeyId"]
    assert group.inputs["retentionInDays"] == 365
    assert provider_region(stack, group) == "us-east-1"


def test_cdn_waf_follows_config() -> None:
    assert "webAclId" in distribution(edge_variant("staging", cdnWaf=True))
    off = edge_variant("prod", cdnWaf=False)
    assert "webAclId" not in distribution(off)
    assert [a.name for a in off.of_type(WAF)] == ["load-balancer-waf-acl"]


def test_behind_cloudflare_the_cdn_acl_judges_the_viewer_not_cloudflare() -> None:
    ev = edge_variant(
        "prod", cloudflareProxied=True, ingress="cidrs", ingressCidrs=["173.245.48.0/20"]
    )
    rules = acl_rules(ev)
    rate = rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]
    assert rate["AggregateKeyType"] == "FORWARDED_IP"
    assert rate["ForwardedIPConfig"]["HeaderName"] == "CF-Connecting-IP"
    # The reputation list sees only Cloudflare's address there: it counts, blocking nobody.
    assert rules["AWSManagedRulesAmazonIpReputationList"]["OverrideAction"] == {"Count": {}}
    assert rules["AWSManagedRulesKnownBadInputsRuleSet"]["OverrideAction"] == {"None": {}}


def test_frontend_handles_are_exported(stack: Evaluation) -> None:
    dist = stack.one(DIST)
    assert stack.outputs["distributionId"] == dist.outputs["id"]
    assert stack.outputs["distributionDomainName"] == dist.outputs["domainName"]
    bucket = stack.one("aws:s3/bucket:Bucket", BUCKET)
    assert stack.outputs["frontendBucketName"] == bucket.outputs["bucket"]


# -- the CloudFront Function, executed ---------------------------------------------------------

NODE = shutil.which("node")


def run_function(
    host: str, uri: str, query: dict[str, Any] | None = None, *, code: str = ""
) -> dict[str, Any]:
    """The function's answer to a viewer request (the default behaviour's unless `code`)."""
    event = {
        "request": {
            "method": "GET",
            "uri": uri,
            "querystring": query or {},
            "headers": {"host": {"value": host}},
        }
    }
    script = (
        code or viewer_request_code("example.com")
    ) + f"\nprocess.stdout.write(JSON.stringify(handler({json.dumps(event)})));"
    assert NODE is not None
    done = subprocess.run([NODE, "-e", script], capture_output=True, text=True, check=True)
    return dict(json.loads(done.stdout))


needs_node = pytest.mark.skipif(NODE is None, reason="node runs the CloudFront Function")


@needs_node
def test_function_redirects_www_to_the_apex_keeping_path_and_query() -> None:
    query = {
        "a": {"value": "1"},
        "b": {"value": "2", "multiValue": [{"value": "2"}, {"value": "3"}]},
    }
    response = run_function("www.example.com", "/pricing", query)
    assert response["statusCode"] == 301
    assert response["headers"]["location"]["value"] == "https://example.com/pricing?a=1&b=2&b=3"


@needs_node
@pytest.mark.parametrize(
    ("uri", "served"),
    [
        ("/", "/index.html"),
        ("/settings/profile", "/index.html"),
        ("/index.html", "/index.html"),
        ("/favicon.ico", "/favicon.ico"),
        ("/robots.txt", "/robots.txt"),
    ],
)
def test_function_serves_index_for_client_routes_only(uri: str, served: str) -> None:
    response = run_function("example.com", uri)
    assert "statusCode" not in response
    assert response["uri"] == served


@needs_node
@pytest.mark.parametrize("uri", ["/assets/index-4f2a.js", "/api/health", "/api/users/42"])
def test_the_other_behaviours_redirect_www_and_rewrite_nothing(uri: str) -> None:
    code = www_redirect_code("example.com")
    response = run_function("www.example.com", uri, {"v": {"value": "2"}}, code=code)
    assert response["statusCode"] == 301
    assert response["headers"]["location"]["value"] == f"https://example.com{uri}?v=2"
    # On the apex the request passes unchanged: no SPA rewrite of an API path or an asset.
    assert run_function("example.com", uri, code=code)["uri"] == uri


RULESET = "cloudflare:index/ruleset:Ruleset"
VERIFY_SECRET = "frontend-cloudflare-verify"


def _behind_cloudflare(stack: str, **changes: Any) -> Evaluation:
    behind = {"cloudflareProxied": True, "ingress": "cidrs", "ingressCidrs": ["173.245.48.0/20"]}
    return edge_variant(stack, **{**behind, **changes})


def test_behind_cloudflare_only_requests_through_cloudflare_reach_the_cdn() -> None:
    """Calling the distribution directly (its cloudfront.net name, or CloudFront with a Host
    header) skips Cloudflare: without its secret header such a request is blocked before the
    rate limit, which would not count it (no CF-Connecting-IP) or count a forged one."""
    ev = _behind_cloudflare("prod", manageZoneSettings=True)
    password = ev.one("random:index/randomPassword:RandomPassword", VERIFY_SECRET)
    assert password.inputs["length"] >= 32 and password.inputs["special"] is False
    secret = password.outputs["result"]

    ruleset = ev.one(RULESET, VERIFY_SECRET)
    assert ruleset.inputs["zoneId"] == edge_section("prod")["cloudflareZoneId"]
    assert (ruleset.inputs["kind"], ruleset.inputs["phase"]) == (
        "zone",
        "http_request_late_transform",
    )
    (rule,) = ruleset.inputs["rules"]
    assert rule["action"] == "rewrite"
    # The frontend's names only: the API's hostname goes to the ALB, which never needs it.
    assert rule["expression"] == 'http.host in {"example.com" "www.example.com"}'
    assert rule["actionParameters"]["headers"] == {
        "X-Cloudflare-Verify": {"operation": "set", "value": secret}
    }
    assert "rules" in ruleset.secret_inputs

    acl = ev.one(WAF, "frontend-waf-acl")
    assert "ruleJson" in acl.secret_inputs
    # The ACL goes live only once Cloudflare sends the header.
    assert ruleset.urn in acl.property_dependencies["ruleJson"]
    first, rate, *_ = sorted(acl_rules(ev).values(), key=lambda r: r["Priority"])
    assert first["Priority"] == 0 and first["Action"] == {"Block": {}}
    assert first["Statement"] == {
        "NotStatement": {
            "Statement": {
                "ByteMatchStatement": {
                    "FieldToMatch": {"SingleHeader": {"Name": "x-cloudflare-verify"}},
                    "PositionalConstraint": "EXACTLY",
                    "SearchString": secret,
                    "TextTransformations": [{"Priority": 0, "Type": "NONE"}],
                }
            }
        }
    }
    assert rate["Name"] == "rate-limit-per-ip"
    forwarded = rate["Statement"]["RateBasedStatement"]["ForwardedIPConfig"]
    assert forwarded["HeaderName"] == "CF-Connecting-IP"
    logging = ev.one(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration", "frontend-waf-logging"
    )
    redacted = [f["singleHeader"]["name"] for f in logging.inputs["redactedFields"]]
    assert "x-cloudflare-verify" in redacted
    assert secret not in json.dumps(ev.outputs)


def test_aws_accepts_the_rules_and_the_alb_hides_the_cloudflare_secret() -> None:
    """botocore's model of CreateWebACL takes the rules as the program emits them."""
    from botocore.session import get_session
    from botocore.validate import ParamValidator

    ev = _behind_cloudflare(
        "prod", manageZoneSettings=True, apiViaCdn=True, ingress="cloudfront", ingressCidrs=None
    )
    acl = ev.one(WAF, "frontend-waf-acl")
    # CloudFront passes the viewer's headers on to the ALB: its logs hide the secret too.
    logging = ev.one(
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
        "load-balancer-waf-logging",
    )
    assert {"singleHeader": {"name": "x-cloudflare-verify"}} in logging.inputs["redactedFields"]
    shape = get_session().get_service_model("wafv2").operation_model("CreateWebACL").input_shape
    report = ParamValidator().validate(
        {
            "Name": acl.inputs["name"],
            "Scope": "CLOUDFRONT",
            "DefaultAction": {"Allow": {}},
            "Rules": json.loads(acl.inputs["ruleJson"]),
            "VisibilityConfig": {
                "SampledRequestsEnabled": True,
                "CloudWatchMetricsEnabled": True,
                "MetricName": acl.inputs["name"],
            },
        },
        shape,
    )
    assert not report.has_errors(), report.generate_report()


def test_the_cloudflare_header_exists_only_where_the_cdn_acl_requires_it(
    stack: Evaluation,
) -> None:
    """DNS-only (both committed stacks): no ruleset, no secret, the rate limit comes first. A
    proxied stack without a CDN ACL (staging's default) has nothing that checks the header."""
    for ev in (stack, _behind_cloudflare("staging")):
        assert ev.of_type(RULESET) == []
        names = {r.name for r in ev.of_type("random:index/randomPassword:RandomPassword")}
        assert VERIFY_SECRET not in names
    if stack.stack == "prod":
        first = min(acl_rules(stack).values(), key=lambda r: r["Priority"])
        assert first["Name"] == "rate-limit-per-ip"
