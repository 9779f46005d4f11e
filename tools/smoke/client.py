"""HTTP and TLS for the smoke checks, on the standard library's http.client and ssl.

Why no third-party client (requests, httpx, urllib3 — none is a dependency today): the checks
need what those hide or make awkward. A redirect must be seen, not followed; the negotiated TLS
version and a deliberately old ClientHello matter; and a connection must go to one address
while SNI, certificate verification and the Host header name another (curl's `--connect-to`,
which lets the tests point real-looking names at 127.0.0.1 without DNS). Opening the socket
ourselves and handing it to http.client gives all of that without adding a dependency to the
deploy job.

Every request gets a per-operation timeout and a bounded number of retries (with a linear
backoff) for what a rolling deploy can cause: refused or reset connections, timeouts and the
gateway errors 502/503/504. A TLS verdict (bad certificate, no common protocol) is never
retried: it does not change in a second. A host whose TCP connection still fails after its
retries is remembered, so the remaining checks against it fail at once instead of each waiting
out the retries again. Responses are memoized per (method, URL, headers): several checks read
the same response (the frontend's index.html carries the headers, its cache policy and the
asset links).
"""

from __future__ import annotations

import http.client
import re
import socket
import ssl
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import Message
from typing import TypeVar
from urllib.parse import urlsplit

