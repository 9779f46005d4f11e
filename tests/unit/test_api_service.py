"""ApiService in both committed stacks: image, cluster, tasks, rollouts, scaling, secrets, IAM.

The upstream components (Secrets, Database, Cache, Edge, MigrationJob, Alarms) are not in this
branch yet, so `api_stacks` runs the real config, Network and WorkloadSecurityGroups plus
stand-ins of the upstream resources, then the real ApiService. Every assertion finds what it
checks by resource type and property, so it holds unchanged when the fixture becomes the full
stack (`evaluate(stack)`); only `DB_MAX_CONNECTIONS` must then come from the database.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.api_service import (
    MAX_STOP_TIMEOUT_SECONDS,
    POOL_BUDGET_SHARE,
    REQUIRED_SECRETS,
    ApiService,
    ApiServiceArgs,
    PoolBudgetError,
    db_max_pool_size,
)
from components.config import FARGATE_SIZES, StackConfig, looks_secret, parse_stack_config
from components.config import load_stack_config as load_program_config
from components.network import Network, NetworkArgs
from components.security_groups import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs
from components.stack import make_providers, region_availability_zones
from tools import stackfile
from tools.mockcloud import Evaluation, Resource, run_program
from tools.plan import tree_lines

STACKS = stackfile.stack_names()
DB_MAX_CONNECTIONS = 400
EXTERNAL_SECRETS = ("STRIPE_SECRET_KEY", "SENTRY_DSN")

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


# ---------------------------------------------------------------------------------------------
# The fixture: real config, network and workload groups; stand-ins for the upstream handles.


def _standins(cfg: StackConfig, network: Network, opts: pulumi.ResourceOptions) -> dict[str, Any]:
    """What Secrets, Database, Cache, Edge, MigrationJob and Alarms will hand to ApiService."""
    sg = {
        role: aws.ec2.SecurityGroup(
            f"standin-{role}-sg",
            vpc_id=network.vpc_id,
            description=f"stand-in {role}",
            tags={"Name": f"{cfg.name_prefix}-{role}"},
            opts=opts,
        ).id
        for role in ("alb", "database", "cache")
    }
    key = aws.kms.Key("standin-secrets-key", enable_key_rotation=True, opts=opts)
    secrets = {
        env: aws.secretsmanager.Secret(
            f"standin-{env.lower()}",
            name=f"{cfg.name_prefix}/{env.lower()}",
            kms_key_id=key.arn,
            opts=opts,
        ).arn
        for env in (*REQUIRED_SECRETS, *EXTERNAL_SECRETS)
    }
    target_group = aws.lb.TargetGroup(
        "standin-api-tg",
        port=cfg.api.port,
        protocol="HTTP",
        target_type="ip",
        vpc_id=network.vpc_id,
        deregistration_delay="30",
        opts=opts,
    )
    alarms = [
        aws.cloudwatch.MetricAlarm(
            "standin-target-5xx-rate",
            name=f"{cfg.name_prefix}-api-target-5xx-rate",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=3,
            threshold=5,
            metric_queries=[
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="errors",
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        metric_name="HTTPCode_Target_5XX_Count",
                        namespace="AWS/ApplicationELB",
                        period=60,
                        stat="Sum",
                    ),
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="requests",
                    metric=aws.cloudwatch.MetricAlarmMetricQueryMetricArgs(
                        metric_name="RequestCount",
                        namespace="AWS/ApplicationELB",
                        period=60,
                        stat="Sum",
                    ),
                ),
                aws.cloudwatch.MetricAlarmMetricQueryArgs(
                    id="rate", expression="100 * errors / requests", return_data=True
                ),
            ],
            opts=opts,
        ),
        aws.cloudwatch.MetricAlarm(
            "standin-unhealthy-hosts",
            name=f"{cfg.name_prefix}-api-unhealthy-hosts",
            comparison_operator="GreaterThanThreshold",
            evaluation_periods=2,
            threshold=0,
            metric_name="UnHealthyHostCount",
            namespace="AWS/ApplicationELB",
            period=60,
            statistic="Maximum",
            opts=opts,
        ),
    ]
    migrations = pulumi.ComponentResource(
        "webstack:migrations:MigrationJob", "standin-migrations", None, opts
    )
    run = aws.lambda_.Invocation(
        "standin-migrations-run",
        function_name=f"{cfg.name_prefix}-migrations",
        input="{}",
        opts=pulumi.ResourceOptions(parent=migrations),
    )
    return {
        "alb_security_group_id": sg["alb"],
        "database_security_group_id": sg["database"],
        "cache_security_group_id": sg["cache"],
        "target_group_arn": target_group.arn,
        "deregistration_delay_seconds": 30,
        "secret_arns": secrets,
        "kms_key_arn": key.arn,
        "deployment_alarm_names": [a.name for a in alarms],
        "run_after": [run],
    }


def build(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    db_max_connections: int = DB_MAX_CONNECTIONS,
    change: Callable[[dict[str, Any]], dict[str, Any]] = lambda upstream: upstream,
) -> Evaluation:
    """Run config, Network, workload groups, the stand-ins and ApiService for `stack`."""
    config, secret_keys = stackfile.load_stack_config(stack, overrides)

    def program() -> dict[str, Any]:
        cfg = load_program_config(region_availability_zones)
        in_region = pulumi.ResourceOptions(providers={"aws": make_providers(cfg).regional})
        network = Network(
            "network",
            NetworkArgs(
                name_prefix=cfg.name_prefix,
                cidr=cfg.network.cidr,
                availability_zones=cfg.availability_zones,
                nat_strategy=cfg.network.nat_strategy,
                interface_endpoints=cfg.network.interface_endpoints,
            ),
            opts=in_region,
        )
        workloads = WorkloadSecurityGroups(
            "workloads",
            WorkloadSecurityGroupsArgs(name_prefix=cfg.name_prefix, vpc_id=network.vpc_id),
            opts=in_region,
        )
        app = ApiService(
            "app",
            ApiServiceArgs(
                name_prefix=cfg.name_prefix,
                api=cfg.api,
                worker=cfg.worker,
                private_subnet_ids=network.private_subnet_ids,
                api_security_group_id=workloads.api,
                worker_security_group_id=workloads.worker,
                allowed_origins=[f"https://{cfg.domain}", f"https://www.{cfg.domain}"],
                db_max_connections=db_max_connections,
                protect=cfg.protect,
                **change(_standins(cfg, network, in_region)),
            ),
            opts=in_region,
        )
        return {
            "clusterName": app.cluster_name,
            "apiServiceName": app.api_service_name,
            "repositoryUrl": app.repository_url,
        }

    return run_program(stack, config, secret_keys, program)


@pytest.fixture(scope="module")
def api_stacks() -> dict[str, Evaluation]:
    return {stack: build(stack) for stack in STACKS}


@pytest.fixture(params=STACKS)
def ev(request: pytest.FixtureRequest, api_stacks: dict[str, Evaluation]) -> Evaluation:
    return api_stacks[request.param]


def stack_config(stack: str) -> StackConfig:
    """The stack's validated config, as the program saw it."""
    document = stackfile.load_stack_config(stack)[0]
    return parse_stack_config(
        stack,
        {k.split(":", 1)[1]: _decode(v) for k, v in document.items() if k.startswith("webstack:")},
        document.get("aws:region"),
        lambda region: [f"{region}{x}" for x in "abcdef"],
    )


