"""The composition of webstack: config in, components wired together, outputs out.

`build_stack` is the one place that knows the data flow
(config -> Network -> Secrets -> Database, Cache -> Edge -> Notifications, deployment alarms
-> Backup -> MigrationJob -> ApiService -> Alarms);
`__main__.py`, the tests and the offline tooling all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarms import Alarms, AlarmsArgs
from components.app import ApiService, ApiServiceArgs
from components.backup import Backup, BackupArgs, BackupWiring
from components.cache import Cache, CacheArgs
from components.certificates import Certificates, CertificatesArgs, DnsRecord
from components.config import POOL_BUDGET_SHARE, StackConfig, load_stack_config
from components.database import Database, DatabaseArgs
from components.deployment_alarms import DeploymentAlarms, DeploymentAlarmsArgs
from components.dns import Dns, DnsArgs
from components.frontend import Frontend, FrontendArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.migration_job import MigrationJob, MigrationJobArgs
from components.network import Network, NetworkArgs
from components.notifications import Notifications, NotificationsArgs
from components.secrets import Secrets, SecretsArgs
from components.security_groups import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs


@dataclass(frozen=True)
class Providers:
    """Explicit providers; every AWS resource goes through one of them."""

    regional: aws.Provider
    """The stack's region, with the stack's default tags."""
    us_east_1: aws.Provider
    """us-east-1, for what CloudFront requires there (its certificate, WAF, metrics)."""
    dr: aws.Provider | None
    """`backup.drRegion`, for the vault the backups are copied to; None without copies."""


def region_availability_zones(region: str) -> Sequence[str]:
    """Names of the region's available zones (a data-source invoke, mocked offline)."""
    return aws.get_availability_zones(state="available", region=region).names


def make_providers(cfg: StackConfig) -> Providers:
    def provider(name: str, region: str) -> aws.Provider:
        return aws.Provider(
            name,
            region=region,
            allowed_account_ids=[cfg.account_id] if cfg.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(cfg.tags)),
        )

    dr_region = cfg.backup.dr_region
    return Providers(
        regional=provider("aws", cfg.region),
        us_east_1=provider("aws-us-east-1", "us-east-1"),
        dr=provider("aws-dr", dr_region) if dr_region else None,
    )