USER_AGENT = "webstack-smoke/1"  # AWS WAF's common rule set blocks requests without one
MAX_BODY_BYTES = 5 * 1024 * 1024
RETRY_STATUSES = frozenset({502, 503, 504})
# OpenSSL reasons that mean "no protocol version in common" rather than a broken connection.
PROTOCOL_REFUSALS = frozenset(
    {"TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "WRONG_SSL_VERSION"}
)

Address = tuple[str, int]
_RequestKey = tuple[str, str, tuple[tuple[str, str], ...]]  # method, URL, sorted headers
T = TypeVar("T")


class RequestError(Exception):
    """No usable answer: the connection, the TLS handshake or the HTTP exchange failed."""


class LegacyProbeUnavailableError(Exception):
    """This machine's OpenSSL cannot offer TLS 1.0/1.1, so it cannot ask whether a server would."""


@dataclass(frozen=True)
class Response:
    """One HTTP answer, its body read (up to MAX_BODY_BYTES)."""

    url: str
    status: int
    reason: str
    headers: Message
    body: bytes

    def header(self, name: str) -> str | None:
        """The header's value (case-insensitive name), None when absent."""
        return self.headers.get(name)

    @property
    def status_line(self) -> str:
        return f"{self.status} {self.reason}".strip()


@dataclass(frozen=True)
class Handshake:
    """A completed TLS handshake."""

    version: str
    """`TLSv1.3`, `TLSv1.2`, ..."""
    not_after: datetime | None
    """When the server's certificate expires (None when it was not verified)."""


def parse_connect_to(spec: str) -> tuple[Address, Address]:
    """`HOST:PORT:ADDR:PORT` (curl's --connect-to; ADDR may be `[v6]`) -> the two addresses."""
    match = re.fullmatch(r"([^:\[\]]+):(\d+):(\[[0-9a-fA-F:.]+\]|[^:\[\]]+):(\d+)", spec)
    if not match:
        raise ValueError(f"--connect-to wants HOST:PORT:ADDR:PORT, got {spec!r}")
    host, port, addr, addr_port = match.groups()
    return (host.lower(), int(port)), (addr.strip("[]"), int(addr_port))


def verified_context(ca_bundle: str | None) -> ssl.SSLContext:
    """Certificates checked against the bundle (or the system's store) and the hostname;
    TLS 1.2 at least, so a server that offers only older versions fails the handshake."""
    context = ssl.create_default_context(cafile=ca_bundle)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def legacy_context() -> ssl.SSLContext:
    """Offers only TLS 1.0 and 1.1; checks no certificate (only the protocol is in question).
    Raises LegacyProbeUnavailableError when the local OpenSSL cannot offer them."""
    if not (ssl.HAS_TLSv1 or ssl.HAS_TLSv1_1):
        raise LegacyProbeUnavailableError("this OpenSSL has no TLS 1.0/1.1")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        # Asking for the old versions on purpose: silence the deprecation warning they raise.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            context.minimum_version = ssl.TLSVersion.TLSv1
            context.maximum_version = ssl.TLSVersion.TLSv1_1
        # Security level 0: OpenSSL 3 refuses TLS 1.0/1.1 (SHA-1 signatures) at level 1 and up.
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
    except (ValueError, ssl.SSLError) as exc:
        raise LegacyProbeUnavailableError(f"this OpenSSL cannot offer TLS 1.0/1.1: {exc}") from exc
    return context


def describe(exc: BaseException) -> str:
    """A one-line account of a failure, with OpenSSL's verdict where there is one."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"certificate rejected: {exc.verify_message or exc.reason}"
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or type(exc).__name__
        if reason in PROTOCOL_REFUSALS:
            return f"TLS handshake failed ({reason}): no TLS 1.2 or newer in common"
        return f"TLS handshake failed ({reason})"
    if isinstance(exc, TimeoutError):
        return "timed out"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _host_port(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    scheme = parts.scheme
    if scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url!r}")
    return scheme, parts.hostname, parts.port or (443 if scheme == "https" else 80)


class _ConnectError(Exception):
    """The TCP connection itself failed (wraps the OSError)."""


class Client:
    """Requests and handshakes with timeouts, bounded retries and `--connect-to` addressing."""

    def __init__(
        self,
        *,
        ca_bundle: str | None = None,
        timeout: float = 10.0,
        retries: int = 2,
        retry_delay: float = 1.0,
        connect_to: Mapping[Address, Address] | None = None,
    ) -> None:
        self.timeout = timeout
        self.retries = retries
        self.retry_delay = retry_delay
        self._connect_to = dict(connect_to or {})
        self._verified = verified_context(ca_bundle)
        self._unreachable: dict[Address, RequestError] = {}
        self._answers: dict[_RequestKey, Response | RequestError] = {}

    def fetch(self, method: str, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """The answer to one request (redirects are returned, not followed); memoized.
        Raises RequestError when there is no answer after the retries."""
        key = (method, url, tuple(sorted((headers or {}).items())))
        if key not in self._answers:
            scheme, host, port = _host_port(url)
            try:
                self._answers[key] = self._retrying(
                    (host, port),
                    lambda: self._exchange(scheme, host, port, method, url, headers or {}),
                    again=lambda r: r.status in RETRY_STATUSES,
                )
            except RequestError as exc:
                self._answers[key] = exc
        answer = self._answers[key]
        if isinstance(answer, RequestError):
            raise answer
        return answer

    def handshake(self, url: str) -> Handshake:
        """A verified handshake (TLS >= 1.2, certificate valid for the URL's host)."""
        _, host, port = _host_port(url)

        def attempt() -> Handshake:
            sock = self._connect(host, port)
            try:
                tls = self._verified.wrap_socket(sock, server_hostname=host)
            except BaseException:
                sock.close()
                raise
            with tls:
                cert = tls.getpeercert() or {}
                expiry = cert.get("notAfter")
                return Handshake(
                    version=tls.version() or "?",
                    not_after=(
                        datetime.fromtimestamp(ssl.cert_time_to_seconds(expiry), UTC)
                        if isinstance(expiry, str)
                        else None
                    ),
                )

        return self._retrying((host, port), attempt)

    def legacy_handshake(self, url: str) -> str | None:
        """Offer only TLS 1.0/1.1: the version the server accepted, or None if it refused.
        Raises LegacyProbeUnavailableError, or RequestError when the host cannot be reached."""
        context = legacy_context()
        _, host, port = _host_port(url)
        sock = self._retrying((host, port), lambda: self._connect(host, port))
        try:
            with context.wrap_socket(sock, server_hostname=host) as tls:
                return tls.version()
        except ssl.SSLError as exc:
            if exc.reason == "NO_PROTOCOLS_AVAILABLE":  # refused locally, nothing was sent
                raise LegacyProbeUnavailableError(describe(exc)) from exc
            return None
        except (ConnectionResetError, BrokenPipeError):
            return None  # some servers hang up on a ClientHello they will not serve
        except OSError as exc:
            raise RequestError(describe(exc)) from exc
        finally:
            sock.close()

    # -- internals ---------------------------------------------------------------------------

    def _connect(self, host: str, port: int) -> socket.socket:
        known = self._unreachable.get((host, port))
        if known is not None:
            raise known
        address = self._connect_to.get((host.lower(), port), (host, port))
        try:
            return socket.create_connection(address, timeout=self.timeout)
        except OSError as exc:
            raise _ConnectError(exc) from exc

    def _exchange(
        self,
        scheme: str,
        host: str,
        port: int,
        method: str,
        url: str,
        headers: Mapping[str, str],
    ) -> Response:
        sock = self._connect(host, port)
        connection: http.client.HTTPConnection
        try:
            if scheme == "https":
                # The context is only stored (we wrap the socket ourselves); passing it saves
                # http.client building a default one, which reads the system store each time.
                connection = http.client.HTTPSConnection(
                    host, port, timeout=self.timeout, context=self._verified
                )
                sock = self._verified.wrap_socket(sock, server_hostname=host)
            else:
                connection = http.client.HTTPConnection(host, port, timeout=self.timeout)
        except BaseException:
            sock.close()
            raise
        # Our socket (to the --connect-to address, SNI and certificate checked for `host`);
        # http.client still writes `Host: <host>` from the URL.
        connection.sock = sock
        try:
            parts = urlsplit(url)
            target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
            connection.request(method, target, headers={"User-Agent": USER_AGENT, **headers})
            answer = connection.getresponse()
            body = answer.read(MAX_BODY_BYTES)
            return Response(url, answer.status, answer.reason, answer.msg, body)
        finally:
            connection.close()

    def _retrying(
        self,
        address: Address,
        attempt: Callable[[], T],
        again: Callable[[T], bool] = lambda _: False,
    ) -> T:
        """Run `attempt` up to 1 + retries times; retry on connection trouble or when `again`
        says so (the last result is returned as it is)."""
        error: BaseException | None = None
        connect_failed = False
        for number in range(self.retries + 1):
            if number:
                time.sleep(self.retry_delay * number)
            try:
                result = attempt()
            except RequestError:
                raise  # a host already known to be unreachable
            except _ConnectError as exc:
                error, connect_failed = exc.__cause__ or exc, True
                continue
            except ssl.SSLError as exc:
                raise RequestError(describe(exc)) from exc
            except (OSError, http.client.HTTPException) as exc:
                error, connect_failed = exc, False
                continue
            if number == self.retries or not again(result):
                return result
        assert error is not None
        attempts = self.retries + 1
        failure = RequestError(f"{describe(error)} ({attempts} attempt{'s' * (attempts > 1)})")
        if connect_failed:
            self._unreachable[address] = failure
        raise failure from error
