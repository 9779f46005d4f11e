"""The StackConfig: every section read, validated together, and assembled once.

`load_stack_config` reads every `webstack:*` key (and `aws:region`) of the running stack;
`parse_stack_config` is the pure part (plain values in, a frozen `StackConfig` or one
`ConfigError` listing every problem out), which the tests call directly.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi

from components.aws_facts import AWS_REGIONS
from components.config.alarms import AlarmsConfig, read_alarms
from components.config.backup import BackupConfig, read_backup
from components.config.data import (
    CacheConfig,
    DatabaseConfig,
    PoolBudget,
    SecretsConfig,
    read_cache,
    read_database,
    read_external_secrets,
    read_pool_budget,
    read_secrets,
)
from components.config.edge import EdgeConfig, read_edge
from components.config.frontend import FrontendConfig, read_frontend
from components.config.network import NetworkConfig, read_network
from components.config.reader import (
    PROJECT,
    Problems,
    Section,
    namespace_problem,
    namespace_values,
    running_stack_config,
    valid_hostname,
)
from components.config.services import ApiConfig, WorkerConfig, read_api, read_worker
from components.config.uptime import UptimeConfig, read_uptime

ENVIRONMENTS = ("staging", "prod")
# A preview environment's stack: `pr-<pull request number>` (tools/preview derives its config
# from staging's). Its environment, like every stack's, is its name.
PREVIEW_STACK = re.compile(r"pr-[1-9][0-9]*")
# Physical names are `<name_prefix>-<role>`; the tightest limit on one is ElastiCache's
# replication group id (40 characters) minus `-cache`. The preview tests check every limited
# name of the longest prefix's plan against AWS's limits.
MAX_NAME_PREFIX_LENGTH = 34
# Keys in the stack files that the offline tooling reads and validates, not the program:
# `costAssumptions` is the cost estimate's (tools/cost_assumptions.py, run by `make plan`).
TOOLING_KEYS = ("costAssumptions",)


@dataclass(frozen=True, kw_only=True)
class StackWide:
    """What every component takes from the stack as a whole: its `args.stack`."""

    environment: str
    """`staging`, `prod` or a preview's `pr-<number>`: part of every physical name."""
    domain: str
    """The product's apex domain (`example.com`)."""
    protect: bool
    """Pulumi `protect` (and the provider's deletion protection) on stateful resources."""
    disposable: bool
    """`pulumi destroy` deletes everything, data included: buckets with their objects, the
    repository with its images, no final or retained snapshots (preview stacks)."""

    @property
    def name_prefix(self) -> str:
        """`webstack-<environment>`: the prefix of physical names."""
        return f"{PROJECT}-{self.environment}"

    @property
    def api_hostname(self) -> str:
        """`api.<domain>`: where the ALB answers (and CloudFront's API origin)."""
        return f"api.{self.domain}"


@dataclass(frozen=True, kw_only=True)
class StackConfig:
    """Everything that differs between stacks, validated."""

    stack: str
    """The Pulumi stack name (e.g. `staging`)."""
    environment: str
    """The stack's name (`staging`, `prod`, `pr-<number>`); used in names and tags."""
    region: str
    """`aws:region` — the region of everything but the CloudFront certificate."""
    domain: str
    """The product's apex domain (`example.com`); the API lives at `api.<domain>`."""
    account_id: str
    """AWS account the stack must deploy into (`webstack:accountId`); empty to allow any."""
    owner: str
    """Team that owns the stack, for the `owner` tag."""
    cost_center: str
    """Cost center, for the `cost-center` tag."""
    protect: bool
    """Pulumi `protect` on stateful resources (database, cache, data buckets, KMS keys)."""
    disposable: bool
    """`pulumi destroy` leaves nothing behind (`webstack:disposable`, preview stacks)."""
    network: NetworkConfig
    api: ApiConfig
    worker: WorkerConfig
    alarms: AlarmsConfig
    secrets: SecretsConfig
    database: DatabaseConfig
    cache: CacheConfig
    pool_budget: PoolBudget
    """The database connection budget of the API and worker fleets (DB_MAX_POOL_SIZE)."""
    edge: EdgeConfig
    frontend: FrontendConfig
    uptime: UptimeConfig
    backup: BackupConfig
    tags: Mapping[str, str] = field(default_factory=dict)
    """Default tags applied by the AWS provider to every taggable resource."""

    @property
    def stack_wide(self) -> StackWide:
        """The stack-wide values every component takes."""
        return StackWide(
            environment=self.environment,
            domain=self.domain,
            protect=self.protect,
            disposable=self.disposable,
        )

    @property
    def name_prefix(self) -> str:
        return self.stack_wide.name_prefix

    @property
    def api_hostname(self) -> str:
        return self.stack_wide.api_hostname


