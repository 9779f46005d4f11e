"""`make plan STACK=…`: what `pulumi up` would create for a stack, computed offline.

Runs the real program under the mock cloud and prints the resource tree by component, with
each resource's key settings, the stack outputs, the verdicts of the real policy pack with the
stack's `policies/config/<stack>.json` (tools/policycheck.py), the modeled deployment timeline
of an API release beside ROLLING (tools/timeline.py), and the estimated monthly cost
(tools/cost.py). Secrets are never printed. Exits 1 when a mandatory policy is violated (the
plan is still printed), 2 on bad stack or policy config.

`--json` prints the machine-readable plan instead (`plan_json`), which `make plan-diff`
compares across git refs; `--set KEY=VALUE` plans with one config key replaced (a what-if, and
how `make bench` plans a throwaway frontend build). Progress of the slow steps goes to stderr.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml
from google.protobuf import json_format
from pulumi.runtime import rpc

from components.config import ConfigError
from tools import cost, policycheck, timeline
from tools.cost_assumptions import load_cost_assumptions
from tools.mockcloud import Evaluation, Resource, evaluate, unwrap_secrets
from tools.policycheck import Violation
from tools.stackfile import ROOT, StackFileError, known_stack

PLAN_FORMAT = 1
# The plan was printed in full, but `pulumi up` would refuse it (as `make policy` exits).
EXIT_MANDATORY_VIOLATION = 1

# The inputs worth a glance per resource type; everything else is in --json (issue: plan).
# A dotted key reaches into an object input (`triggers.package`).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock"),
    "aws:ec2/route:Route": ("destinationCidrBlock",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ec2/flowLog:FlowLog": ("trafficType",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:ecr/repository:Repository": ("name", "imageTagMutability"),
    "aws:ecs/cluster:Cluster": ("name", "configuration.executeCommandConfiguration.logging"),
    "aws:ecs/taskDefinition:TaskDefinition": ("family", "cpu", "memory"),
    "aws:ecs/service:Service": (
        "name",
        "desiredCount",
        "enableExecuteCommand",
        # How a release reaches traffic (absent: ROLLING); the rest is in --json.
        "deploymentConfiguration.strategy",
        "deploymentConfiguration.bakeTimeInMinutes",
        "deploymentConfiguration.canaryConfiguration",
        "deploymentConfiguration.linearConfiguration",
    ),
    "aws:appautoscaling/target:Target": ("resourceId", "minCapacity", "maxCapacity"),
    # What makes `pulumi up` run the migrations again.
    "aws:lambda/invocation:Invocation": (
        "triggers.package",
        "triggers.databaseUrl",
        "triggers.database",
        "triggers.appRole",
    ),
    # The description opens with the severity: the plan shows what pages and at what value.
    "aws:cloudwatch/metricAlarm:MetricAlarm": (
        "metricName",
        "extendedStatistic",
        "statistic",
        "comparisonOperator",
        "threshold",
        "period",
        "evaluationPeriods",
        "alarmDescription",
    ),
    "aws:cloudwatch/logMetricFilter:LogMetricFilter": ("pattern",),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboardName",),
    "aws:sns/topic:Topic": ("name",),
    "aws:sns/topicSubscription:TopicSubscription": ("protocol", "endpoint"),
    "aws:kms/key:Key": ("enableKeyRotation", "deletionWindowInDays"),
    "aws:kms/alias:Alias": ("name",),
    "aws:rds/eventSubscription:EventSubscription": ("sourceType", "eventCategories"),
    "aws:budgets/budget:Budget": ("budgetType", "timeUnit", "limitAmount", "limitUnit"),
    "aws:route53/healthCheck:HealthCheck": (
        "type",
        "fqdn",
        "resourcePath",
        "searchString",
        "requestInterval",
        "failureThreshold",
        "regions",
    ),
    "random:index/randomPassword:RandomPassword": ("length",),
    "aws:secretsmanager/secret:Secret": ("namePrefix", "recoveryWindowInDays"),
    "aws:rds/parameterGroup:ParameterGroup": ("family",),
    "aws:rds/instance:Instance": (
        "identifier",
        "engineVersion",
        "instanceClass",
        "allocatedStorage",
        "maxAllocatedStorage",
        "multiAz",
        "backupRetentionPeriod",
        "replicateSourceDb",
        "iamDatabaseAuthenticationEnabled",
        "applyImmediately",
    ),
    "aws:elasticache/parameterGroup:ParameterGroup": ("family",),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "engine",
        "engineVersion",
        "nodeType",
        "numCacheClusters",
        "multiAzEnabled",
        "snapshotRetentionLimit",
    ),
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames"),
    "aws:lb/loadBalancer:LoadBalancer": ("internal", "enableDeletionProtection"),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy"),
    "aws:lb/targetGroup:TargetGroup": ("targetType", "port", "deregistrationDelay"),
    "aws:lb/listenerRule:ListenerRule": ("priority",),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "fromPort",
        "cidrIpv4",
        "prefixListId",
        "description",
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": (
        "fromPort",
        "ipProtocol",
        "cidrIpv4",
        "description",
    ),
    "aws:wafv2/webAcl:WebAcl": ("name", "scope"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules",),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("contentType", "cacheControl"),
    "pulumi-python:dynamic/webstack:FrontendRetention": ("keepRemovedDays",),
    "aws:cloudfront/distribution:Distribution": ("aliases", "priceClass", "httpVersion"),
    "aws:cloudfront/cachePolicy:CachePolicy": ("name", "minTtl", "defaultTtl"),
    "aws:cloudfront/responseHeadersPolicy:ResponseHeadersPolicy": ("name",),
    "aws:cloudfront/function:Function": ("name", "runtime"),
    "cloudflare:index/dnsRecord:DnsRecord": ("name", "type", "proxied"),
    "cloudflare:index/zoneSetting:ZoneSetting": ("settingId", "value"),
}
MASK = "[secret]"


def _short(value: Any) -> str:
    # The mock runtime hands numbers back as floats.
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _setting(resource: Resource, key: str) -> str | None:
    """The input at the dotted `key`, shortened, or MASK where it holds a secret; None if unset."""
    value: Any = resource.inputs
    # The serialized inputs mark each secret where it sits (deserializing would mark the whole
    # top-level input), so a plain value beside a secret one in a map is still shown.
    wrapped: Any = json_format.MessageToDict(resource.raw_inputs)
    secret = False
    for part in key.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
        if rpc.is_rpc_secret(wrapped):
            secret, wrapped = True, rpc.unwrap_rpc_secret(wrapped)
        wrapped = wrapped[part]
    return MASK if secret or unwrap_secrets(wrapped)[1] else _short(value)


def describe(resource: Resource) -> str:
    """`type name  key=value ...`, secrets masked."""
    settings = []
    for key in KEY_SETTINGS.get(resource.type, ()):
        value = _setting(resource, key)
        if value is not None:
            settings.append(f"{key}={value}")
    flags = " [protected]" if resource.protect else ""
    return f"{resource.type} {resource.name}{flags}" + (
        "  " + " ".join(settings) if settings else ""
    )


def tree_lines(evaluation: Evaluation) -> Iterable[str]:
    """The resource tree: components with their children, indented."""
    by_parent: dict[str, list[Resource]] = {}
    urns = {r.urn for r in evaluation.resources}
    for r in evaluation.resources:
        parent = r.parent if r.parent in urns else ""
        by_parent.setdefault(parent, []).append(r)

    def walk(parent: str, prefix: str) -> Iterable[str]:
        children = sorted(by_parent.get(parent, []), key=lambda r: (r.custom, r.type, r.name))
        for i, child in enumerate(children):
            last = i == len(children) - 1
            yield prefix + ("└─ " if last else "├─ ") + describe(child)
            yield from walk(child.urn, prefix + ("   " if last else "│  "))

    yield from walk("", "")


def render(
    evaluation: Evaluation,
    estimate: cost.Estimate,
    violations: Sequence[Violation] | None = None,
) -> str:
    custom = sum(1 for r in evaluation.resources if r.custom)
    lines = [
        f"webstack · stack {evaluation.stack} · {custom} resources "
        "(offline plan: the real program under the mock cloud)",
        "",
        *tree_lines(evaluation),
        "",
        "Outputs:",
    ]
    for key, value in evaluation.outputs.items():
        shown = MASK if key in evaluation.secret_outputs else _short(value)
        lines.append(f"  {key}: {shown}")
    if violations is not None:
        lines += ["", *policycheck.render(violations, evaluation)]
    if evaluation.config is not None:
        lines += ["", *timeline.render(evaluation.config)]
    lines += ["", "Estimated monthly cost:", *cost.render(estimate)]
    return "\n".join(lines)


def masked(value: Any) -> str:
    """A secret as the JSON plan carries it: a short digest, so a change is visible but the
    value is not. Offline, secrets are placeholders or mock-generated, never real ones."""
    digest = hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()
    return f"{MASK} sha256:{digest[:12]}"


def _plain(value: Any) -> Any:
    """Make an input JSON-friendly; assets and archives become their path or URI."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    source = getattr(value, "path", None) or getattr(value, "uri", None) or ""
    if source and Path(source).is_absolute() and Path(source).is_relative_to(ROOT):
        # Relative to the checkout, so the same tree planned elsewhere (plan-diff's base
        # worktree) shows no change.
        source = Path(source).relative_to(ROOT).as_posix()
    return f"<{type(value).__name__} {source}>".replace(" >", ">")


