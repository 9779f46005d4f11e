"""The generic config reader: typed access to raw values, problems collected, not raised.

`Section` reads one config object (`webstack:api`, or the top level) with typed getters that
record a problem naming the key instead of raising; `Problems` collects them for the stack so
that `ConfigError` reports every problem at once. The raw values come from the flat map the
engine hands the program (`running_stack_config`, `namespace_values`), where a misspelt
`webstack:` namespace is caught too. The section modules build on this; nothing here knows a
section.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from collections.abc import Callable, Mapping, Sequence
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import pulumi

from components.aws_facts import LOG_RETENTION_DAYS

PROJECT = "webstack"
# A getter's default meaning "the key must be set".
REQUIRED: Any = object()
_HOSTNAME_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
# How far (in edits) a namespace may be from `webstack` and still be taken for a misspelling.
NAMESPACE_TYPO_DISTANCE = 2


class SameAs(NamedTuple):
    """A default that is another key's value (`worker.maxCapacity` defaults to `desiredCount`)."""

    key: str
    value: Any


@dataclass(frozen=True)
class KeyRead:
    """One getter call, as the reader states it: what `tools/configdoc.py` documents."""

    section: Section
    name: str
    kind: str
    """How the value must be written: `string`, `integer`, `number`, `boolean`, ..."""
    default: Any
    """The default as passed (REQUIRED when the key must be set, or a SameAs)."""
    bounds: Mapping[str, Any] = field(default_factory=dict)
    """The getter's own checks: min, above, max, choices, one_of."""

    @property
    def key(self) -> str:
        return self.section.path(self.name)


# Set only while the configuration reference is generated: it sees every getter call, so the
# reference lists each key with the default and bounds its reader passes (not a copy of them).
READ_OBSERVER: ContextVar[Callable[[KeyRead], None] | None] = ContextVar(
    "READ_OBSERVER", default=None
)


class ConfigError(ValueError):
    """Raised with every configuration problem of a stack, one per line."""

    def __init__(self, stack: str, problems: Sequence[str]) -> None:
        self.stack = stack
        self.problems = list(problems)
        super().__init__(
            f"invalid configuration for stack '{stack}' ({len(problems)} problem(s)):\n"
            + "\n".join(f"  - {p}" for p in problems)
        )


class Problems:
    """Collects problems so that all of them are reported at once."""

    def __init__(self, stack: str) -> None:
        self.stack = stack
        self.items: list[str] = []

    def add(self, key: str, message: str) -> None:
        self.items.append(f"{key} ({self.stack}): {message}")

    def raise_if_any(self) -> None:
        if self.items:
            raise ConfigError(self.stack, self.items)


