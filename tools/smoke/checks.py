"""The smoke checks: what a deployed stack promises at its edge, asked of the live hosts.

`run(client, target)` yields one Result per check, in the order a person reads them: health,
redirects, TLS, security headers, CORS, caching. The list and what each check accepts is in
tools/smoke/__init__.py.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from tools.smoke.client import Client, LegacyProbeUnavailableError, RequestError, Response
from tools.smoke.report import Result, Status

# The guides' floor, not the program's setting (components.load_balancer.HSTS_MAX_AGE): a
# year of HSTS (31536000 s, also the preload list's minimum) and of caching for hashed assets.
MIN_MAX_AGE = 365 * 24 * 3600
HEALTH_PATHS = ("live", "ready", "health")
# `/api/health` as the guides show it: {"status": "healthy", "database": "connected",
# "redis": "connected"}. Only the fields present are judged; a body that is not a JSON object
# is judged by its status code alone.
HEALTH_DEPENDENCIES = ("database", "redis")
DEPENDENCY_OK = frozenset({"connected", "ok"})
STATUS_OK = frozenset({"healthy", "ok", "pass", "up"})


@dataclass(frozen=True, kw_only=True)
class Target:
    """The public face of one stack."""

    api: str
    """The API's https origin (`https://api.example.com`)."""
    frontend: str
    """The frontend's https origin at the apex (`https://example.com`)."""
    allowed_origins: tuple[str, ...]
    """Origins the API must allow cross-origin (the stack's edge.allowedOrigins)."""
    assets_prefix: str
    """Path under which every file has a content hash (`/assets/`)."""
    cors_path: str = "/api/live"
    """An API path the app's CORS handling covers, for the preflights."""

    @property
    def www(self) -> str:
        """`https://www.<apex>`: the CloudFront Function redirects it to the apex."""
        parts = urlsplit(self.frontend)
        return f"{parts.scheme}://www.{parts.netloc}"

    @property
    def hosts(self) -> dict[str, str]:
        """Role -> origin, for the checks every public name gets."""
        return {"api": self.api, "frontend": self.frontend, "www": self.www}

    def as_dict(self) -> dict[str, Any]:
        return {
            "api": self.api,
            "frontend": self.frontend,
            "www": self.www,
            "allowedOrigins": list(self.allowed_origins),
            "assetsPrefix": self.assets_prefix,
            "corsPath": self.cors_path,
        }


def run(client: Client, target: Target) -> Iterator[Result]:
    """Every check, in reading order."""
    probe = secrets.token_hex(4)  # a fresh path and origin per run: nothing cached can answer
    for name in HEALTH_PATHS:
        yield _health(client, target, name)
    for role, origin in target.hosts.items():
        yield _http_redirect(client, role, origin, probe)
    yield _www_redirect(client, target, probe)
    for role, origin in target.hosts.items():
        yield _tls(client, role, origin)
        yield _tls_legacy(client, role, origin)
    for role, url in (("api", target.api + "/api/live"), ("frontend", target.frontend + "/")):
        yield from _security_headers(client, role, url)
    yield from _cors(client, target, probe)
    yield _index_cache(client, target)
    yield _asset_cache(client, target)


# -- judging helpers --------------------------------------------------------------------------


def _asked(
    client: Client,
    name: str,
    url: str,
    judge: Callable[[Response], tuple[bool, str]],
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
) -> Result:
    """Ask once (memoized by the client); no answer is a failure that says why."""
    try:
        response = client.fetch(method, url, headers)
    except RequestError as exc:
        return Result(name, Status.FAIL, str(exc), url)
    ok, seen = judge(response)
    return Result.judged(name, url, ok, seen)


def _directives(value: str, separator: str) -> dict[str, str | None]:
    """`max-age=300, no-cache` -> {"max-age": "300", "no-cache": None} (names lower-cased)."""
    found: dict[str, str | None] = {}
    for item in value.split(separator):
        name, has_value, argument = item.strip().partition("=")
        if name:
            found[name.strip().lower()] = argument.strip().strip('"') if has_value else None
    return found


