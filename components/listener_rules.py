"""The HTTPS listener's rules: which requests reach the API's target groups, and the rules ECS
moves traffic with during a traffic-shifting deployment (CANARY, LINEAR, BLUE_GREEN).

Plain functions the LoadBalancer calls with itself as the parent (the children keep their
`<load balancer>-...` names). What they create:
- when only CloudFront may connect, the rule forwarding requests that carry the origin-verify
  secret (`<name>-from-cloudfront`); without that, the listener's default action forwards;
- with a traffic-shifting strategy, the production rule ECS shifts: the CloudFront rule, or a
  rule matching every path (`<name>-production-traffic`). Its forward action names both target
  groups, weights 100 and 0; ECS rewrites the weights as the release moves, and `pulumi up`
  must never move them back, so exactly those weights are ignored (SHIFTED_WEIGHTS). Outside
  CloudFront-only ingress the listener's default action keeps forwarding to the primary group:
  every request matches the rule first, and switching a live stack to a shifting strategy adds
  the rule without a moment in which nothing forwards;
- with `testTraffic`, a test rule ahead of it for requests with the `X-Webstack-Test` header
  and its generated value (Secrets makes and stores it): ECS points the rule at the new release
  as soon as that is healthy, before production traffic moves, so smoke checks reach the new
  version first.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

ORIGIN_VERIFY_HEADER = "X-Origin-Verify"
TEST_TRAFFIC_HEADER = "X-Webstack-Test"
# The test rule must be evaluated before the production rule that would also match.
TEST_RULE_PRIORITY = 5
PRODUCTION_RULE_PRIORITY = 10
# What ECS rewrites on the rules it shifts: the forward action's target-group weights. pulumi-aws
# lists the groups (an index per group), so the inner wildcard reaches both (pulumi-aws#5771).
SHIFTED_WEIGHTS = "actions[0].forward.targetGroups[*].weight"
# Target-group stickiness off (each request is split by the weights alone), stated with the
# duration AWS reports for it: left unset, a refresh reads the block back and the next `up`
# shows a diff that ignoring it does not silence (pulumi-aws#5771), and ModifyRule can reject a
# forward config whose stickiness has no duration.
UNSTICKY_DURATION_SECONDS = 3600


@dataclass(frozen=True, kw_only=True)
class TrafficShiftRouting:
    """What ECS shifts the API's traffic with: the second target group and the rules."""

    alternate_target_group_arn: pulumi.Input[str]
    """The second target group, where ECS starts a release while the other serves."""
    production_listener_rule_arn: pulumi.Input[str]
    """The rule whose weights ECS moves production traffic with."""
    test_listener_rule_arn: pulumi.Input[str] | None = None
    """The rule sending test requests to the new release first (None: no test traffic)."""


@dataclass(frozen=True)
class ListenerRules:
    """The rules `listener_rules` made (None where the configuration needs none)."""

    production: aws.lb.ListenerRule | None
    """The rule that forwards production traffic: ECS's production listener rule when traffic
    shifts; only CloudFront's rule otherwise (None when the default action forwards)."""
    test: aws.lb.ListenerRule | None
    """The test rule of a traffic-shifting deployment with test traffic on."""

    @property
    def forwarding(self) -> list[aws.lb.ListenerRule]:
        return [rule for rule in (self.test, self.production) if rule is not None]


def listener_rules(
    owner: pulumi.Resource,
    name: str,
    *,
    listener: aws.lb.Listener,
    primary: aws.lb.TargetGroup,
    alternate: aws.lb.TargetGroup | None,
    origin_verify_secret: pulumi.Input[str] | None,
    test_header_value: pulumi.Input[str] | None,
) -> ListenerRules:
    """The listener's rules; `alternate` is the second target group of a shifting strategy,
    `origin_verify_secret` is set when only CloudFront may connect and `test_header_value`
    when the shifting strategy has test traffic."""
    only_from_cloudfront = (
        []
        if origin_verify_secret is None
        else [_header_condition(ORIGIN_VERIFY_HEADER, origin_verify_secret)]
    )
    production = _production_rule(owner, name, listener, primary, alternate, only_from_cloudfront)
    if alternate is None or test_header_value is None:
        return ListenerRules(production, None)
    test = aws.lb.ListenerRule(
        f"{name}-test-traffic",
        listener_arn=listener.arn,
        priority=TEST_RULE_PRIORITY,
        conditions=[
            *only_from_cloudfront,
            _header_condition(TEST_TRAFFIC_HEADER, test_header_value),
        ],
        actions=[_forward(primary, alternate)],
        opts=_child(owner, ignore_changes=[SHIFTED_WEIGHTS]),
    )
    return ListenerRules(production, test)


def _production_rule(
    owner: pulumi.Resource,
    name: str,
    listener: aws.lb.Listener,
    primary: aws.lb.TargetGroup,
    alternate: aws.lb.TargetGroup | None,
    only_from_cloudfront: list[aws.lb.ListenerRuleConditionArgs],
) -> aws.lb.ListenerRule | None:
    if only_from_cloudfront:
        # The prefix list admits every CloudFront distribution, not only ours; the secret
        # header tells ours apart.
        logical, conditions = f"{name}-from-cloudfront", only_from_cloudfront
    elif alternate is not None:
        logical = f"{name}-production-traffic"
        conditions = [
            aws.lb.ListenerRuleConditionArgs(
                path_pattern=aws.lb.ListenerRuleConditionPathPatternArgs(values=["/*"])
            )
        ]
    else:
        return None  # the listener's default action forwards
    return aws.lb.ListenerRule(
        logical,
        listener_arn=listener.arn,
        priority=PRODUCTION_RULE_PRIORITY,
        conditions=conditions,
        actions=[_forward(primary, alternate)],
        opts=_child(owner, ignore_changes=[SHIFTED_WEIGHTS] if alternate is not None else None),
    )


def _forward(
    primary: aws.lb.TargetGroup, alternate: aws.lb.TargetGroup | None
) -> aws.lb.ListenerRuleActionArgs:
    """To the primary group alone, or to both with all the weight on the primary (where ECS
    expects a shifting deployment to start)."""
    if alternate is None:
        return aws.lb.ListenerRuleActionArgs(type="forward", target_group_arn=primary.arn)
    return aws.lb.ListenerRuleActionArgs(
        type="forward",
        forward=aws.lb.ListenerRuleActionForwardArgs(
            target_groups=[
                aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=primary.arn, weight=100),
                aws.lb.ListenerRuleActionForwardTargetGroupArgs(arn=alternate.arn, weight=0),
            ],
            stickiness=aws.lb.ListenerRuleActionForwardStickinessArgs(
                enabled=False, duration=UNSTICKY_DURATION_SECONDS
            ),
        ),
    )


def _header_condition(header: str, value: pulumi.Input[str]) -> aws.lb.ListenerRuleConditionArgs:
    return aws.lb.ListenerRuleConditionArgs(
        http_header=aws.lb.ListenerRuleConditionHttpHeaderArgs(
            http_header_name=header, values=[value]
        )
    )


def _child(
    owner: pulumi.Resource, ignore_changes: list[str] | None = None
) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=owner, ignore_changes=ignore_changes)
