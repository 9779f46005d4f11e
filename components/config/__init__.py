"""Typed, validated stack configuration.

`load_stack_config` reads every `webstack:*` key (and `aws:region`) once, validates all of it and
either returns a frozen `StackConfig` or raises one `ConfigError` listing *every* problem, each
naming the key and the stack. Nothing else in the program reads `pulumi.Config`.

Modules: `reader` (Section, problems, raw values), one per section with its dataclass next to
its reader (`network`, `services` and its subsection `deployment`, `data`, `edge`, `frontend`,
`alarms`, `backup`, `uptime`) and `stack_config` (the assembly, and `StackWide`: what every
component takes from the stack as a whole).
A new section adds a module with both and one field on `StackConfig`. Config imports no
component module; the AWS facts it validates against live in `components.aws_facts`.
"""

# FARGATE_SIZES is an AWS fact; it stays importable from here for the code that already does.
from components.aws_facts import FARGATE_SIZES
from components.config.alarms import (
    DEFAULT_SCHEDULER_FAILURE_PATTERN,
    AlarmsConfig,
    AlarmThresholds,
)
from components.config.backup import BackupConfig
from components.config.data import (
    DEFAULT_CA_BUNDLE_PATH,
    GENERATED_SECRET_NAMES,
    POOL_BUDGET_SHARE,
    CacheConfig,
    DatabaseConfig,
    PoolBudget,
    PoolBudgetError,
    SecretsConfig,
    db_max_pool_size,
)
from components.config.deployment import DeploymentConfig
from components.config.edge import EdgeConfig, HealthCheckConfig
from components.config.frontend import ASSETS_DIR, FrontendConfig, is_hashed_asset
from components.config.network import MAX_AZS, NetworkConfig
from components.config.reader import PROJECT, ConfigError, Section
from components.config.services import (
    MANAGED_ENV_NAMES,
    ApiConfig,
    WorkerConfig,
)
from components.config.stack_config import (
    ENVIRONMENTS,
    MAX_NAME_PREFIX_LENGTH,
    PREVIEW_STACK,
    StackConfig,
    StackWide,
    is_preview_stack,
    load_stack_config,
    parse_stack_config,
)
from components.config.uptime import UptimeCheckConfig, UptimeConfig

__all__ = [
    "ASSETS_DIR",
    "DEFAULT_CA_BUNDLE_PATH",
    "DEFAULT_SCHEDULER_FAILURE_PATTERN",
    "ENVIRONMENTS",
    "FARGATE_SIZES",
    "GENERATED_SECRET_NAMES",
    "MANAGED_ENV_NAMES",
    "MAX_AZS",
    "MAX_NAME_PREFIX_LENGTH",
    "POOL_BUDGET_SHARE",
    "PREVIEW_STACK",
    "PROJECT",
    "AlarmThresholds",
    "AlarmsConfig",
    "ApiConfig",
    "BackupConfig",
    "CacheConfig",
    "ConfigError",
    "DatabaseConfig",
    "DeploymentConfig",
    "EdgeConfig",
    "FrontendConfig",
    "HealthCheckConfig",
    "NetworkConfig",
    "PoolBudget",
    "PoolBudgetError",
    "SecretsConfig",
    "Section",
    "StackConfig",
    "StackWide",
    "UptimeCheckConfig",
    "UptimeConfig",
    "WorkerConfig",
    "db_max_pool_size",
    "is_hashed_asset",
    "is_preview_stack",
    "load_stack_config",
    "parse_stack_config",
]
