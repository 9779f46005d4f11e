"""`python -m tools.checkov [STACK ...]`: run Checkov's Terraform-plan checks on each stack.

For each stack (all by default): evaluate the program under the mock cloud, convert the plan
(`terraform_plan.py`), run Checkov on it in its own environment, and print its failures grouped
by resource (Pulumi logical name and type), each marked skipped, pending a fix, or FAILED.
Exits 0 when every failure is skipped and no skip is stale, 1 when a failure is not skipped or a
skip matches nothing any more, 2 on bad input (stack config, skip file) or when Checkov cannot
run. `--convert-only` prints the Terraform plan JSON of one stack instead.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components.config import ConfigError
from tools.checkov import skips
from tools.checkov.terraform_plan import (
    ConversionError,
    PlanResource,
    convert,
    plan_resources,
    terraform_names,
)
from tools.mockcloud import evaluate
from tools.stackfile import ROOT, StackFileError, stack_names

ENVIRONMENT = ROOT / "tools" / "checkov"
DEFAULT_CHECKOV = ENVIRONMENT / ".venv" / "bin" / "checkov"
INSTALL_HINT = "`make checkov` installs it (uv sync --project tools/checkov --locked)"
EXIT_FAILED = 1
EXIT_ERROR = 2


class CheckovError(RuntimeError):
    """Checkov is missing, failed to run, or answered something that is not its JSON report."""


@dataclass(frozen=True)
class Report:
    """What Checkov said about one converted plan."""

    version: str
    passed: list[tuple[str, str]]
    """(check id, Pulumi logical name) of every passed check."""
    failures: list[skips.Failure]


def checkov_path(given: str | None = None) -> Path:
    """The Checkov executable: `--checkov`, else $CHECKOV, else the project's own environment."""
    return Path(given or os.environ.get("CHECKOV") or DEFAULT_CHECKOV)


