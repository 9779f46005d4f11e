"""The estimated monthly AWS bill of a stack, from what the program registers.

`estimate(resources, assumptions)` reads each resource's inputs (pulumi-aws v7 names, camelCase
as the engine sees them) and prices it from the dated table below: us-east-1 on-demand list
prices, 730 hours a month (the AWS pricing calculator's convention), no free tier, no savings
plans or reserved capacity. Usage that cannot be read off a resource (requests, GB out, log
volume) comes from `webstack:costAssumptions`, split evenly over the resources that carry it.

Nothing is silently zero: a resource type with no price rule, or an instance class missing from
the table, becomes an "unpriced" line that names what is missing. Types that cost nothing of
their own are listed in NO_CHARGE.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from components.config import DeploymentConfig
from components.config.deployment import ROLLING
from tools.cost_assumptions import CostAssumptions
from tools.mockcloud import Resource

# The date the table was compiled. AWS rarely changes these list prices, but re-check the
# sources before budgeting on the figures.
PRICES_AS_OF = "2026-11-22"
REGION = "us-east-1"
HOURS_PER_MONTH = 730
SOURCES = {
    "fargate": "https://aws.amazon.com/fargate/pricing/",
    "ec2": "https://aws.amazon.com/ec2/pricing/on-demand/",
    "ebs": "https://aws.amazon.com/ebs/pricing/",
    "ecr": "https://aws.amazon.com/ecr/pricing/",
    "rds": "https://aws.amazon.com/rds/postgresql/pricing/",
    "elasticache": "https://aws.amazon.com/elasticache/pricing/",
    "vpc": "https://aws.amazon.com/vpc/pricing/",
    "privatelink": "https://aws.amazon.com/privatelink/pricing/",
    "elb": "https://aws.amazon.com/elasticloadbalancing/pricing/",
    "cloudfront": "https://aws.amazon.com/cloudfront/pricing/",
    "s3": "https://aws.amazon.com/s3/pricing/",
    "secretsmanager": "https://aws.amazon.com/secrets-manager/pricing/",
    "kms": "https://aws.amazon.com/kms/pricing/",
    "cloudwatch": "https://aws.amazon.com/cloudwatch/pricing/",
    "waf": "https://aws.amazon.com/waf/pricing/",
    "route53": "https://aws.amazon.com/route53/pricing/",
    "backup": "https://aws.amazon.com/backup/pricing/",
}


@dataclass(frozen=True)
class Price:
    """One list price: USD per `unit`, and the SOURCES key it comes from."""

    usd: float
    unit: str
    source: str


PRICES = {
    "fargate.vcpu.X86_64": Price(0.04048, "vCPU-hour", "fargate"),
    "fargate.gb.X86_64": Price(0.004445, "GB-hour", "fargate"),
    "fargate.vcpu.ARM64": Price(0.03238, "vCPU-hour", "fargate"),
    "fargate.gb.ARM64": Price(0.00356, "GB-hour", "fargate"),
    # Fargate Spot floats with spare capacity (AWS: up to 70 % below on-demand) and runs X86_64
    # only; a published sample, about 67 % off. The pricing page shows the current figure.
    "fargate_spot.vcpu.X86_64": Price(0.01334053, "vCPU-hour", "fargate"),
    "fargate_spot.gb.X86_64": Price(0.00146489, "GB-hour", "fargate"),
    "rds.gp2": Price(0.115, "GB-month", "rds"),
    "rds.gp3": Price(0.115, "GB-month", "rds"),
    "rds.gp3.iops": Price(0.02, "IOPS-month", "rds"),
    "rds.backup": Price(0.095, "GB-month", "rds"),
    "nat.hour": Price(0.045, "hour", "vpc"),
    "nat.gb": Price(0.045, "GB", "vpc"),
    "ipv4.hour": Price(0.005, "hour", "vpc"),
    "ebs.gp3": Price(0.08, "GB-month", "ebs"),
    "ebs.gp2": Price(0.10, "GB-month", "ebs"),
    "endpoint.hour": Price(0.01, "AZ-hour", "privatelink"),
    "endpoint.gb": Price(0.01, "GB", "privatelink"),
    "alb.hour": Price(0.0225, "hour", "elb"),
    "alb.lcu": Price(0.008, "LCU-hour", "elb"),
    "cloudfront.requests": Price(0.01, "10k HTTPS requests", "cloudfront"),
    "cloudfront.gb": Price(0.085, "GB", "cloudfront"),
    "cloudfront.function": Price(0.10, "1M invocations", "cloudfront"),
    "s3.storage": Price(0.023, "GB-month", "s3"),
    "ecr.storage": Price(0.10, "GB-month", "ecr"),
    "s3.get": Price(0.0004, "1k requests", "s3"),
    "secret.month": Price(0.40, "secret-month", "secretsmanager"),
    "secret.api": Price(0.05, "10k API calls", "secretsmanager"),
    "kms.key": Price(1.00, "key-month", "kms"),
    "kms.requests": Price(0.03, "10k requests", "kms"),
    "alarm.standard": Price(0.10, "metric-month", "cloudwatch"),
    "alarm.high_resolution": Price(0.30, "metric-month", "cloudwatch"),
    "metric.custom": Price(0.30, "metric-month", "cloudwatch"),
    "logs.ingest.STANDARD": Price(0.50, "GB", "cloudwatch"),
    "logs.ingest.INFREQUENT_ACCESS": Price(0.25, "GB", "cloudwatch"),
    "logs.storage": Price(0.03, "GB-month", "cloudwatch"),
    "dashboard": Price(3.00, "dashboard-month", "cloudwatch"),
    "waf.acl": Price(5.00, "web ACL-month", "waf"),
    "waf.rule": Price(1.00, "rule-month", "waf"),
    "waf.requests": Price(0.60, "1M requests", "waf"),
    # Route 53's health checks, from its pricing page as read on 2026-09-20. A check of an
    # endpoint Route 53 counts as AWS's and this account's bills the lower rate.
    "route53.check": Price(0.75, "health check-month", "route53"),
    "route53.check.aws": Price(0.50, "health check-month", "route53"),
    "route53.option": Price(2.00, "option-month", "route53"),
    "route53.option.aws": Price(1.00, "option-month", "route53"),
    # AWS Backup bills RDS snapshots at RDS's snapshot rate, and a copy's transfer to another
    # region (US to US) per GB.
    "backup.rds.warm": Price(0.095, "GB-month", "backup"),
    "backup.transfer": Price(0.02, "GB", "backup"),
}

# RDS for PostgreSQL, Single-AZ, USD per instance-hour (Multi-AZ instances bill twice).
RDS_HOURLY = {
    "db.t4g.micro": 0.016,
    "db.t4g.small": 0.032,
    "db.t4g.medium": 0.065,
    "db.t4g.large": 0.129,
    "db.t3.micro": 0.018,
    "db.t3.small": 0.036,
    "db.t3.medium": 0.072,
    "db.t3.large": 0.145,
    "db.m6g.large": 0.159,
    "db.m6g.xlarge": 0.318,
    "db.m7g.large": 0.168,
    "db.m5.large": 0.178,
    "db.r6g.large": 0.225,
    "db.r6g.xlarge": 0.451,
    "db.r6g.2xlarge": 0.901,
    "db.r7g.large": 0.239,
    "db.r7g.xlarge": 0.478,
    "db.r5.large": 0.25,
    "db.r5.xlarge": 0.50,
    "db.r5.2xlarge": 1.00,
}

# EC2 on-demand, Linux, USD per instance-hour (the NAT instance's Graviton burstables).
EC2_HOURLY = {
    "t4g.nano": 0.0042,
    "t4g.micro": 0.0084,
    "t4g.small": 0.0168,
    "t4g.medium": 0.0336,
}

# ElastiCache node-based clusters, Redis OSS engine, USD per node-hour.
ELASTICACHE_HOURLY = {
    "cache.t4g.micro": 0.016,
    "cache.t4g.small": 0.032,
    "cache.t4g.medium": 0.065,
    "cache.t3.micro": 0.017,
    "cache.t3.small": 0.034,
    "cache.t3.medium": 0.068,
    "cache.m6g.large": 0.149,
    "cache.m7g.large": 0.158,
    "cache.m5.large": 0.156,
    "cache.r6g.large": 0.206,
    "cache.r6g.xlarge": 0.411,
    "cache.r7g.large": 0.219,
    "cache.r7g.xlarge": 0.437,
    "cache.r5.large": 0.216,
    "cache.r5.xlarge": 0.431,
}
# Valkey node-based clusters are listed 20 % below Redis OSS for the same node type.
VALKEY_FACTOR = 0.8

# WAF managed rule groups with a subscription and per-request fee of their own.
PAID_RULE_GROUPS = (
    "AWSManagedRulesBotControlRuleSet",
    "AWSManagedRulesATPRuleSet",
    "AWSManagedRulesACFPRuleSet",
)

# Types that cost nothing of their own (their traffic is priced elsewhere, e.g. flow logs as
# log ingestion), or whose usage is too small to matter (a migration Lambda runs a few times a
# month; alarm notifications stay within SNS's free publishes).
NO_CHARGE = frozenset(
    {
        "aws:acm/certificate:Certificate",
        "aws:acm/certificateValidation:CertificateValidation",
        "aws:appautoscaling/policy:Policy",
        # Budgets that only notify (no actions) are free; RDS event notifications bill as SNS.
        "aws:budgets/budget:Budget",
        "aws:rds/eventSubscription:EventSubscription",
        "aws:appautoscaling/target:Target",
        # A vault, its lock and a selection cost nothing themselves: the recovery points (the
        # plan's rules) and the restore tests' copies (their selection) are priced.
        "aws:backup/vault:Vault",
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration",
        "aws:backup/selection:Selection",
        "aws:backup/restoreTestingPlan:RestoreTestingPlan",
        # AWS services' events on the default bus, and the rules matching them, are free.
        "aws:cloudwatch/eventRule:EventRule",
        "aws:cloudwatch/eventTarget:EventTarget",
        "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
        "aws:lambda/permission:Permission",
        "aws:cloudfront/cachePolicy:CachePolicy",
        "aws:cloudfront/originAccessControl:OriginAccessControl",
        "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy",
        "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
        "aws:ec2/flowLog:FlowLog",
        "aws:ec2/internetGateway:InternetGateway",
        "aws:ec2/route:Route",
        "aws:ec2/routeTable:RouteTable",
        "aws:ec2/routeTableAssociation:RouteTableAssociation",
        "aws:ec2/securityGroup:SecurityGroup",
        "aws:ec2/subnet:Subnet",
        "aws:ec2/vpc:Vpc",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy",
        "aws:ecs/cluster:Cluster",
        "aws:ecs/clusterCapacityProviders:ClusterCapacityProviders",
        "aws:ecs/taskDefinition:TaskDefinition",
        "aws:elasticache/parameterGroup:ParameterGroup",
        "aws:elasticache/subnetGroup:SubnetGroup",
        "aws:iam/instanceProfile:InstanceProfile",
        "aws:iam/role:Role",
        "aws:iam/rolePolicy:RolePolicy",
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        "aws:kms/alias:Alias",
        "aws:lambda/function:Function",
        "aws:lambda/invocation:Invocation",
        "aws:lb/listener:Listener",
        "aws:lb/listenerRule:ListenerRule",
        "aws:lb/targetGroup:TargetGroup",
        "aws:rds/parameterGroup:ParameterGroup",
        "aws:rds/subnetGroup:SubnetGroup",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        # The frontend's files: their storage and requests are the bucket's (s3StorageGb).
        "aws:s3/bucketObjectv2:BucketObjectv2",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:secretsmanager/secretVersion:SecretVersion",
        "aws:sns/topic:Topic",
        "aws:sns/topicPolicy:TopicPolicy",
        "aws:sns/topicSubscription:TopicSubscription",
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule",
        "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
        "aws:wafv2/webAclAssociation:WebAclAssociation",
        "aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration",
    }
)
# Providers outside the AWS bill (Cloudflare's plan is billed by Cloudflare, and its records,
# zone settings and transform rulesets cost nothing on top of it: Transform Rules come with
# every plan; dynamic resources run in the `pulumi` process).
NOT_AWS = ("pulumi:", "pulumi-python:", "random:", "cloudflare:", "tls:")


def per_day(monthly: float) -> float:
    """A monthly figure per day: 24 of the month's HOURS_PER_MONTH hours (monthly / 30.4)."""
    return monthly * 24 / HOURS_PER_MONTH


