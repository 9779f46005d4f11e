"""Reading resource properties the way the analyzer hands them over.

The analyzer sees each resource's inputs with the SDK's camelCase names. Nested objects arrive
as dicts and lists, except where the provider takes a JSON document as a string (ECS container
definitions, IAM and bucket policies, AWS provider default tags). Resources relate to each
other through `property_dependencies` (the URNs an input's value came from), which also works
in a preview where the related resource's id or name is not known yet.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from pulumi_policy import PolicyConfigSchema, PolicyResource

Config = Mapping[str, Any]
# The SDK's ReportViolation, whose `urn` argument is optional at run time but not in its type.
Report = Callable[..., None]


def schema(
    defaults: Mapping[str, Any], types: Mapping[str, Mapping[str, Any]]
) -> PolicyConfigSchema:
    """A config schema whose defaults are the rule's defaults (the CLI fills them in)."""
    return PolicyConfigSchema(
        properties={key: {**types[key], "default": value} for key, value in defaults.items()}
    )


def config_of(get_config: Callable[[], Config | None], defaults: Config) -> dict[str, Any]:
    """The rule's config: defaults overlaid with what `Configure` sent (if anything)."""
    return {**defaults, **(get_config() or {})}


def as_list(value: Any) -> list[Any]:
    """A list property that may be absent."""
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


def as_dict(value: Any) -> dict[str, Any]:
    """An object property that may be absent or a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {}
    return dict(value) if isinstance(value, Mapping) else {}


def as_json(value: Any) -> Any:
    """A JSON document given as a string (or already decoded); None when unreadable."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return None
    return value


TASK_DEFINITION = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA_FUNCTION = "aws:lambda/function:Function"


def plain_environment(
    resource_type: str, props: Mapping[str, Any]
) -> Iterator[tuple[str, str, str]]:
    """(where, name, value) of each plain environment variable of an ECS task or a Lambda."""
    if resource_type == TASK_DEFINITION:
        for container in as_list(as_json(props.get("containerDefinitions"))):
            container = as_dict(container)
            where = f"container {container.get('name')!r}"
            for entry in (as_dict(e) for e in as_list(container.get("environment"))):
                yield where, str(entry.get("name")), str(entry.get("value") or "")
    elif resource_type == LAMBDA_FUNCTION:
        variables = as_dict(as_dict(props.get("environment")).get("variables"))
        for name, value in variables.items():
            yield "environment.variables", str(name), str(value or "")


def truthy(value: Any) -> bool:
    """Booleans may arrive as bools or (from provider config) as strings."""
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def related(
    resource: PolicyResource,
    prop: str,
    candidates: Iterable[PolicyResource],
    match_props: tuple[str, ...] = ("name",),
) -> list[PolicyResource]:
    """Candidates that `resource.props[prop]` refers to.

    By property dependency first; otherwise by value, for an input given as a literal name.
    """
    candidates = list(candidates)
    urns = {r.urn for r in resource.property_dependencies.get(prop, [])}
    by_dependency = [c for c in candidates if c.urn in urns]
    if by_dependency:
        return by_dependency
    value = resource.props.get(prop)
    if value is None:
        return []
    return [c for c in candidates if any(c.props.get(p) == value for p in match_props)]


def label(resource: PolicyResource) -> str:
    """`type name`, how a violation names a resource in a stack rule's message."""
    return f"{resource.resource_type} {resource.name}"