def _max_age(found: dict[str, str | None]) -> int | None:
    value = found.get("max-age")
    return int(value) if value is not None and value.isascii() and value.isdigit() else None


def _same_place(location: str, expected: str) -> bool:
    """Same scheme, host, effective port, path and query (the ALB writes `:443` explicitly)."""
    got, want = urlsplit(location), urlsplit(expected)
    default = {"https": 443, "http": 80}
    try:
        ports = (got.port or default.get(got.scheme), want.port or default.get(want.scheme))
    except ValueError:  # a Location with a malformed port
        return False
    return (
        got.scheme == want.scheme
        and (got.hostname or "") == (want.hostname or "")
        and ports[0] == ports[1]
        and (got.path or "/") == (want.path or "/")
        and got.query == want.query
    )


def _redirect_judge(expected: str) -> Callable[[Response], tuple[bool, str]]:
    def judge(response: Response) -> tuple[bool, str]:
        location = response.header("Location")
        if response.status != 301 or location is None:
            moved = f" -> {location}" if location else ""
            return False, f"{response.status_line}{moved} (expected 301 -> {expected})"
        absolute = urljoin(response.url, location)
        if not _same_place(absolute, expected):
            return False, f"301 -> {location} (expected {expected})"
        return True, f"301 -> {location}"

    return judge


def _probe_path(probe: str) -> str:
    return f"/smoke-check/{probe}?probe={probe}"


# -- the checks -------------------------------------------------------------------------------


def _health(client: Client, target: Target, name: str) -> Result:
    def judge(response: Response) -> tuple[bool, str]:
        if response.status != 200:
            return False, f"{response.status_line} (expected 200)"
        try:
            body = json.loads(response.body)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return True, response.status_line
        seen, problems = [], []
        for field in ("status", *HEALTH_DEPENDENCIES):
            if field not in body:
                continue
            value = body[field]
            state = value.get("status") if isinstance(value, dict) else value
            seen.append(f"{field}={state}")
            accepted = STATUS_OK if field == "status" else DEPENDENCY_OK
            if not isinstance(state, str) or state.lower() not in accepted:
                problems.append(f"{field} is {state!r}, expected one of {sorted(accepted)}")
        detail = f"{response.status_line}" + (f", {' '.join(seen)}" if seen else "")
        return not problems, detail + "".join(f"; {p}" for p in problems)

    return _asked(client, f"api.{name}", f"{target.api}/api/{name}", judge)


def _http_redirect(client: Client, role: str, origin: str, probe: str) -> Result:
    """http://<host>/<path> answers 301 to https://<host>/<path> (same host, path and query)."""
    secure = origin + _probe_path(probe)
    host = urlsplit(origin).hostname
    plain = f"http://{host}{_probe_path(probe)}"
    return _asked(client, f"{role}.http-redirect", plain, _redirect_judge(secure))


def _www_redirect(client: Client, target: Target, probe: str) -> Result:
    """https://www.<apex>/<path> answers 301 to https://<apex>/<path>."""
    url = target.www + _probe_path(probe)
    expected = target.frontend + _probe_path(probe)
    return _asked(client, "www.redirect", url, _redirect_judge(expected))


def _tls(client: Client, role: str, origin: str) -> Result:
    name = f"{role}.tls"
    try:
        handshake = client.handshake(origin)
    except RequestError as exc:
        return Result(name, Status.FAIL, str(exc), origin)
    seen = handshake.version
    if handshake.not_after is not None:
        days = (handshake.not_after - datetime.now(UTC)).days
        seen += f", certificate valid for the name until {handshake.not_after:%Y-%m-%d} ({days} d)"
    return Result(name, Status.PASS, seen, origin)


