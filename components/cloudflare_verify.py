"""The secret header by which CloudFront knows that a request came through Cloudflare's proxy.

Creates (for Frontend, behind `edge.cloudflareProxied`):
- a random value (pulumi-random: secret in state, never exported);
- the zone's `http_request_late_transform` ruleset (pulumi-cloudflare v6), one rule that sets
  the header to that value on every request Cloudflare sends for the given hostnames.

The distribution's web ACL blocks requests without it (components/waf.py): anyone can reach
CloudFront by its `*.cloudfront.net` name, and such a request carries no CF-Connecting-IP (or a
forged one), which the per-viewer rate limit counts by.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_cloudflare as cloudflare
import pulumi_random as random

from components.config import EdgeConfig, StackWide

# Cloudflare may not set headers named cf-* or x-cf-*.
CLOUDFLARE_VERIFY_HEADER = "X-Cloudflare-Verify"
# Alphanumeric, so nothing to escape in a header or a WAF search string (at most 200 bytes).
CLOUDFLARE_VERIFY_LENGTH = 48


def cloudflare_required_header(
    name: str, stack: StackWide, edge: EdgeConfig, *, parent: pulumi.Resource
) -> tuple[str, pulumi.Output[str]] | None:
    """Behind Cloudflare's proxy, (header, value) that Cloudflare adds to every request for the
    apex and www, for the distribution's ACL to require; None with DNS-only records."""
    zone_id = edge.managed_zone_id
    if not edge.cloudflare_proxied or zone_id is None:
        return None
    hostnames = (stack.domain, f"www.{stack.domain}")
    secret = _verify_secret(
        name, zone_id=zone_id, hostnames=hostnames, name_prefix=stack.name_prefix, parent=parent
    )
    return CLOUDFLARE_VERIFY_HEADER, secret


def _verify_secret(
    name: str,
    *,
    zone_id: str,
    hostnames: Sequence[str],
    name_prefix: str,
    parent: pulumi.Resource,
) -> pulumi.Output[str]:
    """The header's value, once the ruleset that sends it exists: what requires it (the ACL)
    never goes live before Cloudflare sends it.

    A zone has one ruleset per phase, so this stack owns the zone's request-header transform
    rules; a second stack doing the same in the zone fails to create its ruleset (Cloudflare:
    "a similar configuration with rules already exists"), and what depends on the value waits.
    """
    child = pulumi.ResourceOptions(parent=parent)
    secret = random.RandomPassword(
        name, length=CLOUDFLARE_VERIFY_LENGTH, special=False, opts=child
    ).result
    hosts = " ".join(json.dumps(h) for h in hostnames)
    ruleset = cloudflare.Ruleset(
        name,
        zone_id=zone_id,
        kind="zone",
        phase="http_request_late_transform",
        name=f"{name_prefix} request headers",
        description="Proves to CloudFront that a request came through Cloudflare",
        rules=[
            cloudflare.RulesetRuleArgs(
                action="rewrite",
                expression=f"http.host in {{{hosts}}}",
                description=f"{CLOUDFLARE_VERIFY_HEADER} to the frontend's distribution",
                enabled=True,
                action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                    headers={
                        CLOUDFLARE_VERIFY_HEADER: cloudflare.RulesetRuleActionParametersHeadersArgs(
                            operation="set", value=secret
                        )
                    }
                ),
            )
        ],
        opts=pulumi.ResourceOptions(parent=parent, additional_secret_outputs=["rules"]),
    )
    return pulumi.Output.all(secret, ruleset.id).apply(lambda v: str(v[0]))