def build_stack(
    cfg: StackConfig,
    migration_package: Path | None = None,
    restore_check_package: Path | None = None,
) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs.

    `migration_package` and `restore_check_package` are the migration and restore-check
    Lambdas' zips; by default the ones `make package` builds (the offline tooling passes
    stand-ins without the psycopg wheels).
    """
    providers = make_providers(cfg)
    in_region = pulumi.ResourceOptions(providers={"aws": providers.regional})

    network = Network(
        "network",
        NetworkArgs(
            name_prefix=cfg.name_prefix,
            cidr=cfg.network.cidr,
            availability_zones=cfg.availability_zones,
            nat_strategy=cfg.network.nat_strategy,
            interface_endpoints=cfg.network.interface_endpoints,
            # The migration run's snapshot calls the RDS API, which 443 reaches only through
            # an endpoint when there are endpoints.
            more_endpoint_services=("rds",) if cfg.database.snapshot_before_migrations else (),
            flow_log_retention_days=cfg.network.flow_log_retention_days,
        ),
        opts=in_region,
    )

    workloads = WorkloadSecurityGroups(
        "workloads",
        WorkloadSecurityGroupsArgs(name_prefix=cfg.name_prefix, vpc_id=network.vpc_id),
        opts=in_region,
    )

    secrets = Secrets(
        "secrets",
        SecretsArgs(
            name_prefix=cfg.name_prefix,
            recovery_window_days=cfg.secrets.recovery_window_days,
            kms_deletion_window_days=cfg.secrets.kms_deletion_window_days,
            external_secrets=cfg.secrets.external,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    db = cfg.database
    database = Database(
        "database",
        DatabaseArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=[workloads.api, workloads.worker, workloads.migrations],
            kms_key_arn=secrets.kms_key_arn,
            app_password=secrets.db_app_password,
            engine_version=db.engine_version,
            instance_class=db.instance_class,
            allocated_storage_gb=db.allocated_storage_gb,
            max_allocated_storage_gb=db.max_allocated_storage_gb,
            multi_az=db.multi_az,
            backup_retention_days=db.backup_retention_days,
            performance_insights_retention_days=db.performance_insights_retention_days,
            monitoring_interval_seconds=db.monitoring_interval_seconds,
            read_replicas=db.read_replicas,
            log_retention_days=db.log_retention_days,
            secret_recovery_window_days=cfg.secrets.recovery_window_days,
            deletion_protection=cfg.protect,
            apply_immediately=db.apply_immediately,
            ca_bundle_path=db.ca_bundle_path,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    cache = Cache(
        "cache",
        CacheArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=[workloads.api, workloads.worker],
            kms_key_arn=secrets.kms_key_arn,
            auth_token=secrets.redis_auth_token,
            engine=cfg.cache.engine,
            engine_version=cfg.cache.engine_version,
            node_type=cfg.cache.node_type,
            nodes=cfg.cache.nodes,
            maxmemory_policy=cfg.cache.maxmemory_policy,
            snapshot_retention_days=cfg.cache.snapshot_retention_days,
            log_retention_days=cfg.cache.log_retention_days,
            secret_recovery_window_days=cfg.secrets.recovery_window_days,
            apply_immediately=cfg.cache.apply_immediately,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    edge = cfg.edge
    zone_id = edge.cloudflare_zone_id if edge.dns_provider == "cloudflare" else None
    certificates = Certificates(
        "certificates",
        CertificatesArgs(
            domain=cfg.domain,
            api_hostname=cfg.api_hostname,
            us_east_1=providers.us_east_1,
            cloudflare_zone_id=zone_id,
        ),
        opts=in_region,
    )
    load_balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            target_security_group_id=workloads.api,
            target_port=cfg.api.port,
            certificate_arn=certificates.api_certificate_arn,
            api_hostname=cfg.api_hostname,
            health_check_path=edge.health_check.path,
            health_check_interval_seconds=edge.health_check.interval_seconds,
            health_check_timeout_seconds=edge.health_check.timeout_seconds,
            healthy_threshold=edge.health_check.healthy_threshold,
            unhealthy_threshold=edge.health_check.unhealthy_threshold,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            ingress_cidrs={"internet": ("0.0.0.0/0",), "cidrs": edge.ingress_cidrs}.get(
                edge.ingress, ()
            ),
            cloudfront_only=edge.ingress == "cloudfront",
            behind_cloudfront=edge.api_via_cdn,
            hsts_preload=edge.hsts_preload,
            waf_rate_limit=edge.waf_rate_limit,
            waf_log_retention_days=edge.waf_log_retention_days,
            access_log_expiration_days=edge.access_log_expiration_days,
            deletion_protection=cfg.protect,
        ),
        opts=in_region,
    )
    frontend = Frontend(
        "frontend",
        FrontendArgs(
            name_prefix=cfg.name_prefix,
            domain=cfg.domain,
            certificate_arn=certificates.cdn_certificate_arn,
            us_east_1=providers.us_east_1,
            allowed_origins=edge.allowed_origins,
            content_security_policy=edge.content_security_policy,
            hsts_preload=edge.hsts_preload,
            price_class=edge.price_class,
            api_origin_hostname=cfg.api_hostname if edge.api_via_cdn else None,
            origin_verify_secret=load_balancer.origin_verify_secret,
            waf_rate_limit=edge.waf_rate_limit,
            waf_log_retention_days=edge.waf_log_retention_days,
            protect=cfg.protect,
        ),
        opts=in_region,
    )
    dns = Dns(
        "dns",
        DnsArgs(
            domain=cfg.domain,
            api_hostname=cfg.api_hostname,
            alb_dns_name=load_balancer.alb_dns_name,
            distribution_domain_name=frontend.distribution_domain_name,
            cloudflare_zone_id=zone_id,
            manage_zone_settings=edge.manage_zone_settings,
        ),
        opts=in_region,
    )

    a = cfg.alarms
    notification_args = NotificationsArgs(
        name_prefix=cfg.name_prefix,
        critical_emails=a.critical_emails,
        warning_emails=a.warning_emails,
        critical_https_endpoint=a.critical_https_endpoint,
        warning_https_endpoint=a.warning_https_endpoint,
        kms_deletion_window_days=cfg.secrets.kms_deletion_window_days,
        protect=cfg.protect,
    )
    notifications = Notifications("notifications", notification_args, opts=in_region)
    cdn_topics = notifications.topics
    if cfg.region != "us-east-1":
        # Alarm actions cannot cross regions, and CloudFront's metrics live in us-east-1.
        cdn_topics = Notifications(
            "notifications-us-east-1",
            notification_args,
            opts=pulumi.ResourceOptions(providers={"aws": providers.us_east_1}),
        ).topics
    deployment_alarms = DeploymentAlarms(
        "deployment-alarms",
        DeploymentAlarmsArgs(
            name_prefix=cfg.name_prefix,
            alb_arn_suffix=load_balancer.alb_arn_suffix,
            target_group_arn_suffix=load_balancer.target_group_arn_suffix,
            topics=notifications.topics,
            thresholds=a.thresholds,
        ),
        opts=in_region,
    )

    backup = Backup(
        "backup",
        BackupArgs(
            name_prefix=cfg.name_prefix,
            environment=cfg.environment,
            config=cfg.backup,
            wiring=BackupWiring(
                database_arn=database.arn,
                database_host=database.address,
                database_port=database.port,
                database_name=database.database_name,
                database_security_group_id=database.security_group_id,
                vpc_id=network.vpc_id,
                isolated_subnet_ids=network.isolated_subnet_ids,
                private_subnet_ids=network.private_subnet_ids,
                logs_kms_key_arn=secrets.kms_key_arn,
                critical_topic_arn=notifications.critical_topic_arn,
                dr_provider=providers.dr,
            ),
            kms_deletion_window_days=cfg.secrets.kms_deletion_window_days,
            log_retention_days=cfg.api.log_retention_days,
            package=restore_check_package,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    migrations = MigrationJob(
        "migrations",
        MigrationJobArgs(
            name_prefix=cfg.name_prefix,
            private_subnet_ids=network.private_subnet_ids,
            security_group_id=workloads.migrations,
            database_security_group_id=database.security_group_id,
            database_port=database.port,
            database_host=database.address,
            database_name=database.database_name,
            master_secret_arn=database.master_secret_arn,
            database_url_secret_arn=database.database_url_secret_arn,
            database_url_version=database.database_url_version,
            database_resource_id=database.resource_id,
            database_instance_identifier=database.instance_identifier,
            database_instance_arn=database.instance_arn,
            database_subnet_group_name=database.subnet_group_name,
            database_parameter_group_name=database.parameter_group_name,
            snapshot_before_migrations=cfg.database.snapshot_before_migrations,
            network_ready=[*database.client_ingress_rules, *network.private_egress],
            # The budget every API and worker pool together is sized to fit (DB_MAX_POOL_SIZE),
            # so the limit only stops a fleet that exceeds its own arithmetic.
            app_connection_limit=int(database.max_connections * POOL_BUDGET_SHARE),
            app_statement_timeout_ms=cfg.api.db_statement_timeout_ms,
            app_idle_in_transaction_timeout_ms=cfg.api.db_idle_in_transaction_timeout_ms,
            kms_key_arn=secrets.kms_key_arn,
            # The AWS APIs are reached through their interface endpoints when there are some,
            # otherwise through NAT.
            aws_api_cidr=(network.vpc_cidr if cfg.network.interface_endpoints else "0.0.0.0/0"),
            log_retention_days=cfg.api.log_retention_days,
            package=migration_package,
        ),
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
            alb_security_group_id=load_balancer.alb_security_group_id,
            database_security_group_id=database.security_group_id,
            cache_security_group_id=cache.security_group_id,
            target_group_arn=load_balancer.target_group_arn,
            target_group_forwarding=load_balancer.forwarding,
            deregistration_delay_seconds=load_balancer.deregistration_delay_seconds,
            allowed_origins=edge.allowed_origins,
            secret_arns={
                "DATABASE_URL": database.database_url_secret_arn,
                "REDIS_URL": cache.redis_url_secret_arn,
                "JWT_SECRET": secrets.jwt_secret_arn,
                **secrets.external_secret_arns,
            },
            kms_key_arn=secrets.kms_key_arn,
            db_max_connections=database.max_connections,
            deployment_alarm_names=deployment_alarms.alarm_names,
            # The release order: migrations, then the services; a failed migration stops here.
            run_after=[migrations.invocation],
            kms_deletion_window_days=cfg.secrets.kms_deletion_window_days,
            protect=cfg.protect,
        ),
        opts=in_region,
    )

    Alarms(
        "alarms",
        AlarmsArgs(
            name_prefix=cfg.name_prefix,
            topics=notifications.topics,
            us_east_1_topics=cdn_topics,
            us_east_1_provider=providers.us_east_1,
            alb_arn_suffix=load_balancer.alb_arn_suffix,
            target_group_arn_suffix=load_balancer.target_group_arn_suffix,
            cluster_name=app.cluster_name,
            api_service_name=app.api_service_name,
            worker_service_name=app.worker_service_name,
            api_min_tasks=app.api_min_capacity,
            worker_min_tasks=app.worker_min_capacity,
            db_instance_identifier=database.instance_identifier,
            db_allocated_storage_gb=database.allocated_storage_gb,
            db_max_connections=database.max_connections,
            db_replica_identifiers=database.replica_identifiers,
            cache_member_cluster_ids=cache.member_cluster_ids,
            distribution_id=frontend.distribution_id,
            migration_function_name=migrations.function_name,
            restore_check_function_name=backup.restore_check_function_name,
            worker_log_group_name=app.worker_log_group_name,
            scheduler_failure_pattern=a.scheduler_failure_pattern,
            monthly_budget_usd=a.monthly_budget_usd,
            budget_scope_tag=("environment", cfg.environment),
            thresholds=a.thresholds,
            deployment_alarm_arns=deployment_alarms.alarm_arns,
        ),
        opts=in_region,
    )

    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "availabilityZones": network.availability_zones,
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
        "databaseMaxConnections": database.max_connections,
        "databaseReplicaAddresses": database.replica_addresses,
        "databaseResourceId": database.resource_id,
        "cachePrimaryEndpoint": cache.primary_endpoint,
        "cachePort": cache.port,
        "cacheSecurityGroupId": cache.security_group_id,
        "cacheUrlSecretArn": cache.redis_url_secret_arn,
        "cacheMemberClusterIds": cache.member_cluster_ids,
        "apiUrl": f"https://{cfg.api_hostname}",
        "frontendUrl": f"https://{cfg.domain}",
        "allowedOrigins": list(edge.allowed_origins),
        "albDnsName": load_balancer.alb_dns_name,
        "albArnSuffix": load_balancer.alb_arn_suffix,
        "targetGroupArnSuffix": load_balancer.target_group_arn_suffix,
        "distributionId": frontend.distribution_id,
        "distributionDomainName": frontend.distribution_domain_name,
        "frontendBucketName": frontend.frontend_bucket_name,
        "repositoryUrl": app.repository_url,
        "clusterName": app.cluster_name,
        "migrationFunctionName": migrations.function_name,
        "criticalTopicArn": notifications.critical_topic_arn,
        "warningTopicArn": notifications.warning_topic_arn,
        "deploymentAlarmNames": deployment_alarms.alarm_names,
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
    if app.first_deploy is not None:
        outputs["firstDeploy"] = app.first_deploy
    if edge.dns_provider == "none":
        outputs["dnsRecordsToCreate"] = _record_list(
            [*certificates.validation_records, *dns.records]
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


def main() -> None:
    """The Pulumi program: load config, build the stack, export its outputs."""
    outputs = build_stack(load_stack_config(region_availability_zones))
    for key, value in outputs.items():
        pulumi.export(key, value)
