"""Dns: the product's public names.

Creates, with Cloudflare (pulumi-cloudflare v6):
- `api.<domain>` CNAME to the ALB, and `<domain>` (CNAME flattening at the apex) and
  `www.<domain>` CNAMEs to CloudFront. DNS-only by default: CloudFront is already the CDN and
  AWS WAF the firewall, Cloudflare only answers DNS and its zone settings touch none of the
  traffic. With `edge.cloudflareProxied` the three are proxied (orange cloud, TTL automatic):
  Cloudflare terminates TLS and connects to the ALB and CloudFront, which present their ACM
  certificates for the same names;
- only then, and when this stack owns the zone, its settings: SSL Full (strict) (Cloudflare
  verifies those certificates), Always Use HTTPS, minimum TLS 1.2. Removing a setting from the
  program leaves the zone as it is (the provider cannot reset one; it only forgets it).

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
# Cloudflare's "automatic" TTL, the only one a proxied record has.
PROXIED_TTL = 1
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
    """The Cloudflare zone written to (none: records for a person), whether its records are
    proxied and who owns its settings."""
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
            proxied = args.edge.cloudflare_proxied
            for role, record in by_role.items():
                cloudflare.DnsRecord(
                    f"{name}-{role}",
                    zone_id=zone_id,
                    name=record.name,
                    type=record.type,
                    content=record.content,
                    ttl=PROXIED_TTL if proxied else TTL,
                    proxied=proxied,
                    comment=record.purpose,
                    opts=child,
                )
            # Config allows manageZoneSettings only with proxied records: for DNS-only ones the
            # settings would promise what Cloudflare never does.
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
