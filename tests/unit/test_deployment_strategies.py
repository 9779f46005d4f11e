"""Traffic-shifting deployments of the API under the mock cloud: both committed stacks (prod's
CANARY, staging's BLUE_GREEN) and variants (LINEAR, ROLLING, no test traffic, CloudFront-only
ingress). What the service is told, the two target groups and the rules ECS shifts, what
`pulumi up` must leave alone, the infrastructure role, the rollback alarms, and what ROLLING
keeps exactly as it was."""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.listener_rules import SHIFTED_WEIGHTS
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerWiring
from tests.helpers import committed, config_of, parse
from tests.unit.edge_helpers import edge_section
from tools.mockcloud import Evaluation, Resource, evaluate

SERVICE = "aws:ecs/service:Service"
TG = "aws:lb/targetGroup:TargetGroup"
RULE = "aws:lb/listenerRule:ListenerRule"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"


def variant(stack: str, edge: dict[str, Any] | None = None, **deployment: Any) -> Evaluation:
    overrides: dict[str, Any] = {"webstack:api": committed(stack, "api", deployment=deployment)}
    if edge is not None:
        overrides["webstack:edge"] = edge_section(stack, **edge)
    return evaluate(stack, overrides=overrides)


@pytest.fixture(scope="module")
def rolling() -> dict[str, Evaluation]:
    return {stack: variant(stack, strategy="ROLLING") for stack in ("staging", "prod")}


@pytest.fixture(scope="module")
def linear_without_test_traffic() -> Evaluation:
    return variant(
        "prod",
        strategy="LINEAR",
        linearStepPercent=20,
        linearIntervalMinutes=3,
        bakeTimeMinutes=15,
        testTraffic=False,
    )


@pytest.fixture(scope="module")
def behind_cloudfront() -> Evaluation:
    return variant("prod", edge={"ingress": "cloudfront", "apiViaCdn": True}, strategy="CANARY")


def api(ev: Evaluation) -> Resource:
    (found,) = [r for r in ev.of_type(SERVICE) if r.inputs["name"] == "api"]
    return found


def worker(ev: Evaluation) -> Resource:
    (found,) = [r for r in ev.of_type(SERVICE) if r.inputs["name"] == "worker"]
    return found


def arn(ev: Evaluation, type_: str, name: str) -> str:
    return str(ev.one(type_, name).outputs["arn"])