def run_checkov(checkov: Path, plan_file: Path, resources: Sequence[PlanResource]) -> Report:
    """Run Checkov's `terraform_plan` framework on `plan_file`; failures named by Pulumi name."""
    if not checkov.is_file():
        raise CheckovError(f"checkov is not installed at {checkov}: {INSTALL_HINT}")
    command = [
        str(checkov),
        "--file",
        str(plan_file),
        "--framework",
        "terraform_plan",
        "--output",
        "json",
        # Offline: no platform, no downloaded checks or guidelines. Failures are this tool's to
        # judge (against the skip file), so Checkov's own exit code only reports errors.
        "--skip-download",
        "--soft-fail",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise CheckovError(f"checkov exited {done.returncode}:\n{done.stderr.strip()}")
    try:
        document = json.loads(done.stdout)
    except json.JSONDecodeError:
        raise CheckovError(f"checkov printed no JSON report:\n{done.stdout[:2000]}") from None
    if not isinstance(document, dict) or "summary" not in document:
        raise CheckovError("checkov's report has no summary: was the plan recognised?")
    if document["summary"].get("parsing_errors"):
        raise CheckovError(f"checkov could not parse {plan_file}: {document['summary']}")
    by_address = {
        f"{tf_type}.{name}": urn for urn, (tf_type, name) in terraform_names(resources).items()
    }
    by_urn = {r.urn: r for r in resources}
    results = document.get("results", {})
    passed = [
        (result["check_id"], by_urn[by_address[result["resource"]]].name)
        for result in results.get("passed_checks", [])
    ]
    failures = []
    for result in results.get("failed_checks", []):
        resource = by_urn[by_address[result["resource"]]]
        failures.append(
            skips.Failure(
                check=result["check_id"],
                title=result["check_name"],
                resource=resource.name,
                pulumi_type=resource.type,
                guideline=result.get("guideline") or "",
            )
        )
    return Report(str(document["summary"].get("checkov_version", "?")), passed, failures)


def render(
    stack: str, report: Report, verdict: skips.Verdict, reasons: bool = False
) -> Iterable[str]:
    """Failures by resource (those with an unskipped one first), then stale skips."""
    failed = len(report.failures)
    pending = sum(1 for _, skip in verdict.skipped if skip.pending_fix)
    # How many checks the stack is excused from, whatever the number of resources each covers.
    skipped_checks = len({failure.check for failure, _ in verdict.skipped})
    yield (
        f"Checkov {report.version} · stack {stack} · {len(report.passed) + failed} checks: "
        f"{len(report.passed)} passed, {failed} failed ({len(verdict.skipped)} skipped under "
        f"{skipped_checks} check ids, {pending} of them pending a fix; "
        f"{len(verdict.unskipped)} not skipped)"
    )
    skip_of = {id(f): s for f, s in verdict.skipped}
    by_resource: dict[tuple[str, str], list[skips.Failure]] = {}
    for failure in report.failures:
        by_resource.setdefault((failure.resource, failure.pulumi_type), []).append(failure)

    def order(item: tuple[tuple[str, str], list[skips.Failure]]) -> tuple[bool, str]:
        return (all(id(f) in skip_of for f in item[1]), item[0][0])

    for (name, pulumi_type), failures in sorted(by_resource.items(), key=order):
        yield f"  {name} ({pulumi_type})"
        for failure in sorted(failures, key=lambda f: (id(f) in skip_of, f.check)):
            skip = skip_of.get(id(failure))
            mark = "FAILED" if skip is None else "pending fix" if skip.pending_fix else "skipped"
            yield f"    {mark:<12} {failure.check:<12} {failure.title}"
            if skip is None and failure.guideline:
                yield f"    {'':<12} {failure.guideline}"
            if skip is not None and reasons:
                yield f"    {'':<12} reason: {skip.reason}"
    for sentence in verdict.stale:
        yield f"  STALE SKIP {sentence}"


def check_stack(
    stack: str, checkov: Path, skip_list: Sequence[skips.Skip], out: Path, reasons: bool = False
) -> bool:
    """Print one stack's verdict; True when it passes (nothing unskipped, nothing stale)."""
    resources = plan_resources(evaluate(stack))
    plan_file = out / f"{stack}.tfplan.json"
    plan_file.write_text(json.dumps(convert(resources), indent=1, sort_keys=True))
    report = run_checkov(checkov, plan_file, resources)
    verdict = skips.sort(report.failures, skip_list, stack)
    for line in render(stack, report, verdict, reasons):
        print(line)
    return not verdict.unskipped and not verdict.stale


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.checkov", description=__doc__)
    known = stack_names()
    parser.add_argument("stacks", nargs="*", metavar="STACK", help=f"{known} (default: all)")
    parser.add_argument(
        "--checkov",
        help=f"Checkov (default: $CHECKOV, else {DEFAULT_CHECKOV.relative_to(ROOT)})",
    )
    parser.add_argument("--reasons", action="store_true", help="print each skip's reason")
    parser.add_argument(
        "--skips", type=Path, default=skips.SKIPS_FILE, help="the skip file (default: %(default)s)"
    )
    parser.add_argument("--plan-dir", type=Path, help="keep the converted plans here")
    parser.add_argument(
        "--convert-only", action="store_true", help="print one stack's Terraform plan JSON"
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.stacks) - set(known))
    if unknown:
        parser.error(f"no stack named {', '.join(unknown)} (stacks: {', '.join(known)})")
    stacks: list[str] = args.stacks or known
    try:
        if args.convert_only:
            if len(stacks) != 1:
                parser.error("--convert-only takes exactly one stack")
            document: Any = convert(plan_resources(evaluate(stacks[0])))
            print(json.dumps(document, indent=1, sort_keys=True))
            return 0
        skip_list = skips.load(known, args.skips)
        with tempfile.TemporaryDirectory(prefix="checkov-") as scratch:
            out = args.plan_dir or Path(scratch)
            out.mkdir(parents=True, exist_ok=True)
            checkov = checkov_path(args.checkov)
            passed = [check_stack(s, checkov, skip_list, out, args.reasons) for s in stacks]
    except (ConfigError, StackFileError, skips.SkipsError, ConversionError, CheckovError) as exc:
        print(exc, file=sys.stderr)
        return EXIT_ERROR
    return 0 if all(passed) else EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
