"""`network.natStrategy: instance`: one NAT instance instead of NAT gateways, what it is made
of, where the private subnets' routes point, and that its user data is a sound script."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest

from components import nat
from tests.helpers import committed, evaluated
from tools import mockcloud
from tools.mockcloud import Evaluation, Resource, evaluate

INSTANCE = "aws:ec2/instance:Instance"
ROUTE = "aws:ec2/route:Route"
CIDR = "10.20.0.0/16"
AL2023_ARM64 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"


def _nat_instance(az_count: int = 2) -> dict[str, Any]:
    """Staging's overrides for a NAT instance and `az_count` zones."""
    network = committed("staging", "network", cidr=CIDR, azCount=az_count, natStrategy="instance")
    return {"webstack:network": network}


@pytest.fixture(scope="module")
def ev() -> Evaluation:
    return evaluated("staging", overrides=_nat_instance(az_count=3))


def _instance(ev: Evaluation) -> Resource:
    return ev.one(INSTANCE, "network-nat-instance")


def test_one_instance_and_no_nat_gateway_or_elastic_ip(ev: Evaluation) -> None:
    assert len(ev.of_type(INSTANCE)) == 1
    assert ev.of_type("aws:ec2/natGateway:NatGateway") == []
    assert ev.of_type("aws:ec2/eip:Eip") == []


def test_every_private_default_route_points_at_the_instances_interface(ev: Evaluation) -> None:
    eni = _instance(ev).outputs["primaryNetworkInterfaceId"]
    private = [r for r in ev.of_type(ROUTE) if r.name.startswith("network-private-default-")]
    assert len(private) == 3
    for route in private:
        assert route.inputs["destinationCidrBlock"] == "0.0.0.0/0"
        assert route.inputs["networkInterfaceId"] == eni
        assert "natGatewayId" not in route.inputs


def test_it_runs_in_the_first_public_subnet_with_its_own_public_address(ev: Evaluation) -> None:
    instance = _instance(ev).inputs
    first_az = ev.outputs["availabilityZones"][0]
    (subnet,) = [
        s
        for s in ev.of_type("aws:ec2/subnet:Subnet")
        if s.inputs["tags"]["tier"] == "public" and s.inputs["availabilityZone"] == first_az
    ]
    assert instance["subnetId"] == subnet.outputs["id"]
    assert instance["associatePublicIpAddress"] is True
    # It forwards packets that are neither from nor to itself.
    assert instance["sourceDestCheck"] is False


def test_a_graviton_nano_hardened_like_the_rest(ev: Evaluation) -> None:
    instance = _instance(ev).inputs
    assert instance["instanceType"] == "t4g.nano"
    assert instance["metadataOptions"]["httpTokens"] == "required"
    assert instance["metadataOptions"]["httpEndpoint"] == "enabled"
    root = instance["rootBlockDevice"]
    assert root["encrypted"] is True and root["deleteOnTermination"] is True
    assert root["volumeType"] == "gp3"
    assert root["tags"]["Name"] == instance["tags"]["Name"] == "webstack-staging-nat-instance"
    assert "keyName" not in instance  # no SSH key: Session Manager only