class Section:
    """Typed access to one config object; records a problem instead of raising.

    On a problem the getters return the default (or a neutral value) so that reading can go
    on and every other problem is found too; `parse_stack_config` raises before anything uses
    the values.
    """

    def __init__(
        self,
        problems: Problems,
        key: str,
        data: Mapping[str, Any],
        *,
        separator: str = ".",
        scalars_are_strings: bool = False,
    ) -> None:
        self._problems = problems
        self.key = key
        self._data = data
        self._separator = separator
        # Top-level stack config reaches the program as strings ("true", "30"); inside an
        # object the YAML types survive.
        self._scalars_are_strings = scalars_are_strings
        self._read: set[str] = set()

    def path(self, name: str) -> str:
        """The full key of `name` in this section (`webstack:api.cpu`)."""
        return f"{self.key}{self._separator}{name}"

    def error(self, name: str, message: str) -> None:
        self._problems.add(self.path(name), message)

    def _declare(self, name: str, kind: str, default: Any, **bounds: Any) -> None:
        observer = READ_OBSERVER.get()
        if observer is not None:
            given = {k: v for k, v in bounds.items() if v is not None and v != ()}
            observer(KeyRead(self, name, kind, default, given))

    def _raw(self, name: str, default: Any) -> Any:
        self._read.add(name)
        if isinstance(default, SameAs):
            default = default.value
        value = self._data.get(name, REQUIRED)
        if value is REQUIRED or value is None:
            if default is REQUIRED:
                self.error(name, "is required")
            return default
        return value

    def _typed(self, name: str, default: Any, kind: type) -> Any:
        """The value if present and of `kind`, else the default (None when there is none)."""
        value = self._raw(name, default)
        if value is REQUIRED:
            return None
        if self._scalars_are_strings and isinstance(value, str) and kind is not str:
            value = _decode_scalar(value)
        # bool is an int in Python; a YAML `true` where a number belongs is still a mistake.
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.error(name, f"must be a {kind.__name__}, got {type(value).__name__} {value!r}")
            return None if default is REQUIRED else default
        return value

    def get_str(self, name: str, default: Any = REQUIRED, *, choices: Sequence[str] = ()) -> str:
        self._declare(name, "string", default, choices=tuple(choices))
        value = self._typed(name, default, str)
        if value is None:
            return ""
        if choices and value not in choices:
            self.error(name, f"must be one of {', '.join(choices)}, got {value!r}")
        return value

    def get_int(
        self,
        name: str,
        default: Any = REQUIRED,
        *,
        min: int | None = None,
        max: int | None = None,
        one_of: Sequence[int] = (),
        one_of_label: str = "one of",
    ) -> int:
        """An int within min..max and, when `one_of` is given, one of those values
        (`must be <one_of_label> (1, 3, 5), got 4`)."""
        self._declare(name, "integer", default, min=min, max=max, one_of=tuple(one_of))
        value = self._typed(name, default, int)
        if value is None:
            return min or 0
        self._check_bounds(name, value, min=min, max=max, show=str)
        if one_of and value not in one_of:
            self.error(name, f"must be {one_of_label} ({', '.join(map(str, one_of))}), got {value}")
        return value

    def get_number(
        self,
        name: str,
        default: Any = REQUIRED,
        *,
        min: float | None = None,
        above: float | None = None,
        max: float | None = None,
    ) -> float:
        """An int or a float (YAML writes `2` and `2.5` differently); `above` is exclusive."""
        self._declare(name, "number", default, min=min, above=above, max=max)
        value = self._raw(name, default)
        if value is REQUIRED:
            return min or 0.0
        if self._scalars_are_strings and isinstance(value, str):
            with contextlib.suppress(ValueError):
                value = float(value)
        if (
            not isinstance(value, (int, float))
            or isinstance(value, bool)
            or not math.isfinite(value)
        ):
            self.error(name, f"must be a number, got {type(value).__name__} {value!r}")
            return 0.0 if default is REQUIRED else float(default)
        self._check_bounds(name, value, min=min, above=above, max=max, show="{:g}".format)
        return float(value)

    def _check_bounds(
        self,
        name: str,
        value: float,
        *,
        min: float | None,
        max: float | None,
        above: float | None = None,
        show: Callable[[float], str],
    ) -> None:
        """Record each bound `value` breaks; `show` renders numbers in the message."""
        if min is not None and value < min:
            self.error(name, f"must be >= {show(min)}, got {show(value)}")
        if above is not None and value <= above:
            self.error(name, f"must be > {show(above)}, got {show(value)}")
        if max is not None and value > max:
            self.error(name, f"must be <= {show(max)}, got {show(value)}")

    def get_bool(self, name: str, default: Any = REQUIRED) -> bool:
        self._declare(name, "boolean", default)
        return bool(self._typed(name, default, bool))

    def get_str_list(self, name: str, default: Any = REQUIRED) -> tuple[str, ...]:
        self._declare(name, "list of strings", default)
        value = self._typed(name, default, list) or []
        bad = [v for v in value if not isinstance(v, str)]
        if bad:
            self.error(name, f"must be a list of strings, got {bad[0]!r}")
            return ()
        return tuple(value)

    def get_str_map(self, name: str, default: Any = REQUIRED) -> dict[str, str]:
        self._declare(name, "map of strings", default)
        value = self._typed(name, default, dict) or {}
        bad = {k: v for k, v in value.items() if not isinstance(v, str)}
        for k, v in bad.items():
            self.error(f"{name}.{k}", f"must be a str, got {type(v).__name__} {v!r}")
        return {k: v for k, v in value.items() if k not in bad}

    def get_secret_map(self, name: str) -> dict[str, str]:
        """A map of name -> secret text; problems never quote a value (it may be a secret)."""
        self._declare(name, "map of secrets", {})
        value = self._raw(name, {})
        if self._scalars_are_strings and isinstance(value, str):
            value = parse_value(value)
        if not isinstance(value, dict):
            self.error(name, f"must be a map of NAME -> secret, got a {type(value).__name__}")
            return {}
        good = {}
        for k, v in value.items():
            if isinstance(v, str) and v:
                good[k] = v
            else:
                self.error(f"{name}.{k}", f"must be a non-empty string, got a {type(v).__name__}")
        return good

    def section(self, name: str) -> Section:
        value = self._typed(name, {}, dict)
        return Section(self._problems, self.path(name), value)

    def has(self, name: str) -> bool:
        """Whether `name` is set, without reading it."""
        return self._data.get(name) is not None

    def skip(self, name: str) -> None:
        """Accept `name` without reading it: a key another tool validates, not a typo."""
        self._read.add(name)

    def finish(self) -> None:
        """Report keys nobody read: almost always a typo of a real key."""
        for name in sorted(set(self._data) - self._read):
            self.error(name, "unknown key")


