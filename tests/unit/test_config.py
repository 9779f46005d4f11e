"""Bad top-level and network input: every validation names the key and the stack.

Rejections are checked on the pure parser (milliseconds); the last test runs the whole program
to prove that bad config registers nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from tests.helpers import assert_problem, committed, parse, parse_problems, problems_of

NETWORK = {"cidr": "10.20.0.0/16", "azCount": 2, "natStrategy": "single"}


@pytest.mark.parametrize(
    ("cidr", "words"),
    [
        ("8.8.0.0/16", ("private",)),
        ("10.0.0.0/8", ("/16 and /24", "/8")),
        ("10.0.0.0/26", ("/16 and /24", "/26")),
        ("10.0.0.1/16", ("IPv4 network",)),
        ("not-a-cidr", ("IPv4 network",)),
        ("fd00::/48", ("private",)),
    ],
)
def test_vpc_cidr_must_be_private_16_to_24(cidr: str, words: tuple[str, ...]) -> None:
    problems = parse_problems("staging", network={**NETWORK, "cidr": cidr})
    assert_problem(problems, "webstack:network.cidr", "staging", *words)


@pytest.mark.parametrize(("count", "words"), [(1, (">= 2",)), (5, ("<= 4",))])
def test_az_count_bounds(count: int, words: tuple[str, ...]) -> None:
    problems = parse_problems("prod", network={**NETWORK, "azCount": count})
    assert_problem(problems, "webstack:network.azCount", "prod", *words)


def test_az_count_cannot_exceed_the_region() -> None:
    def three_zones(region: str) -> Sequence[str]:
        return [f"{region}{letter}" for letter in "abc"]

    problems = parse_problems(
        "staging",
        overrides={"aws:region": "eu-west-1"},
        region_azs=three_zones,
        network={**NETWORK, "azCount": 4},
    )
    assert_problem(problems, "webstack:network.azCount", "staging", "only 3", "got 4")


def test_unknown_environment() -> None:
    problems = parse_problems("staging", environment="qa")
    assert_problem(problems, "webstack:environment", "staging", "stack's name 'staging'", "'qa'")


@pytest.mark.parametrize(
    "domain", ["localhost", "exa mple.com", "-bad.example.com", "a..b", "1.2.3.4"]
)
def test_domain_must_be_a_hostname(domain: str) -> None:
    problems = parse_problems("staging", domain=domain)
    assert_problem(problems, "webstack:domain", "staging", "hostname")


def test_unknown_nat_strategy() -> None:
    problems = parse_problems("staging", network={**NETWORK, "natStrategy": "gateway"})
    assert_problem(problems, "webstack:network.natStrategy", "staging", "single, per_az, none")


def test_no_nat_needs_interface_endpoints() -> None:
    problems = parse_problems("staging", network={**NETWORK, "natStrategy": "none"})
    assert_problem(problems, "webstack:network.natStrategy", "staging", "interfaceEndpoints")


def test_a_nat_instance_is_refused_in_prod() -> None:
    network = committed("prod", "network", natStrategy="instance")
    problems = parse_problems("prod", network=network)
    assert_problem(problems, "webstack:network.natStrategy", "prod", "'instance'", "prod")


def test_a_nat_instance_is_allowed_where_one_way_out_will_do() -> None:
    network = committed("staging", "network", natStrategy="instance")
    assert parse("staging", network=network).network.nat_strategy == "instance"


@pytest.mark.parametrize(
    ("key", "value", "path"),
    [
        ("network", {**NETWORK, "natStrategy": 5}, "webstack:network.natStrategy"),
        ("network", {**NETWORK, "cidr": ["10.0.0.0/16"]}, "webstack:network.cidr"),
        ("owner", {"team": "x"}, "webstack:owner"),
        ("network", {**NETWORK, "azCount": "two"}, "webstack:network.azCount"),
        (
            "network",
            {**NETWORK, "interfaceEndpoints": "yes"},
            "webstack:network.interfaceEndpoints",
        ),
    ],
)
def test_wrong_types_are_named(key: str, value: Any, path: str) -> None:
    assert_problem(parse_problems("staging", **{key: value}), path, "staging", "must be a")


def test_unknown_keys_are_reported_as_typos() -> None:
    problems = parse_problems("staging", netwrok={"cidr": "10.0.0.0/16"})
    assert_problem(problems, "webstack:netwrok", "staging", "unknown key")
    problems = parse_problems("staging", network={**NETWORK, "natStrategi": "single"})
    assert_problem(problems, "webstack:network.natStrategi", "staging", "unknown key")


def test_required_keys_and_region() -> None:
    problems = parse_problems("prod", owner=None, domain=None, overrides={"aws:region": None})
    assert_problem(problems, "webstack:owner", "prod", "required")
    assert_problem(problems, "webstack:domain", "prod", "required")
    assert_problem(problems, "aws:region", "prod", "required")


def test_flow_log_retention_must_be_a_cloudwatch_period() -> None:
    problems = parse_problems("staging", network={**NETWORK, "flowLogRetentionDays": 100})
    assert_problem(problems, "webstack:network.flowLogRetentionDays", "staging", "CloudWatch")


def test_bad_account_id() -> None:
    assert_problem(
        parse_problems("prod", accountId="12345"), "webstack:accountId", "prod", "12-digit"
    )


def test_all_problems_are_reported_at_once_and_nothing_is_registered() -> None:
    problems = problems_of(
        "prod",
        environment="production",
        domain="not a domain",
        network={**NETWORK, "cidr": "8.8.8.0/24", "natStrategy": "many"},
    )
    keys = {p.split(" ")[0] for p in problems}
    assert {
        "webstack:environment",
        "webstack:domain",
        "webstack:network.cidr",
        "webstack:network.natStrategy",
    } <= keys
