"""Read `Pulumi.<stack>.yaml` into the flat config map the Pulumi runtime expects.

Offline there is no secrets provider to decrypt `secure:` values, so each one is replaced by a
placeholder derived from its ciphertext (stable across runs, so plan diffs stay quiet) and its
key is marked secret, exactly as the CLI marks decrypted secrets.

A file the CLI would refuse is refused here too, with the file and line: YAML syntax errors and
duplicate keys. A key whose namespace is a near miss of `webstack` (`webstak:secrets`) is refused
as well: nothing would read it, so the CLI would silently run with defaults.

A preview stack (`pr-<number>`) has no committed file: its document is derived from staging's
(tools/preview/derive.py), so `make plan STACK=pr-123` and the tests read it like any other.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.config.reader import namespace_problem
from components.config.stack_config import is_preview_stack

ROOT = Path(__file__).resolve().parent.parent
# libyaml's parser when PyYAML was built with it (a stack file parses ~10x faster).
_BASE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StackFileError(ValueError):
    """The stack file is missing or not the shape Pulumi accepts."""


class _UniqueKeyLoader(_BASE_LOADER):  # type: ignore[valid-type, misc]
    """A safe loader that records duplicate mapping keys instead of keeping the last one.

    PyYAML lets a repeated key silently win; go-yaml, with which the Pulumi CLI reads stack
    files (sdk/go/common/encoding), refuses it ("mapping key ... already defined at line N").
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.duplicates: list[tuple[int, str]] = []
        """(line, message) of every repeated key."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first_lines: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if not isinstance(key, (str, int, float, bool)):
                continue  # an unhashable key: the base constructor reports it with its line
            if key in first_lines:
                self.duplicates.append(
                    (line, f"duplicate key {key!r} (first at line {first_lines[key]})")
                )
            else:
                first_lines[key] = line
        return super().construct_mapping(node, deep=deep)


_UniqueKeyLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _UniqueKeyLoader.construct_mapping
)


def stack_names(root: Path | None = None) -> list[str]:
    """The committed stacks: those with a `Pulumi.<stack>.yaml` next to `Pulumi.yaml`.

    Preview stacks (`pr-<number>`) are derived, not committed; a stack file the preview
    workflow wrote for one is not counted.
    """
    root = root or ROOT
    names = (p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))
    return sorted(name for name in names if not is_preview_stack(name))


def known_stack(stack: str) -> str:
    """`stack` if it is committed or a preview; argparse's `type=` for a stack argument."""
    if stack in stack_names() or is_preview_stack(stack):
        return stack
    raise argparse.ArgumentTypeError(
        f"no stack {stack!r}: choose {', '.join(stack_names())} or a preview, pr-<number>"
    )


def _load(path: Path) -> tuple[Any, list[str]]:
    """The document and its duplicate keys (`file:line: ...`); StackFileError when not YAML."""
    loader = _UniqueKeyLoader(path.read_text())
    try:
        document = loader.get_single_data() or {}
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        where = f"{path.name}:{mark.line + 1}:{mark.column + 1}" if mark else path.name
        problem = getattr(error, "problem", None) or error
        raise StackFileError(f"{where}: not valid YAML: {problem}") from None
    finally:
        loader.dispose()
    return document, [
        f"{path.name}:{line}: {message}" for line, message in sorted(loader.duplicates)
    ]


def read_yaml(path: Path) -> Any:
    """A YAML file as the CLI's parser reads it; StackFileError (file and line) when it would
    refuse it: missing, not YAML, or a duplicate key."""
    if not path.is_file():
        raise StackFileError(f"no file {path}")
    document, problems = _load(path)
    if problems:
        raise StackFileError("\n".join(problems))
    return document


def read_stack_file(stack: str, root: Path | None = None) -> dict[str, Any]:
    """The parsed `Pulumi.<stack>.yaml`; StackFileError (file and line) if the CLI would refuse
    it: missing, not YAML, duplicate keys, no `config` mapping, or a misspelt `webstack`.

    A preview stack's document is derived from staging's (tools/preview/derive.py), whether or
    not a generated file lies next to the committed ones.
    """
    root = root or ROOT
    if is_preview_stack(stack):
        # Imported here: the derivation reads staging's file through this module.
        from tools.preview.derive import derive_document

        return derive_document(stack, root)
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackFileError(
            f"no stack file {path.name} (stacks here: {', '.join(stack_names(root))})"
        )
    document, problems = _load(path)
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(document, dict) or not isinstance(config or {}, dict):
        problems.append(f"{path.name}: must be a mapping whose 'config' is a mapping")
    for key in config if isinstance(config, dict) else ():
        problem = namespace_problem(str(key))
        if problem:
            problems.append(f"{path.name}: {key} ({stack}): {problem}")
    if problems:
        raise StackFileError("\n".join(problems))
    return document


def _replace_secure(value: Any) -> tuple[Any, bool]:
    if isinstance(value, dict):
        if set(value) == {"secure"}:
            digest = hashlib.sha256(str(value["secure"]).encode()).hexdigest()[:16]
            return f"offline-placeholder-{digest}", True
        found = False
        out = {}
        for k, v in value.items():
            out[k], secret = _replace_secure(v)
            found |= secret
        return out, found
    if isinstance(value, list):
        items = [_replace_secure(v) for v in value]
        return [v for v, _ in items], any(s for _, s in items)
    return value, False


def encode_value(value: Any) -> str:
    """How the CLI hands a config value to the program: scalars as text, the rest as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(value)


def load_stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    secret_overrides: Mapping[str, Any] | None = None,
    root: Path | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Return (config, secret keys) for `stack`.

    `overrides` replace keys (None removes one); `secret_overrides` add keys marked secret, as
    `pulumi config set --secret` would.
    """
    raw = read_stack_file(stack, root).get("config") or {}
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    for key, value in raw.items():
        plain, secret = _replace_secure(value)
        config[key] = encode_value(plain)
        if secret:
            secret_keys.append(key)
    for key, value in (overrides or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = encode_value(value)
    for key, value in (secret_overrides or {}).items():
        config[key] = encode_value(value)
        secret_keys.append(key)
    return config, secret_keys
