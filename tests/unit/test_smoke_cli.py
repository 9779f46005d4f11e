"""`python -m tools.smoke` refuses bad usage with exit 2 and a message naming the flag, before
asking anything; and the pure pieces (connect-to specs, asset discovery) read what they should.
The checks themselves run against local servers in tests/integration/test_smoke.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.smoke import cli
from tools.smoke.checks import hashed_assets
from tools.smoke.client import parse_connect_to

GOOD = [
    "--api-url",
    "https://api.example.test",
    "--frontend-url",
    "https://example.test",
    "--allowed-origin",
    "https://example.test",
]


def without(flag: str) -> list[str]:
    i = GOOD.index(flag)
    return GOOD[:i] + GOOD[i + 2 :]


def replaced(flag: str, value: str) -> list[str]:
    args = list(GOOD)
    args[args.index(flag) + 1] = value
    return args


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "--api-url is required without --stack"),
        (without("--frontend-url"), "--frontend-url is required without --stack"),
        (without("--allowed-origin"), "--allowed-origin is required without --stack"),
        (replaced("--api-url", "http://api.example.test"), "--api-url: must be an https origin"),
        (
            replaced("--api-url", "https://api.example.test/v1"),
            "--api-url: must be an https origin",
        ),
        (replaced("--frontend-url", "example.test"), "--frontend-url: must be an https origin"),
        (replaced("--api-url", "https://api.example.test:99999"), "--api-url: bad port"),
        (replaced("--allowed-origin", "*"), "--allowed-origin: must be an origin"),
        (replaced("--allowed-origin", "https://example.test/app"), "an origin has no path"),
        ([*GOOD, "--connect-to", "example.test:443:127.0.0.1"], "--connect-to wants HOST:PORT"),
        ([*GOOD, "--ca-bundle", "/nonexistent/ca.pem"], "--ca-bundle: no such file"),
    ],
    ids=[
        "nothing",
        "no frontend",
        "no origin",
        "http api",
        "api with a path",
        "frontend without scheme",
        "bad port",
        "wildcard origin",
        "origin with a path",
        "short connect-to",
        "missing bundle",
    ],
)
def test_bad_usage_exits_2_naming_the_flag(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert message in captured.err, captured.err
    assert captured.out == ""  # nothing was checked


def test_a_bundle_that_is_not_pem_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not a certificate\n")
    assert cli.main([*GOOD, "--ca-bundle", str(bundle)]) == 2
    assert f"--ca-bundle {bundle}" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args",
    [
        [*GOOD, "--json", "--markdown"],
        [*GOOD, "--timeout", "0"],
        [*GOOD, "--retries", "11"],
        [*GOOD, "--retry-delay", "-1"],
    ],
    ids=["two formats", "zero timeout", "too many retries", "negative delay"],
)
def test_argparse_rejections_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(args)
    assert info.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_connect_to_specs() -> None:
    assert parse_connect_to("API.example.test:443:127.0.0.1:8443") == (
        ("api.example.test", 443),
        ("127.0.0.1", 8443),
    )
    assert parse_connect_to("example.test:80:[::1]:8080") == (("example.test", 80), ("::1", 8080))
    for bad in ("example.test:443", "example.test:https:127.0.0.1:1", ":443:127.0.0.1:1"):
        with pytest.raises(ValueError, match="HOST:PORT:ADDR:PORT"):
            parse_connect_to(bad)


def test_hashed_assets_are_same_origin_files_under_the_prefix() -> None:
    html = """<html><head>
    <script src="https://cdn.other.test/assets/lib-1a2b3c4d.js"></script>
    <link rel="icon" href="/favicon.svg">
    <link rel="modulepreload" href="assets/vendor-9f8e7d6c.js">
    <script type="module" src="https://example.test/assets/index-B6f3Xk2a.js"></script>
    <img src="/assets/logo-aaaa1111.png">
    </head></html>"""
    assert hashed_assets("https://example.test/", html, "/assets/") == [
        "https://example.test/assets/vendor-9f8e7d6c.js",
        "https://example.test/assets/index-B6f3Xk2a.js",
    ]
    assert hashed_assets("https://example.test/", html, "/static/") == []
