"""The explicit AWS providers every resource of the stack goes through: the stack's region,
us-east-1 (what CloudFront and Route 53 require there) and, with backup copies, the DR region.
Each carries the stack's default tags and, when `webstack:accountId` is set, refuses any other
account."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import StackConfig


@dataclass(frozen=True)
class Providers:
    """Explicit providers; every AWS resource goes through one of them."""

    regional: aws.Provider
    """The stack's region, with the stack's default tags."""
    us_east_1: aws.Provider
    """us-east-1, for what CloudFront requires there (its certificate, WAF, metrics) and where
    Route 53 publishes its health checks' metrics."""
    dr: aws.Provider | None
    """`backup.drRegion`, for the vault the backups are copied to; None without copies."""

    @property
    def in_region(self) -> pulumi.ResourceOptions:
        """The options of a component in the stack's region."""
        return pulumi.ResourceOptions(providers={"aws": self.regional})


def make_providers(cfg: StackConfig) -> Providers:
    def provider(name: str, region: str) -> aws.Provider:
        return aws.Provider(
            name,
            region=region,
            allowed_account_ids=[cfg.account_id] if cfg.account_id else None,
            default_tags=aws.ProviderDefaultTagsArgs(tags=dict(cfg.tags)),
        )

    dr_region = cfg.backup.dr_region
    return Providers(
        regional=provider("aws", cfg.region),
        us_east_1=provider("aws-us-east-1", "us-east-1"),
        dr=provider("aws-dr", dr_region) if dr_region else None,
    )
