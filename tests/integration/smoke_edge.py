"""A fake webstack edge on 127.0.0.1 for the smoke tool's tests: an HTTPS listener per public
name (API, apex, www; each with its own certificate from a throwaway trustme CA) and one plain
HTTP listener for all three, dispatching on the Host header as the ALB and CloudFront do.

`Edge()` keeps every promise the way the stack does (ALB: `:443` in its redirect, security
headers and the app's CORS; CloudFront: headers policy, www Function, cache policies); each
field changes one behaviour, so a test breaks exactly one promise. `serve(edge, ca, dir)`
runs it on threads (ports chosen by the OS) and stops it on exit — or by itself after
BACKSTOP_SECONDS, so a stuck test cannot leave servers behind.
"""

from __future__ import annotations

import collections
import http.server
import json
import socket
import ssl
import threading
import warnings
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import trustme

API, APEX, WWW = "api.example.test", "example.test", "www.example.test"
ALLOWED = ("https://example.test", "http://localhost:5173")
BACKSTOP_SECONDS = 120
# How often each server looks for a shutdown request: what stopping an edge costs every test.
POLL_SECONDS = 0.02
INDEX_HTML = """<!doctype html>
<html><head>
<link rel="icon" href="/favicon.svg">
<script type="module" crossorigin src="/assets/index-B6f3Xk2a.js"></script>
<link rel="stylesheet" crossorigin href="/assets/index-D0m9QpL1.css">
</head><body><div id="root"></div></body></html>
"""
API_SECURITY = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
}
FRONTEND_SECURITY = {
    **API_SECURITY,
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
}


def _healthy() -> dict[str, Any]:
    return {"status": "healthy", "database": "connected", "redis": "connected"}


@dataclass(frozen=True)
class Edge:
    """How the fake edge behaves; the defaults keep every promise."""

    get_status: Mapping[str, int] = field(default_factory=dict)
    """Path -> status of a GET (`{"/api/ready": 500}`)."""
    transient_503: Mapping[str, int] = field(default_factory=dict)
    """Path -> how many GETs answer 503 before the path behaves."""
    health_body: Any = field(default_factory=_healthy)
    """JSON of /api/health (a str is sent as text/plain)."""
    http_answer: Mapping[str, str] = field(default_factory=dict)
    """Host -> what plain HTTP does instead of the 301: `200`, `302`, `to-root` (drops the path,
    keeps the query), `to-http`."""
    www: str = "redirect"
    """`redirect` (301 to the apex), `serve` (200 like the apex), `to-root` (path dropped),
    `to-self`."""
    headers: Mapping[str, Mapping[str, str | None]] = field(default_factory=dict)
    """Host -> security header overrides (None removes the header)."""
    cors: Mapping[str, str] = field(default_factory=dict)
    """Host -> `exact` (default), `none`, `any`, `prefix`, `star`, `star-on-get`."""
    index_cache: str = "no-cache"
    asset_cache: str = "public, max-age=31536000, immutable"
    index_html: str = INDEX_HTML
    asset_status: int = 200
    tls: Mapping[str, str] = field(default_factory=dict)
    """Host -> `wrong-name`, `expired`, `tls11-only` or `legacy-too` (also offers 1.0/1.1)."""


def _security(edge: Edge, host: str) -> dict[str, str]:
    base = API_SECURITY if host == API else FRONTEND_SECURITY
    merged = {**base, **edge.headers.get(host, {})}
    return {k: v for k, v in merged.items() if v is not None}