def _decode_scalar(value: str) -> Any:
    if value in ("true", "false"):
        return value == "true"
    try:
        return int(value)
    except ValueError:
        return value


def get_log_retention(section: Section, name: str, default: int) -> int:
    """A retention in days that CloudWatch Logs accepts."""
    return section.get_int(
        name, default, one_of=LOG_RETENTION_DAYS, one_of_label="one of CloudWatch's values"
    )


def valid_hostname(name: str) -> bool:
    """Whether `name` is a lowercase DNS hostname of two or more labels (not an IP address)."""
    labels = name.split(".")
    return (
        len(name) <= 253
        and len(labels) >= 2
        and all(_HOSTNAME_LABEL.match(label) for label in labels)
        and not labels[-1].isdigit()
    )


# ---------------------------------------------------------------------------------------------
# Raw values


def parse_value(raw: str) -> Any:
    """Objects and lists arrive as JSON; scalars stay strings (`Section` converts them)."""
    if raw[:1] in ("{", "["):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def namespace_values(config: Mapping[str, str], namespace: str = PROJECT) -> dict[str, Any]:
    """The `<namespace>:*` keys of a flat config map, prefix removed, objects decoded."""
    prefix = f"{namespace}:"
    return {
        key[len(prefix) :]: parse_value(value)
        for key, value in config.items()
        if key.startswith(prefix)
    }


def running_stack_config() -> dict[str, str]:
    """Every config key of the running stack (all namespaces), values as the engine sends them."""
    # The engine hands config to the program through set_all_config (CONFIG) and, in some
    # hosts, the PULUMI_CONFIG environment; pulumi.Config can read but not list keys.
    return {**pulumi.runtime.get_config_env(), **pulumi.runtime.config.CONFIG.get()}


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: the fewest insertions, deletions and substitutions from a to b.

    Hand-written: no installed library has it, and the one caller compares a config namespace
    with `webstack`; rapidfuzz would add a compiled dependency to the program for ten lines,
    and difflib's similarity ratio does not count edits.
    """
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, 1):
        current = [i]
        for j, char_b in enumerate(b, 1):
            substitute = previous[j - 1] + (char_a != char_b)
            current.append(min(previous[j] + 1, current[j - 1] + 1, substitute))
        previous = current
    return previous[-1]


def misspelt_namespace(key: str) -> str | None:
    """The namespace of `key` if it looks like a misspelt `webstack` (`webstak:x`), else None.

    Compared in lower case, so `Webstack:` and `WEBSTACK:` count too (namespaces are
    case-sensitive: the program would never read them).
    """
    namespace = key.partition(":")[0]
    if namespace == PROJECT:
        return None
    close = edit_distance(namespace.lower(), PROJECT) <= NAMESPACE_TYPO_DISTANCE
    return namespace if close else None


def namespace_problem(key: str) -> str | None:
    """Why `key` would be ignored as a misspelling of a `webstack:` key, or None."""
    namespace = misspelt_namespace(key)
    if namespace is None:
        return None
    rest = key.partition(":")[2]
    return (
        f"unknown config namespace {namespace!r}: did you mean {PROJECT}:{rest}? "
        f"Only {PROJECT}:* keys are read, so this one would be ignored"
    )
