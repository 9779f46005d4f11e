"""Read `Pulumi.<stack>.yaml` into the flat config map the Pulumi runtime expects.

Offline there is no secrets provider to decrypt `secure:` values, so each one is replaced by a
placeholder derived from its ciphertext (stable across runs, so plan diffs stay quiet) and its
key is marked secret, exactly as the CLI marks decrypted secrets.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent


class StackFileError(ValueError):
    """The stack file is missing or not the shape Pulumi accepts."""


def stack_names(root: Path = ROOT) -> list[str]:
    """Stacks that have a `Pulumi.<stack>.yaml` next to `Pulumi.yaml`."""
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


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
    root: Path = ROOT,
) -> tuple[dict[str, str], list[str]]:
    """Return (config, secret keys) for `stack`.

    `overrides` replace keys (None removes one); `secret_overrides` add keys marked secret, as
    `pulumi config set --secret` would.
    """
    path = root / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise StackFileError(
            f"no stack file {path.name} (stacks here: {', '.join(stack_names(root))})"
        )
    document = yaml.safe_load(path.read_text()) or {}
    raw = document.get("config") or {}
    if not isinstance(raw, dict):
        raise StackFileError(f"{path.name}: 'config' must be a mapping")
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
