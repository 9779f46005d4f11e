"""`make bench`: how long the everyday commands take on this machine.

Prints the wall time of `make plan` per stack (goal: under 5 s each), what publishing a
1,000-file frontend build adds to the plan (goal: at most 2 s; the build is generated in a
temporary directory and planned with `--set webstack:frontend=...`), of the whole test suite,
and the migration benchmark's own figure (`python -m migrations.bench`) when the migrations
package has one. Numbers only: timings are never asserted in tests, where a busy machine would
make them flaky.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tools.stackfile import ROOT, stack_names

PLAN_GOAL_SECONDS = 5.0
FRONTEND_FILES = 1000
FRONTEND_GOAL_SECONDS = 2.0
# What a Vite build of a large app holds, by share of its files.
_ASSET_KINDS = (("js", 6), ("js.map", 6), ("css", 2), ("svg", 2), ("woff2", 1), ("png", 1))


def timed(command: Sequence[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


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
    """Print how much a 1,000-file build adds to `make plan`; False if a plan failed."""
    plan = [sys.executable, "-m", "tools.plan", stack]
    with tempfile.TemporaryDirectory(prefix="webstack-bench-dist-") as tmp:
        build = frontend_build(Path(tmp), FRONTEND_FILES)
        with_build = [*plan, "--set", f"webstack:frontend={json.dumps({'distDir': str(build)})}"]
        # The better of two runs each: the machine's other work only ever adds time.
        runs = {
            label: [timed(command) for _ in range(2)]
            for label, command in (("without", plan), ("with", with_build))
        }
    for label, results in runs.items():
        failed = [proc for _, proc in results if proc.returncode]
        if failed:
            print(f"plan {stack} {label} a {FRONTEND_FILES}-file build  {_failed(failed[0])}")
            return False
    without, with_ = (min(s for s, _ in runs[k]) for k in ("without", "with"))
    added = with_ - without
    verdict = (
        "ok" if added <= FRONTEND_GOAL_SECONDS else f"over the {FRONTEND_GOAL_SECONDS:g} s goal"
    )
    print(
        f"frontend, {FRONTEND_FILES} files    {added:+6.1f} s  {verdict} "
        f"(plan {stack}: {without:.1f} s without, {with_:.1f} s with)",
        flush=True,
    )
    return True


def main() -> int:
    ok = True
    for stack in stack_names():
        seconds, proc = timed(["make", "--no-print-directory", "plan", f"STACK={stack}"])
        verdict = "ok" if seconds < PLAN_GOAL_SECONDS else f"over the {PLAN_GOAL_SECONDS:g} s goal"
        if proc.returncode:
            ok, verdict = False, _failed(proc)
        print(f"make plan STACK={stack:<8} {seconds:6.1f} s  {verdict}", flush=True)
    ok = frontend_publish_cost("staging") and ok

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