def _decode(value: str) -> Any:
    return json.loads(value) if value[:1] in "{[" else value


# ---------------------------------------------------------------------------------------------
# Lookups by type and property


def service(ev: Evaluation, name: str) -> Resource:
    (found,) = [r for r in ev.of_type(SERVICE) if r.inputs["name"] == name]
    return found


def task_of(ev: Evaluation, svc: Resource) -> Resource:
    (found,) = [r for r in ev.of_type(TASK) if r.outputs["arn"] == svc.inputs["taskDefinition"]]
    return found


def container(ev: Evaluation, name: str) -> dict[str, Any]:
    (only,) = json.loads(task_of(ev, service(ev, name)).inputs["containerDefinitions"])
    return only


def env(ev: Evaluation, name: str) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container(ev, name)["environment"]}


def role_policy(ev: Evaluation, role_arn: str) -> dict[str, Any]:
    role = next(r for r in ev.of_type("aws:iam/role:Role") if r.outputs["arn"] == role_arn)
    (policy,) = [r for r in ev.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
    return json.loads(policy.inputs["policy"])


def sg_named(ev: Evaluation, suffix: str) -> str:
    (found,) = [r for r in ev.of_type(SG) if r.inputs["tags"]["Name"].endswith(f"-{suffix}")]
    return str(found.id)


def statements(policy: dict[str, Any], action: str) -> list[dict[str, Any]]:
    def actions(s: dict[str, Any]) -> list[str]:
        return [s["Action"]] if isinstance(s["Action"], str) else s["Action"]

    return [s for s in policy["Statement"] if action in actions(s)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------
# Image and cluster


def test_repository_scans_on_push_keeps_tags_immutable_and_expires_old_images(
    ev: Evaluation,
) -> None:
    repo = ev.one("aws:ecr/repository:Repository")
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.protect == stack_config(ev.stack).protect
    lifecycle = ev.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.inputs["repository"] == repo.outputs["name"]
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}
    assert all(r["action"]["type"] == "expire" for r in rules)
    # AWS requires the tagStatus=any rule to have the lowest priority (highest number).
    assert max(rules, key=lambda r: r["rulePriority"])["selection"]["tagStatus"] == "any"


def test_both_services_run_the_configured_image_tag(ev: Evaluation) -> None:
    repo = ev.one("aws:ecr/repository:Repository")
    tag = stack_config(ev.stack).api.image_tag
    for name in ("api", "worker"):
        assert container(ev, name)["image"] == f"{repo.outputs['repositoryUrl']}:{tag}"


def test_cluster_has_container_insights(ev: Evaluation) -> None:
    cluster = ev.one("aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
    assert all(s.inputs["cluster"] == cluster.outputs["arn"] for s in ev.of_type(SERVICE))


# ---------------------------------------------------------------------------------------------
# Tasks and networking


def test_tasks_are_fargate_sizes_from_config(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack)
    sizes = {"api": (cfg.api.cpu, cfg.api.memory), "worker": (cfg.worker.cpu, cfg.worker.memory)}
    for name, (cpu, memory) in sizes.items():
        task = task_of(ev, service(ev, name))
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
        assert task.inputs["networkMode"] == "awsvpc"
        assert (int(task.inputs["cpu"]), int(task.inputs["memory"])) == (cpu, memory)
        assert memory in FARGATE_SIZES[cpu]
        assert task.inputs["runtimePlatform"] == {
            "operatingSystemFamily": "LINUX",
            "cpuArchitecture": cfg.api.cpu_architecture,
        }
    assert (cfg.api.cpu, cfg.api.memory) == (512, 1024)  # the guide's size


def test_services_run_in_private_subnets_without_public_ips(ev: Evaluation) -> None:
    private = {
        r.id for r in ev.of_type("aws:ec2/subnet:Subnet") if r.inputs["tags"]["tier"] == "private"
    }
    for name, workload in (("api", "api"), ("worker", "worker")):
        svc = service(ev, name)
        net = svc.inputs["networkConfiguration"]
        assert net["assignPublicIp"] is False
        assert set(net["subnets"]) == private
        assert net["securityGroups"] == [sg_named(ev, workload)]
        assert svc.inputs["launchType"] == "FARGATE"


def test_api_security_group_admits_only_the_load_balancer_on_the_port(ev: Evaluation) -> None:
    port = stack_config(ev.stack).api.port
    api_sg, worker_sg = sg_named(ev, "api"), sg_named(ev, "worker")
    (rule,) = [r.inputs for r in ev.of_type(INGRESS) if r.inputs["securityGroupId"] == api_sg]
    assert rule["referencedSecurityGroupId"] == sg_named(ev, "alb")
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", port, port)
    assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
    assert not [r for r in ev.of_type(INGRESS) if r.inputs["securityGroupId"] == worker_sg]


def test_workload_egress_is_https_postgres_and_redis_only(ev: Evaluation) -> None:
    expected = {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 5432, 5432, sg_named(ev, "database")),
        ("tcp", 6379, 6379, sg_named(ev, "cache")),
    }
    for workload in ("api", "worker"):
        sg = sg_named(ev, workload)
        rules = {
            (
                r.inputs["ipProtocol"],
                r.inputs["fromPort"],
                r.inputs["toPort"],
                r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId"),
            )
            for r in ev.of_type(EGRESS)
            if r.inputs["securityGroupId"] == sg
        }
        assert rules == expected, workload
        # The group itself carries no inline rules that would bypass these.
        group = next(r for r in ev.of_type(SG) if r.id == sg)
        assert not group.inputs.get("ingress") and not group.inputs.get("egress")


def test_api_is_registered_in_the_target_group_and_drains_like_it(ev: Evaluation) -> None:
    port = stack_config(ev.stack).api.port
    (lb,) = service(ev, "api").inputs["loadBalancers"]
    (tg,) = [r for r in ev.of_type("aws:lb/targetGroup:TargetGroup")]
    assert lb == {
        "targetGroupArn": tg.outputs["arn"],
        "containerName": "api",
        "containerPort": port,
    }
    assert container(ev, "api")["portMappings"][0]["containerPort"] == port
    delay = int(tg.inputs["deregistrationDelay"])
    assert container(ev, "api")["stopTimeout"] == min(delay, MAX_STOP_TIMEOUT_SECONDS)
    assert "loadBalancers" not in service(ev, "worker").inputs


def test_containers_are_hardened(ev: Evaluation) -> None:
    for name in ("api", "worker"):
        c = container(ev, name)
        assert c["readonlyRootFilesystem"] is True
        assert c["linuxParameters"]["initProcessEnabled"] is True
        assert "privileged" not in c


# ---------------------------------------------------------------------------------------------
# Rollouts and capacity


def test_rollouts_are_zero_downtime_and_roll_back(ev: Evaluation) -> None:
    for name in ("api", "worker"):
        svc = service(ev, name).inputs
        assert svc["deploymentMinimumHealthyPercent"] == 100
        assert svc["deploymentMaximumPercent"] == 200
        assert svc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert svc["waitForSteadyState"] is True
    api = service(ev, "api").inputs
    assert api["healthCheckGracePeriodSeconds"] == (
        stack_config(ev.stack).api.health_check_grace_period_seconds
    )
    assert api["healthCheckGracePeriodSeconds"] > 0


def test_deployment_alarms_watch_5xx_rate_and_unhealthy_hosts(ev: Evaluation) -> None:
    alarms = service(ev, "api").inputs["alarms"]
    assert alarms["enable"] is True and alarms["rollback"] is True
    by_name = {r.inputs["name"]: r for r in ev.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms["alarmNames"]) <= set(by_name), "every named alarm exists in the stack"
    watched = json.dumps([by_name[n].inputs for n in alarms["alarmNames"]])
    assert "HTTPCode_Target_5XX_Count" in watched
    assert "UnHealthyHostCount" in watched


def test_api_autoscaling_owns_the_count(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack).api
    svc = service(ev, "api")
    assert svc.inputs["desiredCount"] == cfg.min_capacity
    assert "desiredCount" in svc.options["ignoreChanges"]
    cluster = ev.one("aws:ecs/cluster:Cluster").inputs["name"]
    (target,) = [
        r for r in ev.of_type(TARGET) if r.inputs["resourceId"] == f"service/{cluster}/api"
    ]
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (
        cfg.min_capacity,
        cfg.max_capacity,
    )
    if ev.stack == "prod":
        assert (cfg.min_capacity, cfg.max_capacity) == (2, 10)
    tracking = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: p.inputs["targetTrackingScalingPolicyConfiguration"]
        for p in ev.of_type(POLICY)
        if p.inputs["resourceId"] == target.inputs["resourceId"]
    }
    assert tracking["ECSServiceAverageCPUUtilization"]["targetValue"] == cfg.cpu_target_percent
    assert (
        tracking["ECSServiceAverageMemoryUtilization"]["targetValue"] == cfg.memory_target_percent
    )
    for policy in tracking.values():
        assert policy["scaleOutCooldown"] == cfg.scale_out_cooldown_seconds
        assert policy["scaleInCooldown"] == cfg.scale_in_cooldown_seconds
        assert policy["scaleOutCooldown"] < policy["scaleInCooldown"]
    assert (cfg.cpu_target_percent, cfg.memory_target_percent) == (70, 80)


