"""Network in both committed stacks: tiers, routes, NAT, flow logs, default SG, tags."""

from __future__ import annotations

import ipaddress
import json

import pytest

from components.network import subnet_plan
from tests.helpers import committed, evaluated
from tools.mockcloud import Evaluation

SUBNET = "aws:ec2/subnet:Subnet"
ROUTE = "aws:ec2/route:Route"
NAT = "aws:ec2/natGateway:NatGateway"


def subnets(ev: Evaluation, tier: str) -> list[dict]:
    return [r.inputs for r in ev.of_type(SUBNET) if r.inputs["tags"]["tier"] == tier]


def test_every_tier_has_one_subnet_per_az(stack: Evaluation) -> None:
    azs = stack.outputs["availabilityZones"]
    assert len(azs) == {"staging": 2, "prod": 3}[stack.stack]
    for tier in ("public", "private", "isolated"):
        assert sorted(s["availabilityZone"] for s in subnets(stack, tier)) == sorted(azs)
        assert len(stack.outputs[f"{tier}SubnetIds"]) == len(azs)


def test_subnets_lie_inside_the_vpc_and_do_not_overlap(stack: Evaluation) -> None:
    vpc = ipaddress.ip_network(stack.outputs["vpcCidr"])
    nets = [ipaddress.ip_network(r.inputs["cidrBlock"]) for r in stack.of_type(SUBNET)]
    assert all(n.subnet_of(vpc) for n in nets)  # type: ignore[arg-type]
    assert not any(a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_no_subnet_hands_out_public_ips(stack: Evaluation) -> None:
    assert all(r.inputs["mapPublicIpOnLaunch"] is False for r in stack.of_type(SUBNET))


def test_vpc_resolves_dns(stack: Evaluation) -> None:
    vpc = stack.one("aws:ec2/vpc:Vpc")
    assert vpc.inputs["enableDnsSupport"] and vpc.inputs["enableDnsHostnames"]


def _default_routes(ev: Evaluation) -> dict[str, dict]:
    return {
        r.inputs["routeTableId"]: r.inputs
        for r in ev.of_type(ROUTE)
        if r.inputs.get("destinationCidrBlock") == "0.0.0.0/0"
    }


def _table_ids_by_tier(ev: Evaluation) -> dict[str, set[str]]:
    ids: dict[str, set[str]] = {"public": set(), "private": set(), "isolated": set()}
    for assoc in ev.of_type("aws:ec2/routeTableAssociation:RouteTableAssociation"):
        # association names mirror subnet names: network-<tier>-<az>
        tier = assoc.name.split("-")[1]
        ids[tier].add(assoc.inputs["routeTableId"])
    return ids


def test_only_public_and_private_tiers_route_out(stack: Evaluation) -> None:
    tables = _table_ids_by_tier(stack)
    routes = _default_routes(stack)
    assert all("gatewayId" in routes[t] for t in tables["public"])
    private_nat = [routes[t].get("natGatewayId") for t in tables["private"]]
    assert all(private_nat), "every private route table needs its NAT default route"
    assert not tables["isolated"] & set(routes), "isolated tier must have no route out"
    assert not any(r.inputs.get("destinationIpv6CidrBlock") == "::/0" for r in stack.of_type(ROUTE))


@pytest.mark.parametrize(
    ("strategy", "az_count", "expected"),
    [("single", 3, 1), ("per_az", 3, 3), ("per_az", 2, 2), ("none", 2, 0)],
)
def test_nat_gateways_follow_the_strategy(strategy: str, az_count: int, expected: int) -> None:
    ev = evaluated(
        "staging",
        overrides={
            "webstack:network": {
                "cidr": "10.20.0.0/16",
                "azCount": az_count,
                "natStrategy": strategy,
                "interfaceEndpoints": True,
            },
            # Without NAT the restore tests' validation could not reach AWS Backup.
            "webstack:backup": committed("staging", "backup", restoreTesting=strategy != "none"),
        },
    )
    assert len(ev.of_type(NAT)) == expected
    assert len(ev.of_type("aws:ec2/eip:Eip")) == expected
    nat_routes = [r for r in ev.of_type(ROUTE) if "natGatewayId" in r.inputs]
    assert len(nat_routes) == (az_count if expected else 0)


def test_flow_logs_capture_all_traffic_into_a_retained_group(stack: Evaluation) -> None:
    flow = stack.one("aws:ec2/flowLog:FlowLog")
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    assert flow.inputs["trafficType"] == "ALL"
    assert flow.inputs["logDestination"] == group.outputs["arn"]
    assert group.inputs["retentionInDays"] == {"staging": 30, "prod": 365}[stack.stack]


def test_flow_log_role_can_only_write_its_own_group(stack: Evaluation) -> None:
    group = stack.one("aws:cloudwatch/logGroup:LogGroup", "network-flow-logs")
    policy = json.loads(
        stack.one("aws:iam/rolePolicy:RolePolicy", "network-flow-logs-policy").inputs["policy"]
    )
    (statement,) = policy["Statement"]
    assert set(statement["Resource"]) == {group.outputs["arn"], group.outputs["arn"] + ":*"}
    assert all(a.startswith("logs:") and "*" not in a for a in statement["Action"])
    trust = json.loads(
        stack.one("aws:iam/role:Role", "network-flow-logs-role").inputs["assumeRolePolicy"]
    )
    assert trust["Statement"][0]["Principal"] == {"Service": "vpc-flow-logs.amazonaws.com"}


def test_default_security_group_is_emptied(stack: Evaluation) -> None:
    sg = stack.one("aws:ec2/defaultSecurityGroup:DefaultSecurityGroup")
    assert sg.inputs.get("ingress", []) == [] and sg.inputs.get("egress", []) == []


def test_endpoints_follow_config(evaluations: dict[str, Evaluation]) -> None:
    def services(ev: Evaluation) -> set[str]:
        return {
            r.inputs["serviceName"].split(".", 3)[-1]
            for r in ev.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")
        }

    assert services(evaluations["staging"]) == {"s3"}
    assert services(evaluations["prod"]) == {
        "s3",
        "ecr.api",
        "ecr.dkr",
        "logs",
        "secretsmanager",
        "sts",
        "rds",  # prod snapshots the database before migrations: the run calls the RDS API
    }
    for ep in evaluations["prod"].of_type("aws:ec2/vpcEndpoint:VpcEndpoint"):
        if ep.inputs["vpcEndpointType"] == "Interface":
            assert ep.inputs["privateDnsEnabled"] is True


def test_every_aws_resource_goes_through_the_tagged_provider(stack: Evaluation) -> None:
    providers = {r.urn: r for r in stack.of_type("pulumi:providers:aws")}
    for provider in providers.values():
        # Providers receive nested config as JSON text.
        tags = json.loads(provider.inputs["defaultTags"])["tags"]
        assert tags["project"] == "webstack"
        assert tags["environment"] == stack.stack
        assert tags["managed-by"] == "pulumi"
        assert tags["owner"] and tags["cost-center"]
    aws_resources = [r for r in stack.resources if r.custom and r.type.startswith("aws:")]
    assert aws_resources
    assert all(r.provider_urn in providers for r in aws_resources)


def test_components_use_house_type_tokens(stack: Evaluation) -> None:
    components = [r for r in stack.resources if not r.custom and not r.type.startswith("pulumi:")]
    assert components
    assert all(r.type.startswith("webstack:") for r in components)


def test_subnet_plan_is_stable_when_azs_are_added() -> None:
    two, three = subnet_plan("10.0.0.0/16", 2), subnet_plan("10.0.0.0/16", 3)
    for tier in ("public", "private", "isolated"):
        assert getattr(three, tier)[:2] == getattr(two, tier)
    smallest = subnet_plan("10.0.0.0/24", 4)
    assert min(ipaddress.ip_network(c).prefixlen for t in smallest for c in t) == 27
    assert max(ipaddress.ip_network(c).prefixlen for t in smallest for c in t) == 28
