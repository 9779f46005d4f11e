"""ApiService in both committed stacks: image, cluster, tasks, rollouts, scaling, secrets, IAM,
and its wiring to the rest of the stack (migrations, deployment alarms, edge, database budget).

Everything runs against the full program (`tools.mockcloud.evaluate`); only the wiring guards of
the component itself are exercised in isolation.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any
from unittest.mock import Mock

import pulumi
import pulumi_random as random
import pytest

from components.app import ApiService, ApiServiceArgs, ApiServiceWiring
from components.app.workload import EXEC_AGENT_PATHS, MAX_STOP_TIMEOUT_SECONDS
from components.config import (
    GENERATED_SECRET_NAMES,
    POOL_BUDGET_SHARE,
    StackConfig,
)
from components.listener_rules import TrafficShiftRouting
from tests.helpers import committed, config_of, evaluated, parse, sg_id
from tests.unit.edge_helpers import edge_variant
from tools.mockcloud import Evaluation, Resource, run_program
from tools.plan import tree_lines

SERVICE = "aws:ecs/service:Service"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
SG = "aws:ec2/securityGroup:SecurityGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
EGRESS = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
TARGET = "aws:appautoscaling/target:Target"
POLICY = "aws:appautoscaling/policy:Policy"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
KMS_KEY = "aws:kms/key:Key"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
PASSWORD = "random:index/randomPassword:RandomPassword"


def fargate_accepts(cpu: int, memory: int) -> bool:
    """AWS's rule for Fargate task sizes (ECS RegisterTaskDefinition, `memory`), written from its
    documentation rather than taken from the table the config validates with."""
    if cpu == 256:
        return memory in (512, 1024, 2048)
    low, high, step = {
        512: (1024, 4096, 1024),
        1024: (2048, 8192, 1024),
        2048: (4096, 16384, 1024),
        4096: (8192, 30720, 1024),
        8192: (16384, 61440, 4096),
        16384: (32768, 122880, 8192),
    }[cpu]
    return low <= memory <= high and memory % step == 0


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


def logs_key(ev: Evaluation) -> list[Resource]:
    """The ApiService's own log-encryption key, where config asks for one."""
    return [k for k in ev.descendants(ev.one("webstack:app:ApiService")) if k.type == KMS_KEY]


def statements(policy: dict[str, Any], action: str) -> list[dict[str, Any]]:
    def actions(s: dict[str, Any]) -> list[str]:
        return [s["Action"]] if isinstance(s["Action"], str) else s["Action"]

    return [s for s in policy["Statement"] if action in actions(s)]


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


# ---------------------------------------------------------------------------------------------
# Image and cluster


