"""Alarms and notifications in both stacks: what exists, what it is wired to, from which config.

Everything runs against the full program (`tools.mockcloud.evaluate`), so the alarms watch the
real load balancer, services, database, cache, CDN and migration function of each stack.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import Any

from components.alarm_catalog import AlarmThresholds
from components.data_alarms import db_connections, db_free_storage
from tests.helpers import config_of, evaluated
from tools.mockcloud import ACCOUNT_ID, Evaluation, Resource
from tools.stackfile import load_stack_config

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
PROVIDER = "pulumi:providers:aws"


def alarms_config(stack: str) -> dict[str, Any]:
    config, _ = load_stack_config(stack)
    return json.loads(config["webstack:alarms"])


def alarms(ev: Evaluation) -> dict[str, Resource]:
    """Alarms by the suffix of their name after `webstack-<env>-`."""
    prefix = f"webstack-{ev.stack}-"
    found = {r.inputs["name"].removeprefix(prefix): r for r in ev.of_type(ALARM)}
    assert len(found) == len(ev.of_type(ALARM)), "alarm names must be unique"
    return found


def region_of(ev: Evaluation, resource: Resource) -> str:
    providers = {p.urn: p for p in ev.of_type(PROVIDER)}
    provider = providers.get(resource.provider_urn)
    if provider is None:  # resources inherit the provider of their component
        parent = ev.by_urn(resource.parent)
        return region_of(ev, parent)
    return provider.inputs["region"]


def topics_by_arn(ev: Evaluation) -> dict[str, Resource]:
    return {t.outputs["arn"]: t for t in ev.of_type(TOPIC)}


# --- the set of alarms ---------------------------------------------------------------------

FIXED_ALARMS = {
    "api-5xx-rate",
    "api-unhealthy-hosts",
    "api-latency-p95-warning",
    "api-latency-p95-critical",
    "api-cpu",
    "api-memory",
    "api-running-tasks",
    "worker-cpu",
    "worker-memory",
    "worker-running-tasks",
    "db-cpu",
    "db-free-storage",
    "db-connections",
    "db-free-memory",
    "cdn-5xx-rate",
    "migration-errors",
    "scheduler-failures",
    "restore-check-failed",
    "api-unreachable",
    "frontend-unreachable",
    "api-certificate-expiry",
    "cdn-certificate-expiry",
}
# Alarms on metrics only us-east-1 has: CloudFront's, Route 53's, CloudFront's certificate.
US_EAST_1_ALARMS = {
    "cdn-5xx-rate",
    "api-unreachable",
    "frontend-unreachable",
    "cdn-certificate-expiry",
}
PER_NODE = ("cache-evictions", "cache-engine-cpu", "cache-memory")
# With a traffic-shifting deployment strategy: the second target group's alarms, and the
# one-minute latency rollback trigger of both groups.
SHIFTING_ALARMS = {
    "api-5xx-rate-alt",
    "api-unhealthy-hosts-alt",
    "api-latency-p95-warning-alt",
    "api-latency-p95-critical-alt",
    "api-release-latency-p95",
    "api-release-latency-p95-alt",
}


def fixed_alarms(ev: Evaluation) -> set[str]:
    shifting = config_of(ev).api.deployment.shifts_traffic
    return FIXED_ALARMS | (SHIFTING_ALARMS if shifting else set())


def test_every_signal_of_the_issue_has_its_alarm(stack: Evaluation) -> None:
    names = set(alarms(stack))
    assert names >= fixed_alarms(stack)
    indexed = names - fixed_alarms(stack)
    families: dict[str, list[int]] = {}
    for name in indexed:
        match = re.fullmatch(r"(.+)-(\d+)", name)
        assert match, f"unexpected alarm {name}"
        families.setdefault(match[1], []).append(int(match[2]))
    assert set(families) - {"db-replica-lag"} == set(PER_NODE)
    node_counts = {len(families[f]) for f in PER_NODE}
    assert len(node_counts) == 1, "every cache node gets all three cache alarms"
    for numbers in families.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))


def test_replica_lag_is_watched_only_where_replicas_exist(stack: Evaluation) -> None:
    lag = [r for n, r in alarms(stack).items() if n.startswith("db-replica-lag-")]
    assert len(lag) == config_of(stack).database.read_replicas
    assert all(r.inputs["metricName"] == "ReplicaLag" for r in lag)


def test_deployment_alarms_are_the_paging_alarms_not_copies(stack: Evaluation) -> None:
    component = stack.one("webstack:observability:DeploymentAlarms")
    children = {r.inputs["name"] for r in stack.children(component) if r.type == ALARM}
    rollback = {"api-5xx-rate", "api-unhealthy-hosts"}
    if config_of(stack).api.deployment.shifts_traffic:
        rollback |= {"api-release-latency-p95"}
        rollback |= {f"{key}-alt" for key in rollback}
    assert children == {f"webstack-{stack.stack}-{key}" for key in rollback}
    by_metric = [
        r for r in stack.of_type(ALARM) if r.inputs.get("metricName") == "UnHealthyHostCount"
    ]
    groups = stack.of_type("aws:lb/targetGroup:TargetGroup")
    assert len(by_metric) == len(groups), "one unhealthy-hosts alarm per target group"


# --- wiring --------------------------------------------------------------------------------


def test_every_alarm_tells_its_severity_topic_on_alarm_and_ok(stack: Evaluation) -> None:
    topics = topics_by_arn(stack)
    for name, alarm in alarms(stack).items():
        actions = alarm.inputs["alarmActions"]
        assert actions == alarm.inputs["okActions"] and len(actions) == 1, name
        topic = topics[actions[0]]
        severity = re.match(r"\[(critical|warning)\] ", alarm.inputs["alarmDescription"])
        assert severity, f"{name}: the description must open with its severity"
        assert topic.inputs["name"].endswith(f"-{severity[1]}"), name
        assert region_of(stack, topic) == region_of(stack, alarm), f"{name}: action crosses regions"


def target_group_suffixes(ev: Evaluation) -> set[str]:
    """The CloudWatch dimensions of the stack's API target groups (two when traffic shifts)."""
    return {tg.outputs["arnSuffix"] for tg in ev.of_type("aws:lb/targetGroup:TargetGroup")}


