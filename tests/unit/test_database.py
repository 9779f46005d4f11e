"""Database in both stacks: placement, access, encryption, backups, monitoring, DATABASE_URL."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from components.aws_facts import max_connections
from tests.helpers import committed, data_key_arn, evaluated
from tests.windows import overlaps
from tools.mockcloud import Evaluation

INSTANCE = "aws:rds/instance:Instance"
SECRET = "aws:secretsmanager/secret:Secret"
VERSION = "aws:secretsmanager/secretVersion:SecretVersion"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


def primary(ev: Evaluation) -> dict:
    return ev.one(INSTANCE, "database-primary").inputs


@pytest.fixture(scope="module")
def with_replicas() -> Evaluation:
    database = {**committed("prod", "database"), "readReplicas": 2}
    return evaluated("prod", overrides={"webstack:database": database})


def test_postgres_major_from_config_with_matching_parameter_group(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["engine"] == "postgres"
    assert db["engineVersion"] == "17"
    group = stack.one("aws:rds/parameterGroup:ParameterGroup")
    assert group.inputs["family"] == "postgres17"
    # The family in the logical name and no fixed physical name: an upgrade creates the new
    # group before the old one (still in use) is deleted.
    assert group.name == "database-params-postgres17"
    assert "name" not in group.inputs and "namePrefix" not in group.inputs
    assert db["parameterGroupName"] == group.outputs["name"]


def test_parameters_enforce_tls_and_log_slow_statements(stack: Evaluation) -> None:
    group = stack.one("aws:rds/parameterGroup:ParameterGroup")
    params = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert params["rds.force_ssl"] == "1"
    assert params["log_min_duration_statement"] == "1000"
    assert int(params["idle_in_transaction_session_timeout"]) > 0


def test_lives_in_isolated_subnets_and_is_never_public(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["publiclyAccessible"] is False
    subnets = stack.one("aws:rds/subnetGroup:SubnetGroup", "database-subnets")
    assert subnets.inputs["subnetIds"] == stack.outputs["isolatedSubnetIds"]
    assert db["dbSubnetGroupName"] == subnets.outputs["name"]


def test_only_the_workloads_and_the_restore_check_reach_5432(stack: Evaluation) -> None:
    sg = stack.one("aws:ec2/securityGroup:SecurityGroup", "database-sg")
    assert (
        primary(stack)["vpcSecurityGroupIds"]
        == [sg.id]
        == [stack.outputs["databaseSecurityGroupId"]]
    )
    assert not sg.inputs.get("ingress") and not sg.inputs.get("egress")
    rules = [r.inputs for r in stack.of_type(INGRESS) if r.inputs["securityGroupId"] == sg.id]
    workloads = {
        stack.one("aws:ec2/securityGroup:SecurityGroup", f"workloads-{w}").id
        for w in ("api", "worker", "migrations")
    }
    # The restore tests' validation reads the source's migration history (components/backup).
    validator = stack.one("aws:ec2/securityGroup:SecurityGroup", "backup-validator-sg").id
    assert {r["referencedSecurityGroupId"] for r in rules} == {*workloads, validator}
    assert all((r["ipProtocol"], r["fromPort"], r["toPort"]) == ("tcp", 5432, 5432) for r in rules)
    assert all("cidrIpv4" not in r and "cidrIpv6" not in r for r in rules)


def test_gp3_storage_encrypted_with_the_data_key_and_autoscaling(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["storageType"] == "gp3"
    assert db["storageEncrypted"] is True
    assert db["kmsKeyId"] == data_key_arn(stack)
    assert db["maxAllocatedStorage"] >= db["allocatedStorage"] * 1.1
    assert db["caCertIdentifier"] == "rds-ca-rsa2048-g1"


def test_backups_30_days_in_a_fixed_window_clear_of_maintenance(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["backupRetentionPeriod"] >= 30
    assert db["backupWindow"] == "03:00-04:00"
    assert not overlaps(db["backupWindow"], db["maintenanceWindow"])
    assert db["copyTagsToSnapshot"] is True
    assert db["skipFinalSnapshot"] is False
    assert db["finalSnapshotIdentifier"]
    assert db["deleteAutomatedBackups"] is False


def test_prod_is_multi_az_deletion_protected_and_pulumi_protected(stack: Evaluation) -> None:
    prod = stack.stack == "prod"
    db = stack.one(INSTANCE, "database-primary")
    assert db.inputs["multiAz"] is prod
    assert db.inputs["deletionProtection"] is prod
    assert db.protect is prod
    assert stack.one(SECRET, "database-url").protect is prod


def test_performance_insights_and_enhanced_monitoring(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["performanceInsightsEnabled"] is True
    assert db["performanceInsightsKmsKeyId"] == data_key_arn(stack)
    assert db["monitoringInterval"] in (1, 5, 10, 15, 30, 60)
    role = stack.one("aws:iam/role:Role", "database-monitoring-role")
    assert db["monitoringRoleArn"] == role.outputs["arn"]
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"][0]
    assert trust["Principal"] == {"Service": "monitoring.rds.amazonaws.com"}
    attachment = stack.one(
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "database-monitoring-policy"
    )
    assert attachment.inputs["policyArn"].endswith(
        ":policy/service-role/AmazonRDSEnhancedMonitoringRole"
    )


def test_logs_are_exported_to_encrypted_groups_with_retention(stack: Evaluation) -> None:
    db = primary(stack)
    assert db["enabledCloudwatchLogsExports"] == ["postgresql", "upgrade"]
    groups = {
        g.inputs["name"]: g.inputs
        for g in stack.of_type("aws:cloudwatch/logGroup:LogGroup")
        if g.inputs["name"].startswith("/aws/rds/")
    }
    assert set(groups) == {
        f"/aws/rds/instance/{db['identifier']}/{log}" for log in ("postgresql", "upgrade")
    }
    assert all(g["kmsKeyId"] == data_key_arn(stack) for g in groups.values())
    assert all(g["retentionInDays"] >= 14 for g in groups.values())


def test_master_password_is_managed_by_rds_not_pulumi(stack: Evaluation) -> None:
    db = stack.one(INSTANCE, "database-primary")
    assert db.inputs["manageMasterUserPassword"] is True
    assert db.inputs["masterUserSecretKmsKeyId"] == data_key_arn(stack)
    assert "password" not in db.inputs and "passwordWo" not in db.inputs
    assert (
        stack.outputs["databaseMasterSecretArn"] == db.outputs["masterUserSecrets"][0]["secretArn"]
    )


def test_database_url_is_the_app_role_over_verified_tls(stack: Evaluation) -> None:
    secret = stack.one(SECRET, "database-url")
    assert secret.inputs["kmsKeyId"] == data_key_arn(stack)
    (version,) = [
        v for v in stack.of_type(VERSION) if v.inputs["secretId"] == secret.outputs["arn"]
    ]
    assert "secretString" in version.secret_inputs
    url = urlsplit(version.inputs["secretString"])
    assert url.scheme == "postgresql"
    assert url.username == "app" != primary(stack)["username"]
    password = stack.one(
        "random:index/randomPassword:RandomPassword", "secrets-db-app-password"
    ).outputs["result"]
    assert unquote(url.password or "") == password
    assert (url.hostname, url.port) == (stack.outputs["databaseAddress"], 5432)
    assert url.path == "/app"
    assert parse_qs(url.query) == {
        "sslmode": ["verify-full"],
        "sslrootcert": [committed(stack.stack, "database")["caBundlePath"]],
    }
    assert stack.outputs["databaseUrlSecretArn"] == secret.outputs["arn"]


def test_max_connections_follows_rds_default_formula(stack: Evaluation) -> None:
    # LEAST(DBInstanceClassMemory/9531392, 5000): 4 GiB -> 450, 32 GiB -> 3604.
    assert stack.outputs["databaseMaxConnections"] == {"staging": 450, "prod": 3604}[stack.stack]
    assert max_connections("db.r6g.16xlarge") == 5000
    assert max_connections("db.r5.xlarge") == 3604  # 32 GiB, like db.r6g.xlarge


def test_no_replicas_unless_configured(stack: Evaluation) -> None:
    assert len(stack.of_type(INSTANCE)) == 1
    assert stack.outputs["databaseReplicaAddresses"] == []


def test_read_replicas_by_config(with_replicas: Evaluation) -> None:
    source = with_replicas.one(INSTANCE, "database-primary")
    replicas = [r for r in with_replicas.of_type(INSTANCE) if r.name != "database-primary"]
    assert len(replicas) == 2
    for replica in replicas:
        assert replica.inputs["replicateSourceDb"] == source.outputs["identifier"]
        assert replica.inputs["publiclyAccessible"] is False
        assert replica.inputs["storageEncrypted"] is True
        assert replica.inputs["vpcSecurityGroupIds"] == source.inputs["vpcSecurityGroupIds"]
        assert replica.inputs["parameterGroupName"] == source.inputs["parameterGroupName"]
        assert replica.inputs["performanceInsightsEnabled"] is True
        assert replica.inputs["deletionProtection"] is True
        assert replica.protect is True
    assert len(with_replicas.outputs["databaseReplicaAddresses"]) == 2


def test_window_overlap_detection() -> None:
    assert overlaps("03:00-04:00", "sun:03:30-sun:04:30")
    assert not overlaps("03:00-04:00", "sun:04:00-sun:05:00")
    assert overlaps("23:30-00:30", "mon:00:00-mon:01:00")


def test_changes_apply_at_once_only_where_config_says(
    stack: Evaluation, with_replicas: Evaluation
) -> None:
    # Off, RDS queues a major upgrade and the parameter-group swap for the maintenance window;
    # the old group stays in use and deleting it fails. Prod defers, staging applies at once.
    assert primary(stack)["applyImmediately"] is {"staging": True, "prod": False}[stack.stack]
    assert (
        primary(stack)["applyImmediately"] is committed(stack.stack, "database")["applyImmediately"]
    )
    rolled = evaluated(
        "prod",
        overrides={
            "webstack:database": {**committed("prod", "database"), "applyImmediately": True}
        },
    )
    assert primary(rolled)["applyImmediately"] is True
    assert all(r.inputs["applyImmediately"] is False for r in with_replicas.of_type(INSTANCE))


def test_force_ssl_is_applied_at_reboot_as_static_parameters_require(stack: Evaluation) -> None:
    group = stack.one("aws:rds/parameterGroup:ParameterGroup")
    methods = {p["name"]: p.get("applyMethod", "immediate") for p in group.inputs["parameters"]}
    assert methods["rds.force_ssl"] == "pending-reboot"
    # The dynamic ones take effect at once.
    assert methods["log_min_duration_statement"] == "immediate"


def test_final_snapshot_is_named_anew_for_each_lifetime(stack: Evaluation) -> None:
    db = primary(stack)
    identifier = db["identifier"]
    suffixes = [
        r
        for r in stack.of_type("random:index/randomId:RandomId")
        if r.inputs["keepers"] == {"identifier": identifier}
    ]
    assert len(suffixes) == 1, "one suffix, keyed on the instance identifier"
    (suffix,) = suffixes
    assert suffix.parent == stack.one("webstack:data:Database").urn
    assert suffix.inputs["byteLength"] >= 4
    assert db["finalSnapshotIdentifier"] == f"{identifier}-final-{suffix.outputs['hex']}"
    assert db["finalSnapshotIdentifier"] != f"{identifier}-final"
    # RDS snapshot identifiers: a letter first, then letters, digits and single hyphens.
    assert re.fullmatch(r"[a-z](-?[a-z0-9])*", db["finalSnapshotIdentifier"])


def test_iam_database_authentication_on_primary_and_replicas(
    stack: Evaluation, with_replicas: Evaluation
) -> None:
    # app_readonly is granted rds_iam: it can sign in only with IAM tokens.
    assert primary(stack)["iamDatabaseAuthenticationEnabled"] is True
    assert all(
        r.inputs["iamDatabaseAuthenticationEnabled"] is True
        for r in with_replicas.of_type(INSTANCE)
    )
    # rds-db:connect policies name the instance by its resource id.
    resource_id = stack.one(INSTANCE, "database-primary").outputs["resourceId"]
    assert stack.outputs["databaseResourceId"] == resource_id


def test_database_url_names_the_ca_bundle_from_config() -> None:
    path = "/opt/app/certs/rds-global-bundle.pem"
    ev = evaluated(
        "staging",
        overrides={"webstack:database": {**committed("staging", "database"), "caBundlePath": path}},
    )
    secret = ev.one(SECRET, "database-url")
    (version,) = [v for v in ev.of_type(VERSION) if v.inputs["secretId"] == secret.outputs["arn"]]
    query = parse_qs(urlsplit(version.inputs["secretString"]).query)
    assert query == {"sslmode": ["verify-full"], "sslrootcert": [path]}