def test_repository_scans_on_push_keeps_tags_immutable_and_expires_old_images(
    stack: Evaluation,
) -> None:
    repo = stack.one("aws:ecr/repository:Repository")
    assert repo.inputs["imageTagMutability"] == "IMMUTABLE"
    assert repo.inputs["imageScanningConfiguration"]["scanOnPush"] is True
    assert repo.protect == config_of(stack).protect
    lifecycle = stack.one("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    assert lifecycle.inputs["repository"] == repo.outputs["name"]
    rules = json.loads(lifecycle.inputs["policy"])["rules"]
    assert {r["selection"]["tagStatus"] for r in rules} == {"untagged", "any"}
    assert all(r["action"]["type"] == "expire" for r in rules)
    # AWS requires the tagStatus=any rule to have the lowest priority (highest number).
    assert max(rules, key=lambda r: r["rulePriority"])["selection"]["tagStatus"] == "any"


def test_both_services_run_the_configured_image_tag(stack: Evaluation) -> None:
    repo = stack.one("aws:ecr/repository:Repository")
    tag = config_of(stack).api.image_tag
    for name in ("api", "worker"):
        assert container(stack, name)["image"] == f"{repo.outputs['repositoryUrl']}:{tag}"


def test_cluster_has_container_insights(stack: Evaluation) -> None:
    cluster = stack.one("aws:ecs/cluster:Cluster")
    assert {"name": "containerInsights", "value": "enabled"} in cluster.inputs["settings"]
    assert all(s.inputs["cluster"] == cluster.outputs["arn"] for s in stack.of_type(SERVICE))


# ---------------------------------------------------------------------------------------------
# Tasks and networking


def test_tasks_are_fargate_sizes_from_config(stack: Evaluation) -> None:
    cfg = config_of(stack)
    sizes = {"api": (cfg.api.cpu, cfg.api.memory), "worker": (cfg.worker.cpu, cfg.worker.memory)}
    for name, (cpu, memory) in sizes.items():
        task = task_of(stack, service(stack, name))
        assert task.inputs["requiresCompatibilities"] == ["FARGATE"]
        assert task.inputs["networkMode"] == "awsvpc"
        assert (int(task.inputs["cpu"]), int(task.inputs["memory"])) == (cpu, memory)
        assert fargate_accepts(cpu, memory), (name, cpu, memory)
        assert task.inputs["runtimePlatform"] == {
            "operatingSystemFamily": "LINUX",
            "cpuArchitecture": cfg.api.cpu_architecture,
        }
    assert (cfg.api.cpu, cfg.api.memory) == (512, 1024)  # the guide's size


def test_services_run_in_private_subnets_without_public_ips(stack: Evaluation) -> None:
    private = {
        r.id
        for r in stack.of_type("aws:ec2/subnet:Subnet")
        if r.inputs["tags"]["tier"] == "private"
    }
    for name, workload in (("api", "api"), ("worker", "worker")):
        svc = service(stack, name)
        net = svc.inputs["networkConfiguration"]
        assert net["assignPublicIp"] is False
        assert set(net["subnets"]) == private
        assert net["securityGroups"] == [sg_id(stack, f"workloads-{workload}")]
        assert svc.inputs["launchType"] == "FARGATE"


def test_api_security_group_admits_only_the_load_balancer_on_the_port(stack: Evaluation) -> None:
    port = config_of(stack).api.port
    api_sg, worker_sg = sg_id(stack, "workloads-api"), sg_id(stack, "workloads-worker")
    (rule,) = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == api_sg]
    assert rule["referencedSecurityGroupId"] == sg_id(stack, "load-balancer-sg")
    assert (rule["ipProtocol"], rule["fromPort"], rule["toPort"]) == ("tcp", port, port)
    assert "cidrIpv4" not in rule and "cidrIpv6" not in rule
    assert not [r for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == worker_sg]


def test_workload_egress_is_https_postgres_and_redis_only(stack: Evaluation) -> None:
    expected = {
        ("tcp", 443, 443, "0.0.0.0/0"),
        ("tcp", 5432, 5432, sg_id(stack, "database-sg")),
        ("tcp", 6379, 6379, sg_id(stack, "cache-sg")),
    }
    for workload in ("api", "worker"):
        sg = sg_id(stack, f"workloads-{workload}")
        rules = {
            (
                r.inputs["ipProtocol"],
                r.inputs["fromPort"],
                r.inputs["toPort"],
                r.inputs.get("cidrIpv4") or r.inputs.get("referencedSecurityGroupId"),
            )
            for r in stack.of_type(EGRESS)
            if r.inputs["securityGroupId"] == sg
        }
        assert rules == expected, workload
        # The group itself carries no inline rules that would bypass these.
        group = next(r for r in stack.of_type(SG) if r.id == sg)
        assert not group.inputs.get("ingress") and not group.inputs.get("egress")


def test_api_is_registered_in_the_target_group_and_drains_like_it(stack: Evaluation) -> None:
    port = config_of(stack).api.port
    (registered,) = service(stack, "api").inputs["loadBalancers"]
    tg = stack.one("aws:lb/targetGroup:TargetGroup", "load-balancer-api")
    # The second target group of a traffic-shifting strategy: test_deployment_strategies.py.
    lb = {k: v for k, v in registered.items() if k != "advancedConfiguration"}
    shifting = "advancedConfiguration" in registered
    assert shifting == config_of(stack).api.deployment.shifts_traffic
    assert lb == {
        "targetGroupArn": tg.outputs["arn"],
        "containerName": "api",
        "containerPort": port,
    }
    assert container(stack, "api")["portMappings"][0]["containerPort"] == port
    delay = int(tg.inputs["deregistrationDelay"])
    assert container(stack, "api")["stopTimeout"] == min(delay, MAX_STOP_TIMEOUT_SECONDS)
    assert "loadBalancers" not in service(stack, "worker").inputs


