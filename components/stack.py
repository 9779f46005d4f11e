"""The composition of webstack: config in, components wired together, outputs out.

`build_stack` is the one place that knows the data flow; it reads top to bottom in release
order (Network -> Secrets -> Database, Cache -> Edge -> Notifications, deployment alarms
-> Backup -> MigrationJob -> ApiService -> the frontend's files -> UptimeChecks -> Alarms), one
named step per component. A step hands its component the config sections it reads as they are
(`database=cfg.database`) and a wiring dataclass of what earlier components produced; nothing is
copied out of a section here.
`__main__.py`, the tests and the offline tooling all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pulumi_aws as aws

from components.alarm_catalog import AlarmTopics
from components.alarms import Alarms, AlarmsArgs, AlarmsWiring
from components.app import ApiService, ApiServiceArgs, ApiServiceWiring
from components.backup import Backup, BackupArgs, BackupWiring
from components.cache import Cache, CacheArgs, CacheWiring
from components.certificates import Certificates, CertificatesArgs, CertificatesWiring
from components.config import StackConfig, load_stack_config
from components.database import Database, DatabaseArgs, DatabaseWiring
from components.deployment_alarms import (
    DeploymentAlarms,
    DeploymentAlarmsArgs,
    DeploymentAlarmsWiring,
)
from components.dns import Dns, DnsArgs, DnsWiring
from components.frontend import Frontend, FrontendArgs, FrontendWiring
from components.frontend_release import FrontendRelease, FrontendReleaseArgs, FrontendReleaseWiring
from components.load_balancer import LoadBalancer, LoadBalancerArgs, LoadBalancerWiring
from components.migration_job import MigrationJob, MigrationJobArgs, MigrationJobWiring
from components.network import Network, NetworkArgs
from components.notifications import Notifications, NotificationsArgs
from components.outputs import stack_outputs
from components.providers import Providers, make_providers
from components.secrets import Secrets, SecretsArgs
from components.security_groups import (
    DataStorePlacement,
    WorkloadSecurityGroups,
    WorkloadSecurityGroupsArgs,
    WorkloadSecurityGroupsWiring,
)
from components.uptime_checks import UptimeChecks, UptimeChecksArgs, UptimeChecksWiring


@dataclass(frozen=True)
class Foundation:
    """What everything else is built on: the VPC, the workloads' security groups, the data key
    and the generated secrets."""

    network: Network
    workloads: WorkloadSecurityGroups
    secrets: Secrets


@dataclass(frozen=True)
class DataTier:
    database: Database
    cache: Cache


@dataclass(frozen=True)
class Edge:
    """Certificates, the API's load balancer, the CDN and the public names."""

    certificates: Certificates
    load_balancer: LoadBalancer
    frontend: Frontend
    dns: Dns


@dataclass(frozen=True)
class Paging:
    """Where alarms go, and the alarms that roll an API deployment back."""

    notifications: Notifications
    cdn_topics: AlarmTopics
    """The topics of CloudFront's alarm, in us-east-1 (`notifications`' own when it is there)."""
    deployment_alarms: DeploymentAlarms


def region_availability_zones(region: str) -> Sequence[str]:
    """Names of the region's available zones (a data-source invoke, mocked offline)."""
    return aws.get_availability_zones(state="available", region=region).names


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
    base = _foundation(cfg, providers)
    data = _data_tier(cfg, providers, base)
    edge = _edge(cfg, providers, base)
    paging = _paging(cfg, providers, edge)
    backup = _backup(cfg, providers, base, data, paging, restore_check_package)
    migrations = _migrations(cfg, providers, base, data, migration_package)
    app = _app(cfg, providers, base, data, edge, paging, migrations)
    frontend_release = _frontend_release(cfg, providers, edge, app)
    uptime = _uptime_checks(cfg, providers, edge, [app, *frontend_release])
    alarms = _alarms(cfg, providers, data, edge, paging, migrations, app, backup, uptime)
    return stack_outputs(cfg, base, data, edge, paging, migrations, app, uptime, alarms, backup)


