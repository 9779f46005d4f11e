"""`make bench`: how long the everyday commands take on this machine.

Prints the wall time of `make plan` per stack (goal: under 5 s each); what publishing a
1,000-file frontend build adds to the plan (goal: at most 2 s, wall and CPU; the build is
generated in a temporary directory and planned with `--set webstack:frontend=...`); the time of
`make test` from a warm environment (ruff, mypy and every test on every core; goal: 60 s on two
cores; `make lint` runs first, untimed, so .venv is synced and mypy's cache current) with its CPU
time over the cores (what the suite would take with the machine to itself, at best); and the
migration benchmark's own figure (`python -m migrations.bench`) when the migrations package has
one; and what a preview environment costs per day (goal: $3, from the offline plan of a
`pr-<n>` stack). Numbers only: timings and costs are never asserted in tests, where a busy
machine or a price change would make them flaky or frozen.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.stackfile import ROOT, stack_names

PLAN_GOAL_SECONDS = 5.0
TEST_GOAL_SECONDS = 60.0
FRONTEND_FILES = 1000
FRONTEND_GOAL_SECONDS = 2.0
PREVIEW_STACK = "pr-123"
PREVIEW_GOAL_USD_PER_DAY = 3.0
# What a Vite build of a large app holds, by share of its files.
_ASSET_KINDS = (("js", 6), ("js.map", 6), ("css", 2), ("svg", 2), ("woff2", 1), ("png", 1))
MAKE = ("make", "--no-print-directory")


def timed(command: Sequence[str]) -> tuple[float, float, subprocess.CompletedProcess[str]]:
    """Wall seconds, CPU seconds (the command and all its children) and the outcome."""
    before, started = _children_cpu(), time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, _children_cpu() - before, proc


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _row(label: str, seconds: float, detail: str) -> None:
    print(f"{label:<27} {seconds:6.1f} s  {detail}", flush=True)


def _verdict(seconds: float, goal: float) -> str:
    return "ok" if seconds < goal else f"over the {goal:g} s goal"


def _failed(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return f"FAILED (exit {proc.returncode}): " + " | ".join(tail)


def frontend_build(directory: Path, files: int) -> Path:
    """A throwaway Vite-like build of `files` files: index.html and a few other entry files at
    the top, content-hashed assets under assets/."""
    entries = ["index.html", "favicon.ico", "robots.txt", "manifest.webmanifest"]
    (directory / "assets").mkdir(parents=True)
    for name in entries:
        (directory / name).write_text(f"<!-- {name} -->\n")
    kinds = [ext for ext, share in _ASSET_KINDS for _ in range(share)]
    for n in range(files - len(entries)):
        ext = kinds[n % len(kinds)]
        (directory / "assets" / f"chunk{n}-{n:08x}.{ext}").write_text(f"/* {n} */\n")
    return directory


def frontend_publish_cost(stack: str) -> bool:
    """Print what a 1,000-file build adds to the plan of `stack`, in wall and CPU seconds (the
    better of two runs each: the machine's other work only ever adds time); False if a plan
    failed."""
    plan = [sys.executable, "-m", "tools.plan", stack]
    with tempfile.TemporaryDirectory(prefix="webstack-bench-dist-") as tmp:
        build = frontend_build(Path(tmp), FRONTEND_FILES)
        with_build = [*plan, "--set", f"webstack:frontend={json.dumps({'distDir': str(build)})}"]
        runs = {
            label: [timed(command) for _ in range(2)]
            for label, command in (("without", plan), ("with", with_build))
        }
    for label, results in runs.items():
        failed = [proc for _, _, proc in results if proc.returncode]
        if failed:
            _row(f"plan {stack} {label} the build", 0, _failed(failed[0]))
            return False
    wall = {label: min(w for w, _, _ in results) for label, results in runs.items()}
    cpu = {label: min(c for _, c, _ in results) for label, results in runs.items()}
    added = wall["with"] - wall["without"]
    _row(
        f"{FRONTEND_FILES}-file frontend, plan",
        added,
        f"{_verdict(added, FRONTEND_GOAL_SECONDS)}  (added to {wall['without']:.1f} s)",
    )
    added_cpu = cpu["with"] - cpu["without"]
    _row("  its added CPU time", added_cpu, _verdict(added_cpu, FRONTEND_GOAL_SECONDS))
    return True


def preview_cost() -> bool:
    """Print a preview's cost per day from its offline plan; False if the plan failed."""
    seconds, _, proc = timed([sys.executable, "-m", "tools.plan", PREVIEW_STACK, "--json"])
    if proc.returncode:
        _row(f"preview {PREVIEW_STACK} cost", seconds, _failed(proc))
        return False
    per_day = json.loads(proc.stdout)["cost"]["perDay"]
    verdict = "ok" if per_day <= PREVIEW_GOAL_USD_PER_DAY else "over"
    print(
        f"{'preview ' + PREVIEW_STACK + ' cost':<27} ${per_day:5.2f} a day  "
        f"{verdict} (goal ${PREVIEW_GOAL_USD_PER_DAY:g})",
        flush=True,
    )
    return True


def main() -> int:
    ok = True
    for stack in stack_names():
        seconds, _, proc = timed([*MAKE, "plan", f"STACK={stack}"])
        verdict = _verdict(seconds, PLAN_GOAL_SECONDS)
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        _row(f"make plan STACK={stack}", seconds, verdict)
    ok = frontend_publish_cost("staging") and ok
    ok = preview_cost() and ok

    warm_up = subprocess.run([*MAKE, "lint"], cwd=ROOT, capture_output=True, text=True)
    if warm_up.returncode:
        ok = False
        print(f"make test not run: make lint {_failed(warm_up)}", flush=True)
    else:
        seconds, cpu, proc = timed([*MAKE, "test"])
        summary = (proc.stdout.strip().splitlines() or [""])[-1].strip("= ")
        verdict = _verdict(seconds, TEST_GOAL_SECONDS)
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        cores = os.cpu_count() or 1
        _row(f"make test (warm, {cores} cores)", seconds, f"{verdict}  [{summary}]")
        # On a machine others share, the wall time says little; CPU over the cores is what
        # the suite would take alone, at best.
        _row("  its CPU time / cores", cpu / cores, f"({cpu:.0f} s of CPU)")

    if (ROOT / "migrations" / "bench.py").is_file():
        seconds, _, proc = timed([sys.executable, "-m", "migrations.bench"])
        if proc.returncode:
            ok = False
            _row("migrations benchmark", seconds, _failed(proc))
        else:
            _row("migrations benchmark", seconds, "")
            print("\n".join(f"  {line}" for line in proc.stdout.strip().splitlines()))
    else:
        print("migrations benchmark     not present (no migrations/bench.py in this tree)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
