"""docs/configuration.md, generated from the code: every key the readers read, as they read it.

How the key ↔ field ↔ default ↔ bounds mapping is found (no hand-kept table):

- **Keys, types, defaults, bounds**: the readers run (`parse_stack_config`, and the cost
  assumptions' reader) on each committed stack file while `reader.READ_OBSERVER` watches every
  getter call. A getter states the full key (`Section.path`), its type, the default it passes
  and its own bounds (`min`, `max`, `above`, `choices`, `one_of`), so constants, helpers
  (`get_log_retention`, `percent`) and nested sections resolve exactly as the program resolves
  them. A default that differs between the stacks' runs is shown per environment.
- **Descriptions**: the field docstrings of the dataclass the reading function returns (its
  return annotation), matched by name (`azCount` ↔ `az_count`; nested dataclasses without a
  section of their own, like `AlarmThresholds`, included), or the field whose docstring opens
  with the key in backticks when the names differ (`webstack:externalSecrets`).
- **Rules across keys and environments**: the messages the readers' functions record with
  `section.error("<key>", ...)`, read from their source with `ast` (f-string parts that are
  module constants are filled in, the rest and the trailing `got …` dropped), so "must be >= 30
  in prod" is documented in the words the user would see.

Considered and not done: an `ast` walk of the getter calls alone cannot tell which section a
function reads (`read_api(top.section("api"))`) nor evaluate `percent(...)`-style helpers; and
rewriting the readers as field metadata would move ~50 hand-written checks for no gain in truth.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import inspect
import itertools
import re
import sys
import textwrap
import types
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.aws_facts import AWS_REGIONS
from components.config.reader import (
    PROJECT,
    READ_OBSERVER,
    REQUIRED,
    ConfigError,
    KeyRead,
    SameAs,
    Section,
    namespace_values,
)
from components.config.stack_config import ENVIRONMENTS, parse_stack_config
from tools import cost_assumptions
from tools.stackfile import ROOT, StackFileError, load_stack_config, read_stack_file, stack_names

OUTPUT = ROOT / "docs" / "configuration.md"
BAD_INPUT = 2  # the exit code of a stack file the readers refuse, as for `make plan`
_READER_FILE = inspect.getsourcefile(Section)


@dataclass
class Key:
    """One configuration key, gathered from every stack's run."""

    key: str
    kind: str
    section: str
    """The full key of its section (`webstack:api`), or `webstack` for top-level keys."""
    defaults: dict[str, Any] = field(default_factory=dict)
    """Stack -> the default its run passed."""
    bounds: dict[str, Any] = field(default_factory=dict)
    functions: list[Callable[..., Any]] = field(default_factory=list)
    """The reader functions that hold the key's section, innermost first."""
    doc: str = ""
    rules: list[str] = field(default_factory=list)


# -- watching the readers -----------------------------------------------------------------------


def _function_of(frame: types.FrameType) -> Callable[..., Any] | None:
    """The module-level function a frame runs (for a nested function, the one around it)."""
    outer = frame.f_code.co_qualname.split(".")[0]
    found = frame.f_globals.get(outer)
    return found if inspect.isfunction(found) else None


def _readers(section: Section) -> list[Callable[..., Any]]:
    """Functions on the stack (outside the reader module) whose frame holds `section`."""
    found: list[Callable[..., Any]] = []
    frame = sys._getframe(2)  # the getter's caller and up
    while frame is not None:
        holds = any(value is section for value in frame.f_locals.values())
        function = _function_of(frame)
        outside = frame.f_code.co_filename != _READER_FILE
        if holds and outside and function is not None and function not in found:
            found.append(function)
        frame = frame.f_back  # type: ignore[assignment]
    return found


def _read_stack(stack: str, keys: dict[str, Key]) -> None:
    """Run every reader on `stack`'s committed file, recording what each getter states."""

    def observe(read: KeyRead) -> None:
        entry = keys.setdefault(read.key, Key(read.key, read.kind, read.section.key))
        entry.defaults[stack] = read.default
        entry.bounds = dict(read.bounds)
        for function in _readers(read.section):
            if function not in entry.functions:
                entry.functions.append(function)

    token = READ_OBSERVER.set(observe)
    try:
        config, secret_keys = load_stack_config(stack)
        raw = namespace_values(config)
        parse_stack_config(
            stack,
            raw,
            config.get("aws:region"),
            # Zones are named, never used: any list long enough for the largest azCount.
            lambda region: [f"{region}{letter}" for letter in "abcdef"],
            secret_keys={k.removeprefix(f"{PROJECT}:") for k in secret_keys},
        )
        cost_assumptions.parse_cost_assumptions(stack, raw)
    except (StackFileError, ConfigError) as error:
        # The error names the file and line (or the key and stack); a traceback would bury it.
        print(f"the committed stack file does not validate:\n{error}", file=sys.stderr)
        raise SystemExit(BAD_INPUT) from None
    finally:
        READ_OBSERVER.reset(token)


