"""The data tier's config: `webstack:secrets`, `webstack:externalSecrets`, `webstack:database`,
`webstack:cache`, and the database connection budget of the API and worker fleets.

The budget is pure arithmetic, computed once here: config validation rejects a fleet the
database cannot give usable pools before anything is registered, and `PoolBudget` carries the
result (max_connections, the application's share, DB_MAX_POOL_SIZE) to the components.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import pulumi

from components.aws_facts import (
    CACHE_PARAMETER_FAMILIES,
    INSTANCE_CLASS_MEMORY_GIB,
    MAXMEMORY_POLICIES,
    POSTGRES_MAJORS,
    RDS_MANUAL_SNAPSHOTS_PER_REGION,
    RDS_MONITORING_INTERVALS,
    SECRETS_MANAGER_MAX_BYTES,
    max_connections,
)
from components.config.reader import Problems, Section, get_log_retention
from components.config.services import ENV_NAME, ApiConfig, WorkerConfig

# Env vars the stack generates itself, and prefixes the AWS runtimes reserve.
GENERATED_SECRET_NAMES = ("DATABASE_URL", "REDIS_URL", "JWT_SECRET")
RESERVED_ENV_PREFIXES = ("AWS_", "ECS_")
PROD_MIN_BACKUP_RETENTION_DAYS = 30
# Where the application image ships AWS's RDS CA bundle (global-bundle.pem): Node's default trust
# store does not hold the RDS CAs, so `verify-full` needs it named in the URL.
DEFAULT_CA_BUNDLE_PATH = "/etc/ssl/certs/rds-global-bundle.pem"
CA_BUNDLE_PATH = re.compile(r"/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
# The restore points of the last five releases that changed the schema; older ones are covered
# by point-in-time recovery for the backup retention.
DEFAULT_KEEP_SNAPSHOTS = 5


@dataclass(frozen=True, kw_only=True)
class SecretsConfig:
    """`webstack:secrets` and `webstack:externalSecrets`."""

    recovery_window_days: int
    """Days a deleted Secrets Manager secret can still be restored (7 to 30; 0, deleted at
    once, only in a disposable stack)."""
    kms_deletion_window_days: int
    """Days a scheduled deletion of one of the stack's KMS keys (data, topics, logs) can still
    be cancelled (7 to 30)."""
    external: Mapping[str, pulumi.Output[str]] = field(default_factory=dict)
    """`webstack:externalSecrets`: env var name -> value (secret Outputs) the API receives."""


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """`webstack:database`: RDS PostgreSQL."""

    engine_version: str
    """PostgreSQL version: a major (`17`, minors follow automatically) or `major.minor`."""
    instance_class: str
    """A known RDS class (`db.r6g.xlarge`); its memory sizes `max_connections`."""
    allocated_storage_gb: int
    """Initial gp3 storage (20 to 65536 GiB)."""
    max_allocated_storage_gb: int
    """Storage autoscaling ceiling: at least 10% above the allocated storage."""
    multi_az: bool
    """A synchronous standby in another AZ (required in prod)."""
    backup_retention_days: int
    """Automated backup retention, 1 to 35 days (at least 30 in prod)."""
    performance_insights_retention_days: int
    """7 (free tier) or a multiple of 31 up to 731."""
    monitoring_interval_seconds: int
    """Enhanced monitoring granularity: 1, 5, 10, 15, 30 or 60 seconds."""
    read_replicas: int
    """Read replicas of the primary (0 to 5)."""
    log_retention_days: int
    """Retention of the exported postgresql and upgrade logs."""
    apply_immediately: bool
    """Apply instance changes at once, not in the maintenance window (a major upgrade needs it)."""
    ca_bundle_path: str
    """Absolute path of AWS's RDS CA bundle inside the application image (`sslrootcert`)."""
    snapshot_before_migrations: bool
    """A manual RDS snapshot before the first pending migration (default: on in prod only)."""
    keep_snapshots_before_migrations: int
    """How many of those snapshots a successful run keeps (the newest); it deletes the older
    ones, which RDS would otherwise keep forever (and count against its 100 per region)."""
    reserve_lambda_concurrency: bool
    """Reserved concurrency 1 on the database's Lambdas (migrations, restore check), so Lambda
    itself runs one of each at a time (default: on). Lambda keeps 100 of the account's
    concurrency unreserved, so this needs a regional quota above 101: set it false in a new
    account (quota 10) until raised."""