def _read_region(problems: Problems, region: str | None) -> str | None:
    """`aws:region` if it is a region AWS has, else None (and a problem)."""
    if not region:
        problems.add("aws:region", "is required")
        return None
    if region not in AWS_REGIONS:
        close = difflib.get_close_matches(region, sorted(AWS_REGIONS), n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        problems.add("aws:region", f"{region!r} is not an AWS region the provider knows{hint}")
        return None
    return region


def is_preview_stack(stack: str) -> bool:
    """Whether `stack` names a pull request's preview environment (`pr-<number>`)."""
    return PREVIEW_STACK.fullmatch(stack) is not None


def _read_environment(top: Section, stack: str) -> str:
    """`environment`: the stack's name, which it defaults to.

    Names, tags and every prod-only check follow the environment, so a stack file that says
    another one (`Pulumi.prod.yaml` with `staging`) would deploy prod with staging's rules.
    """
    environment = top.get_str("environment", stack)
    if environment != stack:
        top.error(
            "environment",
            f"must be the stack's name {stack!r} (or be left out: it defaults to it), "
            f"got {environment!r}",
        )
        environment = stack  # check the rest by the rules of the stack it is
    if environment not in ENVIRONMENTS and not is_preview_stack(environment):
        top.error(
            "environment",
            f"the stack's name must be one of {', '.join(ENVIRONMENTS)} or pr-<number> "
            f"(a pull request's preview), got {environment!r}",
        )
    elif len(f"{PROJECT}-{environment}") > MAX_NAME_PREFIX_LENGTH:
        top.error(
            "environment",
            f"names start with {PROJECT}-{environment}, longer than the "
            f"{MAX_NAME_PREFIX_LENGTH} characters every physical name built from it fits in",
        )
    return environment


def _read_disposable(top: Section, environment: str, protect: bool) -> bool:
    """`disposable`: never with `protect` or in prod; always for a preview."""
    disposable = top.get_bool("disposable", False)
    if disposable and protect:
        top.error("disposable", "contradicts protect: true; a stack is kept or thrown away")
    if disposable and environment == "prod":
        top.error("disposable", "must be false in prod: destroy would delete its data")
    if is_preview_stack(environment):
        if not disposable:
            top.error("disposable", "must be true for a preview: closing the PR must leave nothing")
        if protect:
            top.error("protect", "must be false for a preview: it is destroyed with its PR")
    return disposable


def parse_stack_config(
    stack: str,
    raw: Mapping[str, Any],
    region: str | None,
    region_azs: Callable[[str], Sequence[str]],
    secret_keys: Collection[str] = (),
    other_keys: Collection[str] = (),
) -> StackConfig:
    """Validate raw `webstack:*` values; raise one ConfigError with all problems.

    `secret_keys` names the keys (without `webstack:`) that hold `secure:` values;
    `other_keys` the stack's config keys outside `webstack:` (`aws:region`), full names, in
    which a misspelt `webstack` namespace is a problem. `region_azs` is called only for a
    known region.
    """
    problems = Problems(stack)
    for key in sorted(other_keys):
        problem = namespace_problem(key)
        if problem:
            problems.add(key, problem)
    region = _read_region(problems, region)
    top = Section(problems, PROJECT, raw, separator=":", scalars_are_strings=True)

    environment = _read_environment(top, stack)
    domain = top.get_str("domain").lower().rstrip(".")
    if domain and not valid_hostname(domain):
        top.error("domain", f"must be a valid DNS hostname such as example.com, got {domain!r}")
    owner = top.get_str("owner")
    cost_center = top.get_str("costCenter")
    protect = top.get_bool("protect", False)
    disposable = _read_disposable(top, environment, protect)
    account_id = top.get_str("accountId", "")
    if account_id and not re.fullmatch(r"\d{12}", account_id):
        top.error("accountId", f"must be a 12-digit AWS account id, got {account_id!r}")

    azs: Sequence[str] = region_azs(region) if region else ()
    network = read_network(top.section("network"), azs, environment)
    api = read_api(top.section("api"), environment)
    worker = read_worker(top.section("worker"))
    alarms = read_alarms(
        top.section("alarms"), "alarms" in secret_keys, preview=is_preview_stack(environment)
    )
    secrets = read_secrets(
        top.section("secrets"), read_external_secrets(top, secret_keys), disposable=disposable
    )
    database = read_database(top.section("database"), environment, disposable=disposable)
    cache = read_cache(top.section("cache"), environment)
    edge = read_edge(top.section("edge"), environment)
    uptime = read_uptime(top.section("uptime"), environment, edge)
    backup = read_backup(
        top.section("backup"),
        environment=environment,
        region=region,
        database=database,
        network=network,
    )
    frontend = read_frontend(top.section("frontend"))
    for key in TOOLING_KEYS:
        top.skip(key)
    top.finish()
    pool_budget = read_pool_budget(problems, api, worker, database)
    problems.raise_if_any()
    assert pool_budget is not None  # None always comes with a problem, raised just above

    tags = {
        "project": PROJECT,
        "environment": environment,
        "managed-by": "pulumi",
        "owner": owner,
        "cost-center": cost_center,
        "pulumi-stack": stack,
    }
    return StackConfig(
        stack=stack,
        environment=environment,
        region=region or "",
        domain=domain,
        account_id=account_id,
        owner=owner,
        cost_center=cost_center,
        protect=protect,
        disposable=disposable,
        network=network,
        api=api,
        worker=worker,
        alarms=alarms,
        secrets=secrets,
        database=database,
        cache=cache,
        pool_budget=pool_budget,
        edge=edge,
        frontend=frontend,
        uptime=uptime,
        backup=backup,
        tags=tags,
    )


def load_stack_config(region_azs: Callable[[str], Sequence[str]]) -> StackConfig:
    """Read the running stack's config; `region_azs(region)` lists the region's zones."""
    everything = running_stack_config()
    raw = namespace_values(everything)
    return parse_stack_config(
        pulumi.get_stack(),
        raw,
        pulumi.Config("aws").get("region"),
        region_azs,
        secret_keys={k for k in raw if pulumi.runtime.is_config_secret(f"{PROJECT}:{k}")},
        other_keys=[k for k in everything if not k.startswith(f"{PROJECT}:")],
    )