# -- field docs --------------------------------------------------------------------------------


@functools.cache
def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each field of a dataclass (attribute docstrings live only in the
    source, so they are read with `ast`)."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    body = tree.body[0].body  # type: ignore[attr-defined]
    docs = {}
    for node, following in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            docs[node.target.id] = " ".join(following.value.value.split())
    return docs


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def _dataclasses_of(function: Callable[..., Any]) -> list[type]:
    """The dataclass a reader returns, then the dataclasses among its fields' types."""
    returned = typing.get_type_hints(function).get("return")
    if not (isinstance(returned, type) and dataclasses.is_dataclass(returned)):
        return []
    found = [returned]
    for cls in found:
        for hint in typing.get_type_hints(cls).values():
            if isinstance(hint, type) and dataclasses.is_dataclass(hint) and hint not in found:
                found.append(hint)
    return found


def _all_config_dataclasses(keys: Mapping[str, Key]) -> list[type]:
    return list(
        dict.fromkeys(c for k in keys.values() for f in k.functions for c in _dataclasses_of(f))
    )


def _doc_for(entry: Key, everything: Sequence[type]) -> str:
    name = entry.key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
    for function in entry.functions:
        for cls in _dataclasses_of(function):
            for field_name, doc in field_docs(cls).items():
                if _normal(field_name) == _normal(name):
                    return doc
    marker = f"`{entry.key}`"
    for cls in everything:
        for doc in field_docs(cls).values():
            if doc.startswith(marker):
                return doc[len(marker) :].lstrip(" :—-")
    return ""


# -- rules the readers state -------------------------------------------------------------------


def _constant(expr: ast.expr, module: types.ModuleType) -> str | None:
    """An f-string part whose value is known without running the reader, else None."""
    names = {n.id for n in ast.walk(expr) if isinstance(n, ast.Name)}
    allowed = {"str": str, "map": map, "len": len, "sorted": sorted, "tuple": tuple}
    if not names <= set(vars(module)) | set(allowed):
        return None  # it reads a local: the value is the user's, not the rule's
    # Our own source, made only of module constants and the few builtins above.
    value = eval(ast.unparse(expr), {"__builtins__": allowed, **vars(module)})
    return str(value)


def _text(node: ast.expr, module: types.ModuleType) -> str:
    if isinstance(node, ast.Constant):
        return str(node.value)
    if isinstance(node, ast.JoinedStr):
        parts = []
        for part in node.values:
            if isinstance(part, ast.FormattedValue):
                parts.append(_constant(part.value, module) or "…")
            else:
                parts.append(_text(part, module))
        return "".join(parts)
    return "…"


def rule_text(message: str) -> str:
    """A problem message as a rule: what was given (`got …`, `(…)`) removed."""
    text = re.sub(r"\s*\(…\)", "", message)
    text = re.sub(r"[,;:]?\s*got \S*…\S*$", "", text)
    return text.strip().rstrip(",;:")


def _loop_values(loop: ast.For, module: types.ModuleType) -> dict[str, list[str]]:
    """`for key in ("a", "b")`, `for key in A_TUPLE`, `for key, value in (("a", x), ...)`:
    the strings each loop name takes."""
    if isinstance(loop.iter, (ast.Tuple, ast.List)):
        items: list[Any] = loop.iter.elts
    elif isinstance(loop.iter, ast.Name) and isinstance(vars(module).get(loop.iter.id), tuple):
        items = [ast.Constant(v) for v in vars(module)[loop.iter.id]]
    else:
        return {}
    targets = loop.target.elts if isinstance(loop.target, ast.Tuple) else [loop.target]
    values: dict[str, list[str]] = {}
    for index, target in enumerate(targets):
        for item in items:
            element = item.elts[index] if isinstance(item, ast.Tuple) else item
            if isinstance(target, ast.Name) and isinstance(element, ast.Constant):
                values.setdefault(target.id, []).append(str(element.value))
    return values


