"""Safety: recoverable databases, safe rollouts, bounded logs, owned resources."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import Report, as_dict, config_of, schema, truthy

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
# Aurora cluster instances take backups and deletion protection from their cluster.
BACKED_UP_DATABASES = (RDS_INSTANCE, RDS_CLUSTER)
ECS_SERVICE = "aws:ecs/service:Service"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
AWS_PROVIDER = "pulumi:providers:aws"


BACKUP_DEFAULTS: dict[str, Any] = {"minimumRetentionDays": 7}


def _rds_backups_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in BACKED_UP_DATABASES or args.props.get("replicateSourceDb"):
        return  # read replicas have no automated backups of their own
    minimum = config_of(args.get_config, BACKUP_DEFAULTS)["minimumRetentionDays"]
    days = int(args.props.get("backupRetentionPeriod") or 0)
    if days < minimum:
        report(f"backupRetentionPeriod is {days} days; this stack requires >= {minimum}.")


rds_backup_retention = ResourceValidationPolicy(
    name="rds-backup-retention",
    description=(
        "RDS instances and clusters keep automated backups long enough to recover from a bad "
        "migration or deletion noticed late (point-in-time restore covers the retention window)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        BACKUP_DEFAULTS, {"minimumRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35}}
    ),
    validate=_rds_backups_validate,
)


def _rds_public_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in (RDS_INSTANCE, RDS_CLUSTER, RDS_CLUSTER_INSTANCE) and truthy(
        args.props.get("publiclyAccessible")
    ):
        report("publiclyAccessible must be false: the database lives in the isolated subnets.")


rds_not_public = ResourceValidationPolicy(
    name="rds-not-public",
    description=(
        "RDS instances, Aurora cluster instances and Multi-AZ DB clusters are never publicly "
        "accessible: no public IP, no internet route."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_rds_public_validate,
)

DURABILITY_DEFAULTS: dict[str, Any] = {"requireDeletionProtection": False, "requireMultiAz": False}


def _rds_durability_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in BACKED_UP_DATABASES:
        return
    config = config_of(args.get_config, DURABILITY_DEFAULTS)
    if config["requireDeletionProtection"] and not truthy(args.props.get("deletionProtection")):
        report("deletionProtection must be true in this stack.")
    # Multi-AZ is an instance setting. A cluster's standby is built in (Multi-AZ DB cluster) or
    # a second cluster instance (Aurora), which this rule does not count.
    if (
        args.resource_type == RDS_INSTANCE
        and config["requireMultiAz"]
        and not truthy(args.props.get("multiAz"))
    ):
        report("multiAz must be true in this stack: a standby in another AZ takes over on failure.")


rds_durability = ResourceValidationPolicy(
    name="rds-durability",
    description=(
        "Where the stack's policy config asks for it (prod), RDS instances and clusters have "
        "deletion protection and instances a Multi-AZ standby, so neither a stray delete nor an "
        "AZ failure takes the data down."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        DURABILITY_DEFAULTS,
        {"requireDeletionProtection": {"type": "boolean"}, "requireMultiAz": {"type": "boolean"}},
    ),
    validate=_rds_durability_validate,
)


def _ecs_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != ECS_SERVICE:
        return
    network = as_dict(args.props.get("networkConfiguration"))
    if truthy(network.get("assignPublicIp")):
        report("networkConfiguration.assignPublicIp must be false: tasks run in private subnets.")
    breaker = as_dict(args.props.get("deploymentCircuitBreaker"))
    if not (truthy(breaker.get("enable")) and truthy(breaker.get("rollback"))):
        report(
            "deploymentCircuitBreaker needs enable and rollback: a release whose tasks never get "
            "healthy rolls back by itself instead of draining the service."
        )


ecs_service_safety = ResourceValidationPolicy(
    name="ecs-service-safety",
    description=(
        "ECS services get no public IP and deploy with a circuit breaker that rolls back a "
        "failing release automatically."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_ecs_validate,
)


def _log_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == LOG_GROUP and not int(args.props.get("retentionInDays") or 0):
        report("retentionInDays is unset, so logs are kept (and billed) forever.")


log_group_retention = ResourceValidationPolicy(
    name="log-group-retention",
    description="CloudWatch log groups have a retention period: unbounded logs are unbounded cost.",
    enforcement_level=EnforcementLevel.ADVISORY,
    validate=_log_validate,
)

TAG_DEFAULTS: dict[str, Any] = {
    "requiredTags": ["project", "environment", "owner", "cost-center", "managed-by"]
}


def _default_tags(provider_props: Any) -> dict[str, Any]:
    return as_dict(as_dict(provider_props.get("defaultTags")).get("tags"))


def _tags_validate(args: ResourceValidationArgs, report: Report) -> None:
    required = config_of(args.get_config, TAG_DEFAULTS)["requiredTags"]
    if args.resource_type == AWS_PROVIDER:
        # Providers are analysed as resources too; their default tags cover everything they make.
        tags = _default_tags(args.props)
        where = "the provider's defaultTags"
    elif args.resource_type.startswith("aws:") and "tags" in args.props:
        provider_tags = _default_tags(args.provider.props) if args.provider else {}
        tags = {**provider_tags, **as_dict(args.props.get("tags"))}
        where = "its tags and its provider's default tags"
    else:
        return
    missing = [t for t in required if not tags.get(t)]
    if missing:
        report(f"{where} lack {', '.join(missing)}.")


required_tags = ResourceValidationPolicy(
    name="required-tags",
    description=(
        "AWS resources carry the ownership and cost tags (from the provider's default tags): "
        "every bill line and every alarm leads to a team."
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
    config_schema=schema(
        TAG_DEFAULTS, {"requiredTags": {"type": "array", "items": {"type": "string"}}}
    ),
    validate=_tags_validate,
)

POLICIES = [
    rds_backup_retention,
    rds_not_public,
    rds_durability,
    ecs_service_safety,
    log_group_retention,
    required_tags,
]
