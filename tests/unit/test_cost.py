"""The cost estimate: hand-checked figures, unpriced lines, and both committed stacks."""

from __future__ import annotations

import json
from typing import Any

import pulumi_aws as aws
import pytest
from google.protobuf import struct_pb2

from tests.unit.edge_helpers import edge_variant
from tools import cost
from tools.cost_assumptions import CostAssumptions, load_cost_assumptions
from tools.mockcloud import Evaluation, Resource, run_program

NO_TRAFFIC = CostAssumptions()
CHECK = "aws:route53/healthCheck:HealthCheck"


def res(type_: str, logical: str, /, *, parent: str = "", **inputs: Any) -> Resource:
    """A synthetic custom resource with the given (camelCase) inputs."""
    return Resource(
        urn=f"urn:pulumi:test::webstack::{type_}::{logical}",
        type=type_,
        name=logical,
        custom=True,
        parent=parent,
        provider="",
        protect=False,
        inputs=inputs,
        secret_inputs=set(),
        outputs={"name": inputs.get("name", logical), "arn": f"arn:test:{logical}"},
        dependencies=[],
        options={},
        raw_inputs=struct_pb2.Struct(),
    )


def monthly(est: cost.Estimate, item: str) -> float:
    """The monthly figure of the one line named `item` (or, failing that, starting with it)."""
    found = [x.monthly for x in est.lines if x.item == item] or [
        x.monthly for x in est.lines if x.item.startswith(item)
    ]
    assert len(found) == 1 and found[0] is not None, [x.item for x in est.lines]
    return found[0]


def test_multi_az_postgres_with_backups() -> None:
    db = res(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.r6g.xlarge",
        multiAz=True,
        allocatedStorage=100.0,
        storageType="gp3",
        backupRetentionPeriod=30.0,
    )
    est = cost.estimate([db], CostAssumptions(db_daily_change_percent=2))
    # 2 instances × 730 h × $0.451 = $658.46
    assert monthly(est, "Multi-AZ instance db.r6g.xlarge") == pytest.approx(658.46)
    # 100 GB × 2 copies × $0.115 = $23.00
    assert monthly(est, "Multi-AZ storage gp3") == pytest.approx(23.00)
    # beyond the free 100 GB: 100 GB × 2 %/day × 30 days = 60 GB × $0.095 = $5.70
    assert monthly(est, "backup storage") == pytest.approx(5.70)
    assert est.total == pytest.approx(687.16)


def test_read_replica_takes_storage_from_its_source_and_has_no_backup_charge() -> None:
    source = res(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.t4g.medium",
        allocatedStorage=50.0,
        storageType="gp3",
        identifier="webstack-db",
    )
    replica = res(
        "aws:rds/instance:Instance",
        "db-replica",
        instanceClass="db.t4g.medium",
        replicateSourceDb="webstack-db",
        storageType="gp3",
    )
    est = cost.estimate([source, replica], NO_TRAFFIC)
    replica_lines = {x.item: x.monthly for x in est.lines if x.resource == "db-replica"}
    # 730 h × $0.065 = $47.45; 50 GB × $0.115 = $5.75
    assert replica_lines == pytest.approx(
        {"read replica instance db.t4g.medium": 47.45, "read replica storage gp3": 5.75}
    )


def fargate_service(*, cpu: str, memory: str, arch: str, **service: Any) -> list[Resource]:
    """A task definition `api` and the service `api` running it (`service`: its inputs)."""
    task = res(
        "aws:ecs/taskDefinition:TaskDefinition",
        "api-task",
        family="api",
        cpu=cpu,
        memory=memory,
        runtimePlatform={"cpuArchitecture": arch},
    )
    return [
        task,
        res("aws:ecs/service:Service", "api", taskDefinition="arn:test:api-task", **service),
    ]


