"""Certificates: the two ACM certificates of the edge, validated through DNS.

Creates:
- a regional certificate for `api.<domain>` (the ALB's HTTPS listener);
- a us-east-1 certificate for `<domain>` and `www.<domain>` (CloudFront only accepts
  certificates from us-east-1), through the provider passed in `args.wiring.us_east_1`;
- with Cloudflare, one DNS-only CNAME per validation record and an `aws.acm.CertificateValidation`
  per certificate, so listeners and the distribution only ever see issued certificates. With
  DNS provider `none` the validation records are exposed for a person to create, and the
  validation waits until they exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

import pulumi
import pulumi_aws as aws
import pulumi_cloudflare as cloudflare

from components.config import EdgeConfig, StackWide

# Validation records are CNAMEs that never change; a short TTL only helps the first lookup.
VALIDATION_TTL = 300


@dataclass(frozen=True, kw_only=True)
class DnsRecord:
    """A record a person has to create when this stack does not manage DNS."""

    name: pulumi.Input[str]
    type: str
    content: pulumi.Input[str]
    purpose: str


@dataclass(frozen=True, kw_only=True)
class CertificatesWiring:
    """What Certificates takes from the composition."""

    us_east_1: aws.Provider
    """A provider for us-east-1, where CloudFront's certificate must live."""


@dataclass(frozen=True, kw_only=True)
class CertificatesArgs:
    """Inputs of Certificates."""

    stack: StackWide
    """The CDN certificate covers its `domain` and `www.`, the ALB one its `api_hostname`."""
    edge: EdgeConfig
    """Its managed Cloudflare zone gets the validation records (none: exposed to a person)."""
    wiring: CertificatesWiring


def _option_for(
    domain: str, options: Sequence[aws.acm.outputs.CertificateDomainValidationOption]
) -> aws.acm.outputs.CertificateDomainValidationOption:
    return next(o for o in options if o.domain_name == domain)


class Certificates(pulumi.ComponentResource):
    """ACM certificates for the ALB and CloudFront, with DNS validation."""

    api_certificate_arn: pulumi.Output[str]
    cdn_certificate_arn: pulumi.Output[str]
    validation_records: list[DnsRecord]

    def __init__(
        self, name: str, args: CertificatesArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:edge:Certificates", name, None, opts)
        self.validation_records = []
        domain = args.stack.domain
        self.api_certificate_arn = self._certificate(
            f"{name}-api", args, (args.stack.api_hostname,), pulumi.ResourceOptions(parent=self)
        )
        self.cdn_certificate_arn = self._certificate(
            f"{name}-cdn",
            args,
            (domain, f"www.{domain}"),
            pulumi.ResourceOptions(parent=self, provider=args.wiring.us_east_1),
        )
        self.register_outputs(
            {
                "api_certificate_arn": self.api_certificate_arn,
                "cdn_certificate_arn": self.cdn_certificate_arn,
            }
        )

    def _certificate(
        self,
        name: str,
        args: CertificatesArgs,
        domains: tuple[str, ...],
        opts: pulumi.ResourceOptions,
    ) -> pulumi.Output[str]:
        cert = aws.acm.Certificate(
            name,
            domain_name=domains[0],
            subject_alternative_names=list(domains[1:]),
            validation_method="DNS",
            # RSA 2048: every client can use it; ECDSA would shut out old TLS stacks.
            key_algorithm="RSA_2048",
            opts=opts,
        )
        zone_id = args.edge.managed_zone_id
        fqdns: list[pulumi.Input[str]] = []
        for domain in domains:
            option = cert.domain_validation_options.apply(partial(_option_for, domain))
            # ACM returns absolute names; Cloudflare and most DNS consoles want them without
            # the trailing dot.
            record_name = option.apply(lambda o: (o.resource_record_name or "").rstrip("."))
            record_value = option.apply(lambda o: (o.resource_record_value or "").rstrip("."))
            purpose = f"ACM validation of {domain}"
            if zone_id is None:
                self.validation_records.append(
                    DnsRecord(name=record_name, type="CNAME", content=record_value, purpose=purpose)
                )
                fqdns.append(record_name)
                continue
            record = cloudflare.DnsRecord(
                f"{name}-validation-{domain.replace('.', '-')}",
                zone_id=zone_id,
                name=record_name,
                type="CNAME",
                content=record_value,
                ttl=VALIDATION_TTL,
                proxied=False,
                comment=purpose,
                opts=pulumi.ResourceOptions(parent=self),
            )
            # The record's own output makes the validation wait for the record.
            fqdns.append(pulumi.Output.all(record.id, record_name).apply(lambda pair: pair[1]))
        validation = aws.acm.CertificateValidation(
            f"{name}-validation",
            certificate_arn=cert.arn,
            validation_record_fqdns=fqdns,
            opts=opts,
        )
        return validation.certificate_arn