@dataclass(frozen=True)
class CostLine:
    """One line of the estimate. `unit_price` None means unpriced: see `note`."""

    component: str
    resource: str
    item: str
    quantity: float
    unit: str
    unit_price: float | None
    note: str = ""

    @property
    def monthly(self) -> float | None:
        return None if self.unit_price is None else self.quantity * self.unit_price


@dataclass(frozen=True)
class Estimate:
    """Every cost line of a stack, with totals."""

    lines: tuple[CostLine, ...]

    @property
    def total(self) -> float:
        """USD per month of the priced lines (see `unpriced` for the rest)."""
        return sum(line.monthly or 0.0 for line in self.lines)

    @property
    def per_day(self) -> float:
        """USD per day of the priced lines."""
        return per_day(self.total)

    @property
    def unpriced(self) -> list[CostLine]:
        return [line for line in self.lines if line.unit_price is None]

    def by_component(self) -> dict[str, float]:
        totals: dict[str, float] = defaultdict(float)
        for line in self.lines:
            totals[line.component] += line.monthly or 0.0
        return dict(totals)

    def to_json(self) -> dict[str, Any]:
        return {
            "pricesAsOf": PRICES_AS_OF,
            "region": REGION,
            "currency": "USD",
            "total": round(self.total, 2),
            "perDay": round(self.per_day, 2),
            "byComponent": {k: round(v, 2) for k, v in self.by_component().items()},
            "lines": [
                {
                    "component": line.component,
                    "resource": line.resource,
                    "item": line.item,
                    "quantity": round(line.quantity, 4),
                    "unit": line.unit,
                    "unitPrice": line.unit_price,
                    "monthly": None if line.monthly is None else round(line.monthly, 2),
                    "note": line.note,
                }
                for line in self.lines
            ],
        }