def test_autoscaled_arm_service_runs_the_assumed_tasks_within_its_bounds() -> None:
    task, service = fargate_service(
        cpu="1024", memory="2048", arch="ARM64", name="api", desiredCount=2.0
    )
    target = res(
        "aws:appautoscaling/target:Target",
        "api-scaling",
        minCapacity=2.0,
        maxCapacity=6.0,
        resourceId="service/cluster/api",
        scalableDimension="ecs:service:DesiredCount",
    )
    est = cost.estimate([task, service, target], CostAssumptions(average_scaled_tasks=4))
    # 4 tasks × 1 vCPU × 730 h × $0.03238 = $94.5496; 4 × 2 GB × 730 h × $0.00356 = $20.7904
    assert monthly(est, "Fargate ARM64 vCPU") == pytest.approx(94.5496)
    assert monthly(est, "Fargate ARM64 memory") == pytest.approx(20.7904)
    # Below minCapacity the service still runs its minimum: 2 × 730 × $0.03238 = $47.2748
    low = cost.estimate([task, service, target], CostAssumptions(average_scaled_tasks=0))
    assert monthly(low, "Fargate ARM64 vCPU") == pytest.approx(47.2748)


def shifting_service(**deployment: Any) -> list[Resource]:
    """A 2-task x86 service (1 vCPU, 2 GB) with the given deploymentConfiguration."""
    return fargate_service(
        cpu="1024",
        memory="2048",
        arch="X86_64",
        name="api",
        desiredCount=2.0,
        **({"deploymentConfiguration": deployment} if deployment else {}),
    )


@pytest.mark.parametrize(
    ("deployment", "minutes"),
    [
        (
            {
                "strategy": "CANARY",
                "bakeTimeInMinutes": "10",
                "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": "5"},
            },
            15,
        ),
        # 4 moves of 25 %, 3 waits of 4 minutes, no bake.
        (
            {
                "strategy": "LINEAR",
                "bakeTimeInMinutes": "0",
                "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": "4"},
            },
            12,
        ),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": "30"}, 30),
    ],
)
def test_a_shifting_deployment_pays_a_second_set_of_tasks(
    deployment: dict[str, Any], minutes: int
) -> None:
    est = cost.estimate(shifting_service(**deployment), CostAssumptions(deploys_per_month=40))
    # 2 more tasks for `minutes` x 40 deploys: 2 x minutes / 60 x 40 task-hours.
    hours = 2 * minutes / 60 * 40
    assert monthly(est, "deploy overlap, Fargate X86_64 vCPU") == pytest.approx(hours * 0.04048)
    assert monthly(est, "deploy overlap, Fargate X86_64 memory") == pytest.approx(
        hours * 2 * 0.004445
    )


def test_a_rolling_deployment_adds_no_overlap() -> None:
    for resources in (shifting_service(), shifting_service(strategy="ROLLING")):
        est = cost.estimate(resources, CostAssumptions(deploys_per_month=40))
        assert not [x for x in est.lines if "overlap" in x.item]


def test_the_second_target_group_is_shown_free_of_charge() -> None:
    alb = res("aws:lb/loadBalancer:LoadBalancer", "alb", loadBalancerType="application")
    forward = {"type": "forward", "forward": {"targetGroups": [{"arn": "a"}, {"arn": "b"}]}}
    weighted = res("aws:lb/listenerRule:ListenerRule", "rule", actions=[forward])
    plain = res("aws:lb/listenerRule:ListenerRule", "rule", actions=[{"targetGroupArn": "a"}])
    (line,) = [x for x in cost.estimate([alb, weighted], NO_TRAFFIC).lines if "second" in x.item]
    assert line.monthly == 0 and "LCU" in line.note
    assert not [x for x in cost.estimate([alb, plain], NO_TRAFFIC).lines if "second" in x.item]


def spot_service(**service: Any) -> list[Resource]:
    """A 0.5 vCPU / 1 GB X86_64 service with the given inputs (its capacity)."""
    return fargate_service(cpu="512", memory="1024", arch="X86_64", **service)


def test_fargate_spot_tasks_are_priced_at_the_spot_rate() -> None:
    strategy = [{"capacityProvider": "FARGATE_SPOT", "weight": 1.0}]
    est = cost.estimate(
        spot_service(desiredCount=2.0, capacityProviderStrategies=strategy), NO_TRAFFIC
    )
    # 2 tasks × 0.5 vCPU × 730 h × $0.01334053 = $9.7386; 2 × 1 GB × 730 h × $0.00146489 = $2.1387
    assert monthly(est, "Fargate Spot X86_64 vCPU") == pytest.approx(9.7385869)
    assert monthly(est, "Fargate Spot X86_64 memory") == pytest.approx(2.1387394)
    assert not [x for x in est.lines if x.item.startswith("Fargate X86_64")]