def plan_json(
    evaluation: Evaluation,
    estimate: cost.Estimate,
    violations: Sequence[Violation] | None = None,
) -> dict[str, Any]:
    """The machine-readable plan: resources, outputs (secrets masked), cost, policy violations."""
    plan: dict[str, Any] = {
        "format": PLAN_FORMAT,
        "stack": evaluation.stack,
        "resources": [
            {
                "urn": r.urn,
                "type": r.type,
                "name": r.name,
                "parent": r.parent,
                "custom": r.custom,
                "protect": r.protect,
                "aliases": r.options.get("aliases", []),
                "inputs": {
                    k: masked(v) if k in r.secret_inputs else _plain(v)
                    for k, v in sorted(r.inputs.items())
                },
            }
            for r in evaluation.resources
        ],
        "outputs": {
            k: masked(v) if k in evaluation.secret_outputs else _plain(v)
            for k, v in evaluation.outputs.items()
        },
        "cost": estimate.to_json(),
    }
    if violations is not None:
        plan["policy"] = [vars(v) for v in violations]
    if evaluation.config is not None:
        plan["deploymentTimeline"] = timeline.to_json(evaluation.config)
    return plan


@contextmanager
def step(message: str) -> Iterator[None]:
    """Report a slow step on stderr: `message ... done in 0.8 s`."""
    print(f"{message} ...", end="", file=sys.stderr, flush=True)
    started = time.perf_counter()
    try:
        yield
    except BaseException:
        print(" failed", file=sys.stderr)
        raise
    print(f" done in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def config_override(text: str) -> tuple[str, Any]:
    """`KEY=VALUE` from the command line: a full config key and its value as YAML."""
    key, sep, value = text.partition("=")
    if not sep or ":" not in key:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE with a full key, got {text!r}")
    try:
        return key, yaml.safe_load(value)
    except yaml.YAMLError as exc:
        raise argparse.ArgumentTypeError(f"{key}: the value is not YAML ({exc})") from exc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument(
        "stack", type=known_stack, help="the stack to plan: a committed one or pr-<number>"
    )
    parser.add_argument("--json", action="store_true", help="print the machine-readable plan")
    parser.add_argument(
        "--set",
        type=config_override,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="replace a whole config key for this plan (VALUE is YAML), e.g. "
        "'webstack:frontend={distDir: client/dist}'",
    )
    args = parser.parse_args(argv)
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The pack's process starts (imports pulumi.policy, opens its gRPC port) while this
        # process evaluates the stack: the two overlap instead of adding up.
        pack = pool.submit(policycheck.Analyzer, args.stack)
        try:
            policy_config = policycheck.load_policy_config(args.stack)
            assumptions = load_cost_assumptions(args.stack)
            with step(f"evaluating stack {args.stack} under the mock cloud"):
                evaluation = evaluate(args.stack, overrides=dict(args.set))
            with step(f"checking it with the policy pack ({len(evaluation.resources)} resources)"):
                violations = pack.result().check(evaluation, policy_config)
        except (ConfigError, StackFileError, policycheck.PolicyConfigError) as exc:
            print(exc, file=sys.stderr)
            return 2
        finally:
            if pack.exception() is None:
                pack.result().close()
    estimate = cost.estimate(evaluation.resources, assumptions)
    if args.json:
        print(json.dumps(plan_json(evaluation, estimate, violations), indent=1, sort_keys=True))
    else:
        print(render(evaluation, estimate, violations))
    # Like `pulumi preview` with the pack (and `make policy`): the plan is printed in full, and
    # a mandatory violation fails the command, because `pulumi up` would refuse it.
    return EXIT_MANDATORY_VIOLATION if any(v.mandatory for v in violations) else 0


if __name__ == "__main__":
    # No cyclic garbage collection in this short-lived process (as in tools/planbatch.py): the
    # SDK modules the program loads (some 650,000 objects) would be walked by every full
    # collection while they load, and the evaluation's cyclic garbage once more at its end,
    # while a plan leaves too little of it to matter before the process exits.
    gc.disable()
    sys.exit(main())
