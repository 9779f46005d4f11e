"""Notifications: where alarms, RDS events and budget alerts are sent.

Creates, in the region of its provider:
- a customer-managed KMS key (rotation on, deletion window from config) whose policy lets
  CloudWatch alarms, RDS event subscriptions, AWS Budgets and EventBridge rules of this account
  publish to topics encrypted with it, and its alias;
- two SNS topics, `critical` (pages) and `warning` (the team channel), encrypted with that key
  (only `warning` when `alarms.paging` is off: critical alarms then notify it too);
- a topic policy per topic: the account's own principals manage it, those services may publish
  only on behalf of this account, and nothing is accepted over plain HTTP;
- email subscriptions per topic and, optionally, one HTTPS subscription per topic (PagerDuty,
  a chat webhook) whose URL is a secret, with a retry policy that rides out a short outage.

CloudWatch alarm actions cannot cross regions, so a stack outside us-east-1 makes a second
Notifications there (with the same subscribers) for the CloudFront alarms.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import SEVERITIES, AlarmTopics, Severity
from components.config import AlarmsConfig, SecretsConfig, StackWide
from components.kms import ServiceGrant, encryption_key

# The services that publish to the topics, as the principals AWS documents for them: CloudWatch
# alarms, RDS event subscriptions (`events.rds`), budget notifications, and EventBridge rules
# (`events`: AWS Backup's failed jobs, components/backup/alerts.py).
PUBLISHERS = (
    "cloudwatch.amazonaws.com",
    "events.rds.amazonaws.com",
    "budgets.amazonaws.com",
    "events.amazonaws.com",
)

# SNS's default HTTPS retry policy gives up after 3 tries in ~20 s; a pager that blips for a
# minute would lose the page. Exponential backoff to 60 s, 20 tries, ~15 minutes in all.
HTTPS_DELIVERY_POLICY = {
    "healthyRetryPolicy": {
        "minDelayTarget": 1,
        "maxDelayTarget": 60,
        "numRetries": 20,
        "numNoDelayRetries": 0,
        "numMinDelayRetries": 2,
        "numMaxDelayRetries": 10,
        "backoffFunction": "exponential",
    },
    "throttlePolicy": {"maxReceivesPerSecond": 10},
}

_TOPIC_OWNER_ACTIONS = [
    "sns:GetTopicAttributes",
    "sns:SetTopicAttributes",
    "sns:AddPermission",
    "sns:RemovePermission",
    "sns:DeleteTopic",
    "sns:Subscribe",
    "sns:ListSubscriptionsByTopic",
    "sns:Publish",
]


@dataclass(frozen=True, kw_only=True)
class NotificationsArgs:
    """Inputs of Notifications."""

    stack: StackWide
    """Topic `<name_prefix>-<severity>`; `protect` covers the KMS key (a deleted key makes
    queued messages unreadable)."""
    alarms: AlarmsConfig
    """Who is told: email addresses per severity (each confirms once), secret HTTPS endpoints."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the topics' key can still be cancelled."""


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


class Notifications(pulumi.ComponentResource):
    """KMS-encrypted `critical` and `warning` SNS topics with their subscribers."""

    critical_topic_arn: pulumi.Output[str] | None
    """None when nobody is paged (`alarms.paging` off)."""
    warning_topic_arn: pulumi.Output[str]

    def __init__(
        self, name: str, args: NotificationsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:Notifications", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        invoke = pulumi.InvokeOptions(parent=self)
        account = aws.get_caller_identity_output(opts=invoke).account_id
        partition = aws.get_partition_output(opts=invoke).partition
        root = pulumi.Output.concat("arn:", partition, ":iam::", account, ":root")
        prefix, alarms = args.stack.name_prefix, args.alarms

        key = encryption_key(
            f"{name}-key",
            description=f"{prefix} alarm and event notifications (SNS)",
            alias=f"alias/{prefix}-notifications",
            partition=partition,
            account_id=account,
            grants=[
                ServiceGrant(
                    # A publishing service asks KMS for a data key when it hands a message to an
                    # encrypted topic; aws:SourceAccount keeps another account's alarm, RDS
                    # subscription or budget from using the key through the same service.
                    sid="PublishersEncrypt",
                    services=PUBLISHERS,
                    actions=["kms:GenerateDataKey*", "kms:Decrypt"],
                    condition={"StringEquals": {"aws:SourceAccount": account}},
                )
            ],
            deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=args.stack.protect,
            parent=self,
        )

        emails = {"critical": alarms.critical_emails, "warning": alarms.warning_emails}
        endpoints: dict[str, pulumi.Input[str] | None] = {
            "critical": alarms.critical_https_endpoint,
            "warning": alarms.warning_https_endpoint,
        }
        arns: dict[Severity, pulumi.Output[str]] = {}
        for severity in SEVERITIES if alarms.paging else ("warning",):
            topic = aws.sns.Topic(
                f"{name}-{severity}",
                name=f"{prefix}-{severity}",
                display_name=f"{prefix} {severity}",
                kms_master_key_id=key.arn,
                opts=child,
            )
            arns[severity] = topic.arn
            aws.sns.TopicPolicy(
                f"{name}-{severity}-policy",
                arn=topic.arn,
                policy=pulumi.Output.json_dumps(_topic_policy(topic.arn, account, root)),
                opts=child,
            )
            for address in emails[severity]:
                aws.sns.TopicSubscription(
                    f"{name}-{severity}-email-{_slug(address)}",
                    topic=topic.arn,
                    protocol="email",
                    endpoint=address,
                    opts=child,
                )
            endpoint = endpoints[severity]
            if endpoint is not None:
                aws.sns.TopicSubscription(
                    f"{name}-{severity}-https",
                    topic=topic.arn,
                    protocol="https",
                    endpoint=pulumi.Output.secret(endpoint),
                    # PagerDuty and similar integrations confirm the subscription themselves.
                    endpoint_auto_confirms=True,
                    delivery_policy=json.dumps(HTTPS_DELIVERY_POLICY),
                    opts=child,
                )

        self.critical_topic_arn = arns.get("critical")
        self.warning_topic_arn = arns["warning"]
        self.register_outputs(
            {"critical_topic_arn": self.critical_topic_arn, "warning_topic_arn": arns["warning"]}
        )

    @property
    def topics(self) -> AlarmTopics:
        """The topics as alarm-action targets: critical alarms go to the warning topic when
        nobody is paged."""
        return AlarmTopics(
            critical=self.critical_topic_arn or self.warning_topic_arn,
            warning=self.warning_topic_arn,
        )


def _topic_policy(
    topic_arn: pulumi.Output[str],
    account: pulumi.Output[str],
    root: pulumi.Output[str],
) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # The root principal delegates to the account's IAM policies; the condition
                # says in the policy itself that no other account's principal is meant.
                "Sid": "AccountManagesTheTopic",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": _TOPIC_OWNER_ACTIONS,
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:PrincipalAccount": account}},
            },
            {
                # aws:SourceAccount keeps another account's alarm or budget from using this
                # topic through the service (the confused-deputy problem).
                "Sid": "ServicesPublishForThisAccount",
                "Effect": "Allow",
                "Principal": {"Service": list(PUBLISHERS)},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"StringEquals": {"aws:SourceAccount": account}},
            },
            {
                "Sid": "DenyPlainHttp",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