def _foundation(cfg: StackConfig, providers: Providers) -> Foundation:
    """The VPC; the workloads' empty groups, which the data tier admits before the workloads
    exist; the data key and the generated and external secrets."""
    stack, in_region = cfg.stack_wide, providers.in_region
    network = Network(
        "network",
        NetworkArgs(stack=stack, network=cfg.network, database=cfg.database, secrets=cfg.secrets),
        in_region,
    )
    workloads = WorkloadSecurityGroups(
        "workloads",
        WorkloadSecurityGroupsArgs(
            stack=stack, wiring=WorkloadSecurityGroupsWiring(vpc_id=network.vpc_id)
        ),
        in_region,
    )
    secrets_args = SecretsArgs(stack=stack, secrets=cfg.secrets, api=cfg.api)
    secrets = Secrets("secrets", secrets_args, in_region)
    return Foundation(network, workloads, secrets)


def _data_tier(cfg: StackConfig, providers: Providers, base: Foundation) -> DataTier:
    """RDS and ElastiCache in the isolated subnets, admitting exactly their clients."""
    network, workloads, secrets = base.network, base.workloads, base.secrets

    def admitting(*clients: pulumi.Input[str]) -> DataStorePlacement:
        return DataStorePlacement(
            vpc_id=network.vpc_id,
            subnet_ids=network.isolated_subnet_ids,
            client_security_group_ids=clients,
        )

    database = Database(
        "database",
        DatabaseArgs(
            stack=cfg.stack_wide,
            database=cfg.database,
            secrets=cfg.secrets,
            pool_budget=cfg.pool_budget,
            wiring=DatabaseWiring(
                placement=admitting(workloads.api, workloads.worker, workloads.migrations),
                kms_key_arn=secrets.kms_key_arn,
                app_password=secrets.db_app_password,
            ),
        ),
        providers.in_region,
    )
    cache = Cache(
        "cache",
        CacheArgs(
            stack=cfg.stack_wide,
            cache=cfg.cache,
            secrets=cfg.secrets,
            wiring=CacheWiring(
                placement=admitting(workloads.api, workloads.worker),
                kms_key_arn=secrets.kms_key_arn,
                auth_token=secrets.redis_auth_token,
            ),
        ),
        providers.in_region,
    )
    return DataTier(database, cache)


def _edge(cfg: StackConfig, providers: Providers, base: Foundation) -> Edge:
    """Certificates, then the ALB (with its WAF) and the CDN in front of it, then the names."""
    stack, edge, in_region = cfg.stack_wide, cfg.edge, providers.in_region
    certificates = Certificates(
        "certificates",
        CertificatesArgs(
            stack=stack, edge=edge, wiring=CertificatesWiring(us_east_1=providers.us_east_1)
        ),
        in_region,
    )
    load_balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            stack=stack,
            edge=edge,
            api=cfg.api,
            secrets=cfg.secrets,
            wiring=LoadBalancerWiring(
                vpc_id=base.network.vpc_id,
                public_subnet_ids=base.network.public_subnet_ids,
                target_security_group_id=base.workloads.api,
                certificate_arn=certificates.api_certificate_arn,
                test_header_value=base.secrets.api_test_header_value,
            ),
        ),
        in_region,
    )
    frontend_wiring = FrontendWiring(
        certificate_arn=certificates.cdn_certificate_arn,
        us_east_1=providers.us_east_1,
        origin_verify_secret=load_balancer.origin_verify_secret,
    )
    frontend = Frontend(
        "frontend",
        FrontendArgs(stack=stack, edge=edge, secrets=cfg.secrets, wiring=frontend_wiring),
        in_region,
    )
    dns_wiring = DnsWiring(
        alb_dns_name=load_balancer.alb_dns_name,
        distribution_domain_name=frontend.distribution_domain_name,
    )
    dns = Dns("dns", DnsArgs(stack=stack, edge=edge, wiring=dns_wiring), in_region)
    return Edge(certificates, load_balancer, frontend, dns)