def test_the_ami_is_amazon_linux_2023_arm64_from_its_public_parameter(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    asked: list[Mapping[str, Any]] = []

    def parameter(cloud: object, region: str, args: Mapping[str, Any]) -> dict[str, Any]:
        asked.append(args)
        return {"name": args["name"], "value": "ami-from-ssm", "insecureValue": "ami-from-ssm"}

    monkeypatch.setitem(mockcloud.INVOKES, "aws:ssm/getParameter:getParameter", parameter)
    ev = evaluate("staging", overrides=_nat_instance())
    assert [a["name"] for a in asked] == [AL2023_ARM64]
    assert _instance(ev).inputs["ami"] == "ami-from-ssm"
    # A newer image under the same parameter must not replace the stack's only way out.
    assert "ami" in _instance(ev).options["ignoreChanges"]


def test_its_security_group_admits_only_the_vpc(ev: Evaluation) -> None:
    group_ids = _instance(ev).inputs["vpcSecurityGroupIds"]
    (group,) = [
        g for g in ev.of_type("aws:ec2/securityGroup:SecurityGroup") if g.outputs["id"] in group_ids
    ]
    ingress = group.inputs["ingress"]
    assert ingress
    for rule in ingress:
        assert rule["cidrBlocks"] == [CIDR]
        assert not rule.get("ipv6CidrBlocks") and not rule.get("securityGroups")


def test_its_role_only_lets_session_manager_in(ev: Evaluation) -> None:
    role = ev.one("aws:iam/role:Role", "network-nat-instance-role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert [s["Principal"] for s in trust["Statement"]] == [{"Service": "ec2.amazonaws.com"}]
    attached = [
        a.inputs["policyArn"]
        for a in ev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
        if a.inputs["role"] == role.outputs["name"]
    ]
    assert attached == ["arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"]
    assert not [
        p for p in ev.of_type("aws:iam/rolePolicy:RolePolicy") if p.inputs["role"] == role.name
    ]
    profile = ev.one("aws:iam/instanceProfile:InstanceProfile")
    assert _instance(ev).inputs["iamInstanceProfile"] == profile.outputs["name"]


def test_it_waits_for_the_public_subnets_way_out(ev: Evaluation) -> None:
    """dnf runs at the first boot: the internet route must exist before the instance."""
    public_route = ev.one(ROUTE, "network-public-default")
    assert public_route.urn in _instance(ev).dependencies


def test_the_user_data_forwards_and_masquerades_the_vpc_and_keeps_it_across_reboots(
    ev: Evaluation,
) -> None:
    script = _instance(ev).inputs["userData"]
    assert _instance(ev).inputs["userDataReplaceOnChange"] is True
    assert script.startswith("#!/bin/bash\n")
    # Persisted where systemd-sysctl and nftables.service read them at every boot.
    assert "cat > /etc/sysctl.d/" in script and "net.ipv4.ip_forward = 1" in script
    assert "cat > /etc/sysconfig/nftables.conf" in script
    assert "systemctl enable --now nftables" in script
    assert f"ip saddr {CIDR} ip daddr != {CIDR} masquerade" in script
    # Forwarding comes last, once the rules that limit it are loaded.
    assert script.index("systemctl enable --now nftables") < script.index("sysctl --system")


def test_the_user_data_is_valid_bash(ev: Evaluation, tmp_path: Any) -> None:
    script = tmp_path / "user-data.sh"
    script.write_text(_instance(ev).inputs["userData"])
    subprocess.run(["bash", "-n", str(script)], check=True)
    if shutil.which("shellcheck") is None:
        pytest.skip("shellcheck is not installed")
    result = subprocess.run(
        ["shellcheck", "--severity=warning", str(script)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize("cidr", ["10.20.0.0/16", "172.16.8.0/22", "192.168.0.0/24"])
def test_the_masqueraded_range_is_the_vpcs_whatever_it_is(cidr: str) -> None:
    script = nat.NAT_USER_DATA.substitute(vpc_cidr=cidr)
    assert f"ip saddr {cidr} ip daddr != {cidr} accept" in script
    assert f"ip saddr {cidr} ip daddr != {cidr} masquerade" in script
    assert "$vpc_cidr" not in script


def test_gateways_come_back_when_the_strategy_does() -> None:
    """Switching back keeps the route names, so the routes update in place."""
    single = evaluated(
        "staging",
        overrides={
            "webstack:network": committed("staging", "network", cidr=CIDR, natStrategy="single")
        },
    )
    instance = evaluated("staging", overrides=_nat_instance())
    names = sorted(r.name for r in single.of_type(ROUTE))
    assert names == sorted(r.name for r in instance.of_type(ROUTE))
    assert single.of_type(INSTANCE) == []
