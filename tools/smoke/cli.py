"""The command line of `python -m tools.smoke`: arguments and stack outputs in, a Target and a
Client out, the checks run and printed, the exit status chosen (see tools/smoke/__init__.py)."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from components.frontend import ASSETS_PATH
from tools.smoke import checks, report
from tools.smoke.client import Client, parse_connect_to
from tools.stackfile import ROOT

EXIT_FAILED = 1
EXIT_USAGE = 2


class UsageError(Exception):
    """Bad arguments or unreadable stack outputs: nothing was checked."""


def stack_outputs(stack: str) -> dict[str, Any]:
    """`pulumi stack output --json --stack <stack>`, run in the project directory. The outputs
    the checks need are not secret, so no `--show-secrets`."""
    pulumi = shutil.which("pulumi")
    if pulumi is None:
        raise UsageError(
            "--stack needs the pulumi CLI on PATH (or give --api-url, --frontend-url and "
            "--allowed-origin instead)"
        )
    arguments = ["stack", "output", "--json", "--stack", stack]
    shown = f"`pulumi {' '.join(arguments)}`"
    try:
        done = subprocess.run(
            [pulumi, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise UsageError(f"{shown} did not answer in 120 s") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()[-3:]
        raise UsageError(f"{shown} failed (exit {done.returncode}): " + " / ".join(detail))
    try:
        outputs = json.loads(done.stdout)
    except ValueError as exc:
        raise UsageError(f"{shown} printed no JSON: {exc}") from exc
    if not isinstance(outputs, dict):
        raise UsageError(f"{shown} printed no JSON object")
    return outputs


def https_origin(value: str, what: str) -> str:
    """`https://host[:port]` with no path, query or credentials; the trailing `/` dropped."""
    parts = urlsplit(value.strip())
    try:
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        raise UsageError(f"{what}: bad port in {value!r}") from exc
    if (
        parts.scheme != "https"
        or not parts.hostname
        or parts.username is not None
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
    ):
        raise UsageError(f"{what}: must be an https origin like https://example.com, got {value!r}")
    return f"https://{parts.netloc.lower()}"


def cors_origin(value: str, what: str) -> str:
    """A browser origin (`scheme://host[:port]`); `*` is what the checks make sure never appears."""
    parts = urlsplit(value.strip())
    if value.strip() == "*" or parts.scheme not in ("http", "https") or not parts.hostname:
        raise UsageError(f"{what}: must be an origin like https://example.com, got {value!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise UsageError(f"{what}: an origin has no path, query or user, got {value!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


def resolve_target(args: argparse.Namespace) -> checks.Target:
    """Flags win over the stack's outputs; without --stack every value must come as a flag."""
    outputs = stack_outputs(args.stack) if args.stack else {}

    def output(key: str, flag: str) -> tuple[Any, str]:
        """The output's value and how to name it in an error."""
        if not args.stack:
            raise UsageError(f"{flag} is required without --stack")
        where = f"stack output {key} ({args.stack})"
        if outputs.get(key) is None:
            raise UsageError(f"{where}: missing (give {flag} instead)")
        if outputs[key] == "[secret]":
            raise UsageError(f"{where}: is secret (give {flag} instead)")
        return outputs[key], where

    def origin(flag_value: str | None, key: str, flag: str) -> str:
        if flag_value:
            return https_origin(flag_value, flag)
        value, where = output(key, flag)
        return https_origin(str(value), where)

    api = origin(args.api_url, "apiUrl", "--api-url")
    frontend = origin(args.frontend_url, "frontendUrl", "--frontend-url")
    if args.allowed_origin:
        allowed = [cors_origin(o, "--allowed-origin") for o in args.allowed_origin]
    else:
        listed, where = output("allowedOrigins", "--allowed-origin")
        if not isinstance(listed, list) or not listed:
            raise UsageError(f"{where}: must be a non-empty list of origins, got {listed!r}")
        allowed = [cors_origin(str(o), where) for o in listed]
    return checks.Target(
        api=api,
        frontend=frontend,
        allowed_origins=tuple(dict.fromkeys(allowed)),
        assets_prefix="/" + args.assets_prefix.strip("/") + "/",
        cors_path="/" + args.cors_path.lstrip("/"),
    )


