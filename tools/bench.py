"""`make bench`: how long the everyday commands take on this machine.

Prints the wall time of `make plan` per stack (goal: under 5 s each), of `make test` from a warm
environment (ruff, mypy and every test on every core; goal: 60 s on two cores; `make lint` runs
first, untimed, so .venv is synced and mypy's cache current), and the migration benchmark's own
figure (`python -m migrations.bench`) when the migrations package has one. Numbers only:
timings are never asserted in tests, where a busy machine would make them flaky.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence

from tools.stackfile import ROOT, stack_names

PLAN_GOAL_SECONDS = 5.0
TEST_GOAL_SECONDS = 60.0
MAKE = ("make", "--no-print-directory")


def timed(command: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def _verdict(seconds: float, goal: float) -> str:
    return "ok" if seconds < goal else f"over the {goal:g} s goal"


def _failed(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return f"FAILED (exit {proc.returncode}): " + " | ".join(tail)


def main() -> int:
    ok = True
    for stack in stack_names():
        seconds, proc = timed([*MAKE, "plan", f"STACK={stack}"])
        verdict = _verdict(seconds, PLAN_GOAL_SECONDS)
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        print(f"make plan STACK={stack:<8} {seconds:6.1f} s  {verdict}", flush=True)

    warm_up = subprocess.run([*MAKE, "lint"], cwd=ROOT, capture_output=True, text=True)
    if warm_up.returncode:
        ok = False
        print(f"make test                 not run: make lint {_failed(warm_up)}", flush=True)
    else:
        seconds, proc = timed([*MAKE, "test"])
        summary = (proc.stdout.strip().splitlines() or [""])[-1].strip("= ")
        verdict = _verdict(seconds, TEST_GOAL_SECONDS)
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        cores = f"warm, {os.cpu_count()} cores"
        print(f"make test ({cores})  {seconds:6.1f} s  {verdict}  [{summary}]", flush=True)

    if (ROOT / "migrations" / "bench.py").is_file():
        seconds, proc = timed([sys.executable, "-m", "migrations.bench"])
        if proc.returncode:
            ok = False
            print(f"migrations benchmark     {seconds:6.1f} s  {_failed(proc)}")
        else:
            print(f"migrations benchmark     {seconds:6.1f} s")
            print("\n".join(f"  {line}" for line in proc.stdout.strip().splitlines()))
    else:
        print("migrations benchmark     not present (no migrations/bench.py in this tree)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
