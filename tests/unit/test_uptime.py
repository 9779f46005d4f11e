"""Knowing when users cannot reach the stack: the Route 53 checks, their alarms, the certificate
expiry alarms, the dashboard and the budget, in both stacks; and the config that shapes them."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import assert_problem, committed, evaluated, parse, parse_problems, problems_of
from tests.unit.edge_helpers import edge_variant, provider_region
from tools.mockcloud import Evaluation, Resource

CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
CERT = "aws:acm/certificate:Certificate"
DOMAINS = {"staging": "staging.example.com", "prod": "example.com"}


def alarm(ev: Evaluation, key: str) -> Resource:
    (found,) = [a for a in ev.of_type(ALARM) if a.inputs["name"] == f"webstack-{ev.stack}-{key}"]
    return found


def watched(found: Resource) -> tuple[str, str, dict[str, str], str, float]:
    """An alarm's metric, dimensions, comparison and threshold."""
    i = found.inputs
    return (
        i["namespace"],
        i["metricName"],
        i["dimensions"],
        i["comparisonOperator"],
        i["threshold"],
    )


def topic_of(ev: Evaluation, arn: str) -> Resource:
    (found,) = [t for t in ev.of_type(TOPIC) if t.outputs["arn"] == arn]
    return found


# -- the checks ---------------------------------------------------------------------------------


def test_route53_checks_the_api_and_the_site_over_https_with_a_string_match(
    stack: Evaluation,
) -> None:
    domain = DOMAINS[stack.stack]
    checks = {c.name: c.inputs for c in stack.of_type(CHECK)}
    assert set(checks) == {"uptime-api", "uptime-frontend"}
    expected = {
        "uptime-api": (f"api.{domain}", "/api/health", '"status":"healthy"'),
        "uptime-frontend": (domain, "/", '<script type="module"'),
    }
    for name, (fqdn, path, text) in expected.items():
        check = checks[name]
        assert (check["fqdn"], check["resourcePath"], check["searchString"]) == (fqdn, path, text)
        assert check["type"] == "HTTPS_STR_MATCH" and check["port"] == 443
        # SNI: the ALB and CloudFront choose the certificate by it.
        assert check["enableSni"] is True
        assert check["requestInterval"] == 30 and check["failureThreshold"] == 3
        assert len(check["regions"]) >= 3


def test_checks_start_once_the_names_the_cdn_and_the_api_exist(stack: Evaluation) -> None:
    # depends_on a component waits for each of its children.
    waited = set(stack.one(CHECK, "uptime-api").dependencies)
    serving = [
        *(
            stack.one("cloudflare:index/dnsRecord:DnsRecord", f"dns-{r}")
            for r in ("api", "apex", "www")
        ),
        stack.one("aws:cloudfront/distribution:Distribution"),
        *stack.of_type("aws:ecs/service:Service"),
    ]
    assert len(serving) == 6  # three names, the distribution, the api and the worker
    assert {r.urn for r in serving} <= waited


def test_checks_follow_the_uptime_config() -> None:
    uptime = {
        "regions": ["sa-east-1", "ap-southeast-1", "eu-west-1", "us-west-1"],
        "failureThreshold": 5,
        "api": {"path": "/api/ready?deep=1", "searchString": "ok"},
        "frontend": {"path": "/index.html", "searchString": '<div id="root">'},
    }
    ev = evaluated("staging", overrides={"webstack:uptime": uptime})
    api, site = ev.one(CHECK, "uptime-api").inputs, ev.one(CHECK, "uptime-frontend").inputs
    assert api["regions"] == site["regions"] == uptime["regions"]
    assert api["failureThreshold"] == site["failureThreshold"] == 5
    assert (api["resourcePath"], api["searchString"]) == ("/api/ready?deep=1", "ok")
    assert (site["resourcePath"], site["searchString"]) == ("/index.html", '<div id="root">')


def test_an_api_only_cloudfront_may_reach_is_checked_through_the_cdn() -> None:
    ev = edge_variant("prod", apiViaCdn=True, ingress="cloudfront")
    api = ev.one(CHECK, "uptime-api").inputs
    assert (api["fqdn"], api["resourcePath"]) == ("example.com", "/api/health")


