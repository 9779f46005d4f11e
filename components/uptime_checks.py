"""UptimeChecks: the site and the API as users reach them, checked from outside AWS's network.

Creates two Route 53 health checks (Route 53 is global; their metrics are published in
us-east-1, where Alarms puts their alarms):
- `api`: `https://api.<domain><uptime.api.path>`, or `https://<domain><path>` through the CDN
  when only CloudFront may reach the load balancer (`edge.ingress: cloudfront`);
- `frontend`: `https://<domain><uptime.frontend.path>`.

Each is HTTPS with SNI (the ALB and CloudFront pick the certificate by it) and a string match
(`HTTPS_STR_MATCH`: a 2xx/3xx answer whose first 5,120 bytes contain the configured text),
every 30 seconds from each of `uptime.regions`; a checker calls the URL down after
`uptime.failureThreshold` failures in a row, and Route 53 calls it unhealthy once fewer than 18 %
of checkers see it healthy. The checks follow the names' DNS, so they test what users get
(through Cloudflare's proxy when the records are proxied). Route 53 does not verify the
certificate's validity, which the certificate-expiry alarms cover.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.config import EdgeConfig, StackWide, UptimeCheckConfig, UptimeConfig

# The guides' 30 s; 10 s ("fast interval") is a priced option and Route 53 cannot change it later.
REQUEST_INTERVAL_SECONDS = 30


@dataclass(frozen=True, kw_only=True)
class UptimeTarget:
    """One checked URL and the health check that watches it."""

    role: str
    """`api` or `frontend`: the suffix of the check's and its alarm's names."""
    url: str
    """The URL checked, as a person would open it."""
    health_check_id: pulumi.Output[str]
    """The Route 53 health check's id (the `HealthCheckId` dimension of its metrics)."""


@dataclass(frozen=True, kw_only=True)
class UptimeChecksWiring:
    """What UptimeChecks waits for."""

    run_after: Sequence[pulumi.Resource]
    """What must serve before the checks start (the DNS records, the distribution, the API
    service), so a first deploy does not page while it is still being built."""


@dataclass(frozen=True, kw_only=True)
class UptimeChecksArgs:
    """Inputs of UptimeChecks."""

    stack: StackWide
    """The hosts checked (`domain`, `api_hostname`); check names start with `name_prefix`."""
    uptime: UptimeConfig
    """Paths, expected texts, failure threshold and checker regions."""
    edge: EdgeConfig
    """Whether users reach the API at its own host or only through the CDN."""
    wiring: UptimeChecksWiring


class UptimeChecks(pulumi.ComponentResource):
    """Route 53 HTTPS string-match health checks of the API and the frontend."""

    targets: list[UptimeTarget]
    """The API's check and the frontend's, in that order; none with `uptime.enabled` false."""

    def __init__(
        self, name: str, args: UptimeChecksArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:observability:UptimeChecks", name, None, opts)
        stack = args.stack
        # With ingress `cloudfront` the ALB answers only our distribution: users, and so the
        # checkers, reach the API at <domain>/api/*.
        api_host = stack.domain if args.edge.ingress == "cloudfront" else stack.api_hostname
        self.targets = (
            [
                self._check(name, args, "api", api_host, args.uptime.api),
                self._check(name, args, "frontend", stack.domain, args.uptime.frontend),
            ]
            if args.uptime.enabled
            else []
        )
        self.register_outputs(
            {f"{t.role}_health_check_id": t.health_check_id for t in self.targets}
        )

    def _check(
        self, name: str, args: UptimeChecksArgs, role: str, host: str, check: UptimeCheckConfig
    ) -> UptimeTarget:
        health_check = aws.route53.HealthCheck(
            f"{name}-{role}",
            type="HTTPS_STR_MATCH",
            fqdn=host,
            port=443,
            resource_path=check.path,
            search_string=check.search_string,
            enable_sni=True,
            request_interval=REQUEST_INTERVAL_SECONDS,
            failure_threshold=args.uptime.failure_threshold,
            regions=list(args.uptime.regions),
            # Latency graphs are another priced option; the ALB and CloudFront metrics have it.
            measure_latency=False,
            tags={"Name": f"{args.stack.name_prefix}-{role}"},
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(args.wiring.run_after)),
        )
        return UptimeTarget(
            role=role, url=f"https://{host}{check.path}", health_check_id=health_check.id
        )
