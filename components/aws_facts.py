"""AWS's own limits and tables that both the config validation and the components need.

A leaf module: it imports nothing of the project, so `components.config` can validate against
the same facts the components build with, without importing a component. Each table is what
AWS documents (or, for regions, what the pinned pulumi-aws provider accepts); when AWS adds a
size, class, version or region, it is added here once.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi_aws

# AWS's table of Fargate task sizes (Linux): cpu units -> the memory values (MiB) it accepts.
FARGATE_SIZES: Mapping[int, tuple[int, ...]] = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4096 + 1, 1024)),
    1024: tuple(range(2048, 8192 + 1, 1024)),
    2048: tuple(range(4096, 16384 + 1, 1024)),
    4096: tuple(range(8192, 30720 + 1, 1024)),
    8192: tuple(range(16384, 61440 + 1, 4096)),
    16384: tuple(range(32768, 122880 + 1, 8192)),
}
# ECS runtime platform architectures (the image's architecture).
CPU_ARCHITECTURES = ("X86_64", "ARM64")
# ECR's image tag grammar.
ECR_IMAGE_TAG_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$"

# ECS deployment strategies (deploymentConfiguration.strategy). All but ROLLING shift traffic
# between two target groups through a listener rule (ECS's "blue/green family").
ECS_DEPLOYMENT_STRATEGIES = ("ROLLING", "CANARY", "LINEAR", "BLUE_GREEN")
# ECS's ranges (API reference: DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration): bake times in whole minutes, percents in multiples of 0.1.
ECS_BAKE_MINUTES = (0, 1440)
ECS_CANARY_PERCENT = (0.1, 100.0)
ECS_LINEAR_STEP_PERCENT = (3.0, 100.0)
ECS_PERCENT_STEP = 0.1

# CloudWatch Logs accepts only these retention periods.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)  # fmt: skip

# CloudFront's limit on a response headers policy's Content-Security-Policy value.
MAX_CSP_LENGTH = 1783
PRICE_CLASSES = ("PriceClass_100", "PriceClass_200", "PriceClass_All")

# The most a Secrets Manager secret value may hold.
SECRETS_MANAGER_MAX_BYTES = 65536

# RDS PostgreSQL majors webstack deploys; a major's parameter-group family is `postgres<major>`.
POSTGRES_MAJORS = (13, 14, 15, 16, 17)
# Enhanced monitoring granularities RDS accepts (seconds).
RDS_MONITORING_INTERVALS = (1, 5, 10, 15, 30, 60)
# RDS's default quota of manual DB instance snapshots per account and region (adjustable).
RDS_MANUAL_SNAPSHOTS_PER_REGION = 100
_GIB = 1024**3


def _class_memory() -> dict[str, int]:
    sizes = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
    general = dict(zip(sizes, (8, 16, 32, 64, 128, 192, 256), strict=True))
    memory_optimized = {size: gib * 2 for size, gib in general.items()}
    burstable = {"micro": 1, "small": 2, "medium": 4, "large": 8, "xlarge": 16, "2xlarge": 32}
    table: dict[str, int] = {}
    for families, memory in (
        (("t3", "t4g"), burstable),
        (("m5", "m6g", "m6i", "m7g", "m7i"), general),
        (("r5", "r6g", "r6i", "r7g", "r7i"), memory_optimized),
    ):
        for family in families:
            table.update({f"db.{family}.{size}": gib for size, gib in memory.items()})
    # Only the x86 families go to 24xlarge.
    for family in ("m5", "m6i", "m7i"):
        table[f"db.{family}.24xlarge"] = 384
    for family in ("r5", "r6i", "r7i"):
        table[f"db.{family}.24xlarge"] = 768
    return table


INSTANCE_CLASS_MEMORY_GIB: dict[str, int] = _class_memory()
"""Memory (GiB) of the RDS instance classes webstack knows."""


def max_connections(instance_class: str) -> int:
    """RDS PostgreSQL's default `LEAST({DBInstanceClassMemory/9531392}, 5000)`.

    Uses the class's nominal memory; DBInstanceClassMemory is somewhat lower (RDS reserves
    some for the OS), so the real limit is a little below this: size pools well under it.
    """
    return min(INSTANCE_CLASS_MEMORY_GIB[instance_class] * _GIB // 9531392, 5000)


# ElastiCache: engine -> engine version -> parameter-group family.
CACHE_PARAMETER_FAMILIES: dict[str, dict[str, str]] = {
    "valkey": {"7.2": "valkey7", "8.0": "valkey8", "8.1": "valkey8"},
    "redis": {"7.0": "redis7", "7.1": "redis7"},
}
MAXMEMORY_POLICIES = (
    "volatile-lru",
    "allkeys-lru",
    "volatile-lfu",
    "allkeys-lfu",
    "volatile-random",
    "allkeys-random",
    "volatile-ttl",
    "noeviction",
)

# The regions the pinned provider knows, from its own enum rather than a hand-kept copy: a
# region it does not list is one `pulumi up` would refuse anyway (the provider validates
# `region`), and a provider upgrade brings new regions with it.
AWS_REGIONS: frozenset[str] = frozenset(region.value for region in pulumi_aws.Region)

# Route 53's health-checking regions (its API's HealthCheckRegion enum); a check that names its
# regions must name at least three.
ROUTE53_HEALTH_CHECK_REGIONS = (
    "us-east-1",
    "us-west-1",
    "us-west-2",
    "eu-west-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "sa-east-1",
)
ROUTE53_MIN_HEALTH_CHECK_REGIONS = 3
# Longest ResourcePath and SearchString a health check takes; the string is looked for in the
# first 5,120 bytes of the response body.
ROUTE53_MAX_PATH_LENGTH = 255
ROUTE53_MAX_SEARCH_STRING_LENGTH = 255
ROUTE53_SEARCHED_BODY_BYTES = 5120

# How much of a request body WAF sees: an ALB forwards a fixed 8 KB; CloudFront 16 KB unless the
# web ACL's association config buys more (up to 64 KB, at extra cost).
WAF_BODY_INSPECTION_BYTES = {"REGIONAL": 8 * 1024, "CLOUDFRONT": 16 * 1024}

# AWS Backup: continuous backups (point-in-time recovery) keep at most 35 days; lifecycles and
# vault-lock retention go up to 100 years; a compliance vault lock has at least 3 days of grace
# (ChangeableForDays) before it becomes immutable; a restore test's validation window is at
# most a week.
BACKUP_CONTINUOUS_MAX_RETENTION_DAYS = 35
BACKUP_MAX_RETENTION_DAYS = 36500
VAULT_LOCK_MIN_CHANGEABLE_DAYS = 3
RESTORE_TEST_MAX_VALIDATION_HOURS = 168
