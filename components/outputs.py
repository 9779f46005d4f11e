"""The stack outputs: what `pulumi stack output` shows operators, and what the smoke checks and
the deploy workflow read. `stack_outputs` picks them from the components `build_stack` made."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pulumi

from components.alarms import Alarms
from components.app import ApiService
from components.backup import Backup
from components.certificates import DnsRecord
from components.config import StackConfig
from components.migration_job import MigrationJob
from components.uptime_checks import UptimeChecks

if TYPE_CHECKING:
    # Only the annotations: build_stack imports this module to make its outputs.
    from components.stack import DataTier, Edge, Foundation, Paging


def stack_outputs(
    cfg: StackConfig,
    base: Foundation,
    data: DataTier,
    edge: Edge,
    paging: Paging,
    migrations: MigrationJob,
    app: ApiService,
    uptime: UptimeChecks,
    alarms: Alarms,
    backup: Backup,
) -> dict[str, Any]:
    """The stack outputs: the handles operators, the smoke checks and deploy jobs read."""
    network, secrets, database, cache = base.network, base.secrets, data.database, data.cache
    load_balancer, frontend = edge.load_balancer, edge.frontend
    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "availabilityZones": list(cfg.network.availability_zones),
        "publicSubnetIds": network.public_subnet_ids,
        "privateSubnetIds": network.private_subnet_ids,
        "isolatedSubnetIds": network.isolated_subnet_ids,
        "dataKmsKeyArn": secrets.kms_key_arn,
        "jwtSecretArn": secrets.jwt_secret_arn,
        "externalSecretArns": secrets.external_secret_arns,
        "databaseAddress": database.address,
        "databasePort": database.port,
        "databaseSecurityGroupId": database.security_group_id,
        "databaseMasterSecretArn": database.master_secret_arn,
        "databaseUrlSecretArn": database.database_url_secret_arn,
        "databaseMaxConnections": cfg.pool_budget.db_max_connections,
        "databaseReplicaAddresses": database.replica_addresses,
        "databaseResourceId": database.resource_id,
        "databaseInstanceIdentifier": database.instance_identifier,
        "cachePrimaryEndpoint": cache.primary_endpoint,
        "cachePort": cache.port,
        "cacheSecurityGroupId": cache.security_group_id,
        "cacheUrlSecretArn": cache.redis_url_secret_arn,
        "cacheMemberClusterIds": cache.member_cluster_ids,
        "cacheReplicationGroupId": cache.replication_group_id,
        "apiUrl": f"https://{cfg.api_hostname}",
        "frontendUrl": f"https://{cfg.domain}",
        "allowedOrigins": list(cfg.edge.allowed_origins),
        "albDnsName": load_balancer.alb_dns_name,
        "albArnSuffix": load_balancer.alb_arn_suffix,
        "targetGroupArnSuffix": load_balancer.target_group_arn_suffix,
        "targetGroupArn": load_balancer.target_group_arn,
        "distributionId": frontend.distribution_id,
        "distributionDomainName": frontend.distribution_domain_name,
        "frontendBucketName": frontend.frontend_bucket_name,
        "repositoryUrl": app.repository_url,
        "clusterName": app.cluster_name,
        "migrationFunctionName": migrations.function_name,
        # The runbook's way back (docs/runbooks/revert-migration.md): the last run's restore
        # point with its exact restore commands; null when that run had nothing pending.
        "migrationRestorePoint": migrations.restore_point,
        "apiImageTag": cfg.api.image_tag,
        # No critical topic when nobody is paged (`alarms.paging` off).
        **(
            {"criticalTopicArn": paging.notifications.critical_topic_arn}
            if paging.notifications.critical_topic_arn is not None
            else {}
        ),
        "warningTopicArn": paging.notifications.warning_topic_arn,
        "deploymentAlarmNames": paging.deployment_alarms.alarm_names,
        "dashboardName": alarms.dashboard_name,
        # The site-down runbook asks Route 53 for each check's per-region results.
        **{f"{t.role}HealthCheckId": t.health_check_id for t in uptime.targets},
        "backupVaultName": backup.vault_name,
        "backupVaultArn": backup.vault_arn,
        "backupPlanId": backup.plan_id,
        # `aws backup start-restore-job --iam-role-arn` (docs/runbooks/restore-from-backup.md)
        "backupRoleArn": backup.role_arn,
    }
    if backup.dr_vault_arn is not None:
        outputs["drBackupVaultArn"] = backup.dr_vault_arn
    if backup.restore_testing_plan_name is not None:
        outputs["restoreTestingPlanName"] = backup.restore_testing_plan_name
        outputs["restoreCheckFunctionName"] = backup.restore_check_function_name
    # The runbooks' commands name the services (`aws ecs update-service --service ...`).
    for key, service in (
        ("apiServiceName", app.api_service_name),
        ("workerServiceName", app.worker_service_name),
    ):
        if service is not None:
            outputs[key] = service
    if load_balancer.alternate_target_group_arn_suffix is not None:
        # What a traffic-shifting strategy adds: the second group's CloudWatch dimension and,
        # with test traffic, where CI reads the X-Webstack-Test value that reaches the new
        # release first (never the value itself: no output is a secret).
        outputs["alternateTargetGroupArnSuffix"] = load_balancer.alternate_target_group_arn_suffix
    if secrets.api_test_header_secret_arn is not None:
        outputs["apiTestHeaderSecretArn"] = secrets.api_test_header_secret_arn
    if app.first_deploy is not None:
        outputs["firstDeploy"] = app.first_deploy
    if cfg.edge.dns_provider == "none":
        outputs["dnsRecordsToCreate"] = _record_list(
            [*edge.certificates.validation_records, *edge.dns.records]
        )
    return outputs


def _record_list(records: Sequence[DnsRecord]) -> pulumi.Output[list[dict[str, str]]]:
    """Records as plain data for `pulumi stack output dnsRecordsToCreate`."""

    def as_dict(record: DnsRecord) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.all(record.name, record.content).apply(
            lambda nc: {
                "name": nc[0],
                "type": record.type,
                "content": nc[1],
                "purpose": record.purpose,
            }
        )

    return pulumi.Output.all(*[as_dict(r) for r in records])
