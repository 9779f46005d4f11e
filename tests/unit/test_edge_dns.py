"""Certificates and DNS in both stacks, with Cloudflare and with DNS provider `none`."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers import assert_problem, evaluated, parse_problems
from tests.unit.edge_helpers import edge_section, edge_variant, provider_region
from tools.mockcloud import Evaluation

CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "cloudflare:index/dnsRecord:DnsRecord"
ZONE = "023e105f4ecef8ad9ca31a8372d0c353"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
# Two of Cloudflare's published IPv4 ranges: what ingress 'cidrs' admits behind its proxy.
CLOUDFLARE_RANGES = ["173.245.48.0/20", "103.21.244.0/22"]


def domain_of(ev: Evaluation) -> str:
    return {"staging": "staging.example.com", "prod": "example.com"}[ev.stack]


def records(ev: Evaluation) -> dict[str, dict]:
    return {r.inputs["name"]: r.inputs for r in ev.of_type(RECORD)}


def test_certificates_cover_the_api_apex_and_www(stack: Evaluation) -> None:
    domain = domain_of(stack)
    api = stack.one(CERT, "certificates-api")
    cdn = stack.one(CERT, "certificates-cdn")
    assert api.inputs["domainName"] == f"api.{domain}"
    assert cdn.inputs["domainName"] == domain
    assert cdn.inputs["subjectAlternativeNames"] == [f"www.{domain}"]
    assert api.inputs["validationMethod"] == cdn.inputs["validationMethod"] == "DNS"


def test_cloudfront_certificate_stays_in_us_east_1_when_the_stack_moves() -> None:
    ev = evaluated("staging", overrides={"aws:region": "eu-west-1"})
    assert provider_region(ev, ev.one(CERT, "certificates-api")) == "eu-west-1"
    assert provider_region(ev, ev.one(CERT, "certificates-cdn")) == "us-east-1"
    assert provider_region(ev, ev.one("aws:lb/loadBalancer:LoadBalancer")) == "eu-west-1"


def test_validation_records_are_created_and_awaited(stack: Evaluation) -> None:
    recs = records(stack)
    for name in ("certificates-api", "certificates-cdn"):
        cert = stack.one(CERT, name)
        validation = stack.one(VALIDATION, f"{name}-validation")
        assert validation.inputs["certificateArn"] == cert.outputs["arn"]
        expected = []
        for option in cert.outputs["domainValidationOptions"]:
            record = recs[option["resourceRecordName"].rstrip(".")]
            assert record["type"] == "CNAME" and record["proxied"] is False
            assert record["content"] == option["resourceRecordValue"].rstrip(".")
            assert record["zoneId"] == ZONE
            expected.append(record["name"])
        assert sorted(validation.inputs["validationRecordFqdns"]) == sorted(expected)


def test_names_point_at_the_alb_and_cloudfront(stack: Evaluation) -> None:
    domain = domain_of(stack)
    recs = records(stack)
    cdn = stack.outputs["distributionDomainName"]
    assert recs[f"api.{domain}"]["content"] == stack.outputs["albDnsName"]
    assert recs[domain]["content"] == cdn
    assert recs[f"www.{domain}"]["content"] == cdn
    for name in (f"api.{domain}", domain, f"www.{domain}"):
        assert recs[name]["type"] == "CNAME"
        # DNS-only: WAF must see viewers' addresses and CloudFront is already the CDN.
        assert recs[name]["proxied"] is False


def test_dns_only_records_come_without_zone_settings(stack: Evaluation) -> None:
    # DNS-only: Cloudflare's zone settings would govern none of this traffic.
    assert all(r["proxied"] is False for r in records(stack).values())
    assert stack.of_type(ZONE_SETTING) == []


def _proxied(stack: str, **changes: Any) -> Evaluation:
    return edge_variant(
        stack, cloudflareProxied=True, ingress="cidrs", ingressCidrs=CLOUDFLARE_RANGES, **changes
    )


def test_proxied_records_with_the_zone_settings_where_the_stack_owns_them() -> None:
    ev = _proxied("prod", manageZoneSettings=True)
    recs = records(ev)
    for name in ("api.example.com", "example.com", "www.example.com"):
        assert recs[name]["proxied"] is True
        assert recs[name]["ttl"] == 1  # Cloudflare's automatic TTL, the only one proxied has
    # Certificate validation records must stay DNS-only for ACM to read them.
    assert all(r["proxied"] is False for n, r in recs.items() if n.startswith("_"))
    settings = {r.inputs["settingId"]: r.inputs["value"] for r in ev.of_type(ZONE_SETTING)}
    assert settings == {"ssl": "strict", "always_use_https": "on", "min_tls_version": "1.2"}
    assert {r.inputs["zoneId"] for r in ev.of_type(ZONE_SETTING)} == {ZONE}


def test_proxied_staging_leaves_the_zone_settings_to_prod() -> None:
    ev = _proxied("staging")
    assert all(records(ev)[n]["proxied"] for n in ("api.staging.example.com",))
    assert ev.of_type(ZONE_SETTING) == []


@pytest.mark.parametrize(
    ("changes", "key", "words"),
    [
        ({"manageZoneSettings": True}, "manageZoneSettings", ["only on proxied records"]),
        (
            {"cloudflareProxied": True},
            "cloudflareProxied",
            ["only Cloudflare may reach the ALB", "ingress 'cidrs'"],
        ),
        (
            {"dnsProvider": "none", "cloudflareZoneId": None, "cloudflareProxied": True},
            "cloudflareProxied",
            ["only used with dnsProvider 'cloudflare'"],
        ),
    ],
)
def test_zone_settings_and_the_proxy_are_rejected_where_they_promise_nothing(
    changes: dict[str, Any], key: str, words: list[str]
) -> None:
    problems = parse_problems("prod", edge=edge_section("prod", **changes))
    assert_problem(problems, f"webstack:edge.{key}", "prod", *words)


def test_dns_provider_none_exports_every_record_to_create() -> None:
    ev = edge_variant("prod", dnsProvider="none", cloudflareZoneId=None, manageZoneSettings=None)
    assert not [r for r in ev.resources if r.type.startswith("cloudflare:")]
    wanted = {(r["name"], r["type"]): r for r in ev.outputs["dnsRecordsToCreate"]}
    assert wanted[("api.example.com", "CNAME")]["content"] == ev.outputs["albDnsName"]
    assert wanted[("example.com", "CNAME")]["content"] == ev.outputs["distributionDomainName"]
    assert wanted[("www.example.com", "CNAME")]["content"] == ev.outputs["distributionDomainName"]
    for name in ("certificates-api", "certificates-cdn"):
        cert = ev.one(CERT, name)
        validation = ev.one(VALIDATION, f"{name}-validation")
        for option in cert.outputs["domainValidationOptions"]:
            record = wanted[(option["resourceRecordName"].rstrip("."), "CNAME")]
            assert record["content"] == option["resourceRecordValue"].rstrip(".")
            assert record["purpose"].startswith("ACM validation")
            assert record["name"] in validation.inputs["validationRecordFqdns"]
    assert len(wanted) == 6


def test_records_are_not_exported_when_cloudflare_manages_them(stack: Evaluation) -> None:
    assert "dnsRecordsToCreate" not in stack.outputs