def test_a_mixed_strategy_places_the_base_first_then_by_weight() -> None:
    strategy = [
        {"capacityProvider": "FARGATE", "base": 1.0, "weight": 1.0},
        {"capacityProvider": "FARGATE_SPOT", "weight": 3.0},
    ]
    est = cost.estimate(
        spot_service(desiredCount=5.0, capacityProviderStrategies=strategy), NO_TRAFFIC
    )
    # 1 on-demand task as the base; the other 4 split 1:3.
    assert monthly(est, "Fargate X86_64 vCPU (2 × 0.5)") == pytest.approx(2 * 0.5 * 730 * 0.04048)
    spot = monthly(est, "Fargate Spot X86_64 vCPU (3 × 0.5)")
    assert spot == pytest.approx(3 * 0.5 * 730 * 0.01334053)


@pytest.mark.parametrize(
    ("inputs", "note"),
    [
        ({"launchType": "EC2"}, "launch type EC2"),
        ({"capacityProviderStrategies": [{"capacityProvider": "my-asg", "weight": 1.0}]}, "my-asg"),
    ],
)
def test_other_capacity_is_unpriced_and_named(inputs: dict[str, Any], note: str) -> None:
    est = cost.estimate(spot_service(desiredCount=1.0, **inputs), NO_TRAFFIC)
    assert [x.note for x in est.unpriced if note in x.note], est.unpriced


def test_arm64_has_no_spot_price() -> None:
    task, service = spot_service(
        desiredCount=1.0, capacityProviderStrategies=[{"capacityProvider": "FARGATE_SPOT"}]
    )
    task.inputs["runtimePlatform"] = {"cpuArchitecture": "ARM64"}
    est = cost.estimate([task, service], NO_TRAFFIC)
    assert [x.note for x in est.unpriced] == ["no Fargate Spot price for CPU architecture 'ARM64'"]
    # Without a weight (ECS's default, 0) the one provider still runs the task.
    task.inputs["runtimePlatform"] = {"cpuArchitecture": "X86_64"}
    est = cost.estimate([task, service], NO_TRAFFIC)
    assert monthly(est, "Fargate Spot X86_64 vCPU (1 × 0.5)") == pytest.approx(
        0.5 * 730 * 0.01334053
    )


def test_the_per_day_figure_is_24_of_the_months_hours() -> None:
    nat = res("aws:ec2/natGateway:NatGateway", "nat")
    est = cost.estimate([nat], NO_TRAFFIC)
    # A NAT gateway's 730 h × $0.045 = $32.85 a month is 24 h × $0.045 = $1.08 a day.
    assert est.per_day == pytest.approx(1.08)
    assert est.to_json()["perDay"] == pytest.approx(1.08)
    assert "per day  $1.08" in "\n".join(cost.render(est))


def _nat_instance(**inputs: Any) -> Resource:
    return res(
        "aws:ec2/instance:Instance",
        "nat-instance",
        **{
            "instanceType": "t4g.nano",
            "rootBlockDevice": {"volumeType": "gp3", "volumeSize": 8.0},
            "associatePublicIpAddress": True,
            **inputs,
        },
    )


def test_a_nat_instance_its_root_volume_and_its_public_address() -> None:
    est = cost.estimate([_nat_instance()], CostAssumptions(nat_gb_per_month=100))
    # 730 h × $0.0042 = $3.066
    assert monthly(est, "EC2 instance t4g.nano") == pytest.approx(3.066)
    # 8 GB × $0.08 = $0.64
    assert monthly(est, "root volume gp3") == pytest.approx(0.64)
    # 730 h × $0.005 = $3.65
    assert monthly(est, "public IPv4 address") == pytest.approx(3.65)
    # No per-GB processing charge, unlike a NAT gateway: the traffic changes nothing.
    assert est.total == pytest.approx(3.066 + 0.64 + 3.65)
    # $7.356 a month is $0.2418 a day, against a NAT gateway's $1.08 plus $0.12 for its address.
    assert est.per_day == pytest.approx(7.356 * 24 / 730)


def test_an_instance_without_a_public_address_pays_for_none() -> None:
    est = cost.estimate([_nat_instance(associatePublicIpAddress=False)], NO_TRAFFIC)
    assert not [x for x in est.lines if "IPv4" in x.item]
    assert est.total == pytest.approx(3.066 + 0.64)