def test_containers_are_hardened(stack: Evaluation) -> None:
    for name in ("api", "worker"):
        c = container(stack, name)
        assert c["readonlyRootFilesystem"] is True
        assert c["linuxParameters"]["initProcessEnabled"] is True
        assert "privileged" not in c


# ---------------------------------------------------------------------------------------------
# Rollouts and capacity


def test_rollouts_are_zero_downtime_and_roll_back(stack: Evaluation) -> None:
    for name in ("api", "worker"):
        svc = service(stack, name).inputs
        assert svc["deploymentMinimumHealthyPercent"] == 100
        assert svc["deploymentMaximumPercent"] == 200
        assert svc["deploymentCircuitBreaker"] == {"enable": True, "rollback": True}
        assert svc["waitForSteadyState"] is True
    api = service(stack, "api").inputs
    assert api["healthCheckGracePeriodSeconds"] == (
        config_of(stack).api.health_check_grace_period_seconds
    )
    assert api["healthCheckGracePeriodSeconds"] > 0


def test_deployment_alarms_watch_5xx_rate_and_unhealthy_hosts(stack: Evaluation) -> None:
    alarms = service(stack, "api").inputs["alarms"]
    assert alarms["enable"] is True and alarms["rollback"] is True
    by_name = {r.inputs["name"]: r for r in stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")}
    assert set(alarms["alarmNames"]) <= set(by_name), "every named alarm exists in the stack"
    watched = json.dumps([by_name[n].inputs for n in alarms["alarmNames"]])
    assert "HTTPCode_Target_5XX_Count" in watched
    assert "UnHealthyHostCount" in watched


def test_api_autoscaling_owns_the_count(stack: Evaluation) -> None:
    cfg = config_of(stack).api
    svc = service(stack, "api")
    assert svc.inputs["desiredCount"] == cfg.min_capacity
    assert "desiredCount" in svc.options["ignoreChanges"]
    cluster = stack.one("aws:ecs/cluster:Cluster").inputs["name"]
    (target,) = [
        r for r in stack.of_type(TARGET) if r.inputs["resourceId"] == f"service/{cluster}/api"
    ]
    assert target.inputs["scalableDimension"] == "ecs:service:DesiredCount"
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (
        cfg.min_capacity,
        cfg.max_capacity,
    )
    if stack.stack == "prod":
        assert (cfg.min_capacity, cfg.max_capacity) == (2, 10)
    tracking = {
        p.inputs["targetTrackingScalingPolicyConfiguration"]["predefinedMetricSpecification"][
            "predefinedMetricType"
        ]: p.inputs["targetTrackingScalingPolicyConfiguration"]
        for p in stack.of_type(POLICY)
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


def test_worker_runs_the_schedulers_at_its_configured_count(stack: Evaluation) -> None:
    cfg = config_of(stack).worker
    svc = service(stack, "worker")
    assert svc.inputs["desiredCount"] == cfg.desired_count >= 1
    assert container(stack, "worker")["command"] == list(cfg.command) == ["npm", "run", "worker"]
    assert "portMappings" not in container(stack, "worker")
    assert env(stack, "worker")["RUN_SCHEDULERS"] == "true"
    cluster = stack.one("aws:ecs/cluster:Cluster").inputs["name"]
    worker_targets = [
        r for r in stack.of_type(TARGET) if r.inputs["resourceId"] == f"service/{cluster}/worker"
    ]
    # Without autoscaling, config owns the count and Pulumi keeps enforcing it.
    assert not worker_targets
    assert "desiredCount" not in svc.options["ignoreChanges"]


def test_worker_autoscaling_is_optional() -> None:
    base = committed("staging", "worker")
    ev = evaluated("staging", {"webstack:worker": {**base, "desiredCount": 1, "maxCapacity": 3}})
    (target,) = [r for r in ev.of_type(TARGET) if r.inputs["resourceId"].endswith("/worker")]
    assert (target.inputs["minCapacity"], target.inputs["maxCapacity"]) == (1, 3)
    assert "desiredCount" in service(ev, "worker").options["ignoreChanges"]


# ---------------------------------------------------------------------------------------------
# Environment, secrets and the database connection budget


def test_api_plain_environment(stack: Evaluation) -> None:
    cfg = config_of(stack)
    api = env(stack, "api")
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
    assert api["DB_APPLICATION_NAME"] != env(stack, "worker")["DB_APPLICATION_NAME"]
    for name, value in cfg.api.environment.items():
        assert api[name] == value and env(stack, "worker")[name] == value


def test_secrets_arrive_only_through_value_from(stack: Evaluation) -> None:
    secret_arns = {r.outputs["arn"] for r in stack.of_type("aws:secretsmanager/secret:Secret")}
    for name in ("api", "worker"):
        c = container(stack, name)
        injected = {s["name"]: s["valueFrom"] for s in c["secrets"]}
        assert set(GENERATED_SECRET_NAMES) <= set(injected)
        assert set(injected.values()) <= secret_arns
        plain = {e["name"]: e["value"] for e in c["environment"]}
        generated = [p.outputs["result"] for p in stack.of_type(PASSWORD)]
        assert not [n for n, v in plain.items() if any(g in v for g in generated)], plain
        assert not set(plain) & set(injected)
        assert not set(plain.values()) & secret_arns


def test_pool_fits_the_database_connection_budget(stack: Evaluation) -> None:
    cfg = config_of(stack)
    pool = int(env(stack, "api")["DB_MAX_POOL_SIZE"])
    assert env(stack, "worker")["DB_MAX_POOL_SIZE"] == str(pool)
    tasks = cfg.api.max_capacity + cfg.worker.max_capacity
    db_max_connections = stack.outputs["databaseMaxConnections"]
    assert tasks * pool <= POOL_BUDGET_SHARE * db_max_connections
    assert max(2, cfg.api.db_min_pool_size) <= pool <= cfg.api.db_max_pool_size


# ---------------------------------------------------------------------------------------------
# IAM


def test_execution_role_reads_exactly_the_injected_secrets(stack: Evaluation) -> None:
    repo = stack.one("aws:ecr/repository:Repository")
    keys = {r.outputs["arn"] for r in stack.of_type("aws:kms/key:Key")}
    secrets_keys = {r.inputs["kmsKeyId"] for r in stack.of_type("aws:secretsmanager/secret:Secret")}
    for name in ("api", "worker"):
        svc, c = service(stack, name), container(stack, name)
        policy = role_policy(stack, task_of(stack, svc).inputs["executionRoleArn"])
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
            next(g.outputs["arn"] for g in stack.of_type(LOG_GROUP) if g.inputs["name"] == group)
            + ":log-stream:*"
        ]
        for statement in policy["Statement"]:
            assert statement["Effect"] == "Allow"
            assert not [a for a in as_list(statement["Action"]) if "*" in a]
            if statement["Resource"] == "*":
                assert statement["Action"] == "ecr:GetAuthorizationToken"


def test_task_roles_are_least_privilege_and_exec_follows_config(stack: Evaluation) -> None:
    exec_on = config_of(stack).api.enable_execute_command
    assert exec_on is (stack.stack != "prod")  # off in prod
    attachments = stack.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    for name in ("api", "worker"):
        svc = service(stack, name)
        task = task_of(stack, svc)
        assert svc.inputs["enableExecuteCommand"] is exec_on
        role = next(
            r
            for r in stack.of_type("aws:iam/role:Role")
            if r.outputs["arn"] == task.inputs["taskRoleArn"]
        )
        trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
        assert trust["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert not [a for a in attachments if a.inputs["role"] == role.id]
        policies = [r for r in stack.of_type(ROLE_POLICY) if r.inputs["role"] == role.id]
        if not exec_on:
            assert policies == []
            continue
        (policy,) = policies
        exec_logs = stack.one(LOG_GROUP, "app-exec-logs")
        for statement in json.loads(policy.inputs["policy"])["Statement"]:
            actions = as_list(statement["Action"])
            if statement["Resource"] == "*":
                # Only what has no resource-level permissions may name every resource.
                assert all(a.startswith("ssmmessages:") for a in actions) or actions == [
                    "logs:DescribeLogGroups"
                ], statement
            else:
                assert all(a.startswith("logs:") for a in actions), statement
                assert {r.split(":log-stream:")[0] for r in statement["Resource"]} == {
                    exec_logs.outputs["arn"]
                }


# ---------------------------------------------------------------------------------------------
# Logs and ordering


def test_one_log_group_per_service_with_retention_and_configured_kms(stack: Evaluation) -> None:
    cfg = config_of(stack)
    groups = {g.inputs["name"]: g for g in stack.of_type(LOG_GROUP)}
    logs_keys = logs_key(stack)
    for name in ("api", "worker"):
        group = groups[f"/ecs/webstack-{stack.stack}/{name}"]
        assert group.inputs["retentionInDays"] == cfg.api.log_retention_days
        options = container(stack, name)["logConfiguration"]["options"]
        assert options["awslogs-group"] == group.inputs["name"]
        if cfg.api.logs_kms_key:
            (key,) = logs_keys
            assert group.inputs["kmsKeyId"] == key.outputs["arn"]
        else:
            assert "kmsKeyId" not in group.inputs
            assert logs_keys == []
    assert cfg.api.logs_kms_key is (stack.stack == "prod")


def test_logs_key_rotates_and_serves_only_these_log_groups(
    evaluations: dict[str, Evaluation],
) -> None:
    (key,) = logs_key(evaluations["prod"])
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is True
    (logs,) = [
        s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]
    ]
    assert logs["Principal"]["Service"] == "logs.us-east-1.amazonaws.com"
    assert not [a for a in logs["Action"] if "*" in a]
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context.endswith(":log-group:/ecs/webstack-prod/*")


def test_logs_key_deletion_window_follows_config() -> None:
    api = {**committed("staging", "api"), "logsKmsKey": True}
    ev = evaluated("staging", overrides={"webstack:api": api})
    (key,) = logs_key(ev)
    assert key.inputs["deletionWindowInDays"] == 7
    assert key.protect is False


def test_services_wait_for_the_migration_run(stack: Evaluation) -> None:
    run = stack.one("aws:lambda/invocation:Invocation")
    assert stack.by_urn(run.parent).type == "webstack:data:MigrationJob"
    for name in ("api", "worker"):
        assert run.urn in service(stack, name).dependencies, name


def test_services_start_only_once_their_network_path_and_permissions_exist(
    stack: Evaluation,
) -> None:
    for name, workload in (("api", "api"), ("worker", "worker")):
        svc = service(stack, name)
        sg = sg_id(stack, f"workloads-{workload}")
        rules = {
            r.urn
            for r in [*stack.of_type(INGRESS), *stack.of_type(EGRESS)]
            if r.inputs["securityGroupId"] == sg
        }
        execution_role = task_of(stack, svc).inputs["executionRoleArn"]
        role = next(
            r for r in stack.of_type("aws:iam/role:Role") if r.outputs["arn"] == execution_role
        )
        policies = {r.urn for r in stack.of_type(ROLE_POLICY) if r.inputs["role"] == role.id}
        assert rules and rules <= set(svc.dependencies)
        assert policies and policies <= set(svc.dependencies)


def test_component_contract(stack: Evaluation) -> None:
    component = stack.one("webstack:app:ApiService")
    children = list(stack.descendants(component))
    assert {SERVICE, TASK, "aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster"} <= {
        c.type for c in children
    }
    assert all(c.name.startswith(f"{component.name}-") for c in children)
    assert stack.outputs["clusterName"] == f"webstack-{stack.stack}"
    assert {s.inputs["name"] for s in stack.of_type(SERVICE)} == {"api", "worker"}


# ---------------------------------------------------------------------------------------------
# Wiring to the rest of the stack


def test_deployment_rollback_watches_exactly_the_deployment_alarms(stack: Evaluation) -> None:
    component = stack.one("webstack:observability:DeploymentAlarms")
    # Registration order is not deterministic; the sets (and their sizes) are what matter.
    names = sorted(r.inputs["name"] for r in stack.children(component) if r.type == ALARM)
    assert names and sorted(service(stack, "api").inputs["alarms"]["alarmNames"]) == names
    assert sorted(stack.outputs["deploymentAlarmNames"]) == names
    assert "alarms" not in service(stack, "worker").inputs


def test_api_allows_exactly_the_edge_origins(stack: Evaluation) -> None:
    origins = list(config_of(stack).edge.allowed_origins)
    assert origins and env(stack, "api")["ALLOWED_ORIGINS"].split(",") == origins
    assert stack.outputs["allowedOrigins"] == origins


def test_services_reach_the_real_data_tier_and_it_admits_them(stack: Evaluation) -> None:
    for tier, port in (("database", 5432), ("cache", 6379)):
        admitted = {
            r.inputs["referencedSecurityGroupId"]
            for r in stack.of_type(INGRESS)
            if r.inputs["securityGroupId"] == sg_id(stack, f"{tier}-sg")
            and (r.inputs["fromPort"], r.inputs["toPort"]) == (port, port)
        }
        assert {sg_id(stack, "workloads-api"), sg_id(stack, "workloads-worker")} <= admitted, tier


# ---------------------------------------------------------------------------------------------
# The component's own guards, in isolation (they fire before anything is registered)


def isolated_args(
    cfg: StackConfig, forwarding: Sequence[pulumi.Resource] | None = None
) -> ApiServiceArgs:
    """ApiService's args for `cfg` with plain stand-in handles; `forwarding` stands in for the
    listener (a placeholder when the component is not run)."""
    arn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
    elb = "arn:aws:elasticloadbalancing:us-east-1:123456789012"
    wiring = ApiServiceWiring(
        private_subnet_ids=["subnet-private-a"],
        api_security_group_id="sg-api",
        worker_security_group_id="sg-worker",
        alb_security_group_id="sg-alb",
        database_security_group_id="sg-database",
        cache_security_group_id="sg-cache",
        target_group_arn=f"{elb}:targetgroup/x",
        target_group_forwarding=forwarding or [Mock(spec=pulumi.Resource)],
        secret_arns={name: f"{arn}{name}" for name in GENERATED_SECRET_NAMES},
        kms_key_arn="arn:aws:kms:us-east-1:123456789012:key/x",
        deployment_alarm_names=["webstack-staging-api-5xx-rate"],
        run_after=[],
        traffic_shift=TrafficShiftRouting(
            alternate_target_group_arn=f"{elb}:targetgroup/y",
            production_listener_rule_arn=f"{elb}:listener-rule/app/x/1/2/3",
        )
        if cfg.api.deployment.shifts_traffic
        else None,
    )
    return ApiServiceArgs(
        stack=cfg.stack_wide,
        api=cfg.api,
        worker=cfg.worker,
        edge=cfg.edge,
        secrets=cfg.secrets,
        pool_budget=cfg.pool_budget,
        wiring=wiring,
    )


def _wired(args: ApiServiceArgs, **changes: Any) -> ApiServiceArgs:
    return replace(args, wiring=replace(args.wiring, **changes))


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (
            lambda a: _wired(
                a,
                secret_arns={k: v for k, v in a.wiring.secret_arns.items() if k != "JWT_SECRET"},
            ),
            ("secret_arns lacks JWT_SECRET",),
        ),
        (lambda a: _wired(a, deployment_alarm_names=[]), ("deployment_alarm_names",)),
        (
            lambda a: _wired(a, secret_arns={**a.wiring.secret_arns, "PORT": a.wiring.kms_key_arn}),
            ("both set PORT",),
        ),
        (lambda a: replace(a, edge=replace(a.edge, allowed_origins=())), ("allowed_origins",)),
        (
            lambda a: _wired(a, target_group_forwarding=[]),
            ("target_group_forwarding", "listener"),
        ),
        # staging deploys BLUE_GREEN: ECS needs the second group and the rules.
        (lambda a: _wired(a, traffic_shift=None), ("traffic_shift is missing", "BLUE_GREEN")),
        (
            lambda a: replace(
                a, api=replace(a.api, deployment=replace(a.api.deployment, strategy="ROLLING"))
            ),
            ("traffic_shift is set", "ROLLING"),
        ),
    ],
)
def test_wiring_mistakes_are_rejected(
    change: Callable[[ApiServiceArgs], ApiServiceArgs], words: tuple[str, ...]
) -> None:
    with pytest.raises(ValueError, match="ApiService") as info:
        ApiService("app", change(isolated_args(parse("staging"))))
    assert all(w in str(info.value) for w in words)