def _key_names(
    node: ast.expr, loops: Mapping[str, list[str]], module: types.ModuleType
) -> list[str]:
    """The key name(s) an `error(...)` call's first argument stands for (`environment.X`
    counts for `environment`: a problem with one entry of a map)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value.split(".")[0]]
    if isinstance(node, ast.JoinedStr) and node.values:
        head = node.values[0]
        if isinstance(head, ast.Constant) and "." in str(head.value):
            return [str(head.value).split(".")[0]]
    if isinstance(node, ast.Name):
        return list(loops.get(node.id, []))
    return []


def _error_calls(
    node: ast.AST, loops: Mapping[str, list[str]], module: types.ModuleType
) -> Iterator[tuple[list[str], ast.expr]]:
    """(key names, message) of every `<x>.error(name, message)` call under `node`, each loop
    name bound to the values of the loop around the call."""
    if isinstance(node, ast.For):
        loops = {**loops, **_loop_values(node, module)}
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "error"
        and len(node.args) == 2
    ):
        yield _key_names(node.args[0], loops, module), node.args[1]
    for child in ast.iter_child_nodes(node):
        yield from _error_calls(child, loops, module)


@functools.cache
def stated_rules(function: Callable[..., Any]) -> dict[str, list[str]]:
    """Key name -> the problems `function` records for it with `<section>.error(...)`.

    A message that starts with, or is only, what the user gave (`{problem}`) states no rule.
    """
    module = sys.modules[function.__module__]
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    rules: dict[str, list[str]] = {}
    for names, message_node in _error_calls(tree, {}, module):
        message = rule_text(_text(message_node, module))
        if not message or message.startswith("…"):
            continue
        for name in names:
            if message not in rules.setdefault(name, []):
                rules[name].append(message)
    return rules


# -- gathering and rendering -------------------------------------------------------------------


def ordered_stacks() -> list[str]:
    """The committed stacks, environments in release order (staging before prod) first."""
    return sorted(
        stack_names(), key=lambda s: (ENVIRONMENTS.index(s) if s in ENVIRONMENTS else 9, s)
    )


def gather(stacks: Sequence[str] | None = None) -> dict[str, Key]:
    """Every key the readers read for the committed stacks, documented."""
    keys: dict[str, Key] = {}
    for stack in stacks or ordered_stacks():
        _read_stack(stack, keys)
    everything = _all_config_dataclasses(keys)
    for entry in keys.values():
        entry.doc = _doc_for(entry, everything)
        name = entry.key.rsplit(".", 1)[-1].rsplit(":", 1)[-1]
        for function in entry.functions:
            for rule in stated_rules(function).get(name, []):
                if rule not in entry.rules:
                    entry.rules.append(rule)
    return keys


def undocumented(keys: Mapping[str, Key]) -> list[str]:
    """Keys without a field docstring: the reference would have an empty description."""
    return [k for k, entry in keys.items() if not entry.doc]


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "`true`" if value else "`false`"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(_show(v) for v in value) if value else "empty"
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            return "[secret]"
        return ", ".join(f"`{k}`: {_show(v)}" for k, v in value.items()) if value else "empty"
    if value == "":
        return "unset"
    return f"`{value}`"


def _default(entry: Key) -> str:
    shown = {stack: _one_default(d) for stack, d in entry.defaults.items()}
    if len(set(shown.values())) == 1:
        return next(iter(shown.values()))
    return "; ".join(f"{stack}: {text}" for stack, text in shown.items())


def _one_default(default: Any) -> str:
    if default is REQUIRED:
        return "**required**"
    if isinstance(default, SameAs):
        return f"`{default.key}`'s value"
    return _show(default)


def _allowed(entry: Key) -> str:
    b = entry.bounds
    parts = []
    if "choices" in b:
        parts.append(" · ".join(f"`{c}`" for c in b["choices"]))
    if "one_of" in b:
        parts.append(", ".join(str(v) for v in b["one_of"]))
    low = f">= {_number(b['min'])}" if "min" in b else ""
    low = f"> {_number(b['above'])}" if "above" in b else low
    high = f"<= {_number(b['max'])}" if "max" in b else ""
    if low or high:
        parts.append(" and ".join(p for p in (low, high) if p))
    parts += [_sentence(rule) for rule in entry.rules]
    return "<br>".join(parts) or "—"


def _sentence(text: str) -> str:
    """Capitalised and closed with a full stop, unless it opens with a key (`dnsProvider`)."""
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():
        text = text[0].upper() + text[1:]
    return text if text.endswith((".", ")")) else text + "."


def _number(value: float) -> str:
    return f"{value:,g}" if isinstance(value, float) else f"{value:,}"


def stack_value(document: Mapping[str, Any], key: str) -> Any:
    """The value `key` (`webstack:edge.healthCheck.path`) has in a parsed stack file, or None."""
    head, _, rest = key.partition(".")
    value: Any = (document.get("config") or {}).get(head)
    for part in rest.split(".") if rest else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _section_title(section: str) -> str:
    return f"Top level: `{PROJECT}:*`" if section == PROJECT else f"`{section}`"


def _section_intro(entries: Sequence[Key]) -> str:
    """The docstring of the dataclass the section's reader returns; a leading line that only
    names keys (`webstack:api`:) is left out."""
    for entry in entries:
        for function in entry.functions:
            classes = _dataclasses_of(function)
            if classes and classes[0].__doc__:
                doc = inspect.cleandoc(classes[0].__doc__)
                doc = re.sub(r"^(`[^`]+`(,| and)?\s*)+[.:]?\s*", "", doc)
                return _sentence(" ".join(doc.split())) if doc else ""
    return ""


def example_error(stack: str = "prod") -> str:
    """The error the program prints for two bad values in `stack`'s file (not a copy of it)."""
    config, secret_keys = load_stack_config(
        stack,
        {
            "webstack:network": {
                **read_stack_file(stack)["config"]["webstack:network"],
                "cidr": "8.8.8.0/24",
                "natStrategy": "many",
            }
        },
    )
    try:
        parse_stack_config(
            stack,
            namespace_values(config),
            config.get("aws:region"),
            lambda region: [f"{region}{letter}" for letter in "abcdef"],
            secret_keys={k.removeprefix(f"{PROJECT}:") for k in secret_keys},
        )
    except ConfigError as error:
        return str(error)
    raise AssertionError("the example's bad values were accepted")


