"""`webstack:network`: the VPC's range, its zones and how private subnets reach out."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence
from dataclasses import dataclass

from components.config.reader import Section, get_log_retention

NAT_STRATEGIES = ("single", "per_az", "none", "instance")
MAX_AZS = 4  # the subnet plan (network.subnet_plan) reserves four slots per tier
_PRIVATE_RANGES = tuple(
    ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")
)


@dataclass(frozen=True, kw_only=True)
class NetworkConfig:
    """`webstack:network`."""

    cidr: str
    """VPC CIDR: a private (RFC 1918) network, /16 to /24."""
    az_count: int
    """Zones to spread every tier over: 2 to MAX_AZS, and no more than the region has."""
    nat_strategy: str
    """`single` (one NAT gateway), `per_az` (one per AZ, survives an AZ outage), `instance` (one
    NAT instance, a t4g.nano: about $1 a day less than a NAT gateway; not in prod) or `none`."""
    interface_endpoints: bool
    """Private interface endpoints for ECR, CloudWatch Logs, Secrets Manager and STS."""
    flow_log_retention_days: int
    """How long VPC flow logs are kept in CloudWatch Logs."""
    availability_zones: tuple[str, ...]
    """The zones the network spans: the first `az_count` available zones of the region."""


def read_network(section: Section, region_azs: Sequence[str], environment: str) -> NetworkConfig:
    """`region_azs`: the region's available zones (empty when the region is unknown)."""
    cidr = section.get_str("cidr")
    try:
        net = ipaddress.ip_network(cidr)
    except ValueError as exc:
        if cidr:
            section.error(
                "cidr", f"must be an IPv4 network such as 10.20.0.0/16, got {cidr!r} ({exc})"
            )
    else:
        if not isinstance(net, ipaddress.IPv4Network) or not any(
            net.subnet_of(r) for r in _PRIVATE_RANGES
        ):
            section.error("cidr", f"must be a private RFC 1918 IPv4 range, got {cidr!r}")
        elif not 16 <= net.prefixlen <= 24:
            section.error("cidr", f"prefix must be between /16 and /24, got /{net.prefixlen}")
    az_count = section.get_int("azCount", min=2, max=MAX_AZS)
    if region_azs and az_count > len(region_azs):
        section.error(
            "azCount", f"the region has only {len(region_azs)} available zones, got {az_count}"
        )
    nat = section.get_str("natStrategy", choices=NAT_STRATEGIES)
    endpoints = section.get_bool("interfaceEndpoints", False)
    if nat == "none" and not endpoints:
        section.error(
            "natStrategy",
            "'none' needs interfaceEndpoints: true, or tasks cannot reach ECR, logs or secrets",
        )
    if nat == "instance" and environment == "prod":
        section.error(
            "natStrategy",
            "'instance' is not for prod: one instance is a single point of failure for all "
            "egress, with burst-limited bandwidth; use single or per_az",
        )
    retention = get_log_retention(section, "flowLogRetentionDays", 90)
    section.finish()
    return NetworkConfig(
        cidr=cidr,
        az_count=az_count,
        nat_strategy=nat,
        interface_endpoints=endpoints,
        flow_log_retention_days=retention,
        availability_zones=tuple(region_azs[:az_count]),
    )