@pytest.mark.parametrize(
    ("inputs", "unpriced"),
    [
        ({"instanceType": "x9.huge"}, "EC2 instance x9.huge"),
        ({"rootBlockDevice": {"volumeType": "gp3"}}, "root volume"),
        ({"rootBlockDevice": {"volumeType": "io2", "volumeSize": 8.0}}, "root volume"),
    ],
)
def test_what_the_instance_rule_cannot_price_is_named(inputs: dict, unpriced: str) -> None:
    est = cost.estimate([_nat_instance(**inputs)], NO_TRAFFIC)
    assert [x.item for x in est.unpriced] == [unpriced]


def test_valkey_nodes_are_priced_below_redis() -> None:
    redis = res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "cache",
        nodeType="cache.r7g.large",
        numCacheClusters=2.0,
        engine="redis",
    )
    valkey = res(
        "aws:elasticache/replicationGroup:ReplicationGroup",
        "cache",
        nodeType="cache.r7g.large",
        numCacheClusters=2.0,
        engine="valkey",
    )
    # 2 nodes × 730 h × $0.219 = $319.74; Valkey 20 % less = $255.792
    assert cost.estimate([redis], NO_TRAFFIC).total == pytest.approx(319.74)
    assert cost.estimate([valkey], NO_TRAFFIC).total == pytest.approx(255.792)


def test_alb_lcus_and_public_addresses() -> None:
    alb = res(
        "aws:lb/loadBalancer:LoadBalancer",
        "alb",
        loadBalancerType="application",
        internal=False,
        subnets=["subnet-a", "subnet-b"],
    )
    est = cost.estimate([alb], CostAssumptions(api_requests_per_month=100e6, api_gb_per_month=500))
    # 730 h × $0.0225 = $16.425
    assert monthly(est, "ALB") == pytest.approx(16.425)
    # 100M requests / 2,628,000 s = 38.05 new connections/s / 25 = 1.522 LCU (above the
    # 500 GB / 730 h = 0.68 GB/h dimension) × 730 h × $0.008 = $8.8889
    assert monthly(est, "ALB LCUs") == pytest.approx(8.8889, rel=1e-4)
    # two AZs, two public IPv4 addresses: 2 × 730 × $0.005 = $7.30
    assert monthly(est, "ALB public IPv4") == pytest.approx(7.30)


def test_usage_is_split_over_the_resources_that_carry_it() -> None:
    nats = [res("aws:ec2/natGateway:NatGateway", f"nat-{az}") for az in "ab"]
    est = cost.estimate(nats, CostAssumptions(nat_gb_per_month=100))
    # each: 730 h × $0.045 = $32.85, plus 50 GB × $0.045 = $2.25
    assert est.total == pytest.approx(2 * (32.85 + 2.25))


def test_log_storage_follows_retention() -> None:
    logs = res("aws:cloudwatch/logGroup:LogGroup", "logs", retentionInDays=30.0)
    est = cost.estimate([logs], CostAssumptions(log_gb_per_month=10))
    # 10 GB × $0.50 ingestion = $5.00; 10 GB × 30/30.4167 months × $0.03 = $0.2959
    assert monthly(est, "log ingestion") == pytest.approx(5.00)
    assert monthly(est, "log storage") == pytest.approx(0.2959, rel=1e-3)


def test_metric_math_alarm_bills_per_metric() -> None:
    metric = {
        "metricName": "HTTPCode_Target_5XX_Count",
        "namespace": "AWS/ApplicationELB",
        "period": 60.0,
        "stat": "Sum",
    }
    alarm = res(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        "errors",
        metricQueries=[
            {"id": "e", "metric": metric},
            {"id": "r", "metric": {**metric, "metricName": "RequestCount"}},
            {"id": "rate", "expression": "e / r", "returnData": True},
        ],
    )
    # two metrics read, the expression is free: 2 × $0.10
    assert cost.estimate([alarm], NO_TRAFFIC).total == pytest.approx(0.20)


def test_unknown_classes_and_types_are_reported_never_zero() -> None:
    db = res(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.x2iedn.32xlarge",
        allocatedStorage=20.0,
        storageType="gp3",
    )
    unknown = res("aws:ec2/transitGateway:TransitGateway", "hub")
    free = res("aws:ec2/vpc:Vpc", "vpc", cidrBlock="10.0.0.0/16")
    est = cost.estimate([db, unknown, free], NO_TRAFFIC)
    unpriced = {(x.resource, x.note) for x in est.unpriced}
    assert ("db", "instance class not in the price table") in unpriced
    assert ("hub", "no price rule for this type (tools/cost.py)") in unpriced
    assert [x.resource for x in est.lines] == ["db", "db", "hub"]  # nothing for the VPC
    assert "unpriced" in "\n".join(cost.render(est))