def _num(value: Any, default: float = 0.0) -> float:
    """Inputs arrive as floats from the mock runtime, and cpu/memory as strings."""
    if value is None or value == "":
        return default
    return float(value)


class _Pricer:
    """Prices one stack: knows every resource, to resolve references and split usage."""

    def __init__(self, resources: Sequence[Resource], assumptions: CostAssumptions) -> None:
        self.resources = list(resources)
        self.usage = assumptions
        self.by_urn = {r.urn: r for r in self.resources}
        self.counts: dict[str, int] = defaultdict(int)
        for r in self.resources:
            self.counts[r.type] += 1
        self.interface_endpoints = sum(1 for r in self.resources if _is_interface_endpoint(r))
        self.lines: list[CostLine] = []
        self._resource: Resource | None = None

    def component(self, resource: Resource) -> str:
        """The top-level component a resource belongs to (its own name at the top)."""
        while resource.parent in self.by_urn:
            resource = self.by_urn[resource.parent]
        return resource.name

    def share(self, total: float, type_: str | None = None) -> float:
        """An even share of a stack-wide usage figure for the current resource."""
        assert self._resource is not None
        return total / max(1, self.counts[type_ or self._resource.type])

    def add(self, item: str, quantity: float, price: str, note: str = "") -> None:
        p = PRICES[price]
        self._line(item, quantity, p.unit, p.usd, note)

    def add_hourly(self, item: str, count: float, usd_per_hour: float, note: str = "") -> None:
        self._line(item, count * HOURS_PER_MONTH, "hour", usd_per_hour, note)

    def unpriced(self, item: str, note: str) -> None:
        self._line(item, 0, "", None, note)

    def free(self, item: str, note: str) -> None:
        """A line that costs nothing of its own, shown so the estimate says so."""
        self._line(item, 1, "", 0.0, note)

    def _line(
        self, item: str, quantity: float, unit: str, unit_price: float | None, note: str
    ) -> None:
        assert self._resource is not None
        self.lines.append(
            CostLine(
                self.component(self._resource),
                self._resource.name,
                item,
                quantity,
                unit,
                unit_price,
                note,
            )
        )

    def price(self, resource: Resource) -> None:
        if not resource.custom or resource.type.startswith(NOT_AWS):
            return
        if resource.type in NO_CHARGE:
            return
        self._resource = resource
        rule = RULES.get(resource.type)
        if rule is None:
            self.unpriced(resource.type, "no price rule for this type (tools/cost.py)")
        else:
            rule(self, resource)

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def find(self, type_: str, reference: Any) -> Resource | None:
        """The resource of `type_` that `reference` (an ARN, id, name or family) points at."""
        if not reference:
            return None
        for r in self.resources:
            if r.type != type_:
                continue
            names = {r.outputs.get(k) for k in ("arn", "id", "name", "identifier")}
            names |= {r.inputs.get(k) for k in ("name", "identifier", "family")}
            if reference in names or (
                # A task definition is often referenced as family:revision.
                isinstance(reference, str) and reference.split(":")[0] in names
            ):
                return r
        return None


def _is_interface_endpoint(r: Resource) -> bool:
    return r.type == "aws:ec2/vpcEndpoint:VpcEndpoint" and r.inputs.get("vpcEndpointType") == (
        "Interface"
    )


