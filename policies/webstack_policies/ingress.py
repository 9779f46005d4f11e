"""No public ingress: what the rules of a security group open to the internet, together.

Rules of one group add up: 0.0.0.0/1 and 128.0.0.0/1 on 5432 are 0.0.0.0/0. So the policy
gathers every ingress rule of each group (the inline `ingress` of `aws.ec2.SecurityGroup` and of
the VPC's default group, `aws.ec2.SecurityGroupRule` and `aws.vpc.SecurityGroupIngressRule`
resources) and, per protocol and port, flags
- a port other than the allowed ones (tcp 80/443) that the group's rules together open to every
  public IPv4 or every public IPv6 address, and
- any single rule opening such a port (a port range that includes one counts) to a public range
  wider than /8.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Report, as_dict, as_list, config_of, label, schema

SECURITY_GROUPS = (
    "aws:ec2/securityGroup:SecurityGroup",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup",
)
SECURITY_GROUP_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# The public internet: IPv4 minus the special-purpose ranges that are not globally reachable
# (RFC 6890's registry; `ipaddress` keeps its copy private), and IPv6's global unicast space
# minus the documentation prefixes.
INTERNET: dict[int, Network] = {
    4: ipaddress.IPv4Network("0.0.0.0/0"),
    6: ipaddress.IPv6Network("2000::/3"),
}
NOT_PUBLIC: tuple[Network, ...] = tuple(
    ipaddress.ip_network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "2001:db8::/32",
        "3fff::/20",
    )
)
WIDEST_PUBLIC_PREFIX = 8  # a single rule may open a non-allowed port to at most a /8
PROTOCOL_NAMES = {"-1": "all", "6": "tcp", "17": "udp", "1": "icmp", "58": "icmpv6"}
PORTED = ("tcp", "udp")  # protocols whose fromPort/toPort are ports (for ICMP: type and code)
ALL_PORTS = (0, 65535)
OPEN_DEFAULTS: dict[str, Any] = {"allowedPorts": [80, 443]}


@dataclass(frozen=True)
class Grant:
    """One CIDR that one ingress rule opens."""

    where: str
    urn: str
    protocol: str
    """tcp, udp, icmp, icmpv6, another protocol number, or `all`."""
    low: int
    high: int
    network: Network


def _more(items: list[str], shown: int, separator: str, what: str) -> str:
    rest = f" and {len(items) - shown} more{what}" if len(items) > shown else ""
    return separator.join(items[:shown]) + rest


def _describe(grants: list[Grant]) -> str:
    """`<rule> (cidr, cidr, cidr and 125 more); <rule> (cidr)` for the rules of the grants."""
    by_rule: dict[str, list[str]] = defaultdict(list)
    for grant in grants:
        by_rule[grant.where].append(str(grant.network))
    rules = [f"{where} ({_more(cidrs, 3, ', ', '')})" for where, cidrs in sorted(by_rule.items())]
    return _more(rules, 4, "; ", " rules")


def _subtract(networks: Iterable[Network], holes: Iterable[Network]) -> list[Network]:
    """The addresses of `networks` outside every hole (CIDRs nest or are disjoint)."""
    result = list(networks)
    for hole in holes:
        remaining: list[Network] = []
        for network in result:
            if network.version != hole.version or not network.overlaps(hole):
                remaining.append(network)
            elif not network.subnet_of(hole):  # type: ignore[arg-type]
                remaining.extend(network.address_exclude(hole))  # type: ignore[arg-type]
        result = remaining
    return result


PUBLIC_SPACE: dict[int, list[Network]] = {
    version: _subtract([network], NOT_PUBLIC) for version, network in INTERNET.items()
}


def is_public(network: Network) -> bool:
    """Whether any address of the network is on the public internet."""
    return any(network.overlaps(p) for p in PUBLIC_SPACE[network.version])


def covers_internet(networks: Iterable[Network], version: int) -> bool:
    """Whether the networks together hold every public address of the IP version."""
    return not _subtract(PUBLIC_SPACE[version], [n for n in networks if n.version == version])


def _protocol(value: Any) -> str:
    name = str(value if value is not None else "-1").strip().lower()
    return PROTOCOL_NAMES.get(name, name)


def _ports(protocol: str, rule: Mapping[str, Any]) -> tuple[int, int]:
    low, high = rule.get("fromPort"), rule.get("toPort")
    if protocol not in PORTED or low is None or high is None or int(low) < 0:
        return ALL_PORTS
    return int(low), int(high)


def _networks(values: Iterable[Any]) -> Iterator[Network]:
    for value in values:
        try:
            yield ipaddress.ip_network(str(value).strip(), strict=False)
        except ValueError:
            continue  # not a CIDR (absent, or a value only the provider can read)


def _grants_of(
    where: str, urn: str, rule: Mapping[str, Any], protocol_key: str, cidr_keys: tuple[str, ...]
) -> list[Grant]:
    protocol = _protocol(rule.get(protocol_key))
    low, high = _ports(protocol, rule)
    cidrs: list[Any] = []
    for key in cidr_keys:
        value = rule.get(key)
        cidrs += as_list(value) if not isinstance(value, str) else [value]
    return [Grant(where, urn, protocol, low, high, n) for n in _networks(cidrs)]


def _group_key(rule: PolicyResource, groups: Mapping[str, PolicyResource]) -> str:
    """The group a rule belongs to: the group resource, else whatever its id is made of."""
    sources = rule.property_dependencies.get("securityGroupId", [])
    for source in sources:
        if source.urn in groups:
            return source.urn
    if sources:
        return "from " + ", ".join(sorted(s.urn for s in sources))
    return f"id {rule.props.get('securityGroupId')}"


def grants_by_group(resources: list[PolicyResource]) -> dict[str, list[Grant]]:
    """Every CIDR each security group lets in, keyed by the group's URN (or its id)."""
    groups = {r.urn: r for r in resources if r.resource_type in SECURITY_GROUPS}
    found: dict[str, list[Grant]] = defaultdict(list)
    for group in groups.values():
        for i, entry in enumerate(as_dict(r) for r in as_list(group.props.get("ingress"))):
            where = f"{label(group)} ingress[{i}]"
            found[group.urn] += _grants_of(
                where, group.urn, entry, "protocol", ("cidrBlocks", "ipv6CidrBlocks")
            )
    for rule in resources:
        if rule.resource_type == SECURITY_GROUP_RULE and rule.props.get("type") == "ingress":
            keys: tuple[str, ...] = ("cidrBlocks", "ipv6CidrBlocks")
            protocol_key = "protocol"
        elif rule.resource_type == INGRESS_RULE:
            keys, protocol_key = ("cidrIpv4", "cidrIpv6"), "ipProtocol"
        else:
            continue
        found[_group_key(rule, groups)] += _grants_of(
            label(rule), rule.urn, rule.props, protocol_key, keys
        )
    return found


