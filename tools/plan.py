"""`make plan STACK=…`: what `pulumi up` would create for a stack, computed offline.

Runs the real program under the mock cloud and prints the resource tree by component, with
each resource's key settings. Secrets are never printed.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable
from typing import Any

from components.config import ConfigError
from tools.mockcloud import Evaluation, Resource, evaluate
from tools.stackfile import StackFileError, stack_names

# The inputs worth a glance per resource type; everything else is in --json (issue: plan).
KEY_SETTINGS: dict[str, tuple[str, ...]] = {
    "pulumi:providers:aws": ("region",),
    "aws:ec2/vpc:Vpc": ("cidrBlock",),
    "aws:ec2/subnet:Subnet": ("availabilityZone", "cidrBlock"),
    "aws:ec2/route:Route": ("destinationCidrBlock",),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("serviceName", "vpcEndpointType"),
    "aws:ec2/flowLog:FlowLog": ("trafficType",),
    "aws:cloudwatch/logGroup:LogGroup": ("name", "retentionInDays"),
    "aws:acm/certificate:Certificate": ("domainName", "subjectAlternativeNames"),
    "aws:lb/loadBalancer:LoadBalancer": ("internal", "enableDeletionProtection"),
    "aws:lb/listener:Listener": ("port", "protocol", "sslPolicy"),
    "aws:lb/targetGroup:TargetGroup": ("targetType", "port", "deregistrationDelay"),
    "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule": (
        "fromPort",
        "cidrIpv4",
        "prefixListId",
    ),
    "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": ("fromPort", "ipProtocol"),
    "aws:wafv2/webAcl:WebAcl": ("name", "scope"),
    "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration": ("rules",),
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


def describe(resource: Resource) -> str:
    """`type name  key=value ...`, secrets masked."""
    settings = []
    for key in KEY_SETTINGS.get(resource.type, ()):
        if key in resource.inputs:
            value = MASK if key in resource.secret_inputs else _short(resource.inputs[key])
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


def render(evaluation: Evaluation) -> str:
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
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan", description=__doc__)
    parser.add_argument("stack", choices=stack_names(), help="the stack to plan")
    args = parser.parse_args(argv)
    try:
        evaluation = evaluate(args.stack)
    except (ConfigError, StackFileError) as exc:
        print(exc, file=sys.stderr)
        return 2
    print(render(evaluation))
    return 0


if __name__ == "__main__":
    sys.exit(main())