def test_worker_runs_the_schedulers_at_its_configured_count(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack).worker
    svc = service(ev, "worker")
    assert svc.inputs["desiredCount"] == cfg.desired_count >= 1
    assert container(ev, "worker")["command"] == list(cfg.command) == ["npm", "run", "worker"]
    assert "portMappings" not in container(ev, "worker")
    assert env(ev, "worker")["RUN_SCHEDULERS"] == "true"
    cluster = ev.one("aws:ecs/cluster:Cluster").inputs["name"]
    worker_targets = [
        r for r in ev.of_type(TARGET) if r.inputs["resourceId"] == f"service/{cluster}/worker"
    ]
    # Without autoscaling, config owns the count and Pulumi keeps enforcing it.
    assert not worker_targets
    assert "desiredCount" not in svc.options["ignoreChanges"]


def test_worker_autoscaling_is_optional() -> None:
    base = stackfile_section("staging", "worker")
    ev = build("staging", {"webstack:worker": {**base, "desiredCount": 1, "maxCapacity": 3}})
    (target,) = [r for r in ev.of_type(TARGET) if r.inputs["resourceId"].endswith("/worker")]
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 3)
    assert "desiredCount" in service(ev, "worker").options["ignoreChanges"]


def stackfile_section(stack: str, section: str) -> dict[str, Any]:
    return dict(_decode(stackfile.load_stack_config(stack)[0][f"webstack:{section}"]))


