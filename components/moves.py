"""Moving a resource in the code without replacing it in a live stack: the one way to write an
`aliases` entry.

A resource's URN is its identity in a stack, built from its type, its logical name and the type
chain of its parents. Rename a child, give it another parent, or change a component's type
token, and Pulumi sees a new resource: it creates the new one and deletes the old (for a
database, an empty one for a full one). `moved_from` describes where the resource used to be,
and Pulumi moves its state to the new URN instead. Children follow a moved component on their
own: the SDK derives their old URNs from the component's aliases, including a `<name>-` prefix
that changed with the component's name. See CONTRIBUTING.md for when to use it.
"""

from __future__ import annotations

from typing import Any

import pulumi

# pulumi.Alias's own marker for "as it is now"; `None` means something else for a parent.
_UNCHANGED: Any = ...


def moved_from(
    *,
    name: str | None = None,
    type_: str | None = None,
    parent: pulumi.Resource | str | None = _UNCHANGED,
) -> list[pulumi.Alias]:
    """The `aliases` of a resource that used to have another logical `name`, type token
    `type_`, or `parent` (a resource, or the old parent's URN once it is gone;
    `pulumi.ROOT_STACK_RESOURCE` for the stack itself). What is not given is as it is now.

    Use it as `opts=pulumi.ResourceOptions(parent=self, aliases=moved_from(name="app-logs"))`;
    a resource moved twice lists both: `aliases=[*moved_from(...), *moved_from(...)]`.
    """
    if name is None and type_ is None and parent is _UNCHANGED:
        raise ValueError(
            "moved_from needs the old name, type_ or parent: an alias of the current URN "
            "keeps nothing"
        )
    if name is not None and not name.strip():
        raise ValueError("moved_from name must be the old logical name, got an empty string")
    return [
        pulumi.Alias(
            name=name if name is not None else _UNCHANGED,
            type_=type_ if type_ is not None else _UNCHANGED,
            parent=parent,
        )
    ]