def _allow_origin(mode: str, origin: str | None, *, preflight: bool) -> str | None:
    if origin is None:
        return None
    if mode == "star" or (mode == "star-on-get" and not preflight):
        return "*"
    if mode == "any":
        return origin
    if mode == "prefix":  # the bug of matching with startswith / an unanchored regex
        return origin if any(origin.startswith(a) for a in ALLOWED) else None
    if mode in ("exact", "star-on-get"):
        return origin if origin in ALLOWED else None
    return None  # "none": no CORS at all


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def setup(self) -> None:
        super().setup()
        if isinstance(self.request, ssl.SSLSocket):
            self.request.do_handshake()  # here, on the handler's thread, not in accept()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the tests read the tool's report, not the servers' logs

    @property
    def host(self) -> str:
        return (self.headers.get("Host") or "").rsplit(":", 1)[0].lower()

    def answer(self, status: int, headers: Mapping[str, str], body: bytes = b"") -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_GET(self) -> None:
        self.server.count(self.host, self.command, self.path)
        edge = self.server.edge
        if not self.server.tls:
            self.plain_http(edge)
        elif self.host == WWW and edge.www != "serve":
            self.www_redirect(edge)
        elif self.host == API:
            self.api(edge)
        else:
            self.frontend(edge)

    def do_OPTIONS(self) -> None:
        self.server.count(self.host, self.command, self.path)
        headers = self.response_headers(self.server.edge, preflight=True)
        if "Access-Control-Allow-Origin" in headers:
            headers["Access-Control-Allow-Methods"] = "GET"
        self.answer(204, headers)

    def response_headers(self, edge: Edge, *, preflight: bool) -> dict[str, str]:
        """The host's security headers, and its CORS answer to the request's Origin."""
        headers = _security(edge, self.host)
        mode = edge.cors.get(self.host, "exact")
        allow = _allow_origin(mode, self.headers.get("Origin"), preflight=preflight)
        if allow is not None:
            headers["Access-Control-Allow-Origin"] = allow
        return headers

    def plain_http(self, edge: Edge) -> None:
        mode = edge.http_answer.get(self.host, "301")
        # The ALB writes the port (`https://#{host}:443/#{path}?#{query}`); CloudFront does not.
        port = ":443" if self.host == API else ""
        path = self.path
        if mode == "to-root":  # drops the path, keeps the query
            path = "/" + ("?" + path.split("?", 1)[1] if "?" in path else "")
        scheme = "http" if mode == "to-http" else "https"
        if mode == "200":
            self.answer(200, {"Content-Type": "text/plain"}, b"plain http")
        else:
            status = 302 if mode == "302" else 301
            self.answer(status, {"Location": f"{scheme}://{self.host}{port}{path}"})

    def www_redirect(self, edge: Edge) -> None:
        query = "?" + self.path.split("?", 1)[1] if "?" in self.path else ""
        target = {"to-root": f"https://{APEX}/{query}", "to-self": f"https://{WWW}{self.path}"}
        self.answer(301, {"Location": target.get(edge.www, f"https://{APEX}{self.path}")})

    def api(self, edge: Edge) -> None:
        path = self.path.split("?")[0]
        headers = self.response_headers(edge, preflight=False) | {"Cache-Control": "no-store"}
        if self.server.hits[(API, "GET", self.path)] <= edge.transient_503.get(path, 0):
            self.answer(503, headers, b"starting")
            return
        body: Any = edge.health_body if path == "/api/health" else {"status": "ok"}
        if path not in ("/api/live", "/api/ready", "/api/health"):
            self.answer(404, headers, b"not found")
            return
        if isinstance(body, str):
            payload, kind = body.encode(), "text/plain"
        else:
            payload, kind = json.dumps(body).encode(), "application/json"
        self.answer(edge.get_status.get(path, 200), headers | {"Content-Type": kind}, payload)

    def frontend(self, edge: Edge) -> None:
        path = self.path.split("?")[0]
        headers = self.response_headers(edge, preflight=False)
        if path.startswith("/assets/"):
            kind = "text/javascript" if path.endswith(".js") else "text/css"
            headers |= {"Content-Type": kind, "Cache-Control": edge.asset_cache}
            self.answer(edge.asset_status, headers, b"/* hashed */")
        else:  # index.html, also for client-side routes (the viewer-request Function)
            headers |= {"Content-Type": "text/html", "Cache-Control": edge.index_cache}
            self.answer(edge.get_status.get(path, 200), headers, edge.index_html.encode())


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, edge: Edge, context: ssl.SSLContext | None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.edge = edge
        self.tls = context
        self.hits: collections.Counter[tuple[str, str, str]] = collections.Counter()
        self._lock = threading.Lock()

    def count(self, host: str, method: str, path: str) -> None:
        with self._lock:
            self.hits[(host, method, path)] += 1

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, address = self.socket.accept()
        sock.settimeout(5)
        if self.tls is None:
            return sock, address
        return self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # refused handshakes are the point of some tests

    @property
    def port(self) -> int:
        return int(self.server_address[1])


