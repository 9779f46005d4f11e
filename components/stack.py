"""The composition of webstack: config in, components wired together, outputs out.

`build_stack` is the one place that knows the data flow
(config -> Network -> Secrets -> Database, Cache -> Edge -> MigrationJob -> ApiService -> Alarms);
`__main__.py`, the tests and the offline tooling all call it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.certificates import Certificates, CertificatesArgs, DnsRecord
from components.config import StackConfig, load_stack_config
from components.dns import Dns, DnsArgs
from components.frontend import Frontend, FrontendArgs
from components.load_balancer import LoadBalancer, LoadBalancerArgs
from components.network import Network, NetworkArgs
from components.security_groups import WorkloadSecurityGroups, WorkloadSecurityGroupsArgs

# The API container's port; moves into the API's config section with the ApiService.
API_CONTAINER_PORT = 3000


@dataclass(frozen=True)
class Providers:
    """Explicit providers; every AWS resource goes through one of them."""

    regional: aws.Provider
    """The stack's region, with the stack's default tags."""
    us_east_1: aws.Provider
    """us-east-1, for what CloudFront requires there (its certificate, WAF, metrics)."""


def region_availability_zones(region: str) -> Sequence[str]:
    """Names of the region's available zones (a data-source invoke, mocked offline)."""
    return aws.get_availability_zones(state="available", region=region).names


def make_providers(cfg: StackConfig) -> Providers:
    def provider(name: str, region: str) -> aws.Provider:
        return aws.Provider(
            name,
            region=region,
            allowed_account_ids=[cfg.account_id] if cfg.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(cfg.tags)),
        )

    return Providers(
        regional=provider("aws", cfg.region), us_east_1=provider("aws-us-east-1", "us-east-1")
    )


def build_stack(cfg: StackConfig) -> dict[str, Any]:
    """Create every component of the stack; return the stack outputs."""
    providers = make_providers(cfg)
    in_region = pulumi.ResourceOptions(providers={"aws": providers.regional})

    network = Network(
        "network",
        NetworkArgs(
            name_prefix=cfg.name_prefix,
            cidr=cfg.network.cidr,
            availability_zones=cfg.availability_zones,
            nat_strategy=cfg.network.nat_strategy,
            interface_endpoints=cfg.network.interface_endpoints,
            flow_log_retention_days=cfg.network.flow_log_retention_days,
        ),
        opts=in_region,
    )

    workloads = WorkloadSecurityGroups(
        "workloads",
        WorkloadSecurityGroupsArgs(name_prefix=cfg.name_prefix, vpc_id=network.vpc_id),
        opts=in_region,
    )

    edge = cfg.edge
    zone_id = edge.cloudflare_zone_id if edge.dns_provider == "cloudflare" else None
    certificates = Certificates(
        "certificates",
        CertificatesArgs(
            domain=cfg.domain,
            api_hostname=cfg.api_hostname,
            us_east_1=providers.us_east_1,
            cloudflare_zone_id=zone_id,
        ),
        opts=in_region,
    )
    load_balancer = LoadBalancer(
        "load-balancer",
        LoadBalancerArgs(
            name_prefix=cfg.name_prefix,
            vpc_id=network.vpc_id,
            public_subnet_ids=network.public_subnet_ids,
            target_security_group_id=workloads.api,
            target_port=API_CONTAINER_PORT,
            certificate_arn=certificates.api_certificate_arn,
            api_hostname=cfg.api_hostname,
            health_check_path=edge.health_check.path,
            health_check_interval_seconds=edge.health_check.interval_seconds,
            health_check_timeout_seconds=edge.health_check.timeout_seconds,
            healthy_threshold=edge.health_check.healthy_threshold,
            unhealthy_threshold=edge.health_check.unhealthy_threshold,
            deregistration_delay_seconds=edge.deregistration_delay_seconds,
            ingress_cidrs={"internet": ("0.0.0.0/0",), "cidrs": edge.ingress_cidrs}.get(
                edge.ingress, ()
            ),
            cloudfront_only=edge.ingress == "cloudfront",
            behind_cloudfront=edge.api_via_cdn,
            hsts_preload=edge.hsts_preload,
            waf_rate_limit=edge.waf_rate_limit,
            waf_log_retention_days=edge.waf_log_retention_days,
            access_log_expiration_days=edge.access_log_expiration_days,
            deletion_protection=cfg.protect,
        ),
        opts=in_region,
    )
    frontend = Frontend(
        "frontend",
        FrontendArgs(
            name_prefix=cfg.name_prefix,
            domain=cfg.domain,
            certificate_arn=certificates.cdn_certificate_arn,
            us_east_1=providers.us_east_1,
            allowed_origins=edge.allowed_origins,
            content_security_policy=edge.content_security_policy,
            hsts_preload=edge.hsts_preload,
            price_class=edge.price_class,
            api_origin_hostname=cfg.api_hostname if edge.api_via_cdn else None,
            origin_verify_secret=load_balancer.origin_verify_secret,
            waf_rate_limit=edge.waf_rate_limit,
            waf_log_retention_days=edge.waf_log_retention_days,
            protect=cfg.protect,
        ),
        opts=in_region,
    )
    dns = Dns(
        "dns",
        DnsArgs(
            domain=cfg.domain,
            api_hostname=cfg.api_hostname,
            alb_dns_name=load_balancer.alb_dns_name,
            distribution_domain_name=frontend.distribution_domain_name,
            cloudflare_zone_id=zone_id,
            manage_zone_settings=edge.manage_zone_settings,
        ),
        opts=in_region,
    )

    outputs: dict[str, Any] = {
        "environment": cfg.environment,
        "vpcId": network.vpc_id,
        "vpcCidr": network.vpc_cidr,
        "availabilityZones": network.availability_zones,
        "publicSubnetIds": network.public_subnet_ids,
        "privateSubnetIds": network.private_subnet_ids,
        "isolatedSubnetIds": network.isolated_subnet_ids,
        "apiUrl": f"https://{cfg.api_hostname}",
        "frontendUrl": f"https://{cfg.domain}",
        "allowedOrigins": list(edge.allowed_origins),
        "albDnsName": load_balancer.alb_dns_name,
        "albArnSuffix": load_balancer.alb_arn_suffix,
        "targetGroupArnSuffix": load_balancer.target_group_arn_suffix,
        "distributionId": frontend.distribution_id,
        "distributionDomainName": frontend.distribution_domain_name,
        "frontendBucketName": frontend.frontend_bucket_name,
    }
    if edge.dns_provider == "none":
        outputs["dnsRecordsToCreate"] = _record_list(
            [*certificates.validation_records, *dns.records]
        )
    return outputs


def _record_list(records: Sequence[DnsRecord]) -> pulumi.Output[list[dict[str, str]]]:
    """Records as plain data for `pulumi stack output dnsRecordsToCreate`."""

    def as_dict(record: DnsRecord) -> pulumi.Output[dict[str, str]]:
        return pulumi.Output.all(record.name, record.content).apply(
            lambda nc: {
                "name": nc[0],
                "type": record.type,
                "content": nc[1],
                "purpose": record.purpose,
            }
        )

    return pulumi.Output.all(*[as_dict(r) for r in records])


def main() -> None:
    """The Pulumi program: load config, build the stack, export its outputs."""
    outputs = build_stack(load_stack_config(region_availability_zones))
    for key, value in outputs.items():
        pulumi.export(key, value)