def test_alarms_watch_the_stacks_own_resources(stack: Evaluation) -> None:
    o = stack.outputs
    real = {
        "LoadBalancer": {o["albArnSuffix"]},
        "TargetGroup": target_group_suffixes(stack),
        "DBInstanceIdentifier": {
            r.outputs["identifier"] for r in stack.of_type("aws:rds/instance:Instance")
        },
        "CacheClusterId": set(o["cacheMemberClusterIds"]),
        "DistributionId": {o["distributionId"]},
        "Region": {"Global"},
        "FunctionName": {o["migrationFunctionName"], o["restoreCheckFunctionName"]},
        "ClusterName": {o["clusterName"]},
        "ServiceName": {s.inputs["name"] for s in stack.of_type("aws:ecs/service:Service")},
        "HealthCheckId": {o["apiHealthCheckId"], o["frontendHealthCheckId"]},
        "CertificateArn": {
            r.outputs["arn"] for r in stack.of_type("aws:acm/certificate:Certificate")
        },
    }
    watched: dict[str, set[str]] = {}
    for alarm in stack.of_type(ALARM):
        queries = alarm.inputs.get("metricQueries", [])
        for dims in [
            alarm.inputs.get("dimensions", {}),
            *(q["metric"].get("dimensions", {}) for q in queries if "metric" in q),
        ]:
            for key, value in dims.items():
                assert value in real[key], (alarm.inputs["name"], key, value)
                watched.setdefault(key, set()).add(value)
    assert watched == real, "every watched resource of the stack has its alarms"
    log_filter = stack.one("aws:cloudwatch/logMetricFilter:LogMetricFilter")
    assert log_filter.inputs["logGroupName"] == f"/ecs/webstack-{stack.stack}/worker"
    assert log_filter.inputs["logGroupName"] in {
        g.inputs["name"] for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")
    }


def test_every_alarm_says_what_to_do_and_how_to_read_gaps(stack: Evaluation) -> None:
    for name, alarm in alarms(stack).items():
        assert len(alarm.inputs["alarmDescription"]) > 60, name
        assert alarm.inputs["treatMissingData"] in ("notBreaching", "breaching", "missing")
    by_name = alarms(stack)
    assert by_name["api-running-tasks"].inputs["treatMissingData"] == "breaching"
    assert by_name["api-5xx-rate"].inputs["treatMissingData"] == "notBreaching"


def test_cloudfront_alarm_lives_in_us_east_1_with_a_topic_there(stack: Evaluation) -> None:
    cdn = alarms(stack)["cdn-5xx-rate"]
    assert cdn.inputs["namespace"] == "AWS/CloudFront"
    assert cdn.inputs["dimensions"]["Region"] == "Global"
    assert region_of(stack, cdn) == "us-east-1"


