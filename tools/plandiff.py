"""`make plan-diff BASE=<git ref>`: what a change does to every stack, as a PR comment.

Checks BASE out into a temporary `git worktree add --detach`, runs `python -m tools.plan <stack>
--json` for every stack there and in the working tree (same interpreter, so the same SDK
versions; one process per tree, tools/planbatch.py), and prints markdown: resources added,
removed, moved (URN changed: replaced unless aliased) and changed with the changed properties
(a secret shows as changed, never its value), outputs added, removed and changed (secret ones
masked), new policy violations when the plans carry verdicts, and the monthly cost delta per
stack.

It needs no cloud credentials, which makes it the review of PRs from forks.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.plan import EXIT_MANDATORY_VIOLATION, MASK
from tools.stackfile import ROOT, stack_names

MARKER = "<!-- webstack-plan-diff -->"
EMPTY_PLAN: dict[str, Any] = {"resources": [], "outputs": {}, "cost": {"total": 0.0}}
MAX_CELL = 80


class PlanDiffError(RuntimeError):
    """BASE cannot be checked out."""


@dataclass
class PlanResult:
    """A stack's plan at one side of the diff, or why there is none."""

    plan: dict[str, Any] | None
    problem: str = ""


@dataclass
class StackDiff:
    stack: str
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    moved: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    changed: list[tuple[dict[str, Any], list[tuple[str, str, str]]]] = field(default_factory=list)
    outputs: list[tuple[str, str, str]] = field(default_factory=list)
    """(output key, before, after) for every stack output that was added, removed or changed."""
    new_violations: list[dict[str, Any]] | None = None
    """None when the head plan carries no policy verdicts."""
    cost_before: float = 0.0
    cost_after: float = 0.0
    component_costs: list[tuple[str, float, float]] = field(default_factory=list)
    new_unpriced: list[str] = field(default_factory=list)

    @property
    def changed_output_count(self) -> int:
        return len({_output_name(key) for key, _, _ in self.outputs})

    @property
    def empty(self) -> bool:
        return not (
            self.added
            or self.removed
            or self.moved
            or self.changed
            or self.outputs
            or self.new_violations
            or round(self.cost_after - self.cost_before, 2)
        )


# -- running plans --------------------------------------------------------------------------