# ---------------------------------------------------------------------------------------------
# Environment, secrets and the database connection budget


def test_api_plain_environment(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack)
    api = env(ev, "api")
    assert api["NODE_ENV"] == "production"
    assert api["PORT"] == str(cfg.api.port)
    assert api["ALLOWED_ORIGINS"].split(",") and all(
        o.startswith("https://") for o in api["ALLOWED_ORIGINS"].split(",")
    )
    assert api["LOG_LEVEL"] == cfg.api.log_level
    assert api["RUN_SCHEDULERS_IN_API"] == "false"
    assert api["SSL_REJECT_UNAUTHORIZED"] == "true"
    assert api["DB_MIN_POOL_SIZE"] == str(cfg.api.db_min_pool_size)
    assert api["DB_CONNECTION_TIMEOUT_MS"] == str(cfg.api.db_connection_timeout_ms)
    assert api["DB_STATEMENT_TIMEOUT_MS"] == str(cfg.api.db_statement_timeout_ms)
    assert api["DB_IDLE_IN_TRANSACTION_TIMEOUT_MS"] == str(
        cfg.api.db_idle_in_transaction_timeout_ms
    )
    assert api["DB_APPLICATION_NAME"] != env(ev, "worker")["DB_APPLICATION_NAME"]
    for name, value in cfg.api.environment.items():
        assert api[name] == value and env(ev, "worker")[name] == value


