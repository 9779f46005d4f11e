"""The alarm definitions of what users reach from outside: the Route 53 health checks of the API
and the site, and the expiry of the edge's ACM certificates. Pure functions in the shape of
components/alarm_catalog.py, whose model it uses (and whose `create_alarm` builds them).

Both live where their metrics are: Route 53 publishes health-check status in us-east-1 only, and
ACM publishes `DaysToExpiry` in the certificate's region (the ALB's in the stack's, CloudFront's
in us-east-1).
"""

from __future__ import annotations

import pulumi

from components.alarm_catalog import AT_OR_BELOW, BELOW, MISSING, AlarmDefinition, Metric
from components.config import AlarmThresholds

DAY_SECONDS = 24 * 3600
RUNBOOK = "docs/runbooks/site-down.md"


def unreachable(role: str, url: str, health_check_id: pulumi.Input[str]) -> AlarmDefinition:
    """`<role>-unreachable`: Route 53's checkers cannot get a healthy answer from `url`."""
    return AlarmDefinition(
        key=f"{role}-unreachable",
        severity="critical",
        description=(
            f"Users cannot reach {url}: most Route 53 health checkers get no 2xx/3xx answer "
            "containing the expected text (DNS, TLS, the CDN or load balancer, or the app). "
            f"Follow {RUNBOOK}, starting with the health check's per-region results."
        ),
        # 1 while Route 53 calls the endpoint healthy, 0 once the checkers of most regions have
        # failed `failureThreshold` times in a row: the threshold lives in the health check.
        signal=Metric(
            namespace="AWS/Route53",
            name="HealthCheckStatus",
            dimensions={"HealthCheckId": health_check_id},
            stat="Minimum",
        ),
        threshold=1,
        comparison=BELOW,
        treat_missing_data=MISSING,
    )


def certificate_expiry(
    role: str, hostnames: str, certificate_arn: pulumi.Input[str], t: AlarmThresholds
) -> AlarmDefinition:
    """`<role>-certificate-expiry`: an ACM certificate that should have renewed by now."""
    return AlarmDefinition(
        key=f"{role}-certificate-expiry",
        severity="critical",
        description=(
            f"The ACM certificate of {hostnames} expires in {t.certificate_expiry_days} days or "
            "less: ACM's renewal, which starts 60 days ahead, has not succeeded. Check that its "
            "DNS validation CNAMEs still resolve (aws acm describe-certificate shows them) and "
            "the certificate's renewal status."
        ),
        # ACM publishes the metric once a day.
        signal=Metric(
            namespace="AWS/CertificateManager",
            name="DaysToExpiry",
            dimensions={"CertificateArn": certificate_arn},
            stat="Minimum",
        ),
        threshold=t.certificate_expiry_days,
        comparison=AT_OR_BELOW,
        period=DAY_SECONDS,
        treat_missing_data=MISSING,
    )