def tls_context(ca: trustme.CA, host: str, mode: str | None) -> ssl.SSLContext:
    """The server side of one name: a good certificate, or the one broken promise."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)  # TLS 1.2+ by default
    if mode == "wrong-name":
        cert = ca.issue_cert("other.example.test")
    elif mode == "expired":
        now = datetime.now(UTC)
        cert = ca.issue_cert(
            host, not_before=now - timedelta(days=30), not_after=now - timedelta(days=1)
        )
    elif mode in ("tls11-only", "legacy-too"):
        # RSA: TLS 1.0/1.1 cipher suites predate ECDSA in practice.
        cert = ca.issue_cert(host, key_type=trustme.KeyType.RSA)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            if mode == "tls11-only":
                context.maximum_version = ssl.TLSVersion.TLSv1_1
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    else:
        cert = ca.issue_cert(host)
    cert.configure_cert(context)
    return context


@dataclass(frozen=True)
class Running:
    """A served edge: the smoke tool's arguments to reach it, and what it was asked."""

    args: list[str]
    https: dict[str, _Server]
    http: _Server

    def hits(self, host: str, method: str, path_prefix: str) -> int:
        servers = [self.http, *self.https.values()]
        return sum(
            n
            for server in servers
            for (h, m, p), n in server.hits.items()
            if h == host and m == method and p.startswith(path_prefix)
        )


def _shut_down(servers: list[_Server], loops: list[threading.Thread]) -> None:
    """Stop every server at once: each `shutdown()` waits for its loop's next poll, which one
    after the other would add up to a poll interval per server, in every test."""
    stoppers = [threading.Thread(target=server.shutdown) for server in servers]
    for stopper in stoppers:
        stopper.start()
    for thread in [*stoppers, *loops]:
        thread.join(5)


@contextmanager
def serve(edge: Edge, ca: trustme.CA, workdir: Path) -> Iterator[Running]:
    """Run `edge` until the block ends (or BACKSTOP_SECONDS pass)."""
    bundle = workdir / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    with ExitStack() as stack:
        https = {h: _Server(edge, tls_context(ca, h, edge.tls.get(h))) for h in (API, APEX, WWW)}
        plain = _Server(edge, None)
        servers = [*https.values(), plain]
        loops = []
        for server in servers:
            stack.callback(server.server_close)
            loop = threading.Thread(target=server.serve_forever, args=(POLL_SECONDS,), daemon=True)
            loop.start()
            loops.append(loop)
            backstop = threading.Timer(BACKSTOP_SECONDS, server.shutdown)
            backstop.daemon = True
            backstop.start()
            stack.callback(backstop.cancel)
        stack.callback(_shut_down, servers, loops)
        args = ["--api-url", f"https://{API}", "--frontend-url", f"https://{APEX}"]
        for origin in ALLOWED:
            args += ["--allowed-origin", origin]
        args += ["--ca-bundle", str(bundle)]
        for host, server in https.items():
            args += ["--connect-to", f"{host}:443:127.0.0.1:{server.port}"]
            args += ["--connect-to", f"{host}:80:127.0.0.1:{plain.port}"]
        yield Running(args=args, https=https, http=plain)
