"""No rule of the pack refuses a NAT instance: its security group admits the VPC only, its
user data holds no secret, and every other resource of the stack is as before."""

from __future__ import annotations

from tests.helpers import committed
from tools.mockcloud import evaluate
from tools.policycheck import check


def test_staging_with_a_nat_instance_passes_its_policy_config_without_a_finding() -> None:
    network = committed("staging", "network", natStrategy="instance")
    ev = evaluate("staging", overrides={"webstack:network": network})
    assert len(ev.of_type("aws:ec2/instance:Instance")) == 1
    violations = check(ev)
    assert violations == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in violations)