def test_the_tasks_get_the_pool_size_as_config_computed_it() -> None:
    cfg = parse("prod")
    # A budget no arithmetic over this config gives: it can only arrive as it was handed in.
    budget = replace(cfg.pool_budget, db_max_pool_size=7)
    assert budget.db_max_pool_size != cfg.pool_budget.db_max_pool_size

    def program() -> dict[str, Any]:
        listener = random.RandomId("listener", byte_length=4)
        ApiService("app", replace(isolated_args(cfg, [listener]), pool_budget=budget))
        return {}

    ev = run_program("prod", {"aws:region": "us-east-1"}, [], program)
    assert {env(ev, name)["DB_MAX_POOL_SIZE"] for name in ("api", "worker")} == {"7"}


def test_offline_plan_shows_both_services(evaluations: dict[str, Evaluation]) -> None:
    plan = "\n".join(tree_lines(evaluations["prod"]))
    assert "aws:ecs/service:Service" in plan
    assert "name=api desiredCount=2 enableExecuteCommand=False" in plan
    assert "name=worker desiredCount=2 enableExecuteCommand=False" in plan
    assert "resourceId=service/webstack-prod/api minCapacity=2 maxCapacity=10" in plan


# ---------------------------------------------------------------------------------------------
# ECS Exec with a read-only root filesystem


