"""The Pulumi plan -> Terraform plan conversion, without Checkov (tests/checkov runs Checkov)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pulumi_aws as aws
import pytest

from tools.checkov.terraform_plan import (
    ConversionError,
    PlanResource,
    arguments,
    convert,
    plan_resources,
    singular,
    snake_case,
    terraform_type,
)
from tools.mockcloud import run_program


@pytest.mark.parametrize(
    ("pulumi_type", "terraform"),
    [
        # The rule: aws_<module>_<name>.
        ("aws:cloudwatch/logGroup:LogGroup", "aws_cloudwatch_log_group"),
        (
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            "aws_s3_bucket_public_access_block",
        ),
        ("aws:wafv2/webAclAssociation:WebAclAssociation", "aws_wafv2_web_acl_association"),
        (
            "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            "aws_vpc_security_group_ingress_rule",
        ),
        ("aws:lb/listener:Listener", "aws_lb_listener"),
        ("aws:secretsmanager/secretVersion:SecretVersion", "aws_secretsmanager_secret_version"),
        ("cloudflare:index/dnsRecord:DnsRecord", "cloudflare_dns_record"),
        # The bridge's exceptions.
        ("aws:rds/instance:Instance", "aws_db_instance"),
        ("aws:rds/subnetGroup:SubnetGroup", "aws_db_subnet_group"),
        ("aws:lb/loadBalancer:LoadBalancer", "aws_lb"),
        ("aws:ec2/securityGroup:SecurityGroup", "aws_security_group"),
        ("aws:ec2/flowLog:FlowLog", "aws_flow_log"),
        ("random:index/randomPassword:RandomPassword", "random_password"),
    ],
)
def test_terraform_type(pulumi_type: str, terraform: str) -> None:
    assert terraform_type(pulumi_type) == terraform


def test_a_malformed_type_token_is_an_error() -> None:
    with pytest.raises(ConversionError, match="not a Pulumi resource type token"):
        terraform_type("aws-rds-instance")


@pytest.mark.parametrize(
    ("name", "snake"),
    [
        ("cidrIpv4", "cidr_ipv4"),
        ("enableHttp2", "enable_http2"),
        ("s3OriginConfig", "s3_origin_config"),
        ("IPSetReferenceStatement", "ip_set_reference_statement"),
        ("CloudWatchMetricsEnabled", "cloudwatch_metrics_enabled"),
    ],
)
def test_snake_case(name: str, snake: str) -> None:
    assert snake_case(name) == snake


@pytest.mark.parametrize(
    ("plural", "one"),
    [
        ("default_actions", "default_action"),
        ("metric_queries", "metric_query"),
        ("ingress", "ingress"),
        ("addresses", "address"),
        ("items", "items"),  # CloudFront's header lists are `items` in Terraform too
        ("redacted_fields", "redacted_fields"),
    ],
)
def test_singular(plural: str, one: str) -> None:
    assert singular(plural) == one


def test_objects_become_blocks_lists_of_objects_singular_and_maps_keep_their_keys() -> None:
    converted = arguments(
        {
            "defaultActions": [{"type": "redirect", "redirect": {"statusCode": "HTTP_301"}}],
            "viewerCertificate": {"minimumProtocolVersion": "TLSv1.2_2021"},
            "environment": {"variables": {"DB_HOST": "db", "logLevel": "info"}},
            "tags": {"Name": "web"},
            "port": 443.0,
            "subnetIds": ["subnet-1", "subnet-2"],
        }
    )
    assert converted == {
        "default_action": [{"type": "redirect", "redirect": [{"status_code": "HTTP_301"}]}],
        "viewer_certificate": [{"minimum_protocol_version": "TLSv1.2_2021"}],
        "environment": [{"variables": {"DB_HOST": "db", "logLevel": "info"}}],
        "tags": {"Name": "web"},
        "port": 443,
        "subnet_ids": ["subnet-1", "subnet-2"],
    }


def _one(document: Mapping[str, Any], address: str) -> dict[str, Any]:
    found = [
        r for r in document["planned_values"]["root_module"]["resources"] if r["address"] == address
    ]
    assert len(found) == 1, address
    return found[0]


def test_the_waf_rule_json_becomes_rule_blocks() -> None:
    rule = {
        "Name": "bad-inputs",
        "Priority": 0,
        "OverrideAction": {"None": {}},
        "Statement": {
            "ManagedRuleGroupStatement": {
                "VendorName": "AWS",
                "Name": "AWSManagedRulesKnownBadInputsRuleSet",
                "RuleActionOverrides": [{"Name": "Log4JRCE", "ActionToUse": {"Count": {}}}],
            }
        },
        "VisibilityConfig": {"CloudWatchMetricsEnabled": True, "MetricName": "bad-inputs"},
    }
    acl = PlanResource(
        urn="urn:acl",
        type="aws:wafv2/webAcl:WebAcl",
        name="acl",
        inputs={"ruleJson": json.dumps([rule])},
    )
    values = _one(convert([acl]), "aws_wafv2_web_acl.acl")["values"]
    assert "rule_json" not in values
    assert values["rule"] == [
        {
            "name": "bad-inputs",
            "priority": 0,
            "override_action": [{"none": [{}]}],
            "statement": [
                {
                    "managed_rule_group_statement": [
                        {
                            "vendor_name": "AWS",
                            "name": "AWSManagedRulesKnownBadInputsRuleSet",
                            "rule_action_override": [
                                {"name": "Log4JRCE", "action_to_use": [{"count": [{}]}]}
                            ],
                        }
                    ]
                }
            ],
            "visibility_config": [
                {"cloudwatch_metrics_enabled": True, "metric_name": "bad-inputs"}
            ],
        }
    ]


def test_a_rule_json_that_is_not_a_json_list_is_an_error() -> None:
    acl = PlanResource(
        urn="u", type="aws:wafv2/webAcl:WebAcl", name="acl", inputs={"ruleJson": "{"}
    )
    with pytest.raises(ConversionError, match="aws:wafv2/webAcl:WebAcl acl: rule_json is not JSON"):
        convert([acl])


def test_values_from_other_resources_become_references() -> None:
    def program() -> dict[str, Any]:
        bucket = aws.s3.Bucket("site")
        aws.s3.BucketPublicAccessBlock("site-access", bucket=bucket.id, block_public_acls=True)
        key = aws.kms.Key("key")
        aws.cloudwatch.LogGroup("logs", kms_key_id=key.arn, retention_in_days=30)
        return {}

    document = convert(
        plan_resources(run_program("test", {"aws:region": "us-east-1"}, [], program))
    )
    access = _one(document, "aws_s3_bucket_public_access_block.site-access")
    assert access["values"]["bucket"].startswith("aws_s3_bucket.site.")
    assert access["values"]["block_public_acls"] is True
    logs = _one(document, "aws_cloudwatch_log_group.logs")
    assert logs["values"]["kms_key_id"] == "aws_kms_key.key.arn"
    assert logs["values"]["retention_in_days"] == 30
    configured = {r["address"]: r for r in document["configuration"]["root_module"]["resources"]}
    assert configured["aws_cloudwatch_log_group.logs"]["expressions"] == {
        "kms_key_id": {"references": ["aws_kms_key.key.arn", "aws_kms_key.key"]}
    }
    assert "expressions" not in configured["aws_kms_key.key"]
    assert document["format_version"].startswith("1.")
    assert all(
        r["mode"] == "managed" for r in document["planned_values"]["root_module"]["resources"]
    )


def test_one_name_under_two_parents_gets_two_addresses() -> None:
    twins = [
        PlanResource(urn=f"urn:{n}", type="aws:sns/topic:Topic", name="alerts", inputs={})
        for n in (1, 2)
    ]
    addresses = [r["address"] for r in convert(twins)["planned_values"]["root_module"]["resources"]]
    assert addresses == ["aws_sns_topic.alerts", "aws_sns_topic.alerts_2"]


def test_secrets_stay_masked(evaluations: Any) -> None:
    document = json.dumps(convert(plan_resources(evaluations["prod"])))
    for resource in evaluations["prod"].of_type("random:index/randomPassword:RandomPassword"):
        assert resource.outputs["result"] not in document
    assert "[secret] sha256:" in document