def test_secrets_arrive_only_through_value_from(ev: Evaluation) -> None:
    secret_arns = {r.outputs["arn"] for r in ev.of_type("aws:secretsmanager/secret:Secret")}
    for name in ("api", "worker"):
        c = container(ev, name)
        injected = {s["name"]: s["valueFrom"] for s in c["secrets"]}
        assert set(REQUIRED_SECRETS) <= set(injected)
        assert set(injected.values()) <= secret_arns
        plain = {e["name"]: e["value"] for e in c["environment"]}
        assert not [n for n in plain if looks_secret(n)], plain
        assert not set(plain) & set(injected)
        assert not set(plain.values()) & secret_arns


def test_pool_fits_the_database_connection_budget(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack)
    pool = int(env(ev, "api")["DB_MAX_POOL_SIZE"])
    assert env(ev, "worker")["DB_MAX_POOL_SIZE"] == str(pool)
    tasks = cfg.api.max_capacity + cfg.worker.max_capacity
    assert tasks * pool <= POOL_BUDGET_SHARE * DB_MAX_CONNECTIONS
    assert max(2, cfg.api.db_min_pool_size) <= pool <= cfg.api.db_max_pool_size


@pytest.mark.parametrize(
    ("connections", "api", "worker", "cap", "expected"),
    [
        (100, 10, 2, 50, 6),  # 80 // 12
        (400, 10, 2, 10, 10),  # 26 fit, capped at the configured maximum
        (100, 3, 1, 50, 20),  # 80 // 4
        (25, 8, 2, 10, 2),  # 20 // 10: exactly the minimum still works
    ],
)
def test_pool_size_arithmetic(
    connections: int, api: int, worker: int, cap: int, expected: int
) -> None:
    pool = db_max_pool_size(
        db_max_connections=connections,
        api_max_tasks=api,
        worker_max_tasks=worker,
        min_pool_size=0,
        max_pool_size=cap,
    )
    assert pool == expected
    assert (api + worker) * pool <= POOL_BUDGET_SHARE * connections


