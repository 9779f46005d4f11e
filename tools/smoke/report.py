"""The smoke checks' verdicts and the three ways to print them: a line per check for a terminal,
a markdown table for a GitHub job summary, and JSON for machines (shape in tools/smoke/__init__.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

REPORT_FORMAT = 1


class Status(Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    """Not applicable here (e.g. this machine's OpenSSL cannot offer TLS 1.1 to probe with)."""

    @property
    def mark(self) -> str:
        return {Status.PASS: "✓", Status.FAIL: "✗", Status.SKIP: "–"}[self]


@dataclass(frozen=True)
class Result:
    """One check's verdict and what was seen."""

    name: str
    """Stable id, `<host role>.<check>` (`api.ready`, `frontend.hsts`, `www.redirect`)."""
    status: Status
    seen: str
    """What the server answered, in a few words (`301 -> https://example.com/x`)."""
    url: str
    """What was asked."""

    @classmethod
    def judged(cls, name: str, url: str, ok: bool, seen: str) -> Result:
        return cls(name, Status.PASS if ok else Status.FAIL, seen, url)


def counts(results: Iterable[Result]) -> dict[str, int]:
    """How many checks passed, failed and were skipped."""
    tally = {status.value: 0 for status in Status}
    for result in results:
        tally[result.status.value] += 1
    return {"passed": tally["pass"], "failed": tally["fail"], "skipped": tally["skip"]}


def text_line(result: Result, width: int = 34) -> str:
    return f"{result.status.mark} {result.name:<{width}} {result.seen}"


def _verdict(results: Sequence[Result]) -> str:
    """`FAILED: 25 passed, 3 failed, 0 skipped` (or `ok: ...`)."""
    tally = counts(results)
    return f"{'FAILED' if tally['failed'] else 'ok'}: " + ", ".join(
        f"{n} {label}" for label, n in tally.items()
    )


def summary_line(results: Sequence[Result]) -> str:
    return f"smoke {_verdict(results)}"


def markdown(results: Sequence[Result], target: Mapping[str, Any]) -> str:
    """A GitHub-flavoured table: mark, check, what was seen (`|` and newlines escaped)."""

    def cell(text: str) -> str:
        return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")

    lines = [
        f"### Smoke checks {_verdict(results)}",
        "",
        f"API `{target['api']}` · frontend `{target['frontend']}` · www `{target['www']}`",
        "",
        "| | Check | Seen |",
        "|---|---|---|",
    ]
    lines += [f"| {r.status.mark} | `{r.name}` | {cell(r.seen)} |" for r in results]
    return "\n".join(lines) + "\n"


def as_json(results: Sequence[Result], target: Mapping[str, Any]) -> str:
    report = {
        "format": REPORT_FORMAT,
        "ok": not any(r.status is Status.FAIL for r in results),
        "summary": counts(results),
        "target": dict(target),
        "checks": [
            {"name": r.name, "status": r.status.value, "seen": r.seen, "url": r.url}
            for r in results
        ],
    }
    return json.dumps(report, indent=1, ensure_ascii=False)
