"""`python -m tools.smoke` against a fake edge on 127.0.0.1 (tests/integration/smoke_edge.py)
with a throwaway CA: the edge that keeps every promise passes every check; each edge that breaks
one promise fails exactly the checks that promise is about, and the run exits 1."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import ssl
import stat
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.integration.smoke_edge import ALLOWED, APEX, API, WWW, Edge, Running, serve, tls_context
from tools.smoke import cli

FAST = ["--retries", "0", "--timeout", "5"]
CORS_ALLOWED = {f"api.cors-allowed[{origin}]" for origin in ALLOWED}
EVERY_CHECK = {
    *(f"api.{name}" for name in ("live", "ready", "health")),
    *(
        f"{host}.{check}"
        for host in ("api", "frontend", "www")
        for check in ("http-redirect", "tls", "tls-legacy")
    ),
    "www.redirect",
    *(
        f"{host}.{check}"
        for host in ("api", "frontend")
        for check in ("hsts", "nosniff", "frame-options", "csp", "cors-no-wildcard")
    ),
    *CORS_ALLOWED,
    "api.cors-foreign",
    "frontend.index-cache",
    "frontend.asset-cache",
}


def https_checks(role: str) -> set[str]:
    """The checks that talk HTTPS (or TLS) to the host of `role`."""
    return {n for n in EVERY_CHECK if n.startswith(f"{role}.") and n != f"{role}.http-redirect"}


def _legacy_tls_works() -> bool:
    """Can this machine's OpenSSL still speak TLS 1.1 on both ends (loopback handshake)?"""
    ca = trustme.CA()
    try:
        server_context = tls_context(ca, "legacy.test", "tls11-only")
        client = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        client.check_hostname, client.verify_mode = False, ssl.CERT_NONE
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            client.minimum_version = ssl.TLSVersion.TLSv1_1
            client.maximum_version = ssl.TLSVersion.TLSv1_1
        client.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        return False
    left, right = socket.socketpair()
    with left, right:
        left.settimeout(5)
        right.settimeout(5)
        server = threading.Thread(target=_accept_quietly, args=(server_context, right))
        server.start()
        try:
            with client.wrap_socket(left) as tls:
                return tls.version() == "TLSv1.1"
        except (ssl.SSLError, OSError):
            return False
        finally:
            server.join(5)


def _accept_quietly(context: ssl.SSLContext, sock: socket.socket) -> None:
    with contextlib.suppress(ssl.SSLError, OSError):
        context.wrap_socket(sock, server_side=True).unwrap()


LEGACY = _legacy_tls_works()
LEGACY_CHECKS = {f"{host}.tls-legacy" for host in ("api", "frontend", "www")}


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def edge(ca: trustme.CA, tmp_path: Path) -> Iterator[Running]:
    """An edge that keeps every promise."""
    with serve(Edge(), ca, tmp_path) as running:
        yield running


def smoke(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, dict[str, Any]]:
    """Run the tool with --json; (exit status, report)."""
    status = cli.main([*args, "--json"])
    return status, json.loads(capsys.readouterr().out)


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["status"] for c in report["checks"]}


def expect(report: dict[str, Any], failing: set[str]) -> None:
    """Exactly `failing` failed; the rest passed (where this OpenSSL cannot speak TLS 1.1, the
    legacy-TLS probes may be skipped)."""
    got = statuses(report)
    assert set(got) == EVERY_CHECK, set(got) ^ EVERY_CHECK
    assert {n for n, s in got.items() if s == "fail"} == failing, report["checks"]
    skipped = {n for n, s in got.items() if s == "skip"}
    assert skipped <= (set() if LEGACY else LEGACY_CHECKS), skipped


