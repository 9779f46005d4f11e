"""Dns: the product's public names.

Creates, with Cloudflare (pulumi-cloudflare v6):
- `api.<domain>` CNAME to the ALB, and `<domain>` (CNAME flattening at the apex) and
  `www.<domain>` CNAMEs to CloudFront; all DNS-only: CloudFront is already the CDN and AWS WAF
  the firewall, and a Cloudflare proxy in front would hide viewers' addresses from WAF's
  per-IP rate limit and add a second TLS termination;
- when this stack owns the zone, its settings: SSL Full (strict), Always Use HTTPS, minimum
  TLS 1.2 (they govern anything proxied in the zone).

With DNS provider `none` it creates nothing and `records` lists what a person must create.
The `www` to apex 301 is not a DNS matter: the distribution's CloudFront Function does it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_cloudflare as cloudflare

from components.certificates import DnsRecord
from components.config import EdgeConfig, StackWide

TTL = 300
ZONE_SETTINGS = (("ssl", "strict"), ("always_use_https", "on"), ("min_tls_version", "1.2"))


@dataclass(frozen=True, kw_only=True)
class DnsWiring:
    """What Dns takes from LoadBalancer and Frontend."""

    alb_dns_name: pulumi.Input[str]
    """The ALB's DNS name."""
    distribution_domain_name: pulumi.Input[str]
    """The CloudFront distribution's `*.cloudfront.net` name."""


@dataclass(frozen=True, kw_only=True)
class DnsArgs:
    """Inputs of Dns."""

    stack: StackWide
    """Its `domain` (and `www.`) name CloudFront, its `api_hostname` the ALB."""
    edge: EdgeConfig
    """The Cloudflare zone written to (none: records for a person), and who owns its settings."""
    wiring: DnsWiring


class Dns(pulumi.ComponentResource):
    """Cloudflare records for the API, apex and www, and optionally the zone's TLS settings."""

    records: list[DnsRecord]
    """Every record the names need (created here with Cloudflare, by hand with `none`)."""

    def __init__(
        self, name: str, args: DnsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:edge:Dns", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        domain, zone_id = args.stack.domain, args.edge.managed_zone_id
        by_role = {
            "api": DnsRecord(
                name=args.stack.api_hostname,
                type="CNAME",
                content=args.wiring.alb_dns_name,
                purpose="the API on the load balancer",
            ),
            "apex": DnsRecord(
                name=domain,
                type="CNAME",
                content=args.wiring.distribution_domain_name,
                purpose="the frontend (apex: needs CNAME flattening or an ALIAS/ANAME record)",
            ),
            "www": DnsRecord(
                name=f"www.{domain}",
                type="CNAME",
                content=args.wiring.distribution_domain_name,
                purpose="redirected to the apex by CloudFront",
            ),
        }
        self.records = list(by_role.values())
        if zone_id is not None:
            for role, record in by_role.items():
                cloudflare.DnsRecord(
                    f"{name}-{role}",
                    zone_id=zone_id,
                    name=record.name,
                    type=record.type,
                    content=record.content,
                    ttl=TTL,
                    proxied=False,
                    comment=record.purpose,
                    opts=child,
                )
            if args.edge.manage_zone_settings:
                for setting, value in ZONE_SETTINGS:
                    cloudflare.ZoneSetting(
                        f"{name}-{setting.replace('_', '-')}",
                        zone_id=zone_id,
                        setting_id=setting,
                        value=value,
                        opts=child,
                    )
        self.register_outputs({})