@pytest.mark.parametrize(
    ("uptime", "key", "words"),
    [
        ({"regions": ["us-east-1", "eu-central-1", "eu-west-1"]}, "regions", ["eu-central-1"]),
        ({"regions": ["us-east-1", "eu-west-1"]}, "regions", ["at least 3", "got 2"]),
        (
            {"regions": ["us-east-1", "eu-west-1", "eu-west-1", "us-west-2"]},
            "regions",
            ["eu-west-1 more than once"],
        ),
        ({"failureThreshold": 0}, "failureThreshold", [">= 1"]),
        ({"failureThreshold": 11}, "failureThreshold", ["<= 10"]),
        ({"api": {"path": "api/health"}}, "api.path", ["absolute URL path"]),
        ({"api": {"path": "/" + "a" * 255}}, "api.path", ["at most 255"]),
        ({"frontend": {"path": "/a b"}}, "frontend.path", ["absolute URL path"]),
        ({"api": {"searchString": "  "}}, "api.searchString", ["1 to 255", "5,120 bytes"]),
        ({"frontend": {"searchString": "x" * 256}}, "frontend.searchString", ["1 to 255"]),
        ({"interval": 10}, "interval", ["unknown key"]),
        ({"api": {"timeout": 5}}, "api.timeout", ["unknown key"]),
    ],
)
def test_bad_uptime_config_is_rejected_naming_the_key(
    uptime: dict[str, Any], key: str, words: list[str]
) -> None:
    problems = parse_problems("prod", uptime=uptime)
    assert_problem(problems, f"webstack:uptime.{key}", "prod", *words)


def test_uptime_defaults_to_three_regions_and_the_guides_paths() -> None:
    config = parse("staging", uptime=None).uptime
    assert config.regions == ("us-east-1", "us-west-2", "eu-west-1")
    assert config.failure_threshold == 3
    assert config.api.path == "/api/health" and config.frontend.path == "/"


# -- their alarms -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["api", "frontend"])
def test_each_check_pages_from_us_east_1_where_route53_publishes(
    stack: Evaluation, role: str
) -> None:
    found = alarm(stack, f"{role}-unreachable")
    check = stack.one(CHECK, f"uptime-{role}")
    assert watched(found) == (
        "AWS/Route53",
        "HealthCheckStatus",
        {"HealthCheckId": check.outputs["id"]},
        "LessThanThreshold",
        1,
    )
    assert found.inputs["alarmDescription"].startswith("[critical]")
    assert provider_region(stack, found) == "us-east-1"
    topic = topic_of(stack, found.inputs["alarmActions"][0])
    assert topic.inputs["name"] == f"webstack-{stack.stack}-critical"
    assert found.inputs["okActions"] == found.inputs["alarmActions"]


def test_outside_us_east_1_the_uptime_alarms_use_the_us_east_1_topics() -> None:
    ev = evaluated("prod", overrides={"aws:region": "eu-west-1"})
    for key in ("api-unreachable", "frontend-unreachable", "cdn-certificate-expiry"):
        found = alarm(ev, key)
        assert provider_region(ev, found) == "us-east-1"
        assert found.inputs["alarmActions"][0].split(":")[3] == "us-east-1"
    api_cert = alarm(ev, "api-certificate-expiry")
    assert provider_region(ev, api_cert) == "eu-west-1"
    assert api_cert.inputs["alarmActions"][0].split(":")[3] == "eu-west-1"


def test_staging_reports_to_the_team_inbox_and_pages_nobody() -> None:
    ev = evaluated("staging")
    topic = alarm(ev, "api-unreachable").inputs["alarmActions"][0]
    subscribers = [s.inputs for s in ev.of_type(SUBSCRIPTION) if s.inputs["topic"] == topic]
    assert [(s["protocol"], s["endpoint"]) for s in subscribers] == [
        ("email", "platform-team@example.com")
    ]


@pytest.mark.parametrize("role", ["api", "cdn"])
def test_both_certificates_page_30_days_before_they_expire(stack: Evaluation, role: str) -> None:
    found = alarm(stack, f"{role}-certificate-expiry")
    cert = stack.one(CERT, f"certificates-{role}")
    assert watched(found) == (
        "AWS/CertificateManager",
        "DaysToExpiry",
        {"CertificateArn": cert.outputs["arn"]},
        "LessThanOrEqualToThreshold",
        30,
    )
    assert found.inputs["period"] == 86400
    # The metric lives in the certificate's region: the alarm must be there too.
    assert provider_region(stack, found) == provider_region(stack, cert)


def test_certificate_expiry_threshold_follows_config() -> None:
    alarms = committed("prod", "alarms", certificateExpiryDays=21)
    ev = evaluated("prod", overrides={"webstack:alarms": alarms})
    assert alarm(ev, "cdn-certificate-expiry").inputs["threshold"] == 21
    assert "21 days" in alarm(ev, "api-certificate-expiry").inputs["alarmDescription"]


@pytest.mark.parametrize(("days", "words"), [(0, [">= 1"]), (60, ["<= 59"])])
def test_certificate_expiry_days_must_precede_renewal(days: int, words: list[str]) -> None:
    problems = parse_problems(
        "prod", alarms=committed("prod", "alarms", certificateExpiryDays=days)
    )
    assert_problem(problems, "webstack:alarms.certificateExpiryDays", "prod", *words)