def _tls_legacy(client: Client, role: str, origin: str) -> Result:
    """A ClientHello offering only TLS 1.0/1.1 must be refused."""
    name = f"{role}.tls-legacy"
    try:
        accepted = client.legacy_handshake(origin)
    except LegacyProbeUnavailableError as exc:
        return Result(name, Status.SKIP, f"cannot probe from here: {exc}", origin)
    except RequestError as exc:
        return Result(name, Status.FAIL, str(exc), origin)
    if accepted:
        return Result(name, Status.FAIL, f"accepted {accepted} (only TLS 1.2+ allowed)", origin)
    return Result(name, Status.PASS, "TLS 1.0/1.1 refused", origin)


def _security_headers(client: Client, role: str, url: str) -> Iterator[Result]:
    def header_judge(
        header: str, verdict: Callable[[str], str | None]
    ) -> Callable[[Response], tuple[bool, str]]:
        def judge(response: Response) -> tuple[bool, str]:
            value = response.header(header)
            if value is None:
                return False, f"no {header} header ({response.status_line})"
            problem = verdict(value)
            return problem is None, f"{header}: {value}" + (f" ({problem})" if problem else "")

        return judge

    def hsts(value: str) -> str | None:
        found = _directives(value, ";")
        age = _max_age(found)
        if age is None or age < MIN_MAX_AGE:
            return f"max-age must be >= {MIN_MAX_AGE}"
        if "includesubdomains" not in found:
            return "includeSubDomains missing"
        return None

    def exactly(word: str) -> Callable[[str], str | None]:
        return lambda value: None if value.strip().lower() == word.lower() else f"expected {word}"

    def non_empty(value: str) -> str | None:
        return None if value.strip() else "empty"

    for check, header, verdict in (
        ("hsts", "Strict-Transport-Security", hsts),
        ("nosniff", "X-Content-Type-Options", exactly("nosniff")),
        ("frame-options", "X-Frame-Options", exactly("DENY")),
        ("csp", "Content-Security-Policy", non_empty),
    ):
        yield _asked(client, f"{role}.{check}", url, header_judge(header, verdict))


ALLOW_ORIGIN = "Access-Control-Allow-Origin"
Ask = tuple[str, dict[str, str]]
"""(method, headers) of one cross-origin request."""


def _preflight(origin: str) -> Ask:
    return "OPTIONS", {"Origin": origin, "Access-Control-Request-Method": "GET"}


def _foreign_origins(target: Target, probe: str) -> tuple[str, str]:
    """An unrelated origin, and one that merely starts with an allowed one (catches prefix,
    substring and unanchored-regex matching)."""
    lookalike = (target.allowed_origins or (target.frontend,))[0]
    return f"https://smoke-{probe}.invalid", f"{lookalike}.smoke-{probe}.invalid"


def _cors(client: Client, target: Target, probe: str) -> Iterator[Result]:
    api_url = target.api + target.cors_path
    foreign = _foreign_origins(target, probe)
    for origin in target.allowed_origins:
        yield _cors_allowed(client, api_url, origin)
    yield _cors_foreign(client, api_url, foreign)
    # `*` wherever a browser would read it: preflights from an allowed and a foreign origin,
    # and a plain cross-origin GET.
    asks = [_preflight(o) for o in (*target.allowed_origins[:1], foreign[0])]
    asks.append(("GET", {"Origin": foreign[0]}))
    for role, url in (("api", api_url), ("frontend", target.frontend + "/")):
        yield _cors_no_wildcard(client, f"{role}.cors-no-wildcard", url, asks)


def _cors_allowed(client: Client, url: str, origin: str) -> Result:
    """A preflight from an allowed origin succeeds and names that origin."""

    def judge(response: Response) -> tuple[bool, str]:
        echoed = response.header(ALLOW_ORIGIN)
        ok = 200 <= response.status < 300 and echoed == origin
        return ok, f"{response.status_line}, {ALLOW_ORIGIN}: {echoed or '(none)'}"

    method, headers = _preflight(origin)
    name = f"api.cors-allowed[{origin}]"
    return _asked(client, name, url, judge, method=method, headers=headers)