# -- rules, one per priced type ------------------------------------------------------------------


# Capacity provider -> (the PRICES key prefix of its tasks, how a cost line names it).
FARGATE_PROVIDERS = {
    "FARGATE": ("fargate", "Fargate"),
    "FARGATE_SPOT": ("fargate_spot", "Fargate Spot"),
}


def _task_shares(r: Resource, tasks: float) -> dict[str, float] | str:
    """Tasks per Fargate capacity provider (a strategy's base first, the rest by weight), or
    why the service cannot be priced."""
    strategies = r.inputs.get("capacityProviderStrategies") or []
    if not strategies:
        launch = r.inputs.get("launchType", "FARGATE")
        return {"FARGATE": tasks} if launch == "FARGATE" else f"launch type {launch}"
    providers = [s.get("capacityProvider") for s in strategies]
    if any(provider not in FARGATE_PROVIDERS for provider in providers):
        return f"capacity providers {providers}"
    shares = {provider: 0.0 for provider in providers}
    left = tasks
    for s in strategies:
        base = min(left, _num(s.get("base")))
        shares[s["capacityProvider"]] += base
        left -= base
    weights = [_num(s.get("weight")) for s in strategies]
    if not sum(weights):  # no weight given (ECS's default is 0): an even split
        weights = [1.0] * len(strategies)
    for s, weight in zip(strategies, weights, strict=True):
        shares[s["capacityProvider"]] += left * weight / sum(weights)
    return shares


def _ecs_service(p: _Pricer, r: Resource) -> None:
    task = p.find("aws:ecs/taskDefinition:TaskDefinition", r.inputs.get("taskDefinition"))
    if task is None:
        p.unpriced("tasks", "its task definition is not in the stack")
        return
    name = r.outputs.get("name") or r.inputs.get("name") or r.name
    scaling = next(
        (
            t
            for t in p.resources
            if t.type == "aws:appautoscaling/target:Target"
            and str(t.inputs.get("resourceId", "")).endswith(f"/{name}")
        ),
        None,
    )
    if scaling is None:
        tasks = _num(r.inputs.get("desiredCount"))
        note = "desiredCount"
    else:
        low, high = _num(scaling.inputs.get("minCapacity")), _num(scaling.inputs.get("maxCapacity"))
        tasks = min(high, max(low, p.usage.average_scaled_tasks))
        note = f"autoscaled {low:g}-{high:g}, averageScaledTasks {p.usage.average_scaled_tasks:g}"
    arch = (task.inputs.get("runtimePlatform") or {}).get("cpuArchitecture", "X86_64")
    shares = _task_shares(r, tasks)
    if isinstance(shares, str):
        p.unpriced("tasks", f"only Fargate and Fargate Spot are priced, got {shares}")
        return
    vcpu = _num(task.inputs.get("cpu")) / 1024
    gb = _num(task.inputs.get("memory")) / 1024
    overlap = _deploy_overlap_minutes(r)
    for provider, count in shares.items():
        key, kind = FARGATE_PROVIDERS[provider]
        if f"{key}.vcpu.{arch}" not in PRICES:
            p.unpriced("tasks", f"no {kind} price for CPU architecture {arch!r}")
            continue
        hours = count * HOURS_PER_MONTH
        p.add(
            f"{kind} {arch} vCPU ({count:g} × {vcpu:g})", hours * vcpu, f"{key}.vcpu.{arch}", note
        )
        p.add(f"{kind} {arch} memory ({count:g} × {gb:g} GB)", hours * gb, f"{key}.gb.{arch}", note)
        if overlap is None:
            continue
        # A traffic-shifting deployment runs a second full set of tasks (twice the count) from
        # the first shift to the end of the bake; a rolling one overlaps for a minute or two.
        deploys = p.usage.deploys_per_month
        extra = count * overlap / 60 * deploys
        why = f"{count:g} more tasks for {overlap:g} min × {deploys:g} deploys (deploysPerMonth)"
        p.add(f"deploy overlap, {kind} {arch} vCPU", extra * vcpu, f"{key}.vcpu.{arch}", why)
        p.add(f"deploy overlap, {kind} {arch} memory", extra * gb, f"{key}.gb.{arch}", why)


def _deploy_overlap_minutes(r: Resource) -> float | None:
    """Minutes of shift and bake of a traffic-shifting deployment; None for ROLLING."""
    dc = r.inputs.get("deploymentConfiguration") or {}
    if dc.get("strategy", ROLLING) == ROLLING:
        return None
    canary = dc.get("canaryConfiguration") or {}
    linear = dc.get("linearConfiguration") or {}
    registered = DeploymentConfig(
        strategy=dc["strategy"],
        bake_time_minutes=int(_num(dc.get("bakeTimeInMinutes"))),
        canary_interval_minutes=int(_num(canary.get("canaryBakeTimeInMinutes"))),
        linear_step_percent=_num(linear.get("stepPercent"), 100),
        linear_interval_minutes=int(_num(linear.get("stepBakeTimeInMinutes"))),
    )
    return registered.shift_minutes + registered.bake_time_minutes