def _git(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


@contextmanager
def checkout(ref: str, repo: Path = ROOT) -> Iterator[tuple[Path, str]]:
    """A detached worktree of `ref` in a temp dir, and its short commit id; removed after."""
    commit = _git("rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", cwd=repo)
    if commit.returncode != 0:
        raise PlanDiffError(f"BASE {ref!r} is not a commit in {repo}")
    tmp = Path(tempfile.mkdtemp(prefix="webstack-plan-diff-"))
    path = tmp / "base"
    added = _git(
        "worktree", "add", "--detach", "--quiet", str(path), commit.stdout.strip(), cwd=repo
    )
    if added.returncode != 0:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PlanDiffError(f"cannot check out {ref}: {added.stderr.strip()}")
    try:
        yield path, commit.stdout.strip()[:12]
    finally:
        _git("worktree", "remove", "--force", str(path), cwd=repo)
        shutil.rmtree(tmp, ignore_errors=True)


def run_plans(tree: Path, stacks: list[str], label: str) -> dict[str, PlanResult]:
    """Each stack's `python -m tools.plan <stack> --json` in `tree`, all in one interpreter
    (tools/planbatch.py); an absent stack file is an empty plan."""
    results = {
        s: PlanResult(EMPTY_PLAN) for s in stacks if not (tree / f"Pulumi.{s}.yaml").is_file()
    }
    planned = [s for s in stacks if s not in results]
    if not planned:
        return results
    proc = subprocess.run(
        [sys.executable, "-P", str(Path(__file__).with_name("planbatch.py")), *planned],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree), "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        runs = json.loads(proc.stdout)
    except ValueError:
        tail = "\n".join(proc.stderr.strip().splitlines()[-8:])
        return {
            **results,
            **{s: PlanResult(None, f"{label}: planning failed:\n{tail}") for s in planned},
        }
    return {**results, **{s: _plan_result(runs[s], s, label) for s in planned}}


def _plan_result(run: Mapping[str, Any], stack: str, label: str) -> PlanResult:
    """The outcome of one `tools.plan --json` run (exit status, stdout, stderr)."""
    # A plan with a mandatory policy violation exits non-zero but is still a whole plan: the
    # violation is exactly what the diff must show. A crash prints no JSON on stdout.
    if run["code"] in (0, EXIT_MANDATORY_VIOLATION) and run["stdout"].strip():
        try:
            return PlanResult(json.loads(run["stdout"]))
        except ValueError:
            return PlanResult(None, f"{label}: `tools.plan --json` printed no JSON")
    if re.search(r"unrecognized arguments:.*--json", run["stderr"]):
        return PlanResult(None, f"{label} predates `tools.plan --json`: no diff of {stack}")
    tail = [line for line in run["stderr"].strip().splitlines() if line.strip()][-8:]
    return PlanResult(None, f"{label}: the plan of {stack} failed:\n" + "\n".join(tail))


# -- comparing plans --------------------------------------------------------------------------


def _is_secret(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(MASK)


def _flatten(value: Any, path: str, out: dict[str, Any]) -> dict[str, Any]:
    if isinstance(value, dict) and value:
        for k, v in value.items():
            _flatten(v, f"{path}.{k}" if path else k, out)
    elif isinstance(value, list) and value:
        for i, v in enumerate(value):
            _flatten(v, f"{path}[{i}]", out)
    else:
        out[path] = value
    return out


def _show(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = json.dumps(value) if not isinstance(value, str) else value
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def _differences(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, str, str]]:
    """(key, before, after) for every key whose value differs, `—` where it is absent; a secret
    on either side shows only that it exists and changed, never its value."""
    rows = []
    for key in sorted(old.keys() | new.keys()):
        a, b = old.get(key), new.get(key)
        if a == b:
            continue
        if _is_secret(a) or _is_secret(b):
            before = _show(None) if a is None else MASK
            after = _show(None) if b is None else MASK + (" (changed)" if a is not None else "")
            rows.append((key, before, after))
        else:
            rows.append((key, _show(a), _show(b)))
    return rows


def changed_properties(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(property, before, after) for every input and option that differs; secrets masked."""
    old = _flatten(dict(before["inputs"]), "", {})
    new = _flatten(dict(after["inputs"]), "", {})
    old["(protect)"], new["(protect)"] = before.get("protect"), after.get("protect")
    return _differences(old, new)


def changed_outputs(
    before: Mapping[str, Any], after: Mapping[str, Any]
) -> list[tuple[str, str, str]]:
    """(output, before, after) for every stack output added, removed or changed, down to the
    element that differs (`privateSubnetIds[2]`); secret outputs masked."""
    return _differences(_flatten(dict(before), "", {}), _flatten(dict(after), "", {}))


def _output_name(key: str) -> str:
    """The stack output a flattened key belongs to (`privateSubnetIds[2]` -> privateSubnetIds)."""
    return re.split(r"[.\[]", key, maxsplit=1)[0]


def _verdict_key(v: Mapping[str, Any]) -> tuple[str, str, str]:
    return (str(v.get("policy")), str(v.get("urn")), str(v.get("message")))


def diff_plans(stack: str, base: Mapping[str, Any], head: Mapping[str, Any]) -> StackDiff:
    """Compare two `tools.plan --json` documents of one stack."""
    d = StackDiff(stack)
    old = {r["urn"]: r for r in base["resources"] if r.get("custom", True)}
    new = {r["urn"]: r for r in head["resources"] if r.get("custom", True)}
    added = [new[u] for u in new.keys() - old.keys()]
    gone = {u: r for u, r in old.items() if u not in new}
    same_name = {(r["type"], r["name"]): u for u, r in gone.items()}
    for r in sorted(added, key=lambda r: (r["type"], r["name"])):
        # What it was: the URN an alias names (a rename), else the same type and name elsewhere.
        aliased = [a for a in r.get("aliases", []) if a in gone]
        was = aliased[0] if aliased else same_name.get((r["type"], r["name"]))
        if was in gone:
            d.moved.append((gone.pop(was), r))
        else:
            d.added.append(r)
    d.removed = sorted(gone.values(), key=lambda r: (r["type"], r["name"]))
    for urn in sorted(old.keys() & new.keys()):
        rows = changed_properties(old[urn], new[urn])
        if rows:
            d.changed.append((new[urn], rows))
    d.outputs = changed_outputs(base.get("outputs", {}), head.get("outputs", {}))
    if "policy" in head:
        seen = {_verdict_key(v) for v in base.get("policy", [])}
        d.new_violations = [v for v in head["policy"] if _verdict_key(v) not in seen]
    d.cost_before = float(base["cost"]["total"])
    d.cost_after = float(head["cost"]["total"])
    before = base["cost"].get("byComponent", {})
    after = head["cost"].get("byComponent", {})
    for component in sorted(before.keys() | after.keys()):
        a, b = float(before.get(component, 0)), float(after.get(component, 0))
        if round(b - a, 2):
            d.component_costs.append((component, a, b))
    old_unpriced = {(x["resource"], x["item"]) for x in _unpriced(base)}
    d.new_unpriced = [
        f"{x['item']} ({x['resource']}): {x['note']}"
        for x in _unpriced(head)
        if (x["resource"], x["item"]) not in old_unpriced
    ]
    return d


def _unpriced(plan: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [x for x in plan["cost"].get("lines", []) if x.get("unitPrice") is None]


# -- markdown ---------------------------------------------------------------------------------


def _money(usd: float) -> str:
    return f"${usd:,.2f}"


def _delta(usd: float) -> str:
    return ("+" if usd >= 0 else "−") + _money(abs(usd))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _res(r: Mapping[str, Any]) -> str:
    return f"`{r['type']}` **{r['name']}**"


def changed_components(d: StackDiff) -> list[str]:
    """The top-level components (their type tokens) holding a resource the diff lists: the
    clusters of docs/architecture.md's component picture a reviewer should look at."""
    resources = [*d.added, *d.removed, *(new for _, new in d.moved), *(r for r, _ in d.changed)]
    resources += [old for old, _ in d.moved]
    found = set()
    for r in resources:
        chain = r["urn"].split("::")[2].split("$")  # the types of the parents, then its own
        found.add(chain[0] if len(chain) > 1 else "(the stack itself)")
    return sorted(found)


def render_stack(d: StackDiff) -> list[str]:
    out = [f"### {d.stack}", ""]
    if d.empty:
        return [*out, "No changes.", ""]
    components = changed_components(d)
    if components:
        out += [
            "Components changed: "
            + ", ".join(f"`{c}`" for c in components)
            + " (see their clusters in docs/architecture.md)",
            "",
        ]
    for title, items in (("Added", d.added), ("Removed", d.removed)):
        if items:
            out += [f"**{title}** ({len(items)})", *[f"- {_res(r)}" for r in items], ""]
    if d.moved:
        out += [f"**Moved: URN changed** ({len(d.moved)})"]
        for old, new in d.moved:
            aliased = any(old["urn"] in a for a in new.get("aliases", []))
            verdict = "aliased, kept" if aliased else "⚠ replaced: add an alias to keep it"
            out.append(f"- {_res(new)}: {verdict}")
        out.append("")
    if d.changed:
        out += [f"**Changed** ({len(d.changed)})", ""]
        for r, rows in d.changed:
            out += [
                f"<details><summary>{_res(r)}: {len(rows)} propert"
                f"{'y' if len(rows) == 1 else 'ies'}</summary>",
                "",
                "| property | before | after |",
                "| --- | --- | --- |",
                *[f"| `{_cell(k)}` | {_cell(a)} | {_cell(b)} |" for k, a, b in rows],
                "",
                "</details>",
                "",
            ]
    if d.outputs:
        out += [
            f"**Outputs** ({d.changed_output_count} added, removed or changed)",
            "",
            "| output | before | after |",
            "| --- | --- | --- |",
            *[f"| `{_cell(k)}` | {_cell(a)} | {_cell(b)} |" for k, a, b in d.outputs],
            "",
        ]
    if d.new_violations:
        out += [f"**New policy violations** ({len(d.new_violations)})"]
        for v in d.new_violations:
            where = str(v.get("urn") or "stack").rsplit("::", 1)[-1]
            out.append(
                f"- [{v.get('enforcement')}] `{v.get('policy')}` ({where}): {v.get('message')}"
            )
        out.append("")
    if d.component_costs:
        out += ["| component | before | after | delta |", "| --- | ---: | ---: | ---: |"]
        out += [
            f"| {c} | {_money(a)} | {_money(b)} | {_delta(b - a)} |"
            for c, a, b in d.component_costs
        ]
        out.append("")
    if d.new_unpriced:
        out += ["**Newly unpriced** (not in the estimate)", *[f"- {u}" for u in d.new_unpriced], ""]
    return out


def render(base_label: str, diffs: list[StackDiff], problems: list[str]) -> str:
    out = [MARKER, f"## Offline plan: {base_label} → this change", ""]
    if diffs:
        out += [
            "| stack | added | removed | moved | changed | outputs | new violations "
            "| monthly cost | delta |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        for d in diffs:
            violations = "—" if d.new_violations is None else str(len(d.new_violations))
            out.append(
                f"| {d.stack} | {len(d.added)} | {len(d.removed)} | {len(d.moved)} "
                f"| {len(d.changed)} | {d.changed_output_count} | {violations} "
                f"| {_money(d.cost_before)} → "
                f"{_money(d.cost_after)} | {_delta(d.cost_after - d.cost_before)} |"
            )
        out.append("")
    for problem in problems:
        out += ["> [!WARNING]", *[f"> {line}" for line in problem.splitlines()], ""]
    for d in diffs:
        out += render_stack(d)
    if diffs and all(d.new_violations is None for d in diffs):
        out.append("_Policy verdicts: not part of these plans._")
    out.append(
        "_The real program under the mock cloud (tools/mockcloud.py); cost from tools/cost.py "
        "list prices and `webstack:costAssumptions`._"
    )
    return "\n".join(out) + "\n"


def plan_diff(base: str, head: Path = ROOT) -> tuple[str, bool]:
    """The markdown diff of every stack between `base` and the tree `head`; and whether every
    head plan succeeded."""
    with checkout(base, head) as (base_tree, commit):
        stacks = sorted(set(stack_names(head)) | set(stack_names(base_tree)))
        print(f"planning {', '.join(stacks)} at {base} ({commit}) and here ...", file=sys.stderr)
        # One interpreter per tree, both trees at once: the SDK imports, most of a plan's
        # time, are paid once per tree.
        with ThreadPoolExecutor(max_workers=1) as pool:
            base_run = pool.submit(run_plans, base_tree, stacks, f"BASE {base}")
            new_plans = run_plans(head, stacks, "the working tree")
            old_plans = base_run.result()
    diffs, problems, head_ok = [], [], True
    for stack in stacks:
        old, new = old_plans[stack], new_plans[stack]
        problems += [r.problem for r in (old, new) if r.problem]
        head_ok &= new.plan is not None
        if old.plan is not None and new.plan is not None:
            diffs.append(diff_plans(stack, old.plan, new.plan))
    return render(f"`{base}` ({commit})", diffs, problems), head_ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make plan-diff", description=__doc__)
    parser.add_argument("base", help="the git ref to compare with (e.g. origin/main)")
    args = parser.parse_args(argv)
    try:
        markdown, ok = plan_diff(args.base)
    except PlanDiffError as exc:
        print(exc, file=sys.stderr)
        return 2
    print(markdown, end="")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
