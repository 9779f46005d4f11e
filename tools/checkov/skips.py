"""The committed exceptions to Checkov's checks (`skips.yaml`), each scoped and justified.

Checkov's own skips cannot be limited to resources in a Terraform plan: `skip-check` in its
config file (or `--skip-check`) drops a check everywhere, or for file paths matching a regex,
and the resource-level form is an inline `#checkov:skip=` comment in `.tf` source, which a plan
has none of. So the project keeps its own small file, applied to Checkov's results here: each
entry names a check id, the Pulumi logical names of the resources it covers (or `"*"`), the
stacks (all by default), the reason, and, where the right answer is to fix the resource rather
than accept it, `pending_fix` saying how. A skip that matches no failure any more is stale.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.stackfile import StackFileError, read_yaml

SKIPS_FILE = Path(__file__).resolve().parent / "skips.yaml"
ALL_RESOURCES = "*"
_CHECK_ID = re.compile(r"^CKV2?_[A-Z0-9]+_\d+$")
_FIELDS = {"check", "resources", "stacks", "reason", "pending_fix"}


class SkipsError(ValueError):
    """The skip file is not the shape described in its module docstring."""


@dataclass(frozen=True)
class Skip:
    """One accepted failure: a check on some resources of some stacks, and why."""

    check: str
    resources: tuple[str, ...]
    """Pulumi logical names, or (`"*"`,) for every resource."""
    stacks: tuple[str, ...]
    reason: str
    pending_fix: str = ""
    """How to fix it instead, where that is the recommendation; empty for a lasting exception."""

    def covers(self, check: str, resource: str, stack: str) -> bool:
        return (
            check == self.check
            and stack in self.stacks
            and (self.resources == (ALL_RESOURCES,) or resource in self.resources)
        )


@dataclass(frozen=True)
class Failure:
    """One failed check on one resource, named as the program names it."""

    check: str
    title: str
    resource: str
    """The Pulumi logical name."""
    pulumi_type: str
    guideline: str = ""


@dataclass(frozen=True)
class Verdict:
    """Checkov's failures on one stack, sorted by the skip file."""

    skipped: list[tuple[Failure, Skip]]
    unskipped: list[Failure]
    stale: list[str]
    """A sentence per skip (check and resource) that matched no failure."""


def _strings(value: Any, where: str, field: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v for v in value):
        raise SkipsError(f"{where}: `{field}` must be a name or a non-empty list of names")
    return tuple(value)


def parse(document: Any, stacks: Sequence[str], source: str = "skips.yaml") -> list[Skip]:
    """The skips of a loaded YAML document; every problem is reported at once."""
    if document is None:
        return []
    if not isinstance(document, list):
        raise SkipsError(f"{source}: must be a list of skips, got {type(document).__name__}")
    problems: list[str] = []
    skips: list[Skip] = []
    seen: dict[tuple[str, str, str], str] = {}
    for n, entry in enumerate(document, 1):
        where = f"{source} entry {n}"
        try:
            if not isinstance(entry, dict):
                raise SkipsError(f"{where}: must be a mapping")
            where = f"{source} entry {n} ({entry.get('check', '?')})"
            unknown = sorted(set(entry) - _FIELDS)
            if unknown:
                raise SkipsError(f"{where}: unknown field(s) {', '.join(unknown)}")
            check = entry.get("check")
            if not isinstance(check, str) or not _CHECK_ID.match(check):
                raise SkipsError(f"{where}: `check` must be a Checkov id like CKV_AWS_158")
            reason = entry.get("reason")
            if not isinstance(reason, str) or not reason.strip():
                raise SkipsError(f"{where}: `reason` is required: say why this is accepted")
            pending_fix = entry.get("pending_fix", "")
            if not isinstance(pending_fix, str):
                raise SkipsError(f"{where}: `pending_fix` must be text")
            resources = _strings(entry.get("resources"), where, "resources")
            if ALL_RESOURCES in resources and len(resources) > 1:
                raise SkipsError(f'{where}: `resources` is either "*" or a list of names')
            on = _strings(entry.get("stacks", list(stacks)), where, "stacks")
            unknown_stacks = sorted(set(on) - set(stacks))
            if unknown_stacks:
                raise SkipsError(f"{where}: no stack named {', '.join(unknown_stacks)}")
            for stack in on:
                for resource in resources:
                    key = (check, resource, stack)
                    if key in seen:
                        raise SkipsError(
                            f"{where}: {check} on {resource} ({stack}) is already skipped by "
                            f"{seen[key]}"
                        )
                    seen[key] = where
            skips.append(Skip(check, resources, on, reason.strip(), pending_fix.strip()))
        except SkipsError as exc:
            problems.append(str(exc))
    if problems:
        raise SkipsError("\n".join(problems))
    return skips


def load(stacks: Sequence[str], path: Path = SKIPS_FILE) -> list[Skip]:
    """The skips of the file; SkipsError naming the file and line when it is not YAML or
    repeats a key (read as the stack files are, so a repeated field cannot silently win)."""
    try:
        document = read_yaml(path)
    except StackFileError as exc:
        raise SkipsError(str(exc)) from None
    return parse(document, stacks, path.name)


def sort(failures: Iterable[Failure], skips: Sequence[Skip], stack: str) -> Verdict:
    """Split one stack's failures into skipped and not, and find the skips that match nothing."""
    skipped: list[tuple[Failure, Skip]] = []
    unskipped: list[Failure] = []
    used: set[tuple[int, str]] = set()
    for failure in failures:
        for i, skip in enumerate(skips):
            if skip.covers(failure.check, failure.resource, stack):
                skipped.append((failure, skip))
                used.add(
                    (i, ALL_RESOURCES if skip.resources == (ALL_RESOURCES,) else failure.resource)
                )
                break
        else:
            unskipped.append(failure)
    stale = [
        f"{skip.check} on {resource} ({stack}) no longer fails: remove it from the skip file"
        for i, skip in enumerate(skips)
        if stack in skip.stacks
        for resource in skip.resources
        if (i, resource) not in used
    ]
    return Verdict(skipped, unskipped, stale)