def test_outside_us_east_1_a_topic_pair_in_us_east_1_serves_cloudfront() -> None:
    ev = evaluated("staging", overrides={"aws:region": "eu-west-1"})
    by_region: dict[str, set[str]] = {}
    for topic in ev.of_type(TOPIC):
        severity = topic.inputs["name"].rsplit("-", 1)[1]
        by_region.setdefault(region_of(ev, topic), set()).add(severity)
    assert by_region == {"eu-west-1": {"critical", "warning"}, "us-east-1": {"critical", "warning"}}
    cdn = alarms(ev)["cdn-5xx-rate"]
    assert region_of(ev, topics_by_arn(ev)[cdn.inputs["alarmActions"][0]]) == "us-east-1"
    assert region_of(ev, alarms(ev)["db-cpu"]) == "eu-west-1"


# --- thresholds from config ----------------------------------------------------------------

THRESHOLD_KEYS = {
    "api-latency-p95-warning": "apiLatencyP95WarningSeconds",
    "api-latency-p95-critical": "apiLatencyP95CriticalSeconds",
    "api-5xx-rate": "api5xxRatePercent",
    "api-cpu": "ecsCpuPercent",
    "worker-cpu": "ecsCpuPercent",
    "api-memory": "ecsMemoryPercent",
    "worker-memory": "ecsMemoryPercent",
    "db-cpu": "dbCpuPercent",
    "cdn-5xx-rate": "cdn5xxRatePercent",
    "scheduler-failures": "schedulerFailures",
    "cache-evictions-1": "cacheEvictions",
    "cache-engine-cpu-1": "cacheCpuPercent",
    "cache-memory-1": "cacheMemoryPercent",
}


def test_thresholds_are_the_stack_config(stack: Evaluation) -> None:
    config = alarms_config(stack.stack)
    by_name = alarms(stack)
    for name, key in THRESHOLD_KEYS.items():
        assert by_name[name].inputs["threshold"] == config[key], name
    assert by_name["db-free-memory"].inputs["threshold"] == config["dbFreeMemoryMb"] * 1024**2
    if "db-replica-lag-1" in by_name:
        assert by_name["db-replica-lag-1"].inputs["threshold"] == config["dbReplicaLagSeconds"]


def test_a_changed_threshold_reaches_its_alarm() -> None:
    config = {**alarms_config("prod"), "ecsCpuPercent": 65, "apiLatencyP95CriticalSeconds": 3.5}
    by_name = alarms(evaluated("prod", overrides={"webstack:alarms": config}))
    assert by_name["api-cpu"].inputs["threshold"] == 65
    assert by_name["worker-cpu"].inputs["threshold"] == 65
    assert by_name["api-latency-p95-critical"].inputs["threshold"] == 3.5


def test_defaults_are_the_deployment_guide() -> None:
    d = AlarmThresholds()
    assert (d.api_latency_p95_warning_seconds, d.api_latency_p95_critical_seconds) == (1, 2)
    assert (d.api_5xx_rate_percent, d.ecs_cpu_percent, d.ecs_memory_percent) == (1, 80, 85)
    assert (d.db_free_storage_percent, d.db_connections_percent, d.scheduler_failures) == (
        20,
        80,
        3,
    )


def test_storage_and_connection_thresholds_are_shares_of_the_instance() -> None:
    t = AlarmThresholds(db_free_storage_percent=25, db_connections_percent=90)
    assert db_free_storage("db", 200, t).threshold == 50 * 2**30
    assert db_connections("db", 500, t).threshold == 450


def test_latency_is_p95_over_five_minutes(stack: Evaluation) -> None:
    for severity in ("warning", "critical"):
        alarm = alarms(stack)[f"api-latency-p95-{severity}"].inputs
        assert alarm["metricName"] == "TargetResponseTime"
        assert alarm["extendedStatistic"] == "p95" and "statistic" not in alarm
        assert alarm["period"] * alarm["evaluationPeriods"] == 300


def test_5xx_rate_is_metric_math_over_target_5xx_and_requests(stack: Evaluation) -> None:
    alarm = alarms(stack)["api-5xx-rate"].inputs
    queries = alarm["metricQueries"]
    expression = [q for q in queries if q.get("returnData")]
    assert len(expression) == 1 and "/" in expression[0]["expression"]
    min_requests = alarms_config(stack.stack)["api5xxMinRequests"]
    assert f">= {min_requests}" in expression[0]["expression"]
    metrics = {q["metric"]["metricName"] for q in queries if "metric" in q}
    assert metrics == {"HTTPCode_Target_5XX_Count", "RequestCount"}
    assert "metricName" not in alarm