def _rds_instance(p: _Pricer, r: Resource) -> None:
    cls = r.inputs.get("instanceClass", "")
    copies = 2 if r.inputs.get("multiAz") else 1
    replica = bool(r.inputs.get("replicateSourceDb"))
    kind = ("read replica " if replica else "") + ("Multi-AZ " if copies == 2 else "")
    if cls in RDS_HOURLY:
        p.add_hourly(f"{kind}instance {cls}", copies, RDS_HOURLY[cls])
    else:
        p.unpriced(f"{kind}instance {cls or '?'}", "instance class not in the price table")
    storage = _num(r.inputs.get("allocatedStorage"))
    source = p.find("aws:rds/instance:Instance", r.inputs.get("replicateSourceDb"))
    if not storage and source is not None:
        storage = _num(source.inputs.get("allocatedStorage"))
    storage_type = r.inputs.get("storageType", "gp2")
    if not storage or f"rds.{storage_type}" not in PRICES:
        p.unpriced(f"storage {storage_type}", f"no price for {storage:g} GB of {storage_type}")
        return
    p.add(f"{kind}storage {storage_type}", storage * copies, f"rds.{storage_type}")
    # gp3 includes 3,000 IOPS below 400 GB and 12,000 from 400 GB; more is billed.
    baseline = 12000 if storage >= 400 else 3000
    extra_iops = _num(r.inputs.get("iops")) - baseline
    if storage_type == "gp3" and extra_iops > 0:
        p.add("provisioned IOPS above the gp3 baseline", extra_iops * copies, "rds.gp3.iops")
    if r.inputs.get("manageMasterUserPassword"):
        # RDS keeps the master password in a Secrets Manager secret of its own, billed as one
        # but registered by no resource of the stack.
        p.add("RDS-managed master user secret", 1, "secret.month")
    insights_days = _num(r.inputs.get("performanceInsightsRetentionPeriod"))
    if r.inputs.get("performanceInsightsEnabled") and insights_days > 7:
        p.unpriced(
            f"Performance Insights {insights_days:g}-day retention",
            "only the free 7 days are in the price table (billed per vCPU beyond)",
        )
    retention = _num(r.inputs.get("backupRetentionPeriod"))
    if retention > 0 and not replica:
        # Backups up to 100 % of provisioned storage are free; beyond that is the first full
        # snapshot's incremental tail: changed blocks for every retained day.
        rate = p.usage.db_daily_change_percent / 100
        p.add(
            f"backup storage beyond the free {storage:g} GB",
            storage * rate * retention,
            "rds.backup",
            f"{retention:g} days × {rate:.0%} daily change",
        )


def _cache_nodes(p: _Pricer, r: Resource, nodes: float) -> None:
    node = r.inputs.get("nodeType", "")
    engine = r.inputs.get("engine", "redis")
    if node not in ELASTICACHE_HOURLY:
        p.unpriced(f"{engine} node {node or '?'}", "node type not in the price table")
        return
    factor = VALKEY_FACTOR if engine == "valkey" else 1.0
    p.add_hourly(f"{engine} {nodes:g} × {node}", nodes, ELASTICACHE_HOURLY[node] * factor)


def _cache_replication_group(p: _Pricer, r: Resource) -> None:
    if r.inputs.get("numCacheClusters"):
        nodes = _num(r.inputs["numCacheClusters"])
    else:
        shards = _num(r.inputs.get("numNodeGroups"), 1)
        nodes = shards * (_num(r.inputs.get("replicasPerNodeGroup")) + 1)
    _cache_nodes(p, r, nodes)


def _nat_gateway(p: _Pricer, r: Resource) -> None:
    p.add_hourly("NAT gateway", 1, PRICES["nat.hour"].usd)
    p.add("NAT data processed", p.share(p.usage.nat_gb_per_month), "nat.gb", "natGbPerMonth")


def _ec2_instance(p: _Pricer, r: Resource) -> None:
    # No per-GB charge, unlike a NAT gateway: what it sends to the internet bills as data
    # transfer out, which this estimate prices for no resource.
    cls = r.inputs.get("instanceType", "")
    credits = (r.inputs.get("creditSpecification") or {}).get("cpuCredits")
    note = "surplus CPU credits above the baseline not modelled" if credits == "unlimited" else ""
    if cls in EC2_HOURLY:
        p.add_hourly(f"EC2 instance {cls}", 1, EC2_HOURLY[cls], note)
    else:
        p.unpriced(f"EC2 instance {cls or '?'}", "instance type not in the price table")
    root = r.inputs.get("rootBlockDevice") or {}
    kind = root.get("volumeType", "")
    size = _num(root.get("volumeSize"))
    if f"ebs.{kind}" in PRICES and size:
        p.add(f"root volume {kind}", size, f"ebs.{kind}")
    else:
        # A size or type left to the AMI is not known before launch.
        kind = kind or "the AMI's type"
        p.unpriced("root volume", f"no price for {size:g} GB of {kind}")
    if r.inputs.get("associatePublicIpAddress"):
        p.add_hourly("public IPv4 address", 1, PRICES["ipv4.hour"].usd, "auto-assigned")


def _eip(p: _Pricer, r: Resource) -> None:
    p.add_hourly("public IPv4 address", 1, PRICES["ipv4.hour"].usd)


def _vpc_endpoint(p: _Pricer, r: Resource) -> None:
    kind = r.inputs.get("vpcEndpointType", "Gateway")
    if kind == "Gateway":
        return  # S3 and DynamoDB gateway endpoints are free
    if kind != "Interface":
        p.unpriced(f"{kind} endpoint", "only interface and gateway endpoints are priced")
        return
    azs = len(r.inputs.get("subnetIds") or []) or 1
    # com.amazonaws.<region>.ecr.api -> ecr.api
    service = str(r.inputs.get("serviceName", "")).split(".", 3)[-1]
    p.add_hourly(f"interface endpoint {service} × {azs} AZ", azs, PRICES["endpoint.hour"].usd)
    gb = p.usage.endpoint_gb_per_month / max(1, p.interface_endpoints)
    p.add("endpoint data processed", gb, "endpoint.gb", "endpointGbPerMonth")


