"""Every Lambda function of the stack (the migration run, the restore check) in both stacks: traced,
one run at a time unless the account cannot reserve, its environment on the data key and
decryptable by its role for that function only, its VPC attachment confined to this account and
region."""

from __future__ import annotations

import fnmatch
import json
from typing import Any

from tests.helpers import SECURITY_GROUP, committed, data_key_arn, evaluated
from tools.mockcloud import ACCOUNT_ID, Evaluation, Resource

FUNCTION = "aws:lambda/function:Function"
ENVIRONMENT_CONTEXT = "kms:EncryptionContext:aws:lambda:FunctionArn"


def functions(ev: Evaluation) -> list[tuple[Resource, list[dict[str, Any]]]]:
    """Each function with the statements of its role's inline policies."""
    roles = {r.outputs["arn"]: r for r in ev.of_type("aws:iam/role:Role")}
    policies = ev.of_type("aws:iam/rolePolicy:RolePolicy")
    found = []
    for fn in ev.of_type(FUNCTION):
        role = roles[fn.inputs["role"]]
        statements = [
            s
            for p in policies
            if p.inputs["role"] == role.id
            for s in json.loads(p.inputs["policy"])["Statement"]
        ]
        found.append((fn, statements))
    names = {fn.name for fn, _ in found}
    assert {"migrations-function", "backup-validator"} <= names, names
    return found


def test_every_function_is_traced_and_may_send_its_traces(stack: Evaluation) -> None:
    for fn, statements in functions(stack):
        assert fn.inputs["tracingConfig"] == {"mode": "Active"}, fn.name
        allowed = {a for s in statements if s["Effect"] == "Allow" for a in s["Action"]}
        assert {"xray:PutTraceSegments", "xray:PutTelemetryRecords"} <= allowed, fn.name


def test_every_function_runs_one_at_a_time_unless_the_account_cannot_reserve(
    evaluations: dict[str, Evaluation],
) -> None:
    for ev in evaluations.values():
        for fn, _ in functions(ev):
            assert fn.inputs["reservedConcurrentExecutions"] == 1, (ev.stack, fn.name)
    # A new account's quota leaves nothing to reserve: the key turns every reservation off.
    database = committed("staging", "database", reserveLambdaConcurrency=False)
    unreserved = evaluated("staging", overrides={"webstack:database": database})
    for fn, _ in functions(unreserved):
        assert "reservedConcurrentExecutions" not in fn.inputs, fn.name


def test_every_environment_is_on_the_data_key_and_opens_for_its_function_only(
    stack: Evaluation,
) -> None:
    key = data_key_arn(stack)
    assert stack.config is not None
    secrets_manager = f"secretsmanager.{stack.config.region}.amazonaws.com"
    for fn, statements in functions(stack):
        assert fn.inputs["kmsKeyArn"] == key, fn.name
        decrypts = [s for s in statements if any(a.startswith("kms:") for a in s["Action"])]
        assert all(s["Action"] == ["kms:Decrypt"] and s["Resource"] == [key] for s in decrypts)
        # Lambda names the function's ARN in the encryption context: the condition must be
        # that ARN exactly, built before the function exists.
        own = [s for s in decrypts if ENVIRONMENT_CONTEXT in s["Condition"]["StringEquals"]]
        assert [s["Condition"]["StringEquals"][ENVIRONMENT_CONTEXT] for s in own] == [
            fn.outputs["arn"]
        ], fn.name
        # Any other use of the key goes through Secrets Manager (the migration run's secrets).
        for other in decrypts:
            if other not in own:
                assert other["Condition"] == {
                    "StringEquals": {"kms:ViaService": secrets_manager}
                }, fn.name


def test_vpc_attachments_touch_only_this_account_and_region(stack: Evaluation) -> None:
    subnets = {s.id: s.outputs["arn"] for s in stack.of_type("aws:ec2/subnet:Subnet")}
    groups = {g.id: g.outputs["arn"] for g in stack.of_type(SECURITY_GROUP)}
    assert stack.config is not None
    region = stack.config.region
    other_region = "eu-west-1" if region != "eu-west-1" else "us-west-2"
    for fn, statements in functions(stack):
        (eni,) = [s for s in statements if "ec2:CreateNetworkInterface" in s["Action"]]
        assert set(eni["Action"]) == {
            "ec2:CreateNetworkInterface",
            "ec2:DeleteNetworkInterface",
            "ec2:AssignPrivateIpAddresses",
            "ec2:UnassignPrivateIpAddresses",
        }
        # An ENI in the function's subnets with its groups is covered: the subnets and the
        # groups are what CreateNetworkInterface is authorized on, besides the interface.
        vpc = fn.inputs["vpcConfig"]
        touched = [subnets[i] for i in vpc["subnetIds"]] + [
            groups[i] for i in vpc["securityGroupIds"]
        ]
        assert touched and all(fnmatch.fnmatchcase(a, eni["Resource"]) for a in touched)
        for elsewhere in (f"{other_region}:{ACCOUNT_ID}", f"{region}:210987654321"):
            interface = f"arn:aws:ec2:{elsewhere}:network-interface/eni-0123456789abcdef0"
            assert not fnmatch.fnmatchcase(interface, eni["Resource"]), fn.name
