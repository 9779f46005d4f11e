"""`make bench`: how long the everyday commands take on this machine.

Prints the wall time of `make plan` per stack (goal: under 5 s each), of the whole test suite,
and the migration benchmark's own figure (`python -m migrations.bench`) when the migrations
package has one. Numbers only: timings are
never asserted in tests, where a busy machine would make them flaky.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence

from tools.stackfile import ROOT, stack_names

PLAN_GOAL_SECONDS = 5.0


def timed(command: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def _failed(proc: subprocess.CompletedProcess[str]) -> str:
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-3:]
    return f"FAILED (exit {proc.returncode}): " + " | ".join(tail)


def main() -> int:
    ok = True
    for stack in stack_names():
        seconds, proc = timed(["make", "--no-print-directory", "plan", f"STACK={stack}"])
        verdict = "ok" if seconds < PLAN_GOAL_SECONDS else f"over the {PLAN_GOAL_SECONDS:g} s goal"
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        print(f"make plan STACK={stack:<8} {seconds:6.1f} s  {verdict}", flush=True)

    seconds, proc = timed([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"])
    summary = (proc.stdout.strip().splitlines() or [""])[-1]
    if proc.returncode:
        ok, summary = False, _failed(proc)
    print(f"test suite               {seconds:6.1f} s  {summary}", flush=True)

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