def _cors_foreign(client: Client, url: str, foreign: tuple[str, ...]) -> Result:
    """Preflights from foreign origins get neither their origin nor `*` back."""
    name = "api.cors-foreign"
    echoed = []
    for origin in foreign:
        method, headers = _preflight(origin)
        try:
            allow = client.fetch(method, url, headers).header(ALLOW_ORIGIN)
        except RequestError as exc:
            return Result(name, Status.FAIL, str(exc), url)
        if allow in (origin, "*"):
            echoed.append(f"{origin} got {ALLOW_ORIGIN}: {allow}")
    seen = "; ".join(echoed) or f"not allowed: {', '.join(foreign)}"
    return Result.judged(name, url, not echoed, seen)


def _cors_no_wildcard(client: Client, name: str, url: str, asks: list[Ask]) -> Result:
    """None of the answers says `Access-Control-Allow-Origin: *`."""
    wildcards = []
    for method, headers in asks:
        try:
            response = client.fetch(method, url, headers)
        except RequestError as exc:
            return Result(name, Status.FAIL, str(exc), url)
        if (response.header(ALLOW_ORIGIN) or "").strip() == "*":
            wildcards.append(f"{method} from {headers['Origin']}")
    seen = (
        f"{ALLOW_ORIGIN}: * on " + ", ".join(wildcards)
        if wildcards
        else f"no * in {len(asks)} cross-origin answers"
    )
    return Result.judged(name, url, not wildcards, seen)


def _cache_control(response: Response) -> dict[str, str | None]:
    return _directives(response.header("Cache-Control") or "", ",")


def _index_cache(client: Client, target: Target) -> Result:
    """index.html revalidates on every load (`no-cache`) or is never stored (`no-store`)."""

    def judge(response: Response) -> tuple[bool, str]:
        if response.status != 200:
            return False, f"{response.status_line} (expected 200)"
        value = response.header("Cache-Control")
        found = _cache_control(response)
        ok = "no-cache" in found or "no-store" in found
        return ok, f"Cache-Control: {value or '(none)'}" + ("" if ok else " (expected no-cache)")

    return _asked(client, "frontend.index-cache", target.frontend + "/", judge)


class _AssetLinks(HTMLParser):
    """Collects `<script src>` and `<link href>` URLs, in document order."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"script": "src", "link": "href"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append(value)


def hashed_assets(index_url: str, html: str, prefix: str) -> list[str]:
    """Absolute URLs of the same-origin files under `prefix` that index.html loads."""
    parser = _AssetLinks()
    parser.feed(html)
    base = urlsplit(index_url)
    found = []
    for link in parser.urls:
        url = urljoin(index_url, link)
        parts = urlsplit(url)
        if parts.netloc == base.netloc and parts.path.startswith(prefix):
            found.append(url)
    return found


def _asset_cache(client: Client, target: Target) -> Result:
    """A content-hashed file index.html loads is cached a year and `immutable`."""
    name, index_url = "frontend.asset-cache", target.frontend + "/"
    try:
        index = client.fetch("GET", index_url)
    except RequestError as exc:
        return Result(name, Status.FAIL, f"index.html: {exc}", index_url)
    assets = hashed_assets(index_url, index.body.decode("utf-8", "replace"), target.assets_prefix)
    if index.status != 200 or not assets:
        why = f"index.html {index.status_line}" if index.status != 200 else "index.html"
        return Result(
            name,
            Status.FAIL,
            f"{why} loads no file under {target.assets_prefix} (script src / link href)",
            index_url,
        )

    def judge(response: Response) -> tuple[bool, str]:
        if response.status != 200:
            return False, f"{urlsplit(response.url).path}: {response.status_line}"
        found = _cache_control(response)
        age = _max_age(found)
        ok = "immutable" in found and age is not None and age >= MIN_MAX_AGE
        value = response.header("Cache-Control") or "(none)"
        expected = "" if ok else f" (expected immutable, max-age >= {MIN_MAX_AGE})"
        return ok, f"{urlsplit(response.url).path}: Cache-Control: {value}{expected}"

    return _asked(client, name, assets[0], judge)