def test_exec_agent_gets_writable_task_local_volumes_only_when_exec_is_on(
    stack: Evaluation,
) -> None:
    exec_on = config_of(stack).api.enable_execute_command
    for name in ("api", "worker"):
        mounts = {m["containerPath"]: m for m in container(stack, name)["mountPoints"]}
        volumes = {v["name"]: v for v in task_of(stack, service(stack, name)).inputs["volumes"]}
        # Every mount has a task-local volume: no host path, nothing shared with other tasks.
        assert {m["sourceVolume"] for m in mounts.values()} == set(volumes)
        assert all(set(v) == {"name"} for v in volumes.values())
        assert all(m["readOnly"] is False for m in mounts.values())
        agent_paths = set(EXEC_AGENT_PATHS.values())
        if exec_on:
            assert agent_paths <= set(mounts), name
        else:
            assert not agent_paths & set(mounts), name


def test_exec_sessions_are_logged_with_retention_and_the_logs_key(stack: Evaluation) -> None:
    cfg = config_of(stack)
    cluster = stack.one("aws:ecs/cluster:Cluster")
    exec_logs = [g for g in stack.of_type(LOG_GROUP) if g.name == "app-exec-logs"]
    if not cfg.api.enable_execute_command:
        assert exec_logs == [] and "configuration" not in cluster.inputs
        return
    (group,) = exec_logs
    assert group.inputs["retentionInDays"] == cfg.api.log_retention_days
    assert ("kmsKeyId" in group.inputs) is cfg.api.logs_kms_key
    settings = cluster.inputs["configuration"]["executeCommandConfiguration"]
    assert settings["logging"] == "OVERRIDE"
    assert settings["logConfiguration"]["cloudWatchLogGroupName"] == group.inputs["name"]
    assert settings["logConfiguration"]["cloudWatchEncryptionEnabled"] is cfg.api.logs_kms_key


