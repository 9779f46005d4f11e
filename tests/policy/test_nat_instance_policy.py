"""No rule of the pack refuses a NAT instance: its security group admits the VPC only, its
user data holds no secret, and every other resource of the stack is as before."""

from __future__ import annotations

from collections.abc import Callable

from tests.helpers import committed, evaluated
from tools.mockcloud import Evaluation
from tools.policycheck import Violation


def test_staging_with_a_nat_instance_passes_its_policy_config_without_a_finding(
    stack_violations: Callable[[Evaluation], list[Violation]],
) -> None:
    network = committed("staging", "network", natStrategy="instance")
    ev = evaluated("staging", overrides={"webstack:network": network})
    assert len(ev.of_type("aws:ec2/instance:Instance")) == 1
    violations = stack_violations(ev)
    assert violations == [], "\n".join(f"{v.policy} {v.urn}: {v.message}" for v in violations)