def _paging(cfg: StackConfig, providers: Providers, edge: Edge) -> Paging:
    """The topics (and, outside us-east-1, their twins there for CloudFront's alarm), then the
    deployment alarms, which exist before the API whose rollouts they watch."""
    args = NotificationsArgs(stack=cfg.stack_wide, alarms=cfg.alarms, secrets=cfg.secrets)
    notifications = Notifications("notifications", args, providers.in_region)
    cdn_topics = notifications.topics
    if cfg.region != "us-east-1":
        # Alarm actions cannot cross regions, and CloudFront's metrics live in us-east-1.
        cdn_topics = Notifications(
            "notifications-us-east-1",
            args,
            opts=pulumi.ResourceOptions(providers={"aws": providers.us_east_1}),
        ).topics
    lb = edge.load_balancer
    wiring = DeploymentAlarmsWiring(
        alb_arn_suffix=lb.alb_arn_suffix,
        target_group_arn_suffix=lb.target_group_arn_suffix,
        alternate_target_group_arn_suffix=lb.alternate_target_group_arn_suffix,
        topics=notifications.topics,
    )
    rollback = DeploymentAlarmsArgs(stack=cfg.stack_wide, alarms=cfg.alarms, wiring=wiring)
    deployment_alarms = DeploymentAlarms("deployment-alarms", rollback, providers.in_region)
    return Paging(notifications, cdn_topics, deployment_alarms)


def _backup(
    cfg: StackConfig,
    providers: Providers,
    base: Foundation,
    data: DataTier,
    paging: Paging,
    package: Path | None,
) -> Backup:
    """AWS Backup of the database, its copies in the DR region and the restore tests, once the
    database and the critical topic exist."""
    network, database = base.network, data.database
    wiring = BackupWiring(
        database_arn=database.instance_arn,
        database_host=database.address,
        database_port=database.port,
        database_name=database.database_name,
        database_security_group_id=database.security_group_id,
        vpc_id=network.vpc_id,
        isolated_subnet_ids=network.isolated_subnet_ids,
        private_subnet_ids=network.private_subnet_ids,
        kms_key_arn=base.secrets.kms_key_arn,
        # The topic critical alarms go to (the warning topic when nobody is paged).
        critical_topic_arn=paging.notifications.topics.critical,
        dr_provider=providers.dr,
        package=package,
    )
    args = BackupArgs(
        stack=cfg.stack_wide,
        backup=cfg.backup,
        secrets=cfg.secrets,
        database=cfg.database,
        api=cfg.api,
        wiring=wiring,
    )
    return Backup("backup", args, providers.in_region)


def _migrations(
    cfg: StackConfig,
    providers: Providers,
    base: Foundation,
    data: DataTier,
    package: Path | None,
) -> MigrationJob:
    """The migration run, once its way to the database and Secrets Manager exists."""
    network, database = base.network, data.database
    wiring = MigrationJobWiring(
        private_subnet_ids=network.private_subnet_ids,
        vpc_cidr=network.vpc_cidr,
        network_ready=[*database.client_ingress_rules, *network.private_egress],
        security_group_id=base.workloads.migrations,
        kms_key_arn=base.secrets.kms_key_arn,
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
        package=package,
    )
    args = MigrationJobArgs(
        stack=cfg.stack_wide,
        database=cfg.database,
        api=cfg.api,
        network=cfg.network,
        pool_budget=cfg.pool_budget,
        wiring=wiring,
    )
    return MigrationJob("migrations", args, providers.in_region)


