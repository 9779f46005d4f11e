"""A preview stack's config: Pulumi.staging.yaml, staging's secrets left out, stacks/preview.yaml
on top, and the names that follow the stack's name.

`derive_document(stack)` is the `Pulumi.pr-<n>.yaml` document the stack runs with: offline,
`tools.stackfile` reads it in place of a file, and for a real `pulumi up` the preview workflow
writes it out (`python -m tools.preview config pr-<n>`). The rules:

- every `secure:` value of staging's is left out, and a map that held only such values with it:
  a preview never reads staging's secrets (it generates its own, external secrets included);
- the overlay merges object by object; its lists and scalars replace staging's, its nulls remove
  a key. It may hold no secure value and none of the keys the stack's name decides;
- the environment is the stack's name, the domain `pr-<n>.<staging's domain>` (the API at
  `api.` of it), and each CORS origin under staging's domain moves under the preview's; an
  origin outside it (localhost, another site) has no preview counterpart and is left out.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from components.config import PROJECT, is_preview_stack
from tools.stackfile import ROOT, StackFileError, read_stack_file, read_yaml

BASE_STACK = "staging"
OVERLAY = Path("stacks") / "preview.yaml"
# What the stack's name decides: an overlay that set them would give every preview one value.
DERIVED_KEYS = (f"{PROJECT}:environment", f"{PROJECT}:domain")
DERIVED_EDGE_KEYS = ("allowedOrigins",)


class PreviewError(StackFileError):
    """Not a preview stack name, or an overlay the derivation refuses."""


@dataclass
class Derivation:
    """A preview's config and what of staging's it leaves out."""

    config: dict[str, Any]
    """The `config:` mapping of its stack file."""
    left_out: list[str] = field(default_factory=list)
    """Staging's keys and origins with no place in the preview, each with the reason."""


def _is_secure(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"secure"}


def _without_secure(value: Any, path: str, left_out: list[str]) -> Any:
    """`value` with every secure value gone (and every map that only held such values)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if _is_secure(item):
                left_out.append(f"{path}[{i}]: staging's secret")
        return [_without_secure(item, path, left_out) for item in value if not _is_secure(item)]
    if not isinstance(value, dict):
        return value
    kept = {}
    for key, member in value.items():
        where = f"{path}.{key}" if path else str(key)
        if _is_secure(member):
            left_out.append(f"{where}: staging's secret")
            continue
        member = _without_secure(member, where, left_out)
        if member == {} and value[key] != {}:
            continue  # held only secrets
        kept[key] = member
    return kept


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """`overlay` over `base`: maps merge, anything else replaces, None removes."""
    merged = dict(base)
    for key, value in overlay.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def _secure_paths(value: Any, path: str) -> list[str]:
    if _is_secure(value):
        return [path]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _secure_paths(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [p for i, v in enumerate(value) for p in _secure_paths(v, f"{path}[{i}]")]
    return []


def read_overlay(root: Path = ROOT) -> dict[str, Any]:
    """The overlay's `config:` mapping; PreviewError when it holds what it may not."""
    document = read_yaml(root / OVERLAY)
    config = document.get("config") if isinstance(document, dict) else None
    if not isinstance(config, dict):
        raise PreviewError(f"{OVERLAY}: must be a mapping whose 'config' is a mapping")
    problems = [
        f"{OVERLAY}: {path}: a secret cannot be shared by every preview"
        for key, value in config.items()
        for path in _secure_paths(value, str(key))
    ]
    problems += [
        f"{OVERLAY}: {key}: follows the stack's name; remove it here"
        for key in DERIVED_KEYS
        if key in config
    ]
    edge = config.get(f"{PROJECT}:edge") or {}
    problems += [
        f"{OVERLAY}: {PROJECT}:edge.{key}: follows the preview's hostnames; remove it here"
        for key in DERIVED_EDGE_KEYS
        if isinstance(edge, dict) and key in edge
    ]
    if problems:
        raise PreviewError("\n".join(problems))
    return config


def preview_domain(stack: str, staging_domain: str) -> str:
    """`pr-<n>.<staging's domain>`: the preview's frontend; its API is at `api.` of it."""
    return f"{stack}.{staging_domain.lower().rstrip('.')}"


def _moved_origins(
    origins: list[Any], staging_domain: str, domain: str, left_out: list[str]
) -> list[Any]:
    """Each origin under staging's domain, moved under the preview's (scheme and port kept)."""
    moved = []
    suffix = staging_domain.lower().rstrip(".")
    for origin in origins:
        parts = urlsplit(str(origin))
        host = (parts.hostname or "").lower()
        if host == suffix or host.endswith(f".{suffix}"):
            port = f":{parts.port}" if parts.port else ""
            moved.append(f"{parts.scheme}://{host[: -len(suffix)]}{domain}{port}")
        else:
            left_out.append(f"{PROJECT}:edge.allowedOrigins {origin}: not under {suffix}")
    return moved


def derive(stack: str, root: Path = ROOT) -> Derivation:
    """The config of preview stack `stack` (`pr-<number>`)."""
    if not is_preview_stack(stack):
        raise PreviewError(f"{stack!r} is not a preview stack: they are named pr-<number>")
    staging = read_stack_file(BASE_STACK, root).get("config") or {}
    left_out: list[str] = []
    config = _merge(_without_secure(staging, "", left_out), read_overlay(root))
    staging_domain = str(staging.get(f"{PROJECT}:domain") or "")
    if not staging_domain:
        raise PreviewError(f"Pulumi.{BASE_STACK}.yaml: {PROJECT}:domain is required")
    domain = preview_domain(stack, staging_domain)
    config[f"{PROJECT}:environment"] = stack
    config[f"{PROJECT}:domain"] = domain
    edge = config.get(f"{PROJECT}:edge")
    if isinstance(edge, dict) and isinstance(edge.get("allowedOrigins"), list):
        edge["allowedOrigins"] = _moved_origins(
            edge["allowedOrigins"], staging_domain, domain, left_out
        )
    return Derivation(config=config, left_out=left_out)


def derive_document(stack: str, root: Path = ROOT) -> dict[str, Any]:
    """The stack file document (`{"config": ...}`) of preview stack `stack`."""
    return {"config": derive(stack, root).config}


def render_stack_file(stack: str, root: Path = ROOT) -> str:
    """`Pulumi.<stack>.yaml` as the preview workflow writes it before `pulumi up`."""
    derivation = derive(stack, root)
    header = [
        f"# Generated by `python -m tools.preview config {stack}` from Pulumi.{BASE_STACK}.yaml",
        f"# and {OVERLAY.as_posix()}: do not edit or commit it (docs/previews.md).",
    ]
    if derivation.left_out:
        header.append(f"# Left out of {BASE_STACK}'s config:")
        header += [f"#   {item}" for item in derivation.left_out]
    body = yaml.safe_dump(
        {"config": derivation.config}, sort_keys=False, allow_unicode=True, width=100
    )
    return "\n".join(header) + "\n" + body
