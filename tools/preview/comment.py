"""The one PR comment of a preview environment, found again by its marker and updated.

`deployed` says where the preview is (the stack's real `apiUrl` and `frontendUrl` outputs),
what it costs a day (the offline estimate of the PR's code: tools/cost.py) with its biggest
lines, and how the smoke checks went; `destroyed` replaces it when the stack is gone.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tools.cost import HOURS_PER_MONTH, Estimate, per_day

MARKER = "<!-- webstack-preview-environment -->"
# How many of the biggest cost lines the comment lists.
BIGGEST_LINES = 5
# GitHub refuses comment bodies above 65,536 characters; the smoke report is cut to fit.
MAX_SMOKE_CHARS = 30_000


def _per_day(monthly: float) -> str:
    return f"${per_day(monthly):,.2f}"


def cost_lines(estimate: Estimate) -> list[str]:
    """The per-day total and the biggest lines, as markdown."""
    priced = [line for line in estimate.lines if line.monthly is not None]
    biggest = sorted(priced, key=lambda line: line.monthly or 0.0, reverse=True)[:BIGGEST_LINES]
    lines = [
        f"**About {_per_day(estimate.total)} a day** while it runs (${estimate.total:,.2f} over "
        f"a {HOURS_PER_MONTH}-hour month; the offline estimate, us-east-1 list prices). "
        "The biggest lines:",
        "",
        "| item | per day |",
        "| --- | ---: |",
        *(
            f"| {line.item} ({line.resource}) | {_per_day(line.monthly or 0.0)} |"
            for line in biggest
        ),
    ]
    if estimate.unpriced:
        lines += ["", f"{len(estimate.unpriced)} line(s) unpriced: see `make plan`."]
    return lines


def deployed(
    stack: str,
    outputs: Mapping[str, Any],
    estimate: Estimate,
    *,
    commit: str,
    smoke: str | None = None,
) -> str:
    """The comment for a preview `pulumi up` just updated."""
    body = [
        MARKER,
        f"### Preview environment `{stack}`",
        "",
        f"Deployed from {commit}.",
        "",
        f"- Frontend: {outputs.get('frontendUrl', '(no frontendUrl output)')}",
        f"- API: {outputs.get('apiUrl', '(no apiUrl output)')}",
        "",
        *cost_lines(estimate),
        "",
        "It is destroyed when the PR is closed or loses the `preview` label, and by the "
        "scheduled clean-up once it has not been deployed for a while (docs/previews.md).",
    ]
    if smoke is not None:
        report = smoke.strip() or "(the smoke checks printed nothing)"
        if len(report) > MAX_SMOKE_CHARS:
            report = report[:MAX_SMOKE_CHARS] + "\n\n(cut: the full report is in the job log)"
        body += ["", "<details><summary>Smoke checks</summary>", "", report, "", "</details>"]
    return "\n".join(body) + "\n"


def destroyed(stack: str, reason: str) -> str:
    """The comment once the preview's stack is destroyed and removed."""
    return (
        "\n".join(
            [
                MARKER,
                f"### Preview environment `{stack}`",
                "",
                f"Destroyed ({reason}): nothing of it is left running or billed. Label the PR "
                "`preview` again for a new one.",
            ]
        )
        + "\n"
    )