def make_client(args: argparse.Namespace) -> Client:
    if args.ca_bundle is not None and not Path(args.ca_bundle).is_file():
        raise UsageError(f"--ca-bundle: no such file {args.ca_bundle}")
    try:
        connect_to = dict(parse_connect_to(spec) for spec in args.connect_to)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        return Client(
            ca_bundle=args.ca_bundle,
            timeout=args.timeout,
            retries=args.retries,
            retry_delay=args.retry_delay,
            connect_to=connect_to,
        )
    except OSError as exc:  # ssl.SSLError included: a file that is not a PEM bundle
        raise UsageError(f"--ca-bundle {args.ca_bundle}: {exc}") from exc


def _bounded(kind: type, low: float, high: float) -> Any:
    def parse(text: str) -> Any:
        value = kind(text)
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be between {low} and {high}, got {text}")
        return value

    parse.__name__ = kind.__name__  # argparse names the type in its error message
    return parse


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.smoke",
        description="Post-deploy checks of a stack's live edge (see tools/smoke/__init__.py).",
    )
    p.add_argument("--stack", help="read apiUrl, frontendUrl and allowedOrigins from its outputs")
    p.add_argument("--api-url", help="the API's https origin (overrides the stack's apiUrl)")
    p.add_argument("--frontend-url", help="the frontend's https origin at the apex")
    p.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        help="an origin the API must allow (repeatable; replaces the stack's allowedOrigins)",
    )
    p.add_argument("--ca-bundle", help="PEM bundle to trust instead of the system's (private CA)")
    p.add_argument(
        "--connect-to",
        action="append",
        default=[],
        metavar="HOST:PORT:ADDR:PORT",
        help="connect to ADDR:PORT for HOST:PORT, as curl does (SNI, certificate and Host stay "
        "HOST); repeatable",
    )
    p.add_argument(
        "--assets-prefix",
        default=ASSETS_PATH.rstrip("*"),
        help="path of the content-hashed files (default: %(default)s)",
    )
    p.add_argument(
        "--cors-path",
        default=checks.Target.cors_path,
        help="API path the preflights go to; one the app's CORS handling covers "
        "(default: %(default)s)",
    )
    p.add_argument(
        "--timeout", type=_bounded(float, 0.1, 300), default=10.0, help="seconds per operation"
    )
    p.add_argument(
        "--retries",
        type=_bounded(int, 0, 10),
        default=2,
        help="extra attempts on connection errors and 502/503/504 (default: %(default)s)",
    )
    p.add_argument(
        "--retry-delay",
        type=_bounded(float, 0, 60),
        default=1.0,
        help="seconds before the first retry, growing linearly (default: %(default)s)",
    )
    formats = p.add_mutually_exclusive_group()
    formats.add_argument("--json", action="store_true", help="print the JSON report")
    formats.add_argument("--markdown", action="store_true", help="print a markdown table")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        target = resolve_target(args)
        client = make_client(args)
    except UsageError as exc:
        print(f"smoke: {exc}", file=sys.stderr)
        return EXIT_USAGE
    results: list[report.Result] = []
    streaming = not (args.json or args.markdown)
    if streaming:
        print(f"smoke: api {target.api}, frontend {target.frontend}, www {target.www}")
    for result in checks.run(client, target):
        results.append(result)
        if streaming:
            print(report.text_line(result), flush=True)
    if args.json:
        print(report.as_json(results, target.as_dict()))
    elif args.markdown:
        print(report.markdown(results, target.as_dict()), end="")
    else:
        print(report.summary_line(results))
    return EXIT_FAILED if any(r.status is report.Status.FAIL for r in results) else 0