def role_policy(ev: Evaluation) -> dict[str, Any]:
    role = ev.one(ROLE, "app-api-traffic-shift-role")
    (policy,) = [r for r in ev.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
    return json.loads(policy.inputs["policy"])


def statement(policy: dict[str, Any], action: str) -> dict[str, Any]:
    (found,) = [s for s in policy["Statement"] if action in json.dumps(s["Action"])]
    return found


# ---------------------------------------------------------------------------------------------
# What the service is told


def test_prod_deploys_the_api_as_a_canary(evaluations: dict[str, Evaluation]) -> None:
    svc = api(evaluations["prod"]).inputs
    assert svc["deploymentConfiguration"] == {
        "strategy": "CANARY",
        "bakeTimeInMinutes": "10",
        "canaryConfiguration": {"canaryPercent": 10, "canaryBakeTimeInMinutes": "5"},
    }


def test_staging_deploys_the_api_blue_green(evaluations: dict[str, Evaluation]) -> None:
    svc = api(evaluations["staging"]).inputs
    assert svc["deploymentConfiguration"] == {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "5"}


def test_a_linear_release_moves_in_steps(linear_without_test_traffic: Evaluation) -> None:
    svc = api(linear_without_test_traffic).inputs
    assert svc["deploymentConfiguration"] == {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": "15",
        "linearConfiguration": {"stepPercent": 20, "stepBakeTimeInMinutes": "3"},
    }


def test_the_service_names_the_alternate_group_the_rules_and_the_role(stack: Evaluation) -> None:
    (lb,) = api(stack).inputs["loadBalancers"]
    assert lb["targetGroupArn"] == arn(stack, TG, "load-balancer-api")
    assert lb["advancedConfiguration"] == {
        "alternateTargetGroupArn": arn(stack, TG, "load-balancer-api-alt"),
        "productionListenerRule": arn(stack, RULE, "load-balancer-production-traffic"),
        "testListenerRule": arn(stack, RULE, "load-balancer-test-traffic"),
        "roleArn": arn(stack, ROLE, "app-api-traffic-shift-role"),
    }


def test_alarms_roll_back_and_the_circuit_breaker_stays(stack: Evaluation) -> None:
    svc = api(stack)
    assert svc.inputs["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
    alarms = svc.inputs["alarms"]
    assert alarms["enable"] is True and alarms["rollback"] is True
    by_name = {r.inputs["name"]: r for r in stack.of_type(ALARM)}
    watched: dict[str, set[str]] = {}
    for name in alarms["alarmNames"]:
        alarm = by_name[name].inputs
        metrics = [q["metric"] for q in alarm.get("metricQueries", []) if "metric" in q] or [alarm]
        for metric in metrics:
            group = metric["dimensions"]["TargetGroup"]
            watched.setdefault(group, set()).add(metric["metricName"])
    signals = {
        "HTTPCode_Target_5XX_Count",
        "RequestCount",
        "UnHealthyHostCount",
        "TargetResponseTime",
    }
    groups = {tg.outputs["arnSuffix"] for tg in stack.of_type(TG)}
    assert watched == {group: signals for group in groups}, "every signal on both target groups"


def test_pulumi_up_waits_through_the_shift_and_the_bake(evaluations: dict[str, Evaluation]) -> None:
    # prod: healthy at 60 + 2 x 30 = 120 s, 300 s canary, 600 s bake, 30 s drain = 1050 s, and a
    # 35 s rollback: 18.1 min -> 19, + 10 margin = 29 minutes.
    assert api(evaluations["prod"]).options["customTimeouts"] == {"create": "29m", "update": "29m"}
    # staging: 120 + 300 + 30 + 35 s = 8.1 min -> 19 with the margin: the provider's 20 stay.
    assert api(evaluations["staging"]).options["customTimeouts"] == {
        "create": "20m",
        "update": "20m",
    }
    assert api(evaluations["prod"]).inputs["waitForSteadyState"] is True


def test_the_worker_keeps_rolling(stack: Evaluation) -> None:
    svc = worker(stack)
    assert "deploymentConfiguration" not in svc.inputs
    assert "loadBalancers" not in svc.inputs and svc.options["customTimeouts"] == {}
    assert svc.inputs["deploymentMinimumHealthyPercent"] == 100


# ---------------------------------------------------------------------------------------------
# The two target groups and the rules ECS shifts


def test_the_production_rule_forwards_to_both_groups_from_the_primary(stack: Evaluation) -> None:
    rule = stack.one(RULE, "load-balancer-production-traffic")
    https = stack.one("aws:lb/listener:Listener", "load-balancer-https")
    assert rule.inputs["listenerArn"] == https.outputs["arn"]
    assert rule.inputs["conditions"] == [{"pathPattern": {"values": ["/*"]}}]
    assert rule.inputs["actions"] == [
        {
            "type": "forward",
            "forward": {
                "targetGroups": [
                    {"arn": arn(stack, TG, "load-balancer-api"), "weight": 100},
                    {"arn": arn(stack, TG, "load-balancer-api-alt"), "weight": 0},
                ],
                # Stated, so a refresh reads back what the program says (pulumi-aws#5771).
                "stickiness": {"enabled": False, "duration": 3600},
            },
        }
    ]
    # The default action keeps forwarding to the primary group, so the rule is only added.
    (default,) = https.inputs["defaultActions"]
    assert default["targetGroupArn"] == arn(stack, TG, "load-balancer-api")


def resolve(inputs: Any, path: str) -> list[Any]:
    """The values an ignoreChanges path (`a[0].b.c[*].d`) addresses in registered inputs."""
    values = [inputs]
    for part in path.replace("]", "").replace("[", ".").split("."):
        if part == "*":
            values = [item for value in values for item in value]
        elif part.isdigit():
            values = [value[int(part)] for value in values]
        else:
            values = [value[part] for value in values]
    return values


def test_up_never_moves_back_the_weights_ecs_set(stack: Evaluation) -> None:
    """ECS rewrites the weights as a release moves; the next `pulumi up` must leave exactly
    those alone (and nothing else on the rules)."""
    for name in ("load-balancer-production-traffic", "load-balancer-test-traffic"):
        rule = stack.one(RULE, name)
        assert rule.options["ignoreChanges"] == [SHIFTED_WEIGHTS]
        # The path addresses the weights as the rule registers them: one per target group.
        assert resolve(rule.inputs, SHIFTED_WEIGHTS) == [100, 0]


def test_the_test_rule_matches_the_generated_header_first(stack: Evaluation) -> None:
    test = stack.one(RULE, "load-balancer-test-traffic")
    production = stack.one(RULE, "load-balancer-production-traffic")
    assert test.inputs["priority"] < production.inputs["priority"]
    assert test.inputs["actions"] == production.inputs["actions"]
    value = stack.one("random:index/randomPassword:RandomPassword", "secrets-api-test-header")
    assert value.protect is (stack.stack == "prod")
    assert test.inputs["conditions"] == [
        {"httpHeader": {"httpHeaderName": "X-Webstack-Test", "values": [value.outputs["result"]]}}
    ]
    assert "conditions" in test.secret_inputs
    # CI reads the value from Secrets Manager; the stack exports only where.
    secret = stack.one("aws:secretsmanager/secret:Secret", "secrets-api-test-header")
    assert secret.inputs["kmsKeyId"] == stack.one("aws:kms/key:Key", "secrets-key").outputs["arn"]
    assert stack.outputs["apiTestHeaderSecretArn"] == secret.outputs["arn"]
    assert value.outputs["result"] not in json.dumps(stack.outputs)


@pytest.mark.parametrize(
    ("deployment", "header", "words"),
    [
        ({"strategy": "CANARY"}, None, "needs wiring.test_header_value"),
        ({"strategy": "ROLLING"}, "x", "there is no test rule"),
        ({"strategy": "BLUE_GREEN", "testTraffic": False}, "x", "there is no test rule"),
    ],
)
def test_the_load_balancer_takes_a_test_header_exactly_with_a_test_rule(
    deployment: dict[str, Any], header: str | None, words: str
) -> None:
    cfg = parse("prod", api=committed("prod", "api", deployment=deployment))
    wiring = LoadBalancerWiring(
        vpc_id="vpc-1",
        public_subnet_ids=["subnet-a"],
        target_security_group_id="sg-api",
        certificate_arn="arn:aws:acm:us-east-1:123456789012:certificate/x",
        test_header_value=header,
    )
    args = LoadBalancerArgs(
        stack=cfg.stack_wide, edge=cfg.edge, api=cfg.api, secrets=cfg.secrets, wiring=wiring
    )
    with pytest.raises(ValueError, match=words):
        LoadBalancer("load-balancer", args)


def test_without_test_traffic_there_is_no_test_rule_or_header(
    linear_without_test_traffic: Evaluation,
) -> None:
    ev = linear_without_test_traffic
    assert [r.name for r in ev.of_type(RULE)] == ["load-balancer-production-traffic"]
    assert "testListenerRule" not in api(ev).inputs["loadBalancers"][0]["advancedConfiguration"]
    assert "apiTestHeaderSecretArn" not in ev.outputs
    assert not [r for r in ev.of_type("aws:secretsmanager/secret:Secret") if "test" in r.name]
    rules = statement(role_policy(ev), "elasticloadbalancing:ModifyRule")["Resource"]
    assert rules == [arn(ev, RULE, "load-balancer-production-traffic")]


def test_behind_cloudfront_the_cloudfront_rule_is_the_one_ecs_shifts(
    behind_cloudfront: Evaluation,
) -> None:
    ev = behind_cloudfront
    cloudfront = ev.one(RULE, "load-balancer-from-cloudfront")
    (lb,) = api(ev).inputs["loadBalancers"]
    assert lb["advancedConfiguration"]["productionListenerRule"] == cloudfront.outputs["arn"]
    assert cloudfront.options["ignoreChanges"] == [SHIFTED_WEIGHTS]
    assert resolve(cloudfront.inputs, SHIFTED_WEIGHTS) == [100, 0]
    # The test route, too, admits only our distribution (the origin-verify header) first.
    test = ev.one(RULE, "load-balancer-test-traffic")
    headers = [c["httpHeader"]["httpHeaderName"] for c in test.inputs["conditions"]]
    assert headers == ["X-Origin-Verify", "X-Webstack-Test"]
    assert test.inputs["priority"] < cloudfront.inputs["priority"]
    assert {r.name for r in ev.of_type(RULE)} == {
        "load-balancer-from-cloudfront",
        "load-balancer-test-traffic",
    }


# ---------------------------------------------------------------------------------------------
# The ECS infrastructure role


def test_the_role_is_ecs_s_and_can_touch_only_this_stack(stack: Evaluation) -> None:
    role = stack.one(ROLE, "app-api-traffic-shift-role")
    (trust,) = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "ecs.amazonaws.com"}
    assert trust["Action"] == "sts:AssumeRole"
    policy = role_policy(stack)
    groups = statement(policy, "elasticloadbalancing:RegisterTargets")
    assert sorted(groups["Action"]) == [
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:RegisterTargets",
    ]
    assert groups["Resource"] == [
        arn(stack, TG, "load-balancer-api"),
        arn(stack, TG, "load-balancer-api-alt"),
    ]
    rules = statement(policy, "elasticloadbalancing:ModifyRule")
    assert rules["Resource"] == [
        arn(stack, RULE, "load-balancer-production-traffic"),
        arn(stack, RULE, "load-balancer-test-traffic"),
    ]
    # Only the Describe actions, which have no resource-level permissions, reach "*".
    for s in policy["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        assert s["Effect"] == "Allow"
        if s["Resource"] == "*":
            assert all(a.startswith("elasticloadbalancing:Describe") for a in actions)


def granted(policy: dict[str, Any]) -> set[str]:
    return {
        action
        for s in policy["Statement"]
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    }


def test_the_role_grants_every_call_of_a_shift_and_no_listener_change(stack: Evaluation) -> None:
    # AmazonECSInfrastructureRolePolicyForLoadBalancers v6 (2026-02-12) less ModifyListener:
    # what ECS reads before and during a shift, registers the new tasks with, and moves the
    # rules' weights with.
    assert granted(role_policy(stack)) == {
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetHealth",
        "elasticloadbalancing:RegisterTargets",
        "elasticloadbalancing:DeregisterTargets",
        "elasticloadbalancing:ModifyRule",
    }
    # ModifyListener is needed only to shift a listener's default rule; ECS is handed exactly
    # the rules the role may modify, and those are listener rules of their own (with a
    # priority), never the listener's default.
    (lb,) = api(stack).inputs["loadBalancers"]
    handed = [
        lb["advancedConfiguration"]["productionListenerRule"],
        lb["advancedConfiguration"]["testListenerRule"],
    ]
    assert handed == statement(role_policy(stack), "elasticloadbalancing:ModifyRule")["Resource"]
    shifted = [r for r in stack.of_type(RULE) if r.outputs["arn"] in handed]
    assert len(shifted) == len(handed)
    assert all(r.inputs["priority"] >= 1 for r in shifted)


def test_the_service_waits_for_the_role_s_grant(stack: Evaluation) -> None:
    grant = stack.one(ROLE_POLICY, "app-api-traffic-shift-policy")
    rules = [r.urn for r in stack.of_type(RULE)]
    assert {grant.urn, *rules} <= set(api(stack).dependencies)


# ---------------------------------------------------------------------------------------------
# ROLLING keeps today's resources, and the moves keep their URNs


SHIFTING_ONLY = (
    "load-balancer-api-alt",
    "load-balancer-production-traffic",
    "load-balancer-test-traffic",
    "app-api-traffic-shift-role",
    "app-api-traffic-shift-policy",
    "secrets-api-test-header",
)


def test_rolling_registers_none_of_it(rolling: dict[str, Evaluation]) -> None:
    for ev in rolling.values():
        names = {r.name for r in ev.resources}
        assert not names & set(SHIFTING_ONLY)
        assert not ev.of_type(RULE)
        svc = api(ev)
        assert "deploymentConfiguration" not in svc.inputs
        assert "advancedConfiguration" not in svc.inputs["loadBalancers"][0]
        assert svc.options["customTimeouts"] == {}
        assert sorted(svc.inputs["alarms"]["alarmNames"]) == [
            f"webstack-{ev.stack}-api-5xx-rate",
            f"webstack-{ev.stack}-api-unhealthy-hosts",
        ]
        assert "alternateTargetGroupArnSuffix" not in ev.outputs
        assert "apiTestHeaderSecretArn" not in ev.outputs


def test_shifting_adds_resources_and_moves_none(
    stack: Evaluation, rolling: dict[str, Evaluation]
) -> None:
    """The primary target group, the listener and everything else keep their URNs: switching a
    live stack from ROLLING replaces nothing (so needs no alias)."""
    before = {r.urn: r for r in rolling[stack.stack].resources if r.custom}
    after = {r.urn: r for r in stack.resources if r.custom}
    assert set(before) <= set(after)
    assert {after[u].name for u in set(after) - set(before)} == set(SHIFTING_ONLY) | {
        "secrets-api-test-header-value",
        *(f"deployment-alarms-{key}" for key in _shifting_alarm_keys()),
        *(f"alarms-api-latency-p95-{severity}-alt" for severity in ("warning", "critical")),
    }
    assert config_of(stack).api.deployment.shifts_traffic


def _shifting_alarm_keys() -> list[str]:
    return [
        "api-5xx-rate-alt",
        "api-unhealthy-hosts-alt",
        "api-release-latency-p95",
        "api-release-latency-p95-alt",
    ]


def test_the_dashboard_follows_both_target_groups(
    stack: Evaluation, rolling: dict[str, Evaluation]
) -> None:
    def body(ev: Evaluation) -> str:
        return str(ev.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])

    alternate = stack.one(TG, "load-balancer-api-alt").outputs["arnSuffix"]
    # Requests, the 5xx rate's two metrics, three percentiles, healthy and unhealthy hosts.
    assert body(stack).count(alternate) == 8
    assert alternate not in body(rolling[stack.stack])