def _load_balancer(p: _Pricer, r: Resource) -> None:
    kind = r.inputs.get("loadBalancerType", "application")
    if kind != "application":
        p.unpriced(f"{kind} load balancer", "only application load balancers are priced")
        return
    p.add_hourly("ALB", 1, PRICES["alb.hour"].usd)
    # LCUs bill the highest dimension per hour; assuming a new connection per request (25 per
    # second per LCU) bounds keep-alive traffic from above, next to processed GB (1 per LCU).
    per_second = p.share(p.usage.api_requests_per_month) / (HOURS_PER_MONTH * 3600)
    gb_per_hour = p.share(p.usage.api_gb_per_month) / HOURS_PER_MONTH
    lcu = max(per_second / 25, gb_per_hour)
    p.add("ALB LCUs", lcu * HOURS_PER_MONTH, "alb.lcu", f"{lcu:.2f} LCU average")
    if not r.inputs.get("internal"):
        addresses = len(r.inputs.get("subnets") or r.inputs.get("subnetMappings") or []) or 2
        p.add_hourly(
            f"ALB public IPv4 × {addresses}", addresses, PRICES["ipv4.hour"].usd, "one per AZ"
        )
    if any(_forwards_to_two_groups(rule) for rule in p.of_type("aws:lb/listenerRule:ListenerRule")):
        p.free(
            "second target group and the weighted rules ECS shifts",
            "no charge of their own: an ALB bills hours and LCUs (rule evaluations past 10 a "
            "request count toward LCUs)",
        )


def _forwards_to_two_groups(rule: Resource) -> bool:
    return any(
        len((action.get("forward") or {}).get("targetGroups") or []) > 1
        for action in rule.inputs.get("actions") or []
    )


def _distribution(p: _Pricer, r: Resource) -> None:
    p.add(
        "CloudFront HTTPS requests",
        p.share(p.usage.cdn_requests_per_month) / 10_000,
        "cloudfront.requests",
        "cdnRequestsPerMonth",
    )
    p.add(
        "CloudFront data out",
        p.share(p.usage.cdn_gb_out_per_month),
        "cloudfront.gb",
        "cdnGbOutPerMonth",
    )


def _cloudfront_function(p: _Pricer, r: Resource) -> None:
    # Each viewer request runs the one function of the behaviour it matches.
    p.add(
        "CloudFront Function invocations",
        p.share(p.usage.cdn_requests_per_month) / 1e6,
        "cloudfront.function",
        "cdnRequestsPerMonth, split over the functions",
    )


# Route 53 endpoint check types, and the priced options each input turns on.
ENDPOINT_CHECKS = ("HTTP", "HTTPS", "HTTP_STR_MATCH", "HTTPS_STR_MATCH", "TCP")


def _health_check(p: _Pricer, r: Resource) -> None:
    kind = str(r.inputs.get("type", ""))
    if kind not in ENDPOINT_CHECKS:
        p.unpriced(f"{kind or '?'} health check", "only endpoint health checks are priced")
        return
    options = [
        option
        for option, on in (
            ("HTTPS", kind.startswith("HTTPS")),
            ("string matching", kind.endswith("STR_MATCH")),
            ("fast interval", _num(r.inputs.get("requestInterval"), 30) < 30),
            ("latency measurement", bool(r.inputs.get("measureLatency"))),
        )
        if on
    ]
    # Which rate applies is Route 53's call when it first resolves the name; estimate the
    # higher one.
    aws_rate = PRICES["route53.check.aws"].usd + len(options) * PRICES["route53.option.aws"].usd
    note = f"non-AWS-endpoint rate; ${aws_rate:.2f} if Route 53 counts it as this account's"
    p.add(f"Route 53 health check {r.inputs.get('fqdn', '')}", 1, "route53.check", note)
    if options:
        p.add(f"health check options: {', '.join(options)}", len(options), "route53.option", note)


def _bucket(p: _Pricer, r: Resource) -> None:
    p.add("S3 Standard storage", p.share(p.usage.s3_storage_gb), "s3.storage", "s3StorageGb")
    p.add(
        "S3 GET requests",
        p.share(p.usage.s3_requests_per_month) / 1000,
        "s3.get",
        "s3RequestsPerMonth",
    )


def _repository(p: _Pricer, r: Resource) -> None:
    # Pulls from inside the region (ECS, through NAT or endpoints) are free of ECR transfer.
    p.add("ECR image storage", p.share(p.usage.ecr_storage_gb), "ecr.storage", "ecrStorageGb")


def _secret(p: _Pricer, r: Resource) -> None:
    copies = 1 + len(r.inputs.get("replicas") or [])  # each replica bills as a secret
    p.add("secret", copies, "secret.month")
    calls = p.share(p.usage.secret_api_calls_per_month) / 10_000
    p.add("Secrets Manager API calls", calls, "secret.api", "secretApiCallsPerMonth")


def _kms_key(p: _Pricer, r: Resource) -> None:
    p.add("KMS key", 1, "kms.key")
    p.add(
        "KMS requests",
        p.share(p.usage.kms_requests_per_month, "aws:kms/key:Key") / 10_000,
        "kms.requests",
        "kmsRequestsPerMonth",
    )


def _metric_alarm(p: _Pricer, r: Resource) -> None:
    queries = r.inputs.get("metricQueries") or []
    # Metric-math alarms bill per metric they read, not per expression.
    metrics = [q["metric"] for q in queries if q.get("metric")] or [r.inputs]
    high_res = [m for m in metrics if 0 < _num(m.get("period"), 60) < 60]
    standard = len(metrics) - len(high_res)
    kind = "metric-math alarm" if queries else "alarm"
    if standard:
        p.add(f"{kind}, {standard} metric(s)", standard, "alarm.standard")
    if high_res:
        p.add(
            f"{kind}, {len(high_res)} high-resolution metric(s)",
            len(high_res),
            "alarm.high_resolution",
        )


def _metric_filter(p: _Pricer, r: Resource) -> None:
    p.add("custom metric from a log filter", 1, "metric.custom")