# -- the dashboard, the outputs, the budget -----------------------------------------------------


def test_dashboard_shows_the_checks_the_certificates_and_their_alarms(stack: Evaluation) -> None:
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    text = json.dumps(body)
    for role in ("api", "frontend"):
        assert stack.one(CHECK, f"uptime-{role}").outputs["id"] in text
    for role in ("api", "cdn"):
        assert stack.one(CERT, f"certificates-{role}").outputs["arn"] in text
    alarm_widgets = [w["properties"]["alarms"] for w in body["widgets"] if w["type"] == "alarm"]
    shown = {arn for widget in alarm_widgets for arn in widget}
    for key in ("api-unreachable", "frontend-unreachable", "api-certificate-expiry"):
        assert alarm(stack, key).outputs["arn"] in shown
    graphs = {
        w["properties"]["title"]: w["properties"]
        for w in body["widgets"]
        if "title" in w.get("properties", {})
    }
    assert graphs["Uptime: healthy (1) or down (0)"]["region"] == "us-east-1"


def test_health_check_ids_are_exported_for_the_runbook(stack: Evaluation) -> None:
    for role in ("api", "frontend"):
        assert stack.outputs[f"{role}HealthCheckId"] == stack.one(CHECK, f"uptime-{role}").id


def test_the_budget_counts_the_whole_account_with_nothing_to_activate(stack: Evaluation) -> None:
    budget = stack.one("aws:budgets/budget:Budget").inputs
    # A tag filter would count nothing until the payer account activates the tag.
    assert not budget.get("costFilters")
    warning = next(t for t in stack.of_type(TOPIC) if t.inputs["name"].endswith("-warning"))
    assert {a for n in budget["notifications"] for a in n["subscriberSnsTopicArns"]} == {
        warning.outputs["arn"]
    }


def test_bad_uptime_and_zone_config_register_nothing() -> None:
    edge = {**committed("prod", "edge"), "manageZoneSettings": True}
    problems = problems_of("prod", uptime={"regions": ["us-east-1"]}, edge=edge)
    assert_problem(problems, "webstack:uptime.regions", "prod", "at least 3")
    assert_problem(problems, "webstack:edge.manageZoneSettings", "prod", "proxied")


def test_a_preview_has_no_budget_of_its_own() -> None:
    # Budgets count the whole account: a preview's would count staging and every other preview.
    ev = evaluated("pr-7")
    assert ev.of_type("aws:budgets/budget:Budget") == []
    alarms = {**committed("staging", "alarms"), "paging": False, "criticalEmails": []}
    problems = parse_problems("pr-7", alarms={**alarms, "monthlyBudgetUsd": 50})
    assert_problem(problems, "webstack:alarms.monthlyBudgetUsd", "pr-7", "preview", "staging")


def test_a_preview_is_not_checked_from_outside_and_its_dashboard_still_renders() -> None:
    ev = evaluated("pr-7")
    assert ev.of_type(CHECK) == []
    names = {a.inputs["name"] for a in ev.of_type(ALARM)}
    assert not {n for n in names if n.endswith("-unreachable")}, names
    assert not {k for k in ev.outputs if k.endswith("HealthCheckId")}
    body = json.loads(ev.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    metrics_of = [w["properties"].get("metrics") for w in body["widgets"] if w["type"] == "metric"]
    # CloudWatch refuses a metric widget without metrics; the certificates' graph stays.
    assert all(metrics_of), "a metric widget without metrics"
    assert "AWS/Route53" not in json.dumps(body) and "DaysToExpiry" in json.dumps(body)


def test_uptime_checks_may_be_off_outside_prod_only() -> None:
    assert not parse("staging", uptime={"enabled": False}).uptime.enabled
    problems = parse_problems("prod", uptime={"enabled": False})
    assert_problem(problems, "webstack:uptime.enabled", "prod", "must stay true in prod")


def test_checks_that_could_never_reach_the_api_are_refused() -> None:
    # Straight to an ALB that admits only listed ranges: Route 53's checkers are not among them.
    edge = {**committed("staging", "edge"), "ingress": "cidrs", "ingressCidrs": ["203.0.113.0/24"]}
    problems = parse_problems("staging", edge=edge)
    assert_problem(problems, "webstack:uptime.enabled", "staging", "Route 53's checkers")
    assert not parse("staging", edge=edge, uptime={"enabled": False}).uptime.enabled


def test_check_settings_without_checks_are_a_mistake() -> None:
    problems = parse_problems("staging", uptime={"enabled": False, "failureThreshold": 2})
    assert_problem(problems, "webstack:uptime.failureThreshold", "staging", "enabled: false")
