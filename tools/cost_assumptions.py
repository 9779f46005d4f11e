"""`webstack:costAssumptions`: the traffic the offline cost estimate assumes for a stack.

The key lives in `Pulumi.<stack>.yaml` next to the program's config, but only the tooling reads
it (`make plan` prices the stack with it); the program accepts the key without reading it
(components.config.stack_config.TOOLING_KEYS). It is validated here with the same reader as the
program's config, so a bad value is a ConfigError naming the key and the stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from components.config.reader import PROJECT, Problems, Section, namespace_values
from tools.stackfile import load_stack_config

KEY = "costAssumptions"


@dataclass(frozen=True, kw_only=True)
class CostAssumptions:
    """`webstack:costAssumptions`: traffic the cost estimate (tools/cost.py) cannot read off
    the resources. Every amount is per month; a missing key assumes no such traffic."""

    api_requests_per_month: float = 0.0
    """Requests through the ALB to the API (ALB LCUs; WAF on a regional web ACL)."""
    api_gb_per_month: float = 0.0
    """GB the ALB processes (requests and responses), for its LCU estimate."""
    cdn_requests_per_month: float = 0.0
    """HTTPS requests CloudFront serves (and a CloudFront-scope WAF inspects)."""
    cdn_gb_out_per_month: float = 0.0
    """GB CloudFront sends to viewers."""
    s3_storage_gb: float = 0.0
    """GB stored across the stack's S3 buckets."""
    ecr_storage_gb: float = 0.0
    """GB of images kept in the ECR repository (its lifecycle policy bounds the count)."""
    s3_requests_per_month: float = 0.0
    """GET-class requests to S3 (CloudFront cache misses, log reads)."""
    nat_gb_per_month: float = 0.0
    """GB through the NAT gateways (third-party APIs, anything without a VPC endpoint)."""
    endpoint_gb_per_month: float = 0.0
    """GB through interface VPC endpoints (image pulls, logs, secret reads)."""
    log_gb_per_month: float = 0.0
    """GB ingested into CloudWatch Logs across all log groups (application and flow logs)."""
    secret_api_calls_per_month: float = 0.0
    """Secrets Manager API calls (task starts read each injected secret once)."""
    kms_requests_per_month: float = 0.0
    """KMS requests (encrypt, decrypt, generate data key) beyond those AWS services cache."""
    average_scaled_tasks: float = 0.0
    """Average running tasks of an autoscaled ECS service (clamped to its min/max capacity)."""
    deploys_per_month: float = 0.0
    """API releases a month: a traffic-shifting deployment runs a second set of tasks for its
    shift and bake minutes each time."""
    db_daily_change_percent: float = 2.0
    """Share of the database's storage that changes per day: sizes incremental backups."""


# camelCase config key -> CostAssumptions field, in the order the README lists them.
_COST_KEYS = {
    "apiRequestsPerMonth": "api_requests_per_month",
    "apiGbPerMonth": "api_gb_per_month",
    "cdnRequestsPerMonth": "cdn_requests_per_month",
    "cdnGbOutPerMonth": "cdn_gb_out_per_month",
    "s3StorageGb": "s3_storage_gb",
    "ecrStorageGb": "ecr_storage_gb",
    "s3RequestsPerMonth": "s3_requests_per_month",
    "natGbPerMonth": "nat_gb_per_month",
    "endpointGbPerMonth": "endpoint_gb_per_month",
    "logGbPerMonth": "log_gb_per_month",
    "secretApiCallsPerMonth": "secret_api_calls_per_month",
    "kmsRequestsPerMonth": "kms_requests_per_month",
    "averageScaledTasks": "average_scaled_tasks",
    "deploysPerMonth": "deploys_per_month",
}


def _read_section(section: Section) -> CostAssumptions:
    """The section's values over the defaults; problems are recorded on the section."""
    defaults = CostAssumptions()
    values = {
        field_name: section.get_number(key, getattr(defaults, field_name), min=0)
        for key, field_name in _COST_KEYS.items()
    }
    values["db_daily_change_percent"] = section.get_number(
        "dbDailyChangePercent", defaults.db_daily_change_percent, min=0, max=100
    )
    section.finish()
    return CostAssumptions(**values)


def parse_cost_assumptions(stack: str, raw: Mapping[str, Any]) -> CostAssumptions:
    """`raw`: the stack's `webstack:*` values (prefix removed); raises one ConfigError."""
    problems = Problems(stack)
    top = Section(problems, PROJECT, raw, separator=":", scalars_are_strings=True)
    assumptions = _read_section(top.section(KEY))
    problems.raise_if_any()
    return assumptions


def load_cost_assumptions(stack: str) -> CostAssumptions:
    """The cost assumptions of `stack` as its Pulumi.<stack>.yaml commits them."""
    config, _ = load_stack_config(stack)
    return parse_cost_assumptions(stack, namespace_values(config))
