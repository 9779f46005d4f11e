"""KMS keys: one policy shape from components.kms, deletion windows from config, and every log
group on a key that admits it."""

from __future__ import annotations

import fnmatch
import json

import pytest

from components.kms import ServiceGrant, key_policy
from tests.helpers import evaluated
from tests.unit.edge_helpers import edge_section, provider_region
from tools.mockcloud import Evaluation, Resource, run_program

KEY = "aws:kms/key:Key"


def helper_keys(ev: Evaluation) -> list[str]:
    """Every key of the stack: the data key, the topics' key and, where config asks, the API's
    logs key (prod) all come from the helper."""
    names = [k.name for k in ev.of_type(KEY)]
    assert {"secrets-key", "notifications-key"} <= set(names)
    assert ("app-logs-key" in names) is (ev.stack == "prod")
    return names


def policy_of(ev: Evaluation, name: str) -> dict[str, dict]:
    statements = json.loads(ev.one(KEY, name).inputs["policy"])["Statement"]
    return {s["Sid"]: s for s in statements}


def test_helper_keys_share_the_account_statement_and_never_grant_kms_star(
    stack: Evaluation,
) -> None:
    keys = helper_keys(stack)
    accounts = [policy_of(stack, name)["AccountIamPolicies"] for name in keys]
    assert all(account == accounts[0] for account in accounts)
    assert accounts[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    # The key stays manageable: its policy can be changed and its deletion cancelled.
    assert {"kms:Put*", "kms:CancelKeyDeletion", "kms:Describe*"} <= set(accounts[0]["Action"])
    for name in keys:
        actions = [a for s in policy_of(stack, name).values() for a in s["Action"]]
        assert not {"*", "kms:*"} & set(actions), name


def test_deletion_windows_follow_config(stack: Evaluation) -> None:
    window = {"staging": 7, "prod": 30}[stack.stack]
    for name in helper_keys(stack):
        key = stack.one(KEY, name)
        assert key.inputs["deletionWindowInDays"] == window, name
        assert key.inputs["enableKeyRotation"] is True
        assert key.protect is (stack.stack == "prod")


def test_notification_publishers_act_only_for_this_account(stack: Evaluation) -> None:
    publishers = policy_of(stack, "notifications-key")["PublishersEncrypt"]
    assert set(publishers["Principal"]["Service"]) == {
        "cloudwatch.amazonaws.com",
        "events.rds.amazonaws.com",
        "budgets.amazonaws.com",
        "events.amazonaws.com",
    }
    assert publishers["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert sorted(publishers["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey*"]
    topics = stack.of_type("aws:sns/topic:Topic")
    assert topics
    key_arn = stack.one(KEY, "notifications-key").outputs["arn"]
    assert all(t.inputs["kmsMasterKeyId"] == key_arn for t in topics)


def _policy(grants: list[ServiceGrant]) -> dict:
    def program() -> dict:
        return {"policy": key_policy(partition="aws", account_id="123456789012", grants=grants)}

    ev = run_program("staging", {}, [], program)
    return json.loads(ev.outputs["policy"])


def test_key_policy_renders_one_service_as_a_string_and_keeps_conditions() -> None:
    grant = ServiceGrant(
        sid="Budgets",
        services=["budgets.amazonaws.com"],
        actions=["kms:Decrypt"],
        condition={"StringEquals": {"aws:SourceAccount": "123456789012"}},
    )
    statements = _policy([grant])["Statement"]
    assert [s["Sid"] for s in statements] == ["AccountIamPolicies", "Budgets"]
    assert statements[0]["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert {"kms:Put*", "kms:CancelKeyDeletion"} <= set(statements[0]["Action"])
    assert statements[1]["Principal"] == {"Service": "budgets.amazonaws.com"}
    assert statements[1]["Condition"] == grant.condition


@pytest.mark.parametrize(
    ("grants", "words"),
    [
        ([ServiceGrant(sid="All", services=["x.amazonaws.com"], actions=["kms:*"])], "name the"),
        (
            [ServiceGrant(sid="AccountIamPolicies", services=["x.amazonaws.com"], actions=["a"])],
            "unique",
        ),
    ],
)
def test_key_policy_refuses_wildcards_and_duplicate_sids(
    grants: list[ServiceGrant], words: str
) -> None:
    with pytest.raises(ValueError, match=words):
        key_policy(partition="aws", account_id="123456789012", grants=grants)


# --- log groups and their keys ----------------------------------------------------------------

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def assert_log_keys_admit_their_groups(ev: Evaluation) -> list[Resource]:
    """Every encrypted log group's key lives in the group's region and lets CloudWatch Logs
    there use it for that group, as AssociateKmsKey requires; returns the encrypted groups."""
    keys = {k.outputs["arn"]: k for k in ev.of_type(KEY)}
    encrypted = [g for g in ev.of_type(LOG_GROUP) if g.inputs.get("kmsKeyId")]
    for group in encrypted:
        key = keys[group.inputs["kmsKeyId"]]
        region = provider_region(ev, group)
        assert provider_region(ev, key) == region, group.name
        admitted = [
            s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
            for s in policy_of(ev, key.name).values()
            if s["Principal"] == {"Service": f"logs.{region}.amazonaws.com"}
            and {"kms:GenerateDataKey", "kms:Decrypt"} <= set(s["Action"])
        ]
        assert any(fnmatch.fnmatchcase(group.outputs["arn"], p) for p in admitted), group.name
    return encrypted


def test_every_log_group_is_on_a_key_that_admits_it(stack: Evaluation) -> None:
    encrypted = {g.name for g in assert_log_keys_admit_their_groups(stack)}
    plain = {g.inputs["name"] for g in stack.of_type(LOG_GROUP) if g.name not in encrypted}
    # Only a stack that turns the services' logs key off (api.logsKmsKey) has plain groups,
    # and only those of the services.
    assert stack.config is not None
    if stack.config.api.logs_kms_key:
        assert not plain
    else:
        assert plain and all(name.startswith("/ecs/") for name in plain)


def test_flow_logs_and_waf_logs_have_keys_for_their_group_alone(stack: Evaluation) -> None:
    for name in ("network-flow-logs", "load-balancer-waf-logs"):
        group = stack.one(LOG_GROUP, name)
        key = next(k for k in stack.of_type(KEY) if k.outputs["arn"] == group.inputs["kmsKeyId"])
        grant = policy_of(stack, key.name)["CloudWatchLogsOfThisAccount"]
        assert grant["Condition"]["ArnLike"] == {
            "kms:EncryptionContext:aws:logs:arn": group.outputs["arn"]
        }
        assert key.protect is (stack.stack == "prod")


def test_the_cdn_waf_logs_on_a_key_in_us_east_1_wherever_the_stack_is() -> None:
    ev = evaluated(
        "prod",
        overrides={
            "aws:region": "eu-west-1",
            "webstack:edge": edge_section("prod", apiViaCdn=True),
        },
    )
    encrypted = {g.name: g for g in assert_log_keys_admit_their_groups(ev)}
    assert provider_region(ev, encrypted["frontend-waf-logs"]) == "us-east-1"
    assert provider_region(ev, encrypted["load-balancer-waf-logs"]) == "eu-west-1"