def render(keys: Mapping[str, Key] | None = None) -> str:
    keys = keys if keys is not None else gather()
    stacks = ordered_stacks()
    documents = {stack: read_stack_file(stack) for stack in stacks}
    regions = {stack: (documents[stack].get("config") or {}).get("aws:region") for stack in stacks}
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `make docs` (tools/configdoc.py) from components/config and",
        "     tools/cost_assumptions.py: edit the field docstrings and readers, not this file. -->",
        "",
        f"Every key lives in `Pulumi.<stack>.yaml` under `{PROJECT}:`. The program validates all",
        "of them before it registers a single resource and reports every problem at once, each",
        "naming the key and the stack; a key nobody reads, a misspelt namespace or a key written",
        "twice is an error too. Set a value with `pulumi config set --path <section>.<key>",
        "<value>` (`--secret` for secrets). Besides these, `aws:region` must be one of the",
        f"{len(AWS_REGIONS)} regions in `components/aws_facts.py` "
        f"({', '.join(f'{s}: `{r}`' for s, r in regions.items())}).",
        "",
        "For example, with `network.cidr: 8.8.8.0/24` and `network.natStrategy: many` in",
        "prod's file:",
        "",
        "```",
        example_error(),
        "```",
        "",
        "Columns: the key; what it is; how it is written; the default when the key is left",
        "out; what the reader accepts (its bounds and the rules it states); the value each",
        "committed stack file sets (— means the default applies).",
        "",
    ]
    by_section: dict[str, list[Key]] = {}
    for entry in keys.values():
        by_section.setdefault(entry.section, []).append(entry)
    for section, entries in by_section.items():
        lines += [f"## {_section_title(section)}", ""]
        intro = _section_intro(entries)
        if intro:
            lines += [" ".join(intro.split()), ""]
        header = ["key", "description", "type", "default", "allowed", *stacks]
        lines += ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
        for entry in entries:
            values = []
            for stack in stacks:
                value = stack_value(documents[stack], entry.key)
                values.append("—" if value is None else _show(value))
            cells = [
                f"`{entry.key}`",
                entry.doc,
                entry.kind,
                _default(entry),
                _allowed(entry),
                *values,
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    del argv
    keys = gather()
    missing = undocumented(keys)
    if missing:
        print("keys without a field docstring: " + ", ".join(missing), file=sys.stderr)
        return 1
    OUTPUT.write_text(render(keys))
    print(f"wrote {OUTPUT.relative_to(ROOT)} ({len(keys)} keys)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