def test_lines_carry_their_top_level_component() -> None:
    component = Resource(**{**vars(res("webstack:data:Database", "database")), "custom": False})
    db = res(
        "aws:rds/instance:Instance",
        "database-instance",
        parent=component.urn,
        instanceClass="db.t4g.medium",
        allocatedStorage=20.0,
        storageType="gp3",
    )
    est = cost.estimate([component, db], NO_TRAFFIC)
    assert set(est.by_component()) == {"database"}


def test_reads_the_names_the_real_sdk_registers() -> None:
    """The same resources written with the pulumi-aws SDK, so the input names are real."""

    def program() -> dict[str, Any]:
        task = aws.ecs.TaskDefinition(
            "worker-task",
            family="worker",
            cpu="256",
            memory="512",
            requires_compatibilities=["FARGATE"],
            network_mode="awsvpc",
            container_definitions="[]",
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                cpu_architecture="X86_64", operating_system_family="LINUX"
            ),
        )
        aws.ecs.Service(
            "worker",
            cluster="cluster",
            task_definition=task.arn,
            desired_count=1,
            launch_type="FARGATE",
        )
        aws.elasticache.ReplicationGroup(
            "cache",
            description="cache",
            engine="valkey",
            node_type="cache.t4g.small",
            num_cache_clusters=2,
        )
        aws.rds.Instance(
            "db",
            instance_class="db.t4g.medium",
            engine="postgres",
            allocated_storage=20,
            storage_type="gp3",
            multi_az=False,
            backup_retention_period=7,
        )
        return {}

    evaluation: Evaluation = run_program("test", {"aws:region": "us-east-1"}, [], program)
    est = cost.estimate(evaluation.resources, CostAssumptions(db_daily_change_percent=10))
    assert not est.unpriced, est.unpriced
    # 0.25 vCPU × 730 h × $0.04048 = $7.3876; 0.5 GB × 730 h × $0.004445 = $1.622425
    assert monthly(est, "Fargate X86_64 vCPU") == pytest.approx(7.3876)
    assert monthly(est, "Fargate X86_64 memory") == pytest.approx(1.622425)
    # Valkey: 2 × 730 h × $0.032 × 0.8 = $37.376
    assert monthly(est, "valkey") == pytest.approx(37.376)
    # backups: 20 GB × 10 % × 7 days = 14 GB × $0.095 = $1.33
    assert monthly(est, "backup storage") == pytest.approx(1.33)


def test_every_resource_of_the_committed_stacks_is_priced(stack: Evaluation) -> None:
    """A new resource type needs a price rule (or a NO_CHARGE entry) in tools/cost.py."""
    est = cost.estimate(stack.resources, load_cost_assumptions(stack.stack))
    # The one known gap: Performance Insights retention beyond the free 7 days (prod keeps 31).
    gaps = [x for x in est.unpriced if not x.item.startswith("Performance Insights")]
    assert not gaps, [f"{x.item} ({x.resource}): {x.note}" for x in gaps]
    nats = stack.of_type("aws:ec2/natGateway:NatGateway")
    assert sum(1 for x in est.lines if x.item == "NAT gateway") == len(nats) > 0
    assert est.total > 0


def test_web_acl_rules_are_priced_from_rule_json() -> None:
    """The WebAcl component passes WAF's own JSON (`ruleJson`); `rules` is the typed form."""
    rules = [
        {"Name": "rate", "Statement": {"RateBasedStatement": {"Limit": 2000}}},
        *(
            {
                "Name": g,
                "Statement": {"ManagedRuleGroupStatement": {"VendorName": "AWS", "Name": g}},
            }
            for g in ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesBotControlRuleSet")
        ),
    ]
    acl = res("aws:wafv2/webAcl:WebAcl", "acl", scope="CLOUDFRONT", ruleJson=json.dumps(rules))
    est = cost.estimate([acl], CostAssumptions(cdn_requests_per_month=10_000_000))
    # $5 ACL + 3 rules × $1 + 10M requests × $0.60/M = $14.00
    assert monthly(est, "rules × 3") == pytest.approx(3.00)
    assert est.total == pytest.approx(14.00)
    assert [x.item for x in est.unpriced] == ["AWSManagedRulesBotControlRuleSet"]
    typed = res(
        "aws:wafv2/webAcl:WebAcl",
        "typed",
        rules=[{"name": "common", "statement": {"managedRuleGroupStatement": {"name": "X"}}}],
    )
    assert monthly(cost.estimate([typed], NO_TRAFFIC), "rules × 1") == pytest.approx(1.00)


