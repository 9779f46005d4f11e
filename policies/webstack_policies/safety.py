"""Safety: recoverable databases, no open ports, safe rollouts, bounded logs, owned resources."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator, Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .common import Report, as_dict, as_list, config_of, schema, truthy

RDS_INSTANCE = "aws:rds/instance:Instance"
ECS_SERVICE = "aws:ecs/service:Service"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
AWS_PROVIDER = "pulumi:providers:aws"


BACKUP_DEFAULTS: dict[str, Any] = {"minimumRetentionDays": 7}


def _rds_backups_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != RDS_INSTANCE or args.props.get("replicateSourceDb"):
        return  # read replicas have no automated backups of their own
    minimum = config_of(args.get_config, BACKUP_DEFAULTS)["minimumRetentionDays"]
    days = int(args.props.get("backupRetentionPeriod") or 0)
    if days < minimum:
        report(f"backupRetentionPeriod is {days} days; this stack requires >= {minimum}.")


rds_backup_retention = ResourceValidationPolicy(
    name="rds-backup-retention",
    description=(
        "RDS keeps automated backups long enough to recover from a bad migration or deletion "
        "noticed late (point-in-time restore covers the retention window)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        BACKUP_DEFAULTS, {"minimumRetentionDays": {"type": "integer", "minimum": 1, "maximum": 35}}
    ),
    validate=_rds_backups_validate,
)


def _rds_public_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type == RDS_INSTANCE and truthy(args.props.get("publiclyAccessible")):
        report("publiclyAccessible must be false: the database lives in the isolated subnets.")


rds_not_public = ResourceValidationPolicy(
    name="rds-not-public",
    description="RDS instances are never publicly accessible: no public IP, no internet route.",
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_rds_public_validate,
)

DURABILITY_DEFAULTS: dict[str, Any] = {"requireDeletionProtection": False, "requireMultiAz": False}


def _rds_durability_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != RDS_INSTANCE:
        return
    config = config_of(args.get_config, DURABILITY_DEFAULTS)
    if config["requireDeletionProtection"] and not truthy(args.props.get("deletionProtection")):
        report("deletionProtection must be true in this stack.")
    if config["requireMultiAz"] and not truthy(args.props.get("multiAz")):
        report("multiAz must be true in this stack: a standby in another AZ takes over on failure.")


rds_durability = ResourceValidationPolicy(
    name="rds-durability",
    description=(
        "Where the stack's policy config asks for it (prod), RDS has deletion protection and a "
        "Multi-AZ standby, so neither a stray delete nor an AZ failure takes the data down."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        DURABILITY_DEFAULTS,
        {"requireDeletionProtection": {"type": "boolean"}, "requireMultiAz": {"type": "boolean"}},
    ),
    validate=_rds_durability_validate,
)

OPEN_DEFAULTS: dict[str, Any] = {"allowedPorts": [80, 443]}


def _is_world(cidr: Any) -> bool:
    try:
        return ipaddress.ip_network(str(cidr), strict=False).prefixlen == 0
    except ValueError:
        return False


def _world_ingress(args: ResourceValidationArgs) -> Iterator[tuple[str, Mapping[str, Any], str]]:
    """(where, rule, protocol key) for each ingress rule open to the whole internet."""
    props = args.props
    if args.resource_type == SECURITY_GROUP:
        for i, rule in enumerate(as_dict(r) for r in as_list(props.get("ingress"))):
            cidrs = as_list(rule.get("cidrBlocks")) + as_list(rule.get("ipv6CidrBlocks"))
            if any(_is_world(c) for c in cidrs):
                yield f"ingress[{i}]", rule, "protocol"
    elif args.resource_type == SECURITY_GROUP_RULE and props.get("type") == "ingress":
        cidrs = as_list(props.get("cidrBlocks")) + as_list(props.get("ipv6CidrBlocks"))
        if any(_is_world(c) for c in cidrs):
            yield "rule", props, "protocol"
    elif args.resource_type == INGRESS_RULE and (
        _is_world(props.get("cidrIpv4")) or _is_world(props.get("cidrIpv6"))
    ):
        yield "rule", props, "ipProtocol"


def _open_validate(args: ResourceValidationArgs, report: Report) -> None:
    allowed = {int(p) for p in config_of(args.get_config, OPEN_DEFAULTS)["allowedPorts"]}
    for where, rule, protocol_key in _world_ingress(args):
        protocol = str(rule.get(protocol_key, "")).lower()
        low, high = rule.get("fromPort"), rule.get("toPort")
        if protocol in ("-1", "all") or low is None or high is None:
            report(f"{where}: all ports are open to the internet.")
        elif protocol not in ("tcp", "6") or not set(range(int(low), int(high) + 1)) <= allowed:
            report(
                f"{where}: {protocol} {int(low)}-{int(high)} is open to the internet; only tcp "
                f"{', '.join(str(p) for p in sorted(allowed))} may be."
            )


no_public_ingress = ResourceValidationPolicy(
    name="no-public-ingress",
    description=(
        "No security group opens anything but HTTP/HTTPS (80/443) to 0.0.0.0/0 or ::/0: SSH, "
        "databases and admin ports are reached through the VPC, never from the internet."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        OPEN_DEFAULTS, {"allowedPorts": {"type": "array", "items": {"type": "integer"}}}
    ),
    validate=_open_validate,
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
    no_public_ingress,
    ecs_service_safety,
    log_group_retention,
    required_tags,
]