def _log_group(p: _Pricer, r: Resource) -> None:
    gb = p.share(p.usage.log_gb_per_month)
    tier = r.inputs.get("logGroupClass", "STANDARD")
    if f"logs.ingest.{tier}" not in PRICES:
        p.unpriced(f"{tier} log ingestion", "log group class not in the price table")
        return
    p.add(f"log ingestion ({tier.lower()})", gb, f"logs.ingest.{tier}", "logGbPerMonth")
    days = _num(r.inputs.get("retentionInDays"))
    # Never-expiring logs grow without bound; a year's worth stands in for them. Storage is
    # billed compressed, so ingested GB bound it from above.
    months = days / (365 / 12) if days else 12
    note = f"{days:g}-day retention" if days else "never expires: a year's worth"
    p.add("log storage", gb * months, "logs.storage", note)


def _dashboard(p: _Pricer, r: Resource) -> None:
    p.add("dashboard", 1, "dashboard")


def waf_rules(r: Resource) -> list[dict[str, Any]]:
    """A web ACL's rules from whichever input carries them, keys in WAF's PascalCase.

    `ruleJson` is WAF's own JSON (PascalCase); `rules` are the SDK's typed args (camelCase).
    """
    if r.inputs.get("ruleJson"):
        rules = json.loads(r.inputs["ruleJson"])
        return rules if isinstance(rules, list) else []
    return [_pascal(rule) for rule in r.inputs.get("rules") or []]


def _pascal(value: Any) -> Any:
    if isinstance(value, dict):
        return {k[:1].upper() + k[1:]: _pascal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_pascal(v) for v in value]
    return value


def _web_acl(p: _Pricer, r: Resource) -> None:
    rules = waf_rules(r)
    p.add("web ACL", 1, "waf.acl")
    # Each rule bills, a managed rule group counting as one.
    p.add(f"rules × {len(rules)}", len(rules), "waf.rule")
    scope = r.inputs.get("scope", "REGIONAL")
    requests, key = (
        (p.usage.cdn_requests_per_month, "cdnRequestsPerMonth")
        if scope == "CLOUDFRONT"
        else (p.usage.api_requests_per_month, "apiRequestsPerMonth")
    )
    p.add("inspected requests", requests / 1e6, "waf.requests", key)
    for rule in rules:
        group = ((rule.get("Statement") or {}).get("ManagedRuleGroupStatement") or {}).get("Name")
        if group in PAID_RULE_GROUPS:
            p.unpriced(group, "subscription and per-request fees of this rule group not modelled")


DAYS_PER_MONTH = HOURS_PER_MONTH / 24
WEEKS_PER_MONTH = DAYS_PER_MONTH / 7


def _backed_up_storage(p: _Pricer, plan: Resource) -> float:
    """GB of the RDS instances the plan's selections name by ARN."""
    plan_ids = {plan.outputs.get("id"), plan.id}
    total = 0.0
    for selection in p.resources:
        if selection.type != "aws:backup/selection:Selection":
            continue
        if selection.inputs.get("planId") not in plan_ids:
            continue
        for arn in selection.inputs.get("resources") or []:
            database = p.find("aws:rds/instance:Instance", arn)
            if database is not None:
                total += _num(database.inputs.get("allocatedStorage"))
    return total


def _backup_plan(p: _Pricer, r: Resource) -> None:
    # A chain of snapshots is one full copy plus each retained day's changed blocks, whatever
    # the schedule. Continuous rules keep RDS's own automated backups (priced on the instance).
    storage = _backed_up_storage(p, r)
    rate = p.usage.db_daily_change_percent / 100
    for rule in r.inputs.get("rules") or []:
        if rule.get("enableContinuousBackup"):
            continue
        name = rule.get("ruleName", "?")
        days = _num((rule.get("lifecycle") or {}).get("deleteAfter"))
        note = f"{storage:g} GB + {days:g} days × {rate:.0%} daily change"
        p.add(f"{name} snapshots (warm)", storage * (1 + rate * days), "backup.rds.warm", note)
        for copy in rule.get("copyActions") or []:
            kept = _num((copy.get("lifecycle") or {}).get("deleteAfter"))
            p.add(
                f"{name} copies to the DR region: transfer",
                storage * rate * DAYS_PER_MONTH,
                "backup.transfer",
                f"each day's change; the first copy moves the full {storage:g} GB once",
            )
            p.add(
                f"{name} copies in the DR vault (warm)",
                storage * (1 + rate * kept),
                "backup.rds.warm",
                f"{storage:g} GB + {kept:g} days × {rate:.0%} daily change, at {REGION}'s rate",
            )


_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
# Cron's names of days (SUN is 1) and months (JAN is 1).
_NAMES = {name: str(n) for names in (_DAYS, _MONTHS) for n, name in enumerate(names, 1)}


def _cron_count(field: str, low: int, high: int) -> float | None:
    """How many values of [low, high] an AWS cron field matches (None: not understood)."""
    for name, number in _NAMES.items():
        field = field.upper().replace(name, number)
    if field in ("*", "?"):
        return float(high - low + 1)
    total = 0
    for part in field.split(","):
        base, _, step = part.partition("/")
        first_text, _, last_text = base.partition("-")
        if base == "*":
            first, last = low, high
        elif first_text.isdigit() and (last_text.isdigit() or not last_text):
            first = int(first_text)
            last = int(last_text) if last_text else (high if step else first)
        else:
            return None
        if step and not step.isdigit():
            return None
        total += len(range(first, last + 1, int(step or 1)))
    return float(total)


def runs_per_month(expression: str) -> float | None:
    """Average runs a month of an AWS `cron(min hour day-of-month month day-of-week year)`
    (None: an expression this reading does not understand)."""
    fields = expression.removeprefix("cron(").removesuffix(")").split()
    if len(fields) != 6:
        return None
    minute, hour, dom, month, dow, _ = fields
    days: float | None
    if dom == "?" and ("#" in dow or dow.endswith("L")):
        days = 1.0  # `2#1`: the first Monday; `6L`: the last Friday
    elif dom == "?":
        weekdays = _cron_count(dow, 1, 7)
        days = None if weekdays is None else weekdays * WEEKS_PER_MONTH
    elif dom.endswith(("L", "W")):
        days = 1.0  # the last day, the weekday nearest a date
    elif dom == "*":
        days = DAYS_PER_MONTH
    else:
        days = _cron_count(dom, 1, 31)  # each listed date once a month
    counts = (_cron_count(minute, 0, 59), _cron_count(hour, 0, 23), _cron_count(month, 1, 12))
    if days is None or any(c is None for c in counts):
        return None
    minutes, hours, months = (float(c or 0) for c in counts)
    return minutes * hours * days * months / 12


