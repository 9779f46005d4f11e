"""Cache in both stacks: placement, access, encryption, failover, snapshots, REDIS_URL."""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from tests.helpers import committed, data_key_arn, evaluated
from tests.windows import overlaps
from tools.mockcloud import Evaluation

GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def group(ev: Evaluation) -> dict:
    return ev.one(GROUP).inputs


def auth_token(ev: Evaluation) -> str:
    token = ev.one("random:index/randomPassword:RandomPassword", "secrets-redis-auth-token")
    return str(token.outputs["result"])


def test_valkey_with_a_parameter_group_of_its_family(stack: Evaluation) -> None:
    g = group(stack)
    assert (g["engine"], g["engineVersion"]) == ("valkey", "8.0")
    params = stack.one("aws:elasticache/parameterGroup:ParameterGroup")
    assert params.inputs["family"] == "valkey8"
    assert params.name == "cache-params-valkey8" and "name" not in params.inputs
    assert params.inputs["parameters"] == [{"name": "maxmemory-policy", "value": "volatile-lru"}]
    assert g["parameterGroupName"] == params.outputs["name"]


def test_lives_in_isolated_subnets(stack: Evaluation) -> None:
    subnets = stack.one("aws:elasticache/subnetGroup:SubnetGroup")
    assert subnets.inputs["subnetIds"] == stack.outputs["isolatedSubnetIds"]
    assert group(stack)["subnetGroupName"] == subnets.outputs["name"]


def test_only_api_and_worker_reach_6379(stack: Evaluation) -> None:
    sg = stack.one("aws:ec2/securityGroup:SecurityGroup", "cache-sg")
    assert group(stack)["securityGroupIds"] == [sg.id] == [stack.outputs["cacheSecurityGroupId"]]
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress")
    rules = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    clients = {
        stack.one("aws:ec2/securityGroup:SecurityGroup", f"workloads-{w}").id
        for w in ("api", "worker")
    }
    assert {r["referencedSecurityGroupId"] for r in rules} == clients
    assert all((r["ipProtocol"], r["fromPort"], r["toPort"]) == ("tcp", 6379, 6379) for r in rules)


def test_data_tier_security_groups_never_open_to_the_internet(stack: Evaluation) -> None:
    data_sgs = {
        stack.one("aws:ec2/securityGroup:SecurityGroup", name).id
        for name in ("database-sg", "cache-sg")
    }
    rules = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] in data_sgs]
    assert rules
    assert all(r.get("cidrIpv4") is None and r.get("cidrIpv6") is None for r in rules)
    egress = "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule"
    assert not [r for r in stack.of_type(egress) if r.inputs["securityGroupId"] in data_sgs]


def test_encrypted_in_transit_and_at_rest_with_an_auth_token(stack: Evaluation) -> None:
    resource = stack.one(GROUP)
    g = resource.inputs
    assert g["transitEncryptionEnabled"] is True
    assert g["transitEncryptionMode"] == "required"
    assert g["atRestEncryptionEnabled"] is True
    assert g["kmsKeyId"] == data_key_arn(stack)
    assert "authToken" in resource.secret_inputs
    assert g["authToken"] == auth_token(stack)
    assert not set(g["authToken"]) & set('@"/ ')


def test_prod_fails_over_across_azs_staging_may_run_one_node(stack: Evaluation) -> None:
    g = group(stack)
    if stack.stack == "prod":
        assert g["numCacheClusters"] == 3
        assert g["automaticFailoverEnabled"] is True and g["multiAzEnabled"] is True
    else:
        assert g["numCacheClusters"] == 1
        assert g["automaticFailoverEnabled"] is False
    assert len(stack.outputs["cacheMemberClusterIds"]) == g["numCacheClusters"]


def test_snapshots_kept_outside_maintenance(stack: Evaluation) -> None:
    g = group(stack)
    assert g["snapshotRetentionLimit"] >= 1
    assert not overlaps(g["snapshotWindow"], g["maintenanceWindow"])
    assert g["finalSnapshotIdentifier"]


def test_slow_log_goes_to_an_encrypted_log_group(stack: Evaluation) -> None:
    (delivery,) = group(stack)["logDeliveryConfigurations"]
    assert delivery["logType"] == "slow-log"
    assert delivery["destinationType"] == "cloudwatch-logs"
    log_group = stack.one("aws:cloudwatch/logGroup:LogGroup", "cache-slow-log")
    assert delivery["destination"] == log_group.outputs["name"]
    assert log_group.inputs["kmsKeyId"] == data_key_arn(stack)
    assert log_group.inputs["retentionInDays"] >= 14


def test_redis_url_is_tls_with_the_token(stack: Evaluation) -> None:
    secret = stack.one("aws:secretsmanager/secret:Secret", "cache-url")
    assert secret.inputs["kmsKeyId"] == data_key_arn(stack)
    (version,) = [
        v
        for v in stack.of_type("aws:secretsmanager/secretVersion:SecretVersion")
        if v.inputs["secretId"] == secret.outputs["arn"]
    ]
    assert "secretString" in version.secret_inputs
    url = urlsplit(version.inputs["secretString"])
    assert url.scheme == "rediss"
    assert unquote(url.password or "") == auth_token(stack)
    assert (url.hostname, url.port) == (stack.outputs["cachePrimaryEndpoint"], 6379)
    assert stack.outputs["cacheUrlSecretArn"] == secret.outputs["arn"]


def test_prod_cache_is_protected(stack: Evaluation) -> None:
    assert stack.one(GROUP).protect is (stack.stack == "prod")
    assert stack.one("aws:secretsmanager/secret:Secret", "cache-url").protect is (
        stack.stack == "prod"
    )


def test_changes_apply_at_once_only_where_config_says(stack: Evaluation) -> None:
    # Off, a new engine version and the new family's parameter group wait for the maintenance
    # window while the old group stays in use. Prod defers, staging applies at once.
    assert group(stack)["applyImmediately"] is {"staging": True, "prod": False}[stack.stack]
    rolled = evaluated(
        "prod",
        overrides={"webstack:cache": {**committed("prod", "cache"), "applyImmediately": True}},
    )
    assert group(rolled)["applyImmediately"] is True


def test_final_snapshot_is_named_anew_for_each_lifetime(stack: Evaluation) -> None:
    g = group(stack)
    identifier = g["replicationGroupId"]
    (suffix,) = [
        r
        for r in stack.of_type("random:index/randomId:RandomId")
        if r.inputs["keepers"] == {"identifier": identifier}
    ]
    assert suffix.parent == stack.one("webstack:data:Cache").urn
    assert g["finalSnapshotIdentifier"] == f"{identifier}-final-{suffix.outputs['hex']}"
    assert g["finalSnapshotIdentifier"] != f"{identifier}-final"


def test_auth_token_changes_rotate_rather_than_cut_off_running_tasks(stack: Evaluation) -> None:
    # ROTATE keeps the old token valid until a later `up` with SET; tasks get the new REDIS_URL
    # only when they are redeployed.
    assert group(stack)["authTokenUpdateStrategy"] == "ROTATE"