def _app(
    cfg: StackConfig,
    providers: Providers,
    base: Foundation,
    data: DataTier,
    edge: Edge,
    paging: Paging,
    migrations: MigrationJob,
) -> ApiService:
    """The API behind the load balancer and the scheduler worker, after the migration run."""
    secrets, load_balancer = base.secrets, edge.load_balancer
    wiring = ApiServiceWiring(
        private_subnet_ids=base.network.private_subnet_ids,
        api_security_group_id=base.workloads.api,
        worker_security_group_id=base.workloads.worker,
        alb_security_group_id=load_balancer.alb_security_group_id,
        database_security_group_id=data.database.security_group_id,
        cache_security_group_id=data.cache.security_group_id,
        target_group_arn=load_balancer.target_group_arn,
        target_group_forwarding=load_balancer.forwarding,
        secret_arns={
            "DATABASE_URL": data.database.database_url_secret_arn,
            "REDIS_URL": data.cache.redis_url_secret_arn,
            "JWT_SECRET": secrets.jwt_secret_arn,
            **secrets.external_secret_arns,
        },
        kms_key_arn=secrets.kms_key_arn,
        deployment_alarm_names=paging.deployment_alarms.alarm_names,
        # The release order: migrations, then the services; a failed migration stops here.
        run_after=[migrations.invocation],
        traffic_shift=load_balancer.traffic_shift,
    )
    args = ApiServiceArgs(
        stack=cfg.stack_wide,
        api=cfg.api,
        worker=cfg.worker,
        edge=cfg.edge,
        secrets=cfg.secrets,
        pool_budget=cfg.pool_budget,
        wiring=wiring,
    )
    return ApiService("app", args, providers.in_region)


def _frontend_release(
    cfg: StackConfig, providers: Providers, edge: Edge, app: ApiService
) -> list[FrontendRelease]:
    """The built frontend into the CDN's bucket after the API it calls (none without
    frontend.distDir)."""
    if cfg.frontend.dist_dir is None:
        return []
    wiring = FrontendReleaseWiring(bucket_name=edge.frontend.frontend_bucket_name, after=[app])
    args = FrontendReleaseArgs(frontend=cfg.frontend, wiring=wiring)
    return [FrontendRelease("frontend-release", args, providers.in_region)]


def _uptime_checks(
    cfg: StackConfig, providers: Providers, edge: Edge, serving: list[pulumi.Resource]
) -> UptimeChecks:
    """Route 53's checks of the API and the site, once the names, the CDN, the API and the
    published frontend (`serving`) are there."""
    wiring = UptimeChecksWiring(run_after=[edge.dns, edge.frontend, *serving])
    args = UptimeChecksArgs(stack=cfg.stack_wide, uptime=cfg.uptime, edge=cfg.edge, wiring=wiring)
    return UptimeChecks("uptime", args, providers.in_region)


def _alarms(
    cfg: StackConfig,
    providers: Providers,
    data: DataTier,
    edge: Edge,
    paging: Paging,
    migrations: MigrationJob,
    app: ApiService,
    backup: Backup,
    uptime: UptimeChecks,
) -> Alarms:
    """Everything else that pages, the cost budget and the dashboard, over all of the above."""
    wiring = AlarmsWiring(
        topics=paging.notifications.topics,
        us_east_1_topics=paging.cdn_topics,
        us_east_1_provider=providers.us_east_1,
        alb_arn_suffix=edge.load_balancer.alb_arn_suffix,
        target_group_arn_suffix=edge.load_balancer.target_group_arn_suffix,
        alternate_target_group_arn_suffix=edge.load_balancer.alternate_target_group_arn_suffix,
        cluster_name=app.cluster_name,
        api_service_name=app.api_service_name,
        worker_service_name=app.worker_service_name,
        db_instance_identifier=data.database.instance_identifier,
        db_replica_identifiers=data.database.replica_identifiers,
        cache_member_cluster_ids=data.cache.member_cluster_ids,
        distribution_id=edge.frontend.distribution_id,
        migration_function_name=migrations.function_name,
        restore_check_function_name=backup.restore_check_function_name,
        worker_log_group_name=app.worker_log_group_name,
        deployment_alarm_arns=paging.deployment_alarms.alarm_arns,
        uptime_targets=uptime.targets,
        api_certificate_arn=edge.certificates.api_certificate_arn,
        cdn_certificate_arn=edge.certificates.cdn_certificate_arn,
    )
    args = AlarmsArgs(
        stack=cfg.stack_wide,
        alarms=cfg.alarms,
        api=cfg.api,
        worker=cfg.worker,
        database=cfg.database,
        pool_budget=cfg.pool_budget,
        wiring=wiring,
    )
    return Alarms("alarms", args, providers.in_region)


def main() -> None:
    """The Pulumi program: load config, build the stack, export its outputs."""
    outputs = build_stack(load_stack_config(region_availability_zones))
    for key, value in outputs.items():
        pulumi.export(key, value)
