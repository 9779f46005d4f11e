"""Certificates and DNS in both stacks, with Cloudflare and with DNS provider `none`."""

from __future__ import annotations

from tests.helpers import evaluated
from tests.unit.edge_helpers import edge_variant, provider_region
from tools.mockcloud import Evaluation

CERT = "aws:acm/certificate:Certificate"
VALIDATION = "aws:acm/certificateValidation:CertificateValidation"
RECORD = "cloudflare:index/dnsRecord:DnsRecord"
ZONE = "023e105f4ecef8ad9ca31a8372d0c353"


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


def test_zone_settings_only_where_the_stack_owns_the_zone(stack: Evaluation) -> None:
    settings = {
        r.inputs["settingId"]: r.inputs["value"]
        for r in stack.of_type("cloudflare:index/zoneSetting:ZoneSetting")
    }
    if stack.stack == "prod":
        assert settings == {"ssl": "strict", "always_use_https": "on", "min_tls_version": "1.2"}
    else:
        assert settings == {}


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