def test_exec_with_the_logs_key_encrypts_the_session_log() -> None:
    api = {**committed("prod", "api"), "enableExecuteCommand": True}
    ev = evaluated("prod", overrides={"webstack:api": api})
    (key,) = logs_key(ev)
    group = ev.one(LOG_GROUP, "app-exec-logs")
    assert group.inputs["kmsKeyId"] == key.outputs["arn"]
    # The key's policy lets CloudWatch Logs use it for this group too.
    (logs,) = [
        s for s in json.loads(key.inputs["policy"])["Statement"] if "Service" in s["Principal"]
    ]
    pattern = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert group.inputs["name"].startswith(pattern.split(":log-group:")[1].rstrip("*"))
    settings = ev.one("aws:ecs/cluster:Cluster").inputs["configuration"]
    assert settings["executeCommandConfiguration"]["logConfiguration"][
        "cloudWatchEncryptionEnabled"
    ]


# ---------------------------------------------------------------------------------------------
# The API service waits for what forwards to its target group


def forwards_to(action: dict[str, Any], groups: set[str]) -> bool:
    """Whether a listener action forwards to one of `groups` (alone or weighted)."""
    weighted = {t["arn"] for t in (action.get("forward") or {}).get("targetGroups", [])}
    return action.get("targetGroupArn") in groups or bool(weighted & groups)


