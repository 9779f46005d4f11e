"""Run `python -m tools.plan <stack> --json` for several stacks in one interpreter.

tools/plandiff.py starts `python -P tools/planbatch.py <stack>...` with the tree to plan (the
BASE checkout or the working tree) as cwd and PYTHONPATH. Each stack is planned exactly as
`python -m tools.plan <stack> --json` would plan it (the tree's own module, run by runpy with
the same argv), but in one process: the SDK modules, which take most of a plan's time to
import, load once per tree instead of once per stack. It prints one JSON object,
`{stack: {"code": exit status, "stdout": ..., "stderr": ...}}`.

Standard library only, and nothing of the project imported here: the code it runs is the
tree's, which may be an old commit.
"""

from __future__ import annotations

import contextlib
import gc
import io
import json
import runpy
import sys
import traceback
from typing import Any


def _exit_status(code: Any) -> int:
    """What the interpreter would exit with for `sys.exit(code)` (a message is printed)."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    print(code, file=sys.stderr)
    return 1


def plan(stack: str) -> dict[str, Any]:
    out, err = io.StringIO(), io.StringIO()
    sys.argv = ["tools.plan", stack, "--json"]
    status = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            runpy.run_module("tools.plan", run_name="__main__", alter_sys=True)
        except SystemExit as exit_:
            status = _exit_status(exit_.code)
        except BaseException:  # a crash is reported like the interpreter would report it
            traceback.print_exc()
            status = 1
    return {"code": status, "stdout": out.getvalue(), "stderr": err.getvalue()}


def main(stacks: list[str]) -> int:
    # No cyclic garbage collection in this short-lived process: loading the SDK modules (some
    # 650,000 objects) triggers full collections that walk them again and again, about a
    # quarter of a plan's CPU time, while a plan leaves too little cyclic garbage to matter
    # (measured: the same peak memory with and without).
    gc.disable()
    results = {stack: plan(stack) for stack in stacks}
    json.dump(results, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