def test_running_tasks_below_the_minimum_pages(stack: Evaluation) -> None:
    alarm = alarms(stack)["api-running-tasks"].inputs
    assert alarm["comparisonOperator"] == "LessThanThreshold"
    assert alarm["namespace"] == "ECS/ContainerInsights" and alarm["threshold"] >= 1


# --- scheduler log metric filter -----------------------------------------------------------


def test_failed_scheduler_runs_are_counted_from_the_worker_log(stack: Evaluation) -> None:
    log_filter = stack.one("aws:cloudwatch/logMetricFilter:LogMetricFilter").inputs
    assert log_filter["pattern"] == alarms_config(stack.stack)["schedulerFailurePattern"]
    assert log_filter["logGroupName"]
    metric = log_filter["metricTransformation"]
    alarm = alarms(stack)["scheduler-failures"].inputs
    assert (alarm["namespace"], alarm["metricName"]) == (metric["namespace"], metric["name"])
    assert alarm["statistic"] == "Sum" and alarm["comparisonOperator"].startswith(
        "GreaterThanOrEqual"
    )
    assert alarm["period"] * alarm["evaluationPeriods"] == 15 * 60
    assert alarm["threshold"] == 3


# --- notifications -------------------------------------------------------------------------


def test_topics_are_encrypted_with_a_rotating_key_publishers_may_use(stack: Evaluation) -> None:
    (key,) = [
        k
        for k in stack.descendants(
            stack.one("webstack:observability:Notifications", "notifications")
        )
        if k.type == "aws:kms/key:Key"
    ]
    assert key.inputs["enableKeyRotation"] is True
    assert key.protect is config_of(stack).protect
    statements = json.loads(key.inputs["policy"])["Statement"]
    services = {s for st in statements for s in st["Principal"].get("Service", [])}
    # Exactly the publishers the stack has: alarms, RDS event subscriptions, budgets and the
    # EventBridge rules of AWS Backup's failed jobs.
    assert services == {
        "cloudwatch.amazonaws.com",
        "events.rds.amazonaws.com",
        "budgets.amazonaws.com",
        "events.amazonaws.com",
    }
    assert not any(a in ("*", "kms:*") for st in statements for a in st["Action"])
    for topic in stack.of_type(TOPIC):
        assert topic.inputs["kmsMasterKeyId"] == key.outputs["arn"]


def test_topic_policies_admit_this_account_only_and_require_tls(stack: Evaluation) -> None:
    policies = stack.of_type("aws:sns/topicPolicy:TopicPolicy")
    assert {p.inputs["arn"] for p in policies} == set(topics_by_arn(stack))
    for policy in policies:
        statements = json.loads(policy.inputs["policy"])["Statement"]
        for st in statements:
            if st["Effect"] != "Allow":
                continue
            # Services publish only on this account's behalf; principals of the account are
            # admitted by their account, which the policy states rather than implies.
            key = "aws:SourceAccount" if "Service" in st["Principal"] else "aws:PrincipalAccount"
            assert st["Condition"] == {"StringEquals": {key: ACCOUNT_ID}}, st["Sid"]
        assert any(
            st["Effect"] == "Deny" and st["Condition"]["Bool"]["aws:SecureTransport"] == "false"
            for st in statements
        )


def test_email_subscribers_come_from_config(stack: Evaluation) -> None:
    config = alarms_config(stack.stack)
    topics = topics_by_arn(stack)
    subscribed: dict[str, set[str]] = {"critical": set(), "warning": set()}
    for sub in stack.of_type(SUBSCRIPTION):
        if sub.inputs["protocol"] == "email":
            severity = topics[sub.inputs["topic"]].inputs["name"].rsplit("-", 1)[1]
            subscribed[severity].add(sub.inputs["endpoint"])
    assert subscribed == {
        "critical": set(config["criticalEmails"]),
        "warning": set(config["warningEmails"]),
    }


def test_https_endpoint_is_subscribed_as_a_secret() -> None:
    url = f"https://events.pagerduty.com/integration/{secrets.token_urlsafe(16)}/enqueue"
    config = {**alarms_config("prod"), "criticalHttpsEndpoint": url}
    ev = evaluated("prod", secret_overrides={"webstack:alarms": config})
    https = [s for s in ev.of_type(SUBSCRIPTION) if s.inputs["protocol"] == "https"]
    assert len(https) == 1
    assert https[0].inputs["endpoint"] == url and "endpoint" in https[0].secret_inputs
    assert topics_by_arn(ev)[https[0].inputs["topic"]].inputs["name"].endswith("-critical")
    assert json.loads(https[0].inputs["deliveryPolicy"])["healthyRetryPolicy"]["numRetries"] > 3