@pytest.mark.parametrize(("connections", "min_pool"), [(24, 0), (100, 8)])
def test_a_budget_below_the_minimum_pool_names_the_keys(connections: int, min_pool: int) -> None:
    with pytest.raises(PoolBudgetError) as info:
        db_max_pool_size(
            db_max_connections=connections,
            api_max_tasks=10,
            worker_max_tasks=2,
            min_pool_size=min_pool,
            max_pool_size=20,
        )
    message = str(info.value)
    for key in ("webstack:api.maxCapacity", "webstack:worker.maxCapacity", "dbMinPoolSize"):
        assert key in message
    assert f"({connections})" in message


def test_a_database_too_small_for_the_fleet_fails_the_program() -> None:
    with pytest.raises(PoolBudgetError):
        build("prod", db_max_connections=20)


# ---------------------------------------------------------------------------------------------
# IAM


def test_execution_role_reads_exactly_the_injected_secrets(ev: Evaluation) -> None:
    repo = ev.one("aws:ecr/repository:Repository")
    keys = {r.outputs["arn"] for r in ev.of_type("aws:kms/key:Key")}
    secrets_keys = {r.inputs["kmsKeyId"] for r in ev.of_type("aws:secretsmanager/secret:Secret")}
    for name in ("api", "worker"):
        svc, c = service(ev, name), container(ev, name)
        policy = role_policy(ev, task_of(ev, svc).inputs["executionRoleArn"])
        (read,) = statements(policy, "secretsmanager:GetSecretValue")
        assert sorted(as_list(read["Resource"])) == sorted(s["valueFrom"] for s in c["secrets"])
        (decrypt,) = statements(policy, "kms:Decrypt")
        assert as_list(decrypt["Resource"]) == [*secrets_keys] and secrets_keys <= keys
        assert decrypt["Condition"]["StringEquals"]["kms:ViaService"] == (
            "secretsmanager.us-east-1.amazonaws.com"
        )
        (pull,) = statements(policy, "ecr:BatchGetImage")
        assert pull["Resource"] == repo.outputs["arn"]
        (logs,) = statements(policy, "logs:PutLogEvents")
        group = c["logConfiguration"]["options"]["awslogs-group"]
        assert as_list(logs["Resource"]) == [
            next(g.outputs["arn"] for g in ev.of_type(LOG_GROUP) if g.inputs["name"] == group)
            + ":log-stream:*"
        ]
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not [a for a in as_list(statement["Action"]) if "*" in a]
            if statement["Resource"] == "*":
                assert statement["Action"] == "ecr:GetAuthorizationToken"


