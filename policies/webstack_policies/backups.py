"""Backups: every database is in an AWS Backup plan that keeps its recovery points long enough,
and in a restore testing selection that proves they restore.

A stack rule: it joins each RDS instance (read replicas have no backups of their own) and each
Aurora or Multi-AZ cluster with the `aws.backup.Selection`s that name it, their plans' rules,
and the `aws.backup.RestoreTestingSelection`s of existing restore testing plans that name it.
A selection counts when its `resources` name the database (by reference, by ARN, or `*`, and
not excluded by `notResources`); a selection by tags alone does not, since a tag edit would drop
the database without a diff a reviewer sees.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Report, as_dict, as_list, config_of, label, related, schema, truthy
from .safety import RDS_CLUSTER, RDS_INSTANCE

SELECTION = "aws:backup/selection:Selection"
PLAN = "aws:backup/plan:Plan"
RESTORE_SELECTION = "aws:backup/restoreTestingSelection:RestoreTestingSelection"
RESTORE_PLAN = "aws:backup/restoreTestingPlan:RestoreTestingPlan"
# What a restore testing selection's protectedResourceType calls each kind of database.
RESTORE_TYPES = {RDS_INSTANCE: "RDS", RDS_CLUSTER: "Aurora"}

PLAN_DEFAULTS: dict[str, Any] = {"minimumRetentionDays": 30, "requireRestoreTesting": True}


def _databases(resources: Iterable[PolicyResource]) -> list[PolicyResource]:
    return [
        r
        for r in resources
        if (r.resource_type == RDS_INSTANCE and not r.props.get("replicateSourceDb"))
        or r.resource_type == RDS_CLUSTER
    ]


def _names(holder: PolicyResource, prop: str, database: PolicyResource) -> bool:
    """Whether `holder.props[prop]` (a list of ARNs) names `database`."""
    if database.urn in {r.urn for r in holder.property_dependencies.get(prop, [])}:
        return True
    key = "identifier" if database.resource_type == RDS_INSTANCE else "clusterIdentifier"
    identifier = database.props.get(key)
    kind = "db" if database.resource_type == RDS_INSTANCE else "cluster"
    for arn in (str(a) for a in as_list(holder.props.get(prop))):
        if arn == "*" or (identifier and arn.endswith(f":{kind}:{identifier}")):
            return True
    return False


def _retention(plan: PolicyResource) -> float:
    """The longest a rule of the plan keeps a recovery point (a rule without expiry: forever)."""
    days = [
        as_dict(rule.get("lifecycle")).get("deleteAfter")
        for rule in as_list(plan.props.get("rules"))
    ]
    return max((math.inf if not d else float(d) for d in days), default=0.0)


def _plans_of(database: PolicyResource, resources: list[PolicyResource]) -> list[PolicyResource]:
    plans = [r for r in resources if r.resource_type == PLAN]
    found: list[PolicyResource] = []
    for selection in (r for r in resources if r.resource_type == SELECTION):
        if _names(selection, "resources", database) and not _names(
            selection, "notResources", database
        ):
            found += related(selection, "planId", plans, match_props=())
    return found


def _restore_tested(database: PolicyResource, resources: list[PolicyResource]) -> bool:
    plans = [r for r in resources if r.resource_type == RESTORE_PLAN]
    return any(
        selection.props.get("protectedResourceType") == RESTORE_TYPES[database.resource_type]
        and _names(selection, "protectedResourceArns", database)
        and related(selection, "restoreTestingPlanName", plans)
        for selection in resources
        if selection.resource_type == RESTORE_SELECTION
    )


def _backup_plan_validate(args: StackValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, PLAN_DEFAULTS)
    minimum = config["minimumRetentionDays"]
    resources = list(args.resources)
    for database in _databases(resources):
        plans = _plans_of(database, resources)
        if not plans:
            report(
                f"{label(database)}: no AWS Backup plan selects it (a backup selection must name "
                "it by ARN), so nothing outlives its own automated backups.",
                database.urn,
            )
            continue
        kept = max(_retention(p) for p in plans)
        if kept < minimum:
            report(
                f"{label(database)}: its backup plans keep recovery points at most {kept:g} days; "
                f"this stack requires >= {minimum}.",
                database.urn,
            )
        if truthy(config["requireRestoreTesting"]) and not _restore_tested(database, resources):
            report(
                f"{label(database)}: no restore testing selection of a restore testing plan names "
                "it, so nothing proves its backups restore.",
                database.urn,
            )


rds_backup_plan = StackValidationPolicy(
    name="rds-backup-plan",
    description=(
        "Every RDS database is selected, by ARN, by an AWS Backup plan whose rules keep recovery "
        "points at least the stack's minimum (30 days in prod), and, where the stack's policy "
        "config asks for it, by a restore testing selection that proves its backups restore."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        PLAN_DEFAULTS,
        {
            "minimumRetentionDays": {"type": "integer", "minimum": 1, "maximum": 36500},
            "requireRestoreTesting": {"type": "boolean"},
        },
    ),
    validate=_backup_plan_validate,
)

POLICIES = [rds_backup_plan]