@dataclass(frozen=True, kw_only=True)
class CacheConfig:
    """`webstack:cache`: ElastiCache replication group."""

    engine: str
    """`valkey` or `redis`."""
    engine_version: str
    """`major.minor`, one with a known parameter-group family (e.g. valkey `8.0`)."""
    node_type: str
    """ElastiCache node type (`cache.r6g.large`)."""
    nodes: int
    """Primary plus replicas, 1 to 6; 2 or more turns on automatic failover and Multi-AZ."""
    maxmemory_policy: str
    """What the engine evicts when memory is full."""
    snapshot_retention_days: int
    """Daily snapshots kept (1 to 35)."""
    log_retention_days: int
    """Retention of the slow log in CloudWatch Logs."""
    apply_immediately: bool
    """Apply group changes at once, not in the maintenance window (needed for a major upgrade)."""


def read_secrets(
    section: Section, external: Mapping[str, pulumi.Output[str]], *, disposable: bool
) -> SecretsConfig:
    recovery = section.get_int("recoveryWindowDays", 30, min=0, max=30)
    # Secrets Manager takes 7 to 30 days, or 0 for a deletion without recovery: the secret is
    # gone when `destroy` returns, instead of lingering, restorable, for a week.
    if recovery == 0 and not disposable:
        section.error(
            "recoveryWindowDays", "0 deletes secrets beyond recovery: only a disposable stack may"
        )
    elif recovery != 0 and recovery < 7:
        section.error("recoveryWindowDays", f"must be 0 or 7 to 30, got {recovery}")
    kms_window = section.get_int("kmsDeletionWindowDays", 30, min=7, max=30)
    section.finish()
    return SecretsConfig(
        recovery_window_days=recovery, kms_deletion_window_days=kms_window, external=external
    )


def read_external_secrets(
    top: Section, secret_keys: Collection[str]
) -> dict[str, pulumi.Output[str]]:
    """`externalSecrets`: names checked as env var names, values kept only as secret Outputs."""
    key = "externalSecrets"
    values = top.get_secret_map(key)
    if values and key not in secret_keys:
        top.error(
            key,
            "holds plain text; set each value with "
            f"`pulumi config set --secret --path {key}.NAME` so the stack file stores it encrypted",
        )
        return {}
    for env in values:
        path = f"{key}.{env}"
        if not ENV_NAME.match(env):
            top.error(path, "must be an env var name: A-Z, 0-9 and _, starting with a letter")
        elif env in GENERATED_SECRET_NAMES:
            top.error(path, f"collides with a secret the stack generates ({env})")
        elif env.startswith(RESERVED_ENV_PREFIXES):
            top.error(path, f"prefixes {', '.join(RESERVED_ENV_PREFIXES)} belong to the runtime")
        if len(values[env].encode()) > SECRETS_MANAGER_MAX_BYTES:
            top.error(path, f"is longer than Secrets Manager's {SECRETS_MANAGER_MAX_BYTES} bytes")
    return {env: pulumi.Output.secret(value) for env, value in values.items()}