def forwarding_urns(ev: Evaluation) -> set[str]:
    """Listeners and rules whose action forwards to the API's target groups."""
    groups = {tg.outputs["arn"] for tg in ev.of_type("aws:lb/targetGroup:TargetGroup")}
    found = set()
    for r in ev.of_type("aws:lb/listener:Listener"):
        if any(forwards_to(a, groups) for a in r.inputs["defaultActions"]):
            found.add(r.urn)
    for r in ev.of_type("aws:lb/listenerRule:ListenerRule"):
        if any(forwards_to(a, groups) for a in r.inputs["actions"]):
            found |= {
                r.urn,
                next(
                    x.urn
                    for x in ev.of_type("aws:lb/listener:Listener")
                    if x.outputs["arn"] == r.inputs["listenerArn"]
                ),
            }
    return found


def test_api_service_waits_for_the_listener_forwarding_to_it(stack: Evaluation) -> None:
    forwarding = forwarding_urns(stack)
    assert forwarding and forwarding <= set(service(stack, "api").dependencies)


@pytest.mark.parametrize("stack_name", ["staging", "prod"])
def test_behind_cloudfront_the_api_service_waits_for_the_forwarding_rule(stack_name: str) -> None:
    ev = edge_variant(stack_name, ingress="cloudfront", apiViaCdn=True)
    rule = ev.one("aws:lb/listenerRule:ListenerRule", "load-balancer-from-cloudfront")
    forwarding = forwarding_urns(ev)
    assert rule.urn in forwarding
    assert forwarding <= set(service(ev, "api").dependencies)