def test_committed_web_acls_price_every_rule(stack: Evaluation) -> None:
    est = cost.estimate(stack.resources, load_cost_assumptions(stack.stack))
    for acl in stack.of_type("aws:wafv2/webAcl:WebAcl"):
        n = len(cost.waf_rules(acl))
        assert n >= 4  # the rate limit and three managed groups
        assert [x.item for x in est.lines if x.resource == acl.name and "rules" in x.item] == [
            f"rules × {n}"
        ]


def test_behind_cloudflare_the_cdn_acl_bills_its_extra_rule_and_the_ruleset_nothing() -> None:
    """Cloudflare's transform ruleset is outside the AWS bill (Transform Rules come with every
    plan): no line, not unpriced. The CDN ACL's rule that requires its header is $1 a month."""
    ev = edge_variant(
        "prod",
        cloudflareProxied=True,
        manageZoneSettings=True,
        ingress="cidrs",
        ingressCidrs=["173.245.48.0/20"],
    )
    est = cost.estimate(ev.resources, load_cost_assumptions("prod"))
    (ruleset,) = ev.of_type("cloudflare:index/ruleset:Ruleset")
    assert [x for x in (*est.lines, *est.unpriced) if x.resource == ruleset.name] == []
    acl = ev.one("aws:wafv2/webAcl:WebAcl", "frontend-waf-acl")
    assert len(cost.waf_rules(acl)) == 5  # the header rule, the rate limit, three groups
    assert monthly(est, "rules × 5") == pytest.approx(5.00)


def test_rds_managed_master_password_bills_a_secret() -> None:
    db = res(
        "aws:rds/instance:Instance",
        "db",
        instanceClass="db.t4g.micro",
        allocatedStorage=20.0,
        storageType="gp3",
        manageMasterUserPassword=True,
    )
    assert monthly(cost.estimate([db], NO_TRAFFIC), "RDS-managed master user secret") == (
        pytest.approx(0.40)
    )


def test_route53_checks_bill_the_base_and_each_option() -> None:
    checks = [
        res(CHECK, "https", type="HTTPS_STR_MATCH", fqdn="example.com", requestInterval=30.0),
        res(
            CHECK,
            "fast",
            type="HTTP",
            fqdn="example.com",
            requestInterval=10.0,
            measureLatency=True,
        ),
        res(CHECK, "calculated", type="CALCULATED"),
    ]
    est = cost.estimate(checks, NO_TRAFFIC)
    by_resource: dict[str, float] = {}
    for line in est.lines:
        by_resource[line.resource] = by_resource.get(line.resource, 0.0) + (line.monthly or 0.0)
    # The non-AWS-endpoint rate: $0.75 a check, $2.00 per option (HTTPS, string matching).
    assert by_resource["https"] == pytest.approx(0.75 + 2 * 2.00)
    # Plain HTTP, but the 10 s interval and latency graphs are options.
    assert by_resource["fast"] == pytest.approx(0.75 + 2 * 2.00)
    (unpriced,) = est.unpriced
    assert unpriced.resource == "calculated"


def test_the_committed_checks_are_priced(stack: Evaluation) -> None:
    est = cost.estimate(stack.resources, load_cost_assumptions(stack.stack))
    uptime = [line for line in est.lines if line.component == "uptime"]
    assert {line.resource for line in uptime} == {"uptime-api", "uptime-frontend"}
    assert sum(line.monthly or 0.0 for line in uptime) == pytest.approx(2 * 4.75)


def test_each_viewer_request_runs_one_cloudfront_function(stack: Evaluation) -> None:
    assumptions = load_cost_assumptions(stack.stack)
    est = cost.estimate(stack.resources, assumptions)
    invocations = [line for line in est.lines if line.item == "CloudFront Function invocations"]
    assert len(invocations) == 2
    assert sum(line.quantity for line in invocations) == pytest.approx(
        assumptions.cdn_requests_per_month / 1e6
    )
