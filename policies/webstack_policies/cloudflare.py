"""Cloudflare: the zone settings that govern traffic Cloudflare proxies.

A proxied (orange-cloud) record sends viewers to Cloudflare, which connects to the origin as its
zone's settings say: SSL `strict` verifies the origin's certificate (`full` accepts any,
`flexible` speaks plain HTTP to it), Always Use HTTPS redirects http://, and the minimum TLS
version bounds what viewers may use. A DNS-only record only answers DNS, so those settings touch
none of its traffic: the rule requires them for zones with proxied records, and checks the
value of any setting a stack writes either way.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import EnforcementLevel, StackValidationArgs, StackValidationPolicy

from .common import Report, config_of, label, schema, truthy

DNS_RECORDS = ("cloudflare:index/dnsRecord:DnsRecord", "cloudflare:index/record:Record")
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
TLS_VERSIONS = ("1.0", "1.1", "1.2", "1.3")
DEFAULTS: dict[str, Any] = {"minimumTlsVersion": "1.2", "settingsOwnedElsewhere": False}


def _zone(resource: Any) -> str | None:
    """Which zone a record or setting belongs to: the Zone resource its `zoneId` came from, or
    the literal id."""
    dependencies = resource.property_dependencies.get("zoneId", [])
    if dependencies:
        return str(dependencies[0].urn)
    zone_id = resource.props.get("zoneId")
    return str(zone_id) if zone_id else None


def _problem(setting_id: str, value: Any, minimum_tls: str) -> str | None:
    """What is wrong with a zone setting's value, or None."""
    if setting_id == "ssl" and value != "strict":
        return (
            f"SSL mode {value!r}; only 'strict' verifies the origin's certificate ('full' accepts "
            "any, 'flexible' sends plain HTTP)."
        )
    if setting_id == "always_use_https" and value != "on":
        return f"always_use_https {value!r} leaves http:// unredirected; set 'on'."
    if setting_id == "min_tls_version" and (
        value not in TLS_VERSIONS or TLS_VERSIONS.index(value) < TLS_VERSIONS.index(minimum_tls)
    ):
        return f"min_tls_version {value!r} is below {minimum_tls}."
    return None


def _required(minimum_tls: str) -> Mapping[str, str]:
    """The settings a zone with proxied records needs, and the value each must have."""
    return {"ssl": "strict", "always_use_https": "on", "min_tls_version": minimum_tls}


def _validate(args: StackValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, DEFAULTS)
    minimum_tls = config["minimumTlsVersion"]
    required = _required(minimum_tls)
    settings = [r for r in args.resources if r.resource_type == ZONE_SETTING]
    managed: dict[str | None, set[str]] = {}
    for setting in settings:
        setting_id = str(setting.props.get("settingId"))
        managed.setdefault(_zone(setting), set()).add(setting_id)
        problem = _problem(setting_id, setting.props.get("value"), minimum_tls)
        if problem:
            report(f"{label(setting)}: {problem}", setting.urn)
    if config["settingsOwnedElsewhere"]:
        return
    for record in args.resources:
        if record.resource_type not in DNS_RECORDS or not truthy(record.props.get("proxied")):
            continue
        missing = [s for s in required if s not in managed.get(_zone(record), set())]
        if missing:
            wanted = ", ".join(f"{s}={required[s]}" for s in missing)
            report(
                f"{label(record)}: proxied through Cloudflare, so its zone's settings decide how "
                f"viewers and the origin are reached; manage them in this stack ({wanted}), or set "
                "settingsOwnedElsewhere where another stack owns the zone.",
                record.urn,
            )


cloudflare_zone_settings = StackValidationPolicy(
    name="cloudflare-zone-settings",
    description=(
        "A Cloudflare zone with proxied records has its settings managed with SSL 'strict' "
        "(the origin's certificate verified), Always Use HTTPS on and a minimum TLS version; "
        "any zone setting a stack writes has a safe value. DNS-only records need none: the "
        "settings do not touch their traffic."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        DEFAULTS,
        {
            "minimumTlsVersion": {"type": "string", "enum": list(TLS_VERSIONS)},
            "settingsOwnedElsewhere": {"type": "boolean"},
        },
    ),
    validate=_validate,
)

POLICIES = [cloudflare_zone_settings]
