"""`make bench`: how long the everyday commands take on this machine.

Prints the wall time of `make plan` per stack (goal: under 5 s each), of `make test` from a warm
environment (ruff, mypy and every test on every core; goal: 60 s on two cores; `make lint` runs
first, untimed, so .venv is synced and mypy's cache current) with its CPU time over the cores
(what the suite would take with the machine to itself, at best), and the migration benchmark's own
figure (`python -m migrations.bench`) when the migrations package has one. Numbers only:
timings are never asserted in tests, where a busy machine would make them flaky.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence

from tools.stackfile import ROOT, stack_names

PLAN_GOAL_SECONDS = 5.0
TEST_GOAL_SECONDS = 60.0
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


def main() -> int:
    ok = True
    for stack in stack_names():
        seconds, _, proc = timed([*MAKE, "plan", f"STACK={stack}"])
        verdict = _verdict(seconds, PLAN_GOAL_SECONDS)
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        _row(f"make plan STACK={stack}", seconds, verdict)

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