def _allowed(protocol: str, low: int, high: int, allowed_ports: set[int]) -> bool:
    return protocol == "tcp" and all(p in allowed_ports for p in range(low, high + 1))


def _cells(protocol: str, grants: list[Grant], allowed_ports: set[int]) -> list[tuple[int, int]]:
    """Port ranges on which no grant starts or ends and no allowed port is split off."""
    if protocol not in PORTED:
        return [ALL_PORTS]
    bounds = {ALL_PORTS[0], ALL_PORTS[1] + 1}
    bounds |= {g.low for g in grants} | {g.high + 1 for g in grants}
    if protocol == "tcp":
        bounds |= allowed_ports | {p + 1 for p in allowed_ports}
    edges = sorted(b for b in bounds if ALL_PORTS[0] <= b <= ALL_PORTS[1] + 1)
    return [(a, b - 1) for a, b in itertools.pairwise(edges)]


def _ports_text(protocol: str, ranges: list[tuple[int, int]]) -> str:
    if protocol == "*":
        return "every protocol"
    if protocol not in PORTED:
        return protocol
    spans = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in ranges)
    return f"{protocol} {spans}"


def _merged(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for low, high in sorted(ranges):
        if merged and merged[-1][1] + 1 == low:
            merged[-1] = (merged[-1][0], high)
        else:
            merged.append((low, high))
    return merged


def _union_exposures(
    grants: list[Grant], allowed_ports: set[int]
) -> Iterator[tuple[str, int, list[tuple[int, int]], list[Grant]]]:
    """(protocol, IP version, port ranges, grants) opened to the whole internet together.

    `*` stands for the protocols no rule names, which only `all` rules open.
    """
    protocols = sorted({g.protocol for g in grants if g.protocol != "all"} | set(PORTED))
    if any(g.protocol == "all" for g in grants):
        protocols.append("*")
    for protocol in protocols:
        relevant = [g for g in grants if g.protocol in (protocol, "all")]
        for version in INTERNET:
            ranges: list[tuple[int, int]] = []
            used: dict[Grant, None] = {}
            for low, high in _cells(protocol, relevant, allowed_ports):
                if _allowed(protocol, low, high, allowed_ports):
                    continue
                covering = [g for g in relevant if g.low <= low and high <= g.high]
                if covers_internet((g.network for g in covering), version):
                    ranges.append((low, high))
                    used.update(dict.fromkeys(g for g in covering if g.network.version == version))
            if ranges:
                yield protocol, version, _merged(ranges), list(used)


def _open_validate(args: StackValidationArgs, report: Report) -> None:
    allowed_ports = {int(p) for p in config_of(args.get_config, OPEN_DEFAULTS)["allowedPorts"]}
    only = f"only tcp {', '.join(str(p) for p in sorted(allowed_ports))} may be"
    groups = {r.urn: r for r in args.resources if r.resource_type in SECURITY_GROUPS}
    for key, grants in grants_by_group(args.resources).items():
        wide = [
            g
            for g in grants
            if g.network.prefixlen < WIDEST_PUBLIC_PREFIX
            and is_public(g.network)
            and not _allowed(g.protocol, g.low, g.high, allowed_ports)
        ]
        for g in wide:
            ports = _ports_text(g.protocol if g.protocol != "all" else "*", [(g.low, g.high)])
            report(
                f"{g.where}: opens {ports} to {g.network}, a public range wider than "
                f"/{WIDEST_PUBLIC_PREFIX}; {only}.",
                g.urn,
            )
        for protocol, version, ranges, used in _union_exposures(grants, allowed_ports):
            if all(g in wide for g in used):
                continue  # already reported rule by rule
            group = groups.get(key)
            report(
                f"{label(group) if group else f'the security group {key}'}: "
                f"{_ports_text(protocol, ranges)} is open to every public IPv{version} address "
                f"through {_describe(used)}; {only}.",
                group.urn if group else used[0].urn,
            )


no_public_ingress = StackValidationPolicy(
    name="no-public-ingress",
    description=(
        "No security group opens anything but HTTP/HTTPS (80/443) to the internet: not to "
        "0.0.0.0/0 or ::/0, not through rules that add up to every public address, not to any "
        "public range wider than /8. SSH, databases and admin ports are reached through the "
        "VPC."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        OPEN_DEFAULTS, {"allowedPorts": {"type": "array", "items": {"type": "integer"}}}
    ),
    validate=_open_validate,
)

POLICIES = [no_public_ingress]
