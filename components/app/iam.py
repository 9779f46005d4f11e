"""The IAM documents of the application tier's roles.

- `task_trust_policy`: only ECS tasks of this account and region assume the roles;
- `execution_policy`: what the ECS agent needs to start a task: pull the image, write the
  service's log group, read exactly the secrets the task injects (and decrypt them, only
  through Secrets Manager);
- `exec_policy`: the task role's ECS Exec permissions (session channels, the session log);
- `traffic_shift_policy`: the ECS infrastructure role for load balancers of a traffic-shifting
  deployment: AWS's managed AmazonECSInfrastructureRolePolicyForLoadBalancers, version v6 (the
  default since 2026-02-12 18:01 UTC), narrowed to this stack's two target groups and its
  listener rules (its trust policy is `components.iam.passed_role_trust_policy`). v6's
  statements are v2's (2025-07-25) unchanged: the same actions on the same resources.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_aws as aws

from components.app.context import AppContext
from components.iam import service_trust_policy


def task_trust_policy(ctx: AppContext) -> pulumi.Output[str]:
    """Only ECS tasks of this account and region assume the service roles."""
    return service_trust_policy(
        "ecs-tasks.amazonaws.com",
        account_id=ctx.account_id,
        source_arn=pulumi.Output.concat(
            "arn:", ctx.partition, ":ecs:", ctx.region, ":", ctx.account_id, ":*"
        ),
    )


def execution_policy(
    ctx: AppContext,
    *,
    repository: aws.ecr.Repository,
    log_group: aws.cloudwatch.LogGroup,
    secret_arns: Mapping[str, pulumi.Input[str]],
    secrets_key_arn: pulumi.Input[str],
) -> pulumi.Output[str]:
    """The execution role's policy: image, the service's logs, the injected secrets."""
    unique_secret_arns = pulumi.Output.all(*secret_arns.values()).apply(
        lambda arns: sorted(set(arns))
    )
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EcrLogin",
                    "Effect": "Allow",
                    # GetAuthorizationToken has no resource-level permissions.
                    "Action": "ecr:GetAuthorizationToken",
                    "Resource": "*",
                },
                {
                    "Sid": "PullTheImage",
                    "Effect": "Allow",
                    "Action": [
                        "ecr:BatchCheckLayerAvailability",
                        "ecr:BatchGetImage",
                        "ecr:GetDownloadUrlForLayer",
                    ],
                    "Resource": repository.arn,
                },
                {
                    "Sid": "WriteTheServiceLogs",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": pulumi.Output.concat(log_group.arn, ":log-stream:*"),
                },
                {
                    "Sid": "ReadTheInjectedSecrets",
                    "Effect": "Allow",
                    "Action": "secretsmanager:GetSecretValue",
                    "Resource": unique_secret_arns,
                },
                {
                    "Sid": "DecryptTheSecretsThroughSecretsManager",
                    "Effect": "Allow",
                    "Action": "kms:Decrypt",
                    "Resource": secrets_key_arn,
                    "Condition": {
                        "StringEquals": {
                            "kms:ViaService": pulumi.Output.concat(
                                "secretsmanager.", ctx.region, ".amazonaws.com"
                            )
                        }
                    },
                },
            ],
        }
    )


def exec_policy(log_group: aws.cloudwatch.LogGroup) -> pulumi.Output[str]:
    """Task role permissions of ECS Exec: the session channels and the session log."""
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "EcsExecChannels",
                    "Effect": "Allow",
                    "Action": [
                        "ssmmessages:CreateControlChannel",
                        "ssmmessages:CreateDataChannel",
                        "ssmmessages:OpenControlChannel",
                        "ssmmessages:OpenDataChannel",
                    ],
                    # The ssmmessages actions have no resource-level permissions.
                    "Resource": "*",
                },
                {
                    # The agent looks the session log group up (and checks its encryption)
                    # by listing; DescribeLogGroups cannot be scoped to one group.
                    "Sid": "EcsExecFindTheSessionLog",
                    "Effect": "Allow",
                    "Action": "logs:DescribeLogGroups",
                    "Resource": "*",
                },
                {
                    "Sid": "EcsExecWriteTheSessionLog",
                    "Effect": "Allow",
                    "Action": [
                        "logs:CreateLogStream",
                        "logs:DescribeLogStreams",
                        "logs:PutLogEvents",
                    ],
                    "Resource": [
                        log_group.arn,
                        pulumi.Output.concat(log_group.arn, ":log-stream:*"),
                    ],
                },
            ],
        }
    )


def traffic_shift_policy(
    *,
    target_group_arns: Sequence[pulumi.Input[str]],
    rule_arns: Sequence[pulumi.Input[str]],
) -> pulumi.Output[str]:
    """What ECS does to shift traffic: register and deregister tasks in the two target groups
    and modify the production (and test) listener rule's weights.

    The managed policy (v6) grants the four Describe actions on "*", Register/DeregisterTargets
    on every target group, ModifyRule on every ALB listener rule and ModifyListener on every ALB
    and NLB listener. All but ModifyListener are granted here, on this stack's resources.
    ModifyListener is left out on purpose: ModifyRule cannot change a listener's *default* rule
    (ELB's API reference: "To modify the actions for the default rule, use ModifyListener"), and
    an NLB has no rules at all, so ModifyListener serves only a production or test "rule" that
    is an ALB listener's default rule, or an NLB listener. This stack gives ECS only
    `aws.lb.ListenerRule`s with priorities (components/listener_rules.py), never a listener's
    default rule, and the listener's default action is never shifted.
    """
    return pulumi.Output.json_dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "ReadTheLoadBalancer",
                    "Effect": "Allow",
                    "Action": [
                        "elasticloadbalancing:DescribeListeners",
                        "elasticloadbalancing:DescribeRules",
                        "elasticloadbalancing:DescribeTargetGroups",
                        "elasticloadbalancing:DescribeTargetHealth",
                    ],
                    # Elastic Load Balancing's Describe actions have no resource-level
                    # permissions.
                    "Resource": "*",
                },
                {
                    "Sid": "RegisterTasksInTheTwoTargetGroups",
                    "Effect": "Allow",
                    "Action": [
                        "elasticloadbalancing:RegisterTargets",
                        "elasticloadbalancing:DeregisterTargets",
                    ],
                    "Resource": list(target_group_arns),
                },
                {
                    "Sid": "MoveTheListenerRuleWeights",
                    "Effect": "Allow",
                    "Action": "elasticloadbalancing:ModifyRule",
                    "Resource": list(rule_arns),
                },
            ],
        }
    )