# --- RDS events, budget, dashboard -----------------------------------------------------------


def test_rds_events_reach_the_topics(stack: Evaluation) -> None:
    topics = topics_by_arn(stack)
    routed: dict[str, set[str]] = {}
    for sub in stack.of_type("aws:rds/eventSubscription:EventSubscription"):
        assert sub.inputs["sourceType"] == "db-instance" and sub.inputs["sourceIds"]
        severity = topics[sub.inputs["snsTopic"]].inputs["name"].rsplit("-", 1)[1]
        routed.setdefault(severity, set()).update(sub.inputs["eventCategories"])
    assert {"failover", "failure", "low storage"} <= routed["critical"]
    assert "backup" in routed["warning"]


def test_monthly_budget_warns_at_80_and_100_percent_forecast_and_actual(stack: Evaluation) -> None:
    budget = stack.one("aws:budgets/budget:Budget").inputs
    assert (budget["budgetType"], budget["timeUnit"], budget["limitUnit"]) == (
        "COST",
        "MONTHLY",
        "USD",
    )
    assert float(budget["limitAmount"]) == alarms_config(stack.stack)["monthlyBudgetUsd"]
    warning = {a for a, t in topics_by_arn(stack).items() if t.inputs["name"].endswith("-warning")}
    notes = budget["notifications"]
    assert {(n["notificationType"], n["threshold"]) for n in notes} == {
        (kind, pct) for kind in ("FORECASTED", "ACTUAL") for pct in (80, 100)
    }
    assert all(n["thresholdType"] == "PERCENTAGE" for n in notes)
    assert all(set(n["subscriberSnsTopicArns"]) <= warning for n in notes)


def test_dashboard_shows_every_tier(stack: Evaluation) -> None:
    body = json.loads(stack.one("aws:cloudwatch/dashboard:Dashboard").inputs["dashboardBody"])
    widgets = body["widgets"]
    namespaces: set[str] = set()
    regions: dict[str, set[str]] = {}
    services: set[str] = set()
    for w in widgets:
        for row in w["properties"].get("metrics", []):
            if isinstance(row[0], str):
                namespaces.add(row[0])
                regions.setdefault(row[0], set()).add(w["properties"]["region"])
                if row[0] == "AWS/ECS":
                    services.add(row[row.index("ServiceName") + 1])
    assert {
        "AWS/ApplicationELB",
        "AWS/ECS",
        "ECS/ContainerInsights",
        "AWS/RDS",
        "AWS/ElastiCache",
        "AWS/CloudFront",
        "AWS/Lambda",
        f"webstack-{stack.stack}",
    } <= namespaces
    assert len(services) == 2, "both the api and the worker service are graphed"
    assert regions["AWS/CloudFront"] == {"us-east-1"}
    headers = {w["properties"]["markdown"] for w in widgets if w["type"] == "text"}
    assert headers >= {f"## {t}" for t in ("API", "Worker", "Database", "Cache", "CDN")}
    state, us_east_1 = [w for w in widgets if w["type"] == "alarm"]
    # Every alarm of the stack's region, the deployment alarms included; then us-east-1's.
    by_name = alarms(stack)
    regional = {a.outputs["arn"] for n, a in by_name.items() if n not in US_EAST_1_ALARMS}
    assert set(state["properties"]["alarms"]) == regional
    assert set(us_east_1["properties"]["alarms"]) == {
        by_name[n].outputs["arn"] for n in US_EAST_1_ALARMS
    }
    for w in widgets:
        assert w["x"] + w["width"] <= 24


def test_the_offline_plan_lists_each_alarm_with_its_threshold_and_severity(
    stack: Evaluation,
) -> None:
    from tools.plan import describe

    for alarm in stack.of_type(ALARM):
        line = describe(alarm)
        assert "threshold=" in line and "comparisonOperator=" in line, line
        assert re.search(r"alarmDescription=\[(critical|warning)\]", line), line
    https = evaluated(
        "prod",
        secret_overrides={
            "webstack:alarms": {
                **alarms_config("prod"),
                "warningHttpsEndpoint": (f"https://hooks.example.com/{secrets.token_urlsafe(16)}"),
            }
        },
    )
    (sub,) = [s for s in https.of_type(SUBSCRIPTION) if s.inputs["protocol"] == "https"]
    assert "endpoint=[secret]" in describe(sub)