def test_an_edge_that_keeps_every_promise_passes_every_check(
    edge: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    status, report = smoke(edge.args + FAST, capsys)
    expect(report, set())
    assert status == 0 and report["ok"] is True
    skipped = sum(c["status"] == "skip" for c in report["checks"])
    assert report["summary"] == {
        "passed": len(EVERY_CHECK) - skipped,
        "failed": 0,
        "skipped": skipped,
    }
    seen = {c["name"]: c["seen"] for c in report["checks"]}
    assert "TLSv1.3" in seen["www.tls"] and "valid" in seen["www.tls"]
    assert seen["api.http-redirect"].startswith(f"301 -> https://{API}:443/smoke-check/")
    assert "database=connected redis=connected" in seen["api.health"]
    assert "/assets/index-B6f3Xk2a.js" in seen["frontend.asset-cache"]


HEALTHY_VARIANTS = [
    {"status": "ok", "database": "ok", "redis": "ok"},
    {"database": {"status": "connected"}, "redis": {"status": "ok"}},
    {"status": "healthy"},
    "OK",  # not JSON: the status code is the whole answer
]


@pytest.mark.parametrize("body", HEALTHY_VARIANTS, ids=repr)
def test_health_shapes_that_say_healthy_pass(
    body: Any, ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Edge(health_body=body), ca, tmp_path) as running:
        status, report = smoke(running.args + FAST, capsys)
    expect(report, set())
    assert status == 0


# One promise broken per case: (id, the edge, the checks that must fail).
BROKEN: list[tuple[str, Edge, set[str]]] = [
    ("live answers 500", Edge(get_status={"/api/live": 500}), {"api.live"}),
    ("ready answers 500", Edge(get_status={"/api/ready": 500}), {"api.ready"}),
    ("health answers 503", Edge(get_status={"/api/health": 503}), {"api.health"}),
    (
        "health: database disconnected",
        Edge(health_body={"status": "healthy", "database": "disconnected", "redis": "connected"}),
        {"api.health"},
    ),
    (
        "health: redis error",
        Edge(health_body={"status": "healthy", "database": "connected", "redis": "error"}),
        {"api.health"},
    ),
    ("health: status unhealthy", Edge(health_body={"status": "unhealthy"}), {"api.health"}),
    (
        "health: nested database down",
        Edge(health_body={"database": {"status": "down"}}),
        {"api.health"},
    ),
    ("api http serves 200", Edge(http_answer={API: "200"}), {"api.http-redirect"}),
    ("frontend http serves 200", Edge(http_answer={APEX: "200"}), {"frontend.http-redirect"}),
    ("www http serves 200", Edge(http_answer={WWW: "200"}), {"www.http-redirect"}),
    ("api http answers 302", Edge(http_answer={API: "302"}), {"api.http-redirect"}),
    (
        "frontend http drops the path",
        Edge(http_answer={APEX: "to-root"}),
        {"frontend.http-redirect"},
    ),
    ("api http redirects to http", Edge(http_answer={API: "to-http"}), {"api.http-redirect"}),
    ("www serves instead of redirecting", Edge(www="serve"), {"www.redirect"}),
    ("www redirects to the apex root", Edge(www="to-root"), {"www.redirect"}),
    ("www redirects to itself", Edge(www="to-self"), {"www.redirect"}),
    ("www cert for another name", Edge(tls={WWW: "wrong-name"}), {"www.tls", "www.redirect"}),
    ("www cert expired", Edge(tls={WWW: "expired"}), {"www.tls", "www.redirect"}),
    ("api CORS echoes any origin", Edge(cors={API: "any"}), {"api.cors-foreign"}),
    ("api CORS matches by prefix", Edge(cors={API: "prefix"}), {"api.cors-foreign"}),
    ("api CORS missing", Edge(cors={API: "none"}), CORS_ALLOWED),
    (
        "api CORS answers *",
        Edge(cors={API: "star"}),
        {*CORS_ALLOWED, "api.cors-foreign", "api.cors-no-wildcard"},
    ),
    ("api * on plain GETs only", Edge(cors={API: "star-on-get"}), {"api.cors-no-wildcard"}),
    ("frontend CORS answers *", Edge(cors={APEX: "star"}), {"frontend.cors-no-wildcard"}),
    ("index.html cacheable", Edge(index_cache="public, max-age=300"), {"frontend.index-cache"}),
    ("index.html without Cache-Control", Edge(index_cache=""), {"frontend.index-cache"}),
    ("asset not immutable", Edge(asset_cache="public, max-age=31536000"), {"frontend.asset-cache"}),
    (
        "asset immutable for an hour",
        Edge(asset_cache="public, max-age=3600, immutable"),
        {"frontend.asset-cache"},
    ),
    ("asset missing", Edge(asset_status=404), {"frontend.asset-cache"}),
    (
        "index.html loads no hashed asset",
        Edge(index_html="<html><script src='/app.js'></script></html>"),
        {"frontend.asset-cache"},
    ),
    (
        "index.html answers 404",
        Edge(get_status={"/": 404}),
        {"frontend.index-cache", "frontend.asset-cache"},
    ),
]


HEADER_BREAKS = [  # (header, value sent instead (None: left out), check, case)
    ("Strict-Transport-Security", None, "hsts", "without HSTS"),
    ("Strict-Transport-Security", "max-age=86400; includeSubDomains", "hsts", "HSTS a day"),
    ("Strict-Transport-Security", "max-age=63072000", "hsts", "HSTS without includeSubDomains"),
    ("X-Content-Type-Options", None, "nosniff", "without nosniff"),
    ("X-Frame-Options", None, "frame-options", "without X-Frame-Options"),
    ("X-Frame-Options", "SAMEORIGIN", "frame-options", "X-Frame-Options SAMEORIGIN"),
    ("Content-Security-Policy", None, "csp", "without CSP"),
    ("Content-Security-Policy", " ", "csp", "empty CSP"),
]
BROKEN += [
    (f"{role} {case}", Edge(headers={host: {header: value}}), {f"{role}.{check}"})
    for host, role in ((API, "api"), (APEX, "frontend"))
    for header, value, check, case in HEADER_BREAKS
]
# A certificate that does not verify takes every HTTPS check of its host with it (the
# legacy probe checks no certificate).
BROKEN += [
    (
        f"{role} cert {mode}",
        Edge(tls={host: mode}),
        {n for n in https_checks(role) if n != f"{role}.tls-legacy"},
    )
    for host, role in ((API, "api"), (APEX, "frontend"))
    for mode in ("wrong-name", "expired")
]


@pytest.mark.parametrize(("edge_", "failing"), [c[1:] for c in BROKEN], ids=[c[0] for c in BROKEN])
def test_an_edge_that_breaks_one_promise_fails_its_checks(
    edge_: Edge,
    failing: set[str],
    ca: trustme.CA,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with serve(edge_, ca, tmp_path) as running:
        status, report = smoke(running.args + FAST, capsys)
    expect(report, failing)
    assert status == 1 and report["ok"] is False
    assert report["summary"]["failed"] == len(failing)


@pytest.mark.skipif(not LEGACY, reason="this OpenSSL cannot serve TLS 1.1")
def test_a_host_offering_only_tls_1_1_fails(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Edge(tls={WWW: "tls11-only"}), ca, tmp_path) as running:
        status, report = smoke(running.args + FAST, capsys)
    expect(report, {"www.tls", "www.redirect", "www.tls-legacy"})
    assert status == 1
    seen = {c["name"]: c["seen"] for c in report["checks"]}
    assert "no TLS 1.2 or newer" in seen["www.tls"]
    assert "accepted TLSv1.1" in seen["www.tls-legacy"]


@pytest.mark.skipif(not LEGACY, reason="this OpenSSL cannot offer TLS 1.1")
@pytest.mark.parametrize(("host", "role"), [(API, "api"), (APEX, "frontend"), (WWW, "www")])
def test_a_host_that_also_accepts_tls_1_1_fails_the_legacy_probe(
    host: str, role: str, ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Edge(tls={host: "legacy-too"}), ca, tmp_path) as running:
        status, report = smoke(running.args + FAST, capsys)
    expect(report, {f"{role}.tls-legacy"})
    assert status == 1


def test_transient_503s_are_retried_a_bounded_number_of_times(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Edge(transient_503={"/api/ready": 2}), ca, tmp_path) as running:
        status, report = smoke([*running.args, "--retries", "2", "--retry-delay", "0.01"], capsys)
        assert running.hits(API, "GET", "/api/ready") == 3
    expect(report, set())
    assert status == 0

    with serve(Edge(transient_503={"/api/ready": 5}), ca, tmp_path) as running:
        status, report = smoke([*running.args, "--retries", "1", "--retry-delay", "0.01"], capsys)
        assert running.hits(API, "GET", "/api/ready") == 2
    expect(report, {"api.ready"})
    assert {c["name"]: c["seen"] for c in report["checks"]}["api.ready"].startswith("503")


def connection_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """Every address the tool opens a TCP connection to, in order."""
    attempts: list[tuple[str, int]] = []
    real = socket.create_connection

    def spy(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        attempts.append(address)
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", spy)
    return attempts


API_HTTPS_CHECKS = https_checks("api")


def test_a_silent_host_fails_on_timeouts_with_bounded_attempts(
    ca: trustme.CA,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A listener that accepts and never answers: every API check fails on its timeout, each
    after at most 1 + retries connections."""
    silent = socket.create_server(("127.0.0.1", 0), backlog=64)
    with silent, serve(Edge(), ca, tmp_path) as running:
        port = silent.getsockname()[1]
        attempts = connection_attempts(monkeypatch)
        args = [*running.args, "--connect-to", f"{API}:443:127.0.0.1:{port}"]
        status, report = smoke(
            [*args, "--retries", "1", "--retry-delay", "0", "--timeout", "0.2"], capsys
        )
    assert {n for n, s in statuses(report).items() if s == "fail"} == API_HTTPS_CHECKS
    assert all("timed out" in c["seen"] for c in report["checks"] if c["name"] in API_HTTPS_CHECKS)
    silent_attempts = attempts.count(("127.0.0.1", port))
    assert len(API_HTTPS_CHECKS) <= silent_attempts <= 2 * len(API_HTTPS_CHECKS)
    assert status == 1


def test_a_refused_host_is_tried_1_plus_retries_times_in_all(
    ca: trustme.CA,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed = socket.create_server(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()  # nothing listens there now: connections are refused
    with serve(Edge(), ca, tmp_path) as running:
        attempts = connection_attempts(monkeypatch)
        args = [*running.args, "--connect-to", f"{API}:443:127.0.0.1:{port}"]
        status, report = smoke([*args, "--retries", "2", "--retry-delay", "0"], capsys)
    failed = {c["name"]: c["seen"] for c in report["checks"] if c["status"] == "fail"}
    assert set(failed) == API_HTTPS_CHECKS
    assert all("ConnectionRefusedError" in seen for seen in failed.values()), failed
    # The first check pays the retries; the others know the host is unreachable.
    assert attempts.count(("127.0.0.1", port)) == 3
    assert status == 1


def test_text_output_is_one_line_per_check(
    edge: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(edge.args + FAST)
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    assert lines[0] == f"smoke: api https://{API}, frontend https://{APEX}, www https://{WWW}"
    checks = lines[1:-1]
    assert len(checks) == len(EVERY_CHECK)
    assert {line.split()[1] for line in checks} == EVERY_CHECK
    assert all(line[0] in "✓–" for line in checks)
    assert lines[-1].startswith("smoke ok: ")


def test_a_failure_is_marked_and_says_what_was_seen(
    ca: trustme.CA, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with serve(Edge(get_status={"/api/ready": 500}), ca, tmp_path) as running:
        status = cli.main(running.args + FAST)
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if " api.ready " in x]
    assert line.startswith("✗") and "500" in line and "expected 200" in line
    assert out.splitlines()[-1].startswith("smoke FAILED: ")
    assert status == 1


def test_markdown_output_is_a_table_for_the_job_summary(
    edge: Running, capsys: pytest.CaptureFixture[str]
) -> None:
    status = cli.main(edge.args + FAST + ["--markdown"])
    lines = capsys.readouterr().out.splitlines()
    assert status == 0
    header = lines.index("| | Check | Seen |")
    rows = lines[header + 2 :]
    assert lines[header + 1] == "|---|---|---|"
    assert len(rows) == len(EVERY_CHECK)
    assert all(row.startswith(("| ✓ | `", "| – | `")) and row.count(" | ") >= 2 for row in rows)


def test_json_report_shape(edge: Running, capsys: pytest.CaptureFixture[str]) -> None:
    _, report = smoke(edge.args + FAST, capsys)
    assert set(report) == {"format", "ok", "summary", "target", "checks"}
    assert report["target"] == {
        "api": f"https://{API}",
        "frontend": f"https://{APEX}",
        "www": f"https://{WWW}",
        "allowedOrigins": list(ALLOWED),
        "assetsPrefix": "/assets/",
        "corsPath": "/api/live",
    }
    for check in report["checks"]:
        assert set(check) == {"name", "status", "seen", "url"}
        assert check["status"] in ("pass", "fail", "skip") and check["seen"]


# -- --stack: the outputs come from `pulumi stack output --json` -------------------------------


def fake_pulumi(directory: Path, outputs: Any, exit_status: int = 0) -> Path:
    """A `pulumi` on PATH that records its arguments and prints `outputs` as JSON."""
    script = directory / "pulumi"
    log = directory / "pulumi-args"
    script.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(log)!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"sys.stdout.write({json.dumps(outputs)!r})\n"
        f"sys.stderr.write('error: no stack named x' if {exit_status} else '')\n"
        f"sys.exit({exit_status})\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return log


def stack_args(running: Running) -> list[str]:
    """The edge's arguments without the ones the stack outputs provide."""
    skip = {"--api-url", "--frontend-url", "--allowed-origin"}
    args, kept = running.args, []
    for i in range(0, len(args), 2):
        if args[i] not in skip:
            kept += args[i : i + 2]
    return kept


STACK_OUTPUTS = {
    "apiUrl": f"https://{API}",
    "frontendUrl": f"https://{APEX}",
    "allowedOrigins": list(ALLOWED),
    "databaseMasterSecretArn": "[secret]",
}


def test_stack_outputs_name_the_hosts(
    edge: Running,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    log = fake_pulumi(tmp_path, STACK_OUTPUTS)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    status, report = smoke(["--stack", "staging", *stack_args(edge), *FAST], capsys)
    assert log.read_text() == "stack output --json --stack staging"
    expect(report, set())
    assert status == 0


def test_flags_override_stack_outputs(
    edge: Running,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_pulumi(tmp_path, {**STACK_OUTPUTS, "apiUrl": "https://api.unreachable.test"})
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    args = ["--stack", "staging", "--api-url", f"https://{API}", *stack_args(edge), *FAST]
    status, report = smoke(args, capsys)
    assert report["target"]["api"] == f"https://{API}"
    assert status == 0


@pytest.mark.parametrize(
    ("outputs", "exit_status", "message"),
    [
        (
            {k: v for k, v in STACK_OUTPUTS.items() if k != "apiUrl"},
            0,
            "stack output apiUrl (staging): missing",
        ),
        (
            {**STACK_OUTPUTS, "frontendUrl": "[secret]"},
            0,
            "stack output frontendUrl (staging): is secret",
        ),
        (
            {**STACK_OUTPUTS, "allowedOrigins": []},
            0,
            "stack output allowedOrigins (staging): must be a non-empty list",
        ),
        (
            {**STACK_OUTPUTS, "allowedOrigins": ["*"]},
            0,
            "stack output allowedOrigins (staging): must be an origin",
        ),
        (
            {**STACK_OUTPUTS, "apiUrl": "http://api.example.test"},
            0,
            "stack output apiUrl (staging): must be an https origin",
        ),
        ([1, 2], 0, "printed no JSON object"),
        ({}, 255, "failed (exit 255): error: no stack named x"),
    ],
    ids=[
        "missing",
        "secret",
        "no origins",
        "wildcard origin",
        "http api",
        "not an object",
        "pulumi fails",
    ],
)
def test_unreadable_stack_outputs_exit_2(
    outputs: Any,
    exit_status: int,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_pulumi(tmp_path, outputs, exit_status)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert cli.main(["--stack", "staging"]) == 2
    captured = capsys.readouterr()
    assert message in captured.err and captured.out == ""


def test_without_pulumi_on_path_stack_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert cli.main(["--stack", "staging"]) == 2
    assert "needs the pulumi CLI on PATH" in capsys.readouterr().err


def test_preflights_go_to_the_cors_path(edge: Running, capsys: pytest.CaptureFixture[str]) -> None:
    status, report = smoke([*edge.args, *FAST, "--cors-path", "api/health"], capsys)
    urls = {c["url"] for c in report["checks"] if c["name"].startswith("api.cors")}
    assert urls == {f"https://{API}/api/health"}
    assert edge.hits(API, "OPTIONS", "/api/health") == len(ALLOWED) + 2  # allowed + 2 foreign
    assert edge.hits(API, "OPTIONS", "/api/live") == 0
    assert status == 0