def test_task_roles_are_least_privilege_and_exec_follows_config(ev: Evaluation) -> None:
    exec_on = stack_config(ev.stack).api.enable_execute_command
    assert exec_on is (ev.stack != "prod")  # off in prod
    attachments = ev.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for name in ("api", "worker"):
        svc = service(ev, name)
        task = task_of(ev, svc)
        assert svc.inputs["enableExecuteCommand"] is exec_on
        role = next(
            r
            for r in ev.of_type("aws:iam/role:Role")
            if r.outputs["arn"] == task.inputs["taskRoleArn"]
        )
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert not [a for a in attachments if a.inputs["role"] == role.id]
        policies = [r for r in ev.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
        if not exec_on:
            assert policies == []
            continue
        (policy,) = policies
        actions = {a for s in json.loads(policy.inputs["policy"])["Statement"] for a in s["Action"]}
        assert actions and all(a.startswith("ssmmessages:") for a in actions)


# ---------------------------------------------------------------------------------------------
# Logs and ordering


def test_one_log_group_per_service_with_retention_and_configured_kms(ev: Evaluation) -> None:
    cfg = stack_config(ev.stack)
    groups = {g.inputs["name"]: g for g in ev.of_type(LOG_GROUP)}
    logs_keys = [k for k in ev.of_type("aws:kms/key:Key") if "logs." in k.inputs.get("policy", "")]
    for name in ("api", "worker"):
        group = groups[f"/ecs/webstack-{ev.stack}/{name}"]
        assert group.inputs["retentionInDays"] == cfg.api.log_retention_days
        options = container(ev, name)["logConfiguration"]["options"]
        assert options["awslogs-group"] == group.inputs["name"]
        if cfg.api.logs_kms_key:
            (key,) = logs_keys
            assert group.inputs["kmsKeyId"] == key.outputs["arn"]
        else:
            assert "kmsKeyId" not in group.inputs
    assert cfg.api.logs_kms_key is (ev.stack == "prod")


def test_logs_key_rotates_and_serves_only_these_log_groups() -> None:
    ev = build("prod")
    (key,) = [k for k in ev.of_type("aws:kms/key:Key") if "logs." in k.inputs.get("policy", "")]
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is True
    (logs,) = [
        s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]
    ]
    assert logs["Principal"]["Service"] == "logs.us-east-1.amazonaws.com"
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context.endswith(":log-group:/ecs/webstack-prod/*")


def test_services_wait_for_the_migration(ev: Evaluation) -> None:
    (job,) = [r for r in ev.resources if r.type.endswith(":MigrationJob")]
    migration = {r.urn for r in ev.descendants(job) if r.custom}
    for name in ("api", "worker"):
        assert migration & set(service(ev, name).dependencies), name


def test_services_start_only_once_their_network_path_and_permissions_exist(
    ev: Evaluation,
) -> None:
    for name, workload in (("api", "api"), ("worker", "worker")):
        svc = service(ev, name)
        sg = sg_named(ev, workload)
        rules = {
            r.urn
            for r in [*ev.of_type(INGRESS), *ev.of_type(EGRESS)]
            if r.inputs["securityGroupId"] == sg
        }
        execution_role = task_of(ev, svc).inputs["executionRoleArn"]
        role = next(
            r for r in ev.of_type("aws:iam/role:Role") if r.outputs["arn"] == execution_role
        )
        policies = {r.urn for r in ev.of_type(ROLE_POLICY) if r.inputs["role"] == role.id}
        assert rules and rules <= set(svc.dependencies)
        assert policies and policies <= set(svc.dependencies)


def test_component_contract(ev: Evaluation) -> None:
    component = ev.one("webstack:app:ApiService")
    children = list(ev.descendants(component))
    assert {SERVICE, TASK, "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster"} <= {
        c.type for c in children
    }
    assert all(c.name.startswith(f"{component.name}-") for c in children)
    assert ev.outputs["clusterName"] == f"webstack-{ev.stack}"
    assert ev.outputs["apiServiceName"] == "api"


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda a: {
                **a,
                "secret_arns": {k: v for k, v in a["secret_arns"].items() if k != "JWT_SECRET"},
            },
            ("secret_arns lacks JWT_SECRET",),
        ),
        (lambda a: {**a, "deployment_alarm_names": []}, ("deployment_alarm_names",)),
        (
            lambda a: {**a, "secret_arns": {**a["secret_arns"], "PORT": a["kms_key_arn"]}},
            ("both set PORT",),
        ),
    ],
)
def test_wiring_mistakes_are_rejected(
    change: Callable[[dict[str, Any]], dict[str, Any]], words: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="ApiService") as info:
        build("staging", change=change)
    assert all(w in str(info.value) for w in words)


def test_offline_plan_shows_both_services(api_stacks: dict[str, Evaluation]) -> None:
    plan = "\n".join(tree_lines(api_stacks["prod"]))
    assert "aws:ecs/service:Service" in plan
    assert "name=api desiredCount=2 enableExecuteCommand=False" in plan
    assert "name=worker desiredCount=2 enableExecuteCommand=False" in plan
    assert "resourceId=service/webstack-prod/api minCapacity=2 maxCapacity=10" in plan
