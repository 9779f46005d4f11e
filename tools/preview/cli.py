"""The command line of `python -m tools.preview`: what .github/workflows/preview-env.yml runs.

    config STACK          print Pulumi.<STACK>.yaml, derived from staging's (tools/preview/derive)
    policy-config STACK   print the policy pack config `pulumi up` takes for STACK
    comment STACK ...     print the PR comment: URLs, per-day cost, smoke checks (or destroyed)
    expired ...           read `pulumi stack ls --json`, print the stale previews as a JSON list

Exit status 0, or 2 with the problem on stderr (bad stack name, config or input).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from components.config import ConfigError, is_preview_stack
from tools import cost
from tools.cost_assumptions import load_cost_assumptions
from tools.policycheck import PolicyConfigError, load_policy_config
from tools.preview import comment
from tools.preview.derive import render_stack_file
from tools.preview.expiry import ExpiryError, expired, timestamp
from tools.stackfile import StackFileError

EXIT_USAGE = 2


class UsageError(Exception):
    """Arguments or an input file the command cannot use."""


def preview_stack(text: str) -> str:
    """argparse's `type=` for a preview stack argument."""
    if not is_preview_stack(text):
        raise argparse.ArgumentTypeError(f"not a preview stack (pr-<number>): {text!r}")
    return text


def _read_outputs(path: Path) -> dict[str, Any]:
    """`pulumi stack output --json` as saved by the workflow."""
    try:
        outputs = json.loads(path.read_text())
    except (OSError, ValueError) as error:
        raise UsageError(f"--outputs {path}: {error}") from error
    if not isinstance(outputs, dict):
        raise UsageError(f"--outputs {path}: not a JSON object of stack outputs")
    return outputs


def _comment(args: argparse.Namespace) -> str:
    if args.destroyed:
        return comment.destroyed(args.stack, args.destroyed)
    if args.outputs is None or not args.commit:
        raise UsageError("comment needs --outputs and --commit (or --destroyed REASON)")
    outputs = _read_outputs(args.outputs)
    smoke = None
    if args.smoke is not None:
        try:
            smoke = args.smoke.read_text()
        except OSError as error:
            raise UsageError(f"--smoke {args.smoke}: {error}") from error
    # Imported here: the other commands run without evaluating the program.
    from tools.mockcloud import evaluate

    estimate = cost.estimate(evaluate(args.stack).resources, load_cost_assumptions(args.stack))
    return comment.deployed(args.stack, outputs, estimate, commit=args.commit, smoke=smoke)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.preview", description=__doc__)
    commands = p.add_subparsers(dest="command", required=True)
    for name, what in (
        ("config", "print the preview's Pulumi.<stack>.yaml"),
        ("policy-config", "print the preview's policy pack config (JSON)"),
    ):
        commands.add_parser(name, help=what).add_argument("stack", type=preview_stack)
    notice = commands.add_parser("comment", help="print the preview's PR comment (markdown)")
    notice.add_argument("stack", type=preview_stack)
    notice.add_argument("--outputs", type=Path, help="`pulumi stack output --json`, saved")
    notice.add_argument("--commit", help="the commit deployed (shown as is)")
    notice.add_argument("--smoke", type=Path, help="`make smoke SMOKE_ARGS=--markdown`, saved")
    notice.add_argument("--destroyed", metavar="REASON", help="the preview is gone, and why")
    stale = commands.add_parser(
        "expired", help="the previews not deployed for --max-age-days (stdin: stack ls --json)"
    )
    stale.add_argument("--max-age-days", type=float, required=True)
    stale.add_argument(
        "--now", type=timestamp, default=None, help="the present, RFC 3339 (default: the clock)"
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "config":
            print(render_stack_file(args.stack), end="")
        elif args.command == "policy-config":
            print(json.dumps(load_policy_config(args.stack), indent=2))
        elif args.command == "comment":
            print(_comment(args), end="")
        else:
            now = args.now or datetime.now(UTC)
            listing = sys.stdin.read()
            print(json.dumps(expired(listing, max_age_days=args.max_age_days, now=now)))
    except (UsageError, StackFileError, ConfigError, PolicyConfigError, ExpiryError) as error:
        print(f"preview: {error}", file=sys.stderr)
        return EXIT_USAGE
    return 0