def read_database(section: Section, environment: str, *, disposable: bool) -> DatabaseConfig:
    version = section.get_str("engineVersion")
    if version:
        major = version.split(".")[0]
        if not re.fullmatch(r"\d+(\.\d+)?", version) or int(major) not in POSTGRES_MAJORS:
            section.error(
                "engineVersion",
                f"must be a supported PostgreSQL major ({', '.join(map(str, POSTGRES_MAJORS))}) "
                f"or major.minor, got {version!r}",
            )
            version = ""
    instance_class = section.get_str("instanceClass")
    if instance_class and instance_class not in INSTANCE_CLASS_MEMORY_GIB:
        section.error(
            "instanceClass",
            f"unknown RDS instance class {instance_class!r} (its memory sizes max_connections); "
            "known: db.{t3,t4g,m5,m6g,m6i,m7g,m7i,r5,r6g,r6i,r7g,r7i}.<size>",
        )
    storage = section.get_int("allocatedStorageGb", min=20, max=65536)
    max_storage = section.get_int("maxAllocatedStorageGb", max=65536)
    # RDS storage autoscaling needs the ceiling at least 10% above the allocation.
    if max_storage < -(-storage * 11 // 10):
        section.error(
            "maxAllocatedStorageGb",
            f"must be at least 10% above allocatedStorageGb ({storage}), got {max_storage}",
        )
    multi_az = section.get_bool("multiAz")
    if environment == "prod" and not multi_az:
        section.error("multiAz", "must be true in prod (a standby in another AZ)")
    retention = section.get_int("backupRetentionDays", min=1, max=35)
    if environment == "prod" and retention < PROD_MIN_BACKUP_RETENTION_DAYS:
        section.error(
            "backupRetentionDays",
            f"must be >= {PROD_MIN_BACKUP_RETENTION_DAYS} in prod, got {retention}",
        )
    insights = section.get_int("performanceInsightsRetentionDays", 7)
    if insights != 7 and not (insights % 31 == 0 and 31 <= insights <= 731):
        section.error(
            "performanceInsightsRetentionDays",
            f"must be 7 or a multiple of 31 up to 731, got {insights}",
        )
    interval = section.get_int("monitoringIntervalSeconds", 60, one_of=RDS_MONITORING_INTERVALS)
    replicas = section.get_int("readReplicas", 0, min=0, max=5)
    logs = get_log_retention(section, "logRetentionDays", 90)
    apply_immediately = section.get_bool("applyImmediately", False)
    ca_bundle_path = section.get_str("caBundlePath", DEFAULT_CA_BUNDLE_PATH)
    # It goes into DATABASE_URL's query string as is: a plain absolute path, nothing to escape.
    if not CA_BUNDLE_PATH.fullmatch(ca_bundle_path):
        section.error(
            "caBundlePath",
            "must be an absolute path of letters, digits and . _ - / "
            f"(e.g. {DEFAULT_CA_BUNDLE_PATH}), got {ca_bundle_path!r}",
        )
    # The point-in-time restore point is always recorded; a snapshot adds one that survives
    # the instance and the retention window, at the price of waiting for it during `up`.
    snapshot = section.get_bool("snapshotBeforeMigrations", environment == "prod")
    keep_snapshots = section.get_int(
        "keepSnapshotsBeforeMigrations",
        DEFAULT_KEEP_SNAPSHOTS,
        min=1,
        max=RDS_MANUAL_SNAPSHOTS_PER_REGION - 1,
    )
    if not snapshot and section.has("keepSnapshotsBeforeMigrations"):
        section.error(
            "keepSnapshotsBeforeMigrations",
            "is not used with snapshotBeforeMigrations false (no snapshots to keep); remove it",
        )
    if snapshot and disposable:
        section.error(
            "snapshotBeforeMigrations",
            "a disposable stack's manual snapshots would outlive it (destroy does not delete them)",
        )
    reserve_concurrency = section.get_bool("reserveLambdaConcurrency", True)
    section.finish()
    return DatabaseConfig(
        engine_version=version,
        instance_class=instance_class,
        allocated_storage_gb=storage,
        max_allocated_storage_gb=max_storage,
        multi_az=multi_az,
        backup_retention_days=retention,
        performance_insights_retention_days=insights,
        monitoring_interval_seconds=interval,
        read_replicas=replicas,
        log_retention_days=logs,
        apply_immediately=apply_immediately,
        ca_bundle_path=ca_bundle_path,
        snapshot_before_migrations=snapshot,
        keep_snapshots_before_migrations=keep_snapshots,
        reserve_lambda_concurrency=reserve_concurrency,
    )


def read_cache(section: Section, environment: str) -> CacheConfig:
    engine = section.get_str("engine", choices=tuple(CACHE_PARAMETER_FAMILIES))
    version = section.get_str("engineVersion")
    versions = CACHE_PARAMETER_FAMILIES.get(engine, {})
    if engine in CACHE_PARAMETER_FAMILIES and version and version not in versions:
        section.error(
            "engineVersion", f"{engine} versions known: {', '.join(versions)}, got {version!r}"
        )
    node_type = section.get_str("nodeType")
    if node_type and not re.fullmatch(r"cache\.[a-z0-9]+\.[a-z0-9]+", node_type):
        section.error(
            "nodeType", f"must be an ElastiCache node type like cache.r6g.large, got {node_type!r}"
        )
    nodes = section.get_int("nodes", min=1, max=6)
    if environment == "prod" and nodes < 2:
        section.error(
            "nodes", f"must be >= 2 in prod (automatic failover needs a replica), got {nodes}"
        )
    policy = section.get_str("maxmemoryPolicy", choices=MAXMEMORY_POLICIES)
    snapshots = section.get_int("snapshotRetentionDays", min=1, max=35)
    logs = get_log_retention(section, "logRetentionDays", 90)
    apply_immediately = section.get_bool("applyImmediately", False)
    section.finish()
    return CacheConfig(
        engine=engine,
        engine_version=version,
        node_type=node_type,
        nodes=nodes,
        maxmemory_policy=policy,
        snapshot_retention_days=snapshots,
        log_retention_days=logs,
        apply_immediately=apply_immediately,
    )


# ---------------------------------------------------------------------------------------------
# The connection budget

# Share of the database's max_connections the services' pools may take together; the rest is
# left for migrations, the superuser reserve, consoles and a deployment's overlap.
POOL_BUDGET_SHARE = 0.8
# Below two connections a pool serialises every request behind one slow query.
MIN_POOL_SIZE = 2


class PoolBudgetError(ValueError):
    """The database cannot give every task a usable connection pool."""


def db_max_pool_size(
    *,
    db_max_connections: int,
    api_max_tasks: int,
    worker_max_tasks: int,
    min_pool_size: int,
    max_pool_size: int,
) -> int:
    """DB_MAX_POOL_SIZE: the most per task so that all tasks at full scale fit the budget.

    (api_max_tasks + worker_max_tasks) x pool <= POOL_BUDGET_SHARE x db_max_connections, capped
    at `max_pool_size`. A budget that leaves a task fewer than max(MIN_POOL_SIZE,
    min_pool_size) connections is an error naming the keys to change.
    """
    tasks = api_max_tasks + worker_max_tasks
    fits = app_connection_limit(db_max_connections) // tasks
    floor = max(MIN_POOL_SIZE, min_pool_size)
    if fits < floor:
        raise PoolBudgetError(
            f"webstack:api.maxCapacity ({api_max_tasks}) + webstack:worker.maxCapacity "
            f"({worker_max_tasks}) = {tasks} tasks get only {fits} database connections each "
            f"from {POOL_BUDGET_SHARE:.0%} of the database's max_connections "
            f"({db_max_connections}), below the minimum pool of {floor} "
            "(webstack:api.dbMinPoolSize, at least 2)"
        )
    return min(fits, max_pool_size)


def app_connection_limit(db_max_connections: int) -> int:
    """The connections the services' pools may hold together (the app role's CONNECTION LIMIT)."""
    return int(db_max_connections * POOL_BUDGET_SHARE)


@dataclass(frozen=True, kw_only=True)
class PoolBudget:
    """The database connection budget, computed once from config for the components."""

    db_max_connections: int
    """The database's max_connections (from `database.instanceClass`)."""
    app_connection_limit: int
    """POOL_BUDGET_SHARE of it: what every API and worker pool together may hold."""
    db_max_pool_size: int
    """DB_MAX_POOL_SIZE of each API and worker task: all tasks at full scale fit the share."""


def read_pool_budget(
    problems: Problems, api: ApiConfig, worker: WorkerConfig, database: DatabaseConfig
) -> PoolBudget | None:
    """Every API and worker task at full scale must get a usable pool from the database.

    None when the budget cannot be computed; a problem is then always recorded (here, or by
    the section that holds the bad value).
    """
    known_class = database.instance_class in INSTANCE_CLASS_MEMORY_GIB
    if not known_class or min(api.max_capacity, worker.max_capacity) < 1:
        return None  # already reported
    connections = max_connections(database.instance_class)
    try:
        pool_size = db_max_pool_size(
            db_max_connections=connections,
            api_max_tasks=api.max_capacity,
            worker_max_tasks=worker.max_capacity,
            min_pool_size=api.db_min_pool_size,
            max_pool_size=api.db_max_pool_size,
        )
    except PoolBudgetError as error:
        problems.add(
            "webstack:api.maxCapacity",
            f"{error}; max_connections follows webstack:database.instanceClass "
            f"({database.instance_class}): lower the capacities or choose a larger class",
        )
        return None
    return PoolBudget(
        db_max_connections=connections,
        app_connection_limit=app_connection_limit(connections),
        db_max_pool_size=pool_size,
    )
