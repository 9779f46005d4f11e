"""Helpers for the edge tests: config variants and provider regions."""

from __future__ import annotations

import json
from typing import Any

from tools.mockcloud import Evaluation, Resource, evaluate
from tools.stackfile import load_stack_config


def edge_variant(stack: str, **changes: Any) -> Evaluation:
    """Evaluate `stack` with its committed `webstack:edge` section changed (None drops a key)."""
    config, _ = load_stack_config(stack)
    section = {**json.loads(config["webstack:edge"]), **changes}
    section = {k: v for k, v in section.items() if v is not None}
    return evaluate(stack, overrides={"webstack:edge": section})


def provider_region(ev: Evaluation, resource: Resource) -> str:
    """The region of the AWS provider a resource was created through."""
    return str(ev.by_urn(resource.provider_urn).inputs["region"])