def _restore_test(p: _Pricer, r: Resource) -> None:
    plan = p.find(
        "aws:backup/restoreTestingPlan:RestoreTestingPlan", r.inputs.get("restoreTestingPlanName")
    )
    database = next(
        (
            d
            for arn in r.inputs.get("protectedResourceArns") or []
            if (d := p.find("aws:rds/instance:Instance", arn)) is not None
        ),
        None,
    )
    if plan is None or database is None:
        p.unpriced("restore tests", "its restore testing plan or its database is not in the stack")
        return
    schedule = str(plan.inputs.get("scheduleExpression") or "cron(0 5 ? * * *)")
    runs = runs_per_month(schedule)
    if runs is None:
        p.unpriced("restore tests", f"cannot count the runs of {schedule}")
        return
    overrides = {k.lower(): v for k, v in (r.inputs.get("restoreMetadataOverrides") or {}).items()}
    cls = overrides.get("dbinstanceclass") or database.inputs.get("instanceClass", "")
    hours = _num(r.inputs.get("validationWindowHours"), 1) * runs
    note = f"{runs:g} runs/month × the {_num(r.inputs.get('validationWindowHours'), 1):g} h window"
    if cls not in RDS_HOURLY:
        p.unpriced(f"restored instance {cls or '?'}", "instance class not in the price table")
        return
    # The copy lives until the verdict is in or the window ends: the window bounds it above.
    p.add_hourly(f"restored instance {cls}", hours / HOURS_PER_MONTH, RDS_HOURLY[cls], note)
    storage = _num(database.inputs.get("allocatedStorage"))
    kind = database.inputs.get("storageType", "gp2")
    if f"rds.{kind}" in PRICES:
        p.add(f"restored storage {kind}", storage * hours / HOURS_PER_MONTH, f"rds.{kind}", note)


Rule = Callable[[_Pricer, Resource], None]
RULES: dict[str, Rule] = {
    "aws:ecs/service:Service": _ecs_service,
    "aws:rds/instance:Instance": _rds_instance,
    "aws:elasticache/replicationGroup:ReplicationGroup": _cache_replication_group,
    "aws:ec2/natGateway:NatGateway": _nat_gateway,
    "aws:ec2/eip:Eip": _eip,
    "aws:ec2/instance:Instance": _ec2_instance,
    "aws:ec2/vpcEndpoint:VpcEndpoint": _vpc_endpoint,
    "aws:lb/loadBalancer:LoadBalancer": _load_balancer,
    "aws:cloudfront/distribution:Distribution": _distribution,
    "aws:cloudfront/function:Function": _cloudfront_function,
    "aws:route53/healthCheck:HealthCheck": _health_check,
    "aws:s3/bucket:Bucket": _bucket,
    "aws:ecr/repository:Repository": _repository,
    "aws:secretsmanager/secret:Secret": _secret,
    "aws:kms/key:Key": _kms_key,
    "aws:cloudwatch/metricAlarm:MetricAlarm": _metric_alarm,
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": _metric_filter,
    "aws:cloudwatch/logGroup:LogGroup": _log_group,
    "aws:cloudwatch/dashboard:Dashboard": _dashboard,
    "aws:wafv2/webAcl:WebAcl": _web_acl,
    "aws:backup/plan:Plan": _backup_plan,
    "aws:backup/restoreTestingSelection:RestoreTestingSelection": _restore_test,
}


def estimate(resources: Iterable[Resource], assumptions: CostAssumptions) -> Estimate:
    """Price every resource; usage figures come from `assumptions`."""
    pricer = _Pricer(list(resources), assumptions)
    for resource in pricer.resources:
        pricer.price(resource)
    return Estimate(tuple(pricer.lines))


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _unit_price(usd: float) -> str:
    """At least cents, and every significant digit of sub-cent prices: $0.50, $0.004445."""
    whole, _, fraction = f"{usd:.6f}".rstrip("0").partition(".")
    return f"${whole}.{fraction.ljust(2, '0')}"


def render(est: Estimate) -> list[str]:
    """The estimate as a text table: line items by component, then totals."""
    rows = [("component", "item", "quantity", "unit price", "monthly")]
    for line in sorted(est.lines, key=lambda x: (x.component, x.resource, x.item)):
        if line.unit_price is None:
            rows.append((line.component, f"{line.item} ({line.resource})", "", "", "unpriced"))
            continue
        rows.append(
            (
                line.component,
                f"{line.item} ({line.resource})",
                f"{line.quantity:,.2f} {line.unit}",
                _unit_price(line.unit_price),
                _money(line.monthly or 0.0),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    out = [
        "  ".join(
            cell.rjust(w) if i >= 2 else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
    out.append("")
    for component, usd in sorted(est.by_component().items()):
        out.append(f"{component:>{widths[0]}}  {_money(usd)}")
    out.append(f"{'total':>{widths[0]}}  {_money(est.total)} per month")
    out.append(
        f"{'per day':>{widths[0]}}  {_money(est.per_day)} (24 of the {HOURS_PER_MONTH} hours)"
    )
    for line in est.unpriced:
        out.append(f"  unpriced: {line.item} ({line.resource}): {line.note}")
    out.append(
        f"  {REGION} on-demand list prices as of {PRICES_AS_OF}, {HOURS_PER_MONTH} h/month, "
        "no free tier; usage from webstack:costAssumptions"
    )
    return out
