"""The offline plan of a preview stack (`pr-123`, no stack file committed): nothing protected,
nothing that blocks `pulumi destroy`, every physical name its own and within AWS's limits even
for the longest PR number, tasks on Fargate Spot, nobody paged, and its per-day cost."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from components.config import MAX_NAME_PREFIX_LENGTH, PROJECT
from tests.helpers import config_of, evaluated, problems_of
from tools import cost
from tools.cost_assumptions import load_cost_assumptions
from tools.mockcloud import Evaluation, Resource
from tools.stackfile import read_stack_file

STACK = "pr-123"
# The longest preview stack name the config accepts: every name built from its prefix must fit.
LONGEST = "pr-" + "9" * (MAX_NAME_PREFIX_LENGTH - len(f"{PROJECT}-pr-"))

# AWS's length limits on the names the program builds from the stack's name prefix, by
# resource type and input (tag values: 256). The ALB, its target group, the buckets and the IAM
# roles are named by Pulumi's autonaming from their logical names, which hold no PR number.
NAME_LIMITS: dict[tuple[str, str], int] = {
    ("aws:backup/plan:Plan", "name"): 50,
    ("aws:backup/restoreTestingPlan:RestoreTestingPlan", "name"): 50,
    ("aws:backup/restoreTestingSelection:RestoreTestingSelection", "name"): 50,
    ("aws:backup/vault:Vault", "name"): 50,
    ("aws:budgets/budget:Budget", "name"): 100,
    ("aws:cloudfront/cachePolicy:CachePolicy", "name"): 128,
    ("aws:cloudfront/distribution:Distribution", "comment"): 128,
    ("aws:cloudfront/function:Function", "name"): 64,
    ("aws:cloudfront/originAccessControl:OriginAccessControl", "name"): 64,
    ("aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy", "name"): 128,
    ("aws:cloudwatch/dashboard:Dashboard", "dashboardName"): 255,
    ("aws:cloudwatch/logGroup:LogGroup", "name"): 512,
    ("aws:cloudwatch/logMetricFilter:LogMetricFilter", "name"): 512,
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "name"): 255,
    # The scheduler-failure alarm's custom metric namespace.
    ("aws:cloudwatch/metricAlarm:MetricAlarm", "namespace"): 255,
    ("aws:ecr/repository:Repository", "name"): 256,
    ("aws:ecs/cluster:Cluster", "name"): 255,
    ("aws:ecs/taskDefinition:TaskDefinition", "family"): 255,
    ("aws:elasticache/replicationGroup:ReplicationGroup", "replicationGroupId"): 40,
    ("aws:kms/alias:Alias", "name"): 256,
    ("aws:lambda/function:Function", "name"): 64,
    ("aws:lb/loadBalancer:LoadBalancer", "name"): 32,
    ("aws:lb/targetGroup:TargetGroup", "name"): 32,
    ("aws:rds/eventSubscription:EventSubscription", "name"): 255,
    ("aws:rds/instance:Instance", "identifier"): 63,
    ("aws:s3/bucket:Bucket", "bucket"): 63,
    # 512 for the name, less the 26 characters the provider appends to a prefix.
    ("aws:secretsmanager/secret:Secret", "namePrefix"): 486,
    ("aws:sns/topic:Topic", "name"): 256,
    ("aws:sns/topic:Topic", "displayName"): 100,
    ("aws:wafv2/webAcl:WebAcl", "name"): 128,
}
NAME_INPUTS = {key for _, key in NAME_LIMITS} | {"identifier", "family", "bucket"}
TAG_VALUE_LIMIT = 256


@pytest.fixture(scope="module")
def preview() -> Evaluation:
    return evaluated(STACK)


@pytest.fixture(scope="module")
def longest() -> Evaluation:
    """The longest preview, with restore tests on too: every name the program can build."""
    backup = {**read_stack_file(LONGEST)["config"]["webstack:backup"], "restoreTesting": True}
    return evaluated(LONGEST, overrides={"webstack:backup": backup})


def test_the_plan_protects_nothing(preview: Evaluation) -> None:
    assert [r.name for r in preview.resources if r.protect] == []
    assert [r.name for r in preview.resources if r.options.get("retainOnDelete")] == []


def _destroy_blockers(r: Resource) -> Iterator[str]:
    """Why `pulumi destroy` would fail on `r`, or leave something of it behind."""
    inputs = r.inputs
    for key in ("deletionProtection", "enableDeletionProtection", "deletionProtectionEnabled"):
        if inputs.get(key):
            yield f"{key} is on"
    if r.type in ("aws:rds/instance:Instance", "aws:rds/cluster:Cluster"):
        if not inputs.get("skipFinalSnapshot") or inputs.get("finalSnapshotIdentifier"):
            yield "takes a final snapshot"
        if not inputs.get("deleteAutomatedBackups", True):
            yield "retains its automated backups"
    if r.type == "aws:elasticache/replicationGroup:ReplicationGroup" and inputs.get(
        "finalSnapshotIdentifier"
    ):
        yield "takes a final snapshot"
    if r.type == "aws:s3/bucket:Bucket" and not inputs.get("forceDestroy"):
        yield "cannot be deleted while it holds objects"
    if r.type == "aws:ecr/repository:Repository" and not inputs.get("forceDelete"):
        yield "cannot be deleted while it holds images"
    if r.type == "aws:secretsmanager/secret:Secret" and inputs.get("recoveryWindowInDays") != 0:
        yield "lingers for its recovery window"
    if r.type == "aws:backup/vault:Vault" and not inputs.get("forceDestroy"):
        yield "cannot be deleted while it holds recovery points"
    if r.type == "aws:backup/vaultLockConfiguration:VaultLockConfiguration":
        yield "locks recovery points against deletion"


def test_nothing_blocks_destroy_or_outlives_it(preview: Evaluation) -> None:
    blockers = {
        f"{r.type} {r.name}": reason for r in preview.resources for reason in _destroy_blockers(r)
    }
    assert blockers == {}
    # The walk saw the resources that hold data: it would have caught them.
    kinds = {r.type for r in preview.resources}
    assert {
        "aws:rds/instance:Instance",
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
        "aws:secretsmanager/secret:Secret",
        "aws:backup/vault:Vault",
    } <= kinds
    # KMS keys cannot go at once (7 days at least); the deletion is scheduled, not waited for.
    assert {r.inputs["deletionWindowInDays"] for r in preview.of_type("aws:kms/key:Key")} == {7}


def test_a_committed_stack_keeps_its_data_at_destroy(evaluations: dict[str, Evaluation]) -> None:
    """The same walk on staging finds what a preview turns off: the walk can fail."""
    staging = evaluations["staging"]
    reasons = {reason for r in staging.resources for reason in _destroy_blockers(r)}
    assert {
        "takes a final snapshot",
        "retains its automated backups",
        "cannot be deleted while it holds objects",
        "cannot be deleted while it holds images",
        "lingers for its recovery window",
        "cannot be deleted while it holds recovery points",
        "locks recovery points against deletion",
    } <= reasons


def _names(ev: Evaluation) -> Iterator[tuple[Resource, str, str]]:
    """(resource, input, value) of every name input and tag value that holds the prefix (or
    its underscore form, which restore testing plans take)."""
    prefix = config_of(ev).name_prefix
    forms = (prefix, prefix.replace("-", "_"))

    def named(value: object) -> bool:
        return isinstance(value, str) and any(form in value for form in forms)

    for r in ev.resources:
        for key, value in r.inputs.items():
            if key in NAME_INPUTS and named(value):
                yield r, key, str(value)
        for tag, value in (r.inputs.get("tags") or {}).items():
            if named(value):
                yield r, f"tags.{tag}", str(value)


@pytest.mark.parametrize("stack_fixture", ["preview", "longest"])
def test_names_built_from_the_prefix_fit_awss_limits(
    stack_fixture: str, request: pytest.FixtureRequest
) -> None:
    ev: Evaluation = request.getfixturevalue(stack_fixture)
    checked = 0
    for r, key, value in _names(ev):
        limit = TAG_VALUE_LIMIT if key.startswith("tags.") else NAME_LIMITS.get((r.type, key))
        assert limit is not None, f"{r.type} {key} = {value!r}: add AWS's limit to NAME_LIMITS"
        assert len(value) <= limit, f"{r.type} {r.name} {key}: {value!r} is over {limit}"
        checked += 1
    assert checked > 50  # the walk found the names


def test_the_longest_prefix_fills_the_tightest_limit(longest: Evaluation) -> None:
    group = longest.one("aws:elasticache/replicationGroup:ReplicationGroup")
    assert len(group.inputs["replicationGroupId"]) == 40


def test_a_longer_pr_number_is_refused_before_anything_is_registered() -> None:
    too_long = LONGEST + "9"
    problems = problems_of(too_long)
    assert any(
        p.startswith(f"webstack:environment ({too_long}):") and "34 characters" in p
        for p in problems
    ), problems


def test_physical_names_are_the_previews_own(
    preview: Evaluation, evaluations: dict[str, Evaluation]
) -> None:
    """No name of pr-123 is one of staging's or another preview's."""
    other = evaluated("pr-124")

    def names(ev: Evaluation) -> set[str]:
        return {value for _, key, value in _names(ev) if not key.startswith("tags.")}

    ours = names(preview)
    assert ours and all("webstack-pr-123" in name for name in ours)
    assert ours & names(other) == set()
    assert ours & names(evaluations["staging"]) == set()


def test_tasks_run_on_fargate_spot(preview: Evaluation) -> None:
    providers = preview.one("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders")
    cluster = preview.one("aws:ecs/cluster:Cluster")
    assert providers.inputs["clusterName"] == cluster.inputs["name"]
    assert "FARGATE_SPOT" in providers.inputs["capacityProviders"]
    services = preview.of_type("aws:ecs/service:Service")
    assert {s.inputs["name"] for s in services} == {"api", "worker"}
    for service in services:
        assert "launchType" not in service.inputs
        assert service.inputs["capacityProviderStrategies"] == [
            {"capacityProvider": "FARGATE_SPOT", "weight": 1}
        ]
        # A strategy may name only providers already associated with the cluster.
        assert providers.urn in service.dependencies


def test_committed_stacks_keep_on_demand_fargate(evaluations: dict[str, Evaluation]) -> None:
    for ev in evaluations.values():
        assert ev.of_type("aws:ecs/clusterCapacityProviders:ClusterCapacityProviders") == []
        assert {s.inputs["launchType"] for s in ev.of_type("aws:ecs/service:Service")} == {
            "FARGATE"
        }


def test_nobody_is_paged_every_alarm_notifies_the_warning_topic(preview: Evaluation) -> None:
    topics = preview.of_type("aws:sns/topic:Topic")
    assert [t.inputs["name"] for t in topics] == ["webstack-pr-123-warning"]
    warning = topics[0].outputs["arn"]
    alarms = preview.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")
    assert alarms
    for alarm in alarms:
        assert alarm.inputs["alarmActions"] == [warning], alarm.name
    assert "criticalTopicArn" not in preview.outputs
    subscriptions = preview.of_type("aws:sns/topicSubscription:TopicSubscription")
    assert {s.inputs["protocol"] for s in subscriptions} == {"email"}


def test_single_az_where_aws_allows(preview: Evaluation) -> None:
    """One NAT instance, a Single-AZ database and a one-node cache; subnets stay in two zones
    because the ALB and the RDS subnet group need two."""
    assert len(preview.of_type("aws:ec2/instance:Instance")) == 1
    assert preview.of_type("aws:ec2/natGateway:NatGateway") == []
    assert preview.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")[0].inputs["vpcEndpointType"] == (
        "Gateway"
    )
    assert len(preview.of_type("aws:ec2/vpcEndpoint:VpcEndpoint")) == 1
    assert preview.one("aws:rds/instance:Instance").inputs["multiAz"] is False
    assert preview.one("aws:elasticache/replicationGroup:ReplicationGroup").inputs[
        "numCacheClusters"
    ] == pytest.approx(1)
    zones = {s.inputs["availabilityZone"] for s in preview.of_type("aws:ec2/subnet:Subnet")}
    assert len(zones) == 2


def _estimate(ev: Evaluation) -> cost.Estimate:
    return cost.estimate(ev.resources, load_cost_assumptions(ev.stack))


def test_the_estimate_prices_every_line_per_day(
    preview: Evaluation, evaluations: dict[str, Evaluation]
) -> None:
    estimate = _estimate(preview)
    assert estimate.unpriced == []
    assert estimate.per_day == pytest.approx(estimate.total * 24 / cost.HOURS_PER_MONTH)
    assert estimate.total < _estimate(evaluations["staging"]).total / 1.5
    spot = [line for line in estimate.lines if line.item.startswith("Fargate Spot")]
    assert len(spot) == 4  # vCPU and memory of the API and the worker


def test_the_nat_instance_is_the_cheapest_way_out(preview: Evaluation) -> None:
    """Cheaper than one NAT gateway, itself cheaper than the endpoints `none` needs."""
    committed_network = read_stack_file(STACK)["config"]["webstack:network"]

    def network_cost(**network: object) -> float:
        ev = evaluated(STACK, overrides={"webstack:network": {**committed_network, **network}})
        return _estimate(ev).by_component()["network"]

    instance = _estimate(preview).by_component()["network"]
    gateway = network_cost(natStrategy="single")
    endpoints = network_cost(natStrategy="none", interfaceEndpoints=True)
    assert instance < gateway < endpoints, (instance, gateway, endpoints)