# ---------------------------------------------------------------------------------------------
# The first deploy: no image yet


def without_image(stack_name: str) -> Evaluation:
    api = {k: v for k, v in committed(stack_name, "api").items() if k != "imageTag"}
    return evaluated(stack_name, overrides={"webstack:api": api})


@pytest.fixture(scope="module")
def first_deploy() -> Evaluation:
    """Staging (ECS Exec on) before its first image exists."""
    return without_image("staging")


def test_without_an_image_no_service_task_or_scaling_is_registered(
    first_deploy: Evaluation,
) -> None:
    ev = first_deploy
    assert config_of(ev).api.image_tag is None
    assert ev.of_type(SERVICE) == [] and ev.of_type(TASK) == []
    assert ev.of_type(TARGET) == [] and ev.of_type(POLICY) == []
    # Everything a first image needs is there: repository, cluster, roles, logs, network path.
    for t in ("aws:ecr/repository:Repository", "aws:ecs/cluster:Cluster"):
        assert ev.of_type(t), t
    groups = {g.inputs["name"] for g in ev.of_type(LOG_GROUP)}
    assert {"/ecs/webstack-staging/api", "/ecs/webstack-staging/worker"} <= groups
    assert any(
        r.inputs["securityGroupId"] == sg_id(ev, "workloads-api") for r in ev.of_type(INGRESS)
    )


def test_without_an_image_the_stack_says_how_to_deploy_the_first_one(
    first_deploy: Evaluation, evaluations: dict[str, Evaluation]
) -> None:
    instruction = first_deploy.outputs["firstDeploy"]
    assert first_deploy.outputs["repositoryUrl"] in instruction
    assert "pulumi config set --path api.imageTag" in instruction and "pulumi up" in instruction
    for released in evaluations.values():
        assert "firstDeploy" not in released.outputs


def test_without_an_image_ecs_alarms_and_graphs_wait_for_the_services(
    first_deploy: Evaluation, evaluations: dict[str, Evaluation]
) -> None:
    def ecs_alarms(ev: Evaluation) -> list[Resource]:
        return [a for a in ev.of_type(ALARM) if "ServiceName" in json.dumps(a.inputs)]

    def ecs_graphs(ev: Evaluation) -> str:
        body = ev.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"]
        return str(body)

    assert ecs_alarms(first_deploy) == [] and "ServiceName" not in ecs_graphs(first_deploy)
    assert ecs_alarms(evaluations["staging"]) and "ServiceName" in ecs_graphs(
        evaluations["staging"]
    )
    # What does not need the services still watches the stack.
    assert first_deploy.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    names = {a.inputs["name"] for a in first_deploy.of_type(ALARM)}
    assert set(first_deploy.outputs["deploymentAlarmNames"]) <= names
