"""components.moves.moved_from under the mock runtime: the alias reaches the registration as the
URN the old code registered, `tools.plan --json` carries it, and plan-diff keeps the resource.

Each case runs an old and a new version of a tiny program; the old URN is what the old version
really registered, never something computed by the helper under test.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pulumi
import pulumi_aws as aws
import pytest

from components.moves import moved_from
from tools import plandiff
from tools.cost import Estimate
from tools.mockcloud import Evaluation, Resource, run_program
from tools.plan import plan_json

LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
Version = Callable[[], object]
"""A version of a tiny program: registers resources, returns nothing of interest."""
Move = Callable[[bool], tuple[Version, Version, str]]
"""(old version, new version, the moved resource's new name); the new one with or without
`moved_from`."""


class Holder(pulumi.ComponentResource):
    """A component with log groups as children, standing in for any webstack component."""

    def __init__(
        self,
        name: str,
        children: tuple[str, ...] = (),
        *,
        type_: str = "webstack:test:Holder",
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(type_, name, None, opts)
        for child in children:
            log_group(child, parent=self)
        self.register_outputs({})


def log_group(
    name: str, *, parent: pulumi.Resource | None = None, aliases: list[pulumi.Alias] | None = None
) -> aws.cloudwatch.LogGroup:
    return aws.cloudwatch.LogGroup(
        name, retention_in_days=30, opts=pulumi.ResourceOptions(parent=parent, aliases=aliases)
    )


def evaluate(program: Version) -> Evaluation:
    def run() -> Mapping[str, Any]:
        program()
        return {}

    return run_program("staging", {"aws:region": "us-east-1"}, [], run)


def renamed(aliased: bool) -> tuple[Version, Version, str]:
    """A child renamed inside its component."""

    def old() -> None:
        log_group("app-old-logs", parent=Holder("app"))

    def new() -> None:
        aliases = moved_from(name="app-old-logs") if aliased else None
        log_group("app-logs", parent=Holder("app"), aliases=aliases)

    return old, new, "app-logs"


def adopted(aliased: bool) -> tuple[Version, Version, str]:
    """A resource of the stack itself moved into a component."""

    def old() -> None:
        Holder("app")
        log_group("logs")

    def new() -> None:
        aliases = moved_from(parent=pulumi.ROOT_STACK_RESOURCE) if aliased else None
        log_group("logs", parent=Holder("app"), aliases=aliases)

    return old, new, "logs"


def rehomed(aliased: bool) -> tuple[Version, Version, str]:
    """A child moved from one component to another (both still exist)."""

    def old() -> None:
        Holder("data", type_="webstack:test:Data")
        log_group("logs", parent=Holder("app"))

    def new() -> None:
        app = Holder("app")
        aliases = moved_from(parent=app) if aliased else None
        log_group("logs", parent=Holder("data", type_="webstack:test:Data"), aliases=aliases)

    return old, new, "logs"


def retyped_parent(aliased: bool) -> tuple[Version, Version, str]:
    """A component's type token changed: its unchanged child follows its alias."""

    def old() -> None:
        Holder("app", ("app-logs",), type_="webstack:app:Old")

    def new() -> None:
        aliases = moved_from(type_="webstack:app:Old") if aliased else None
        Holder(
            "app",
            ("app-logs",),
            type_="webstack:app:New",
            opts=pulumi.ResourceOptions(aliases=aliases),
        )

    return old, new, "app-logs"


def renamed_parent(aliased: bool) -> tuple[Version, Version, str]:
    """A component renamed: its `<name>-` children are renamed with it and follow it."""

    def old() -> None:
        Holder("app", ("app-logs",))

    def new() -> None:
        aliases = moved_from(name="app") if aliased else None
        Holder("application", ("application-logs",), opts=pulumi.ResourceOptions(aliases=aliases))

    return old, new, "application-logs"


MOVES: list[Move] = [renamed, adopted, rehomed, retyped_parent, renamed_parent]


def plan(ev: Evaluation) -> dict[str, Any]:
    return plan_json(ev, Estimate(()))


def run_move(
    move: Move, aliased: bool
) -> tuple[Resource, Resource, dict[str, Any], plandiff.StackDiff]:
    """The moved resource before and after, the new plan, and plan-diff's view of the move."""
    old_program, new_program, name = move(aliased)
    old, new = evaluate(old_program), evaluate(new_program)
    (before,) = old.of_type(LOG_GROUP)
    diff = plandiff.diff_plans("staging", plan(old), plan(new))
    return before, new.one(LOG_GROUP, name), plan(new), diff


def rendered(diff: plandiff.StackDiff) -> str:
    return "\n".join(plandiff.render_stack(diff))


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.__name__)
def test_an_alias_names_the_old_urn_and_plan_diff_keeps_the_resource(move: Move) -> None:
    before, after, new_plan, diff = run_move(move, aliased=True)
    assert before.urn != after.urn
    assert before.urn in after.options["aliases"]
    (planned,) = [r for r in new_plan["resources"] if r["urn"] == after.urn]
    assert before.urn in planned["aliases"]
    assert not diff.added and not diff.removed
    assert [(a["urn"], b["urn"]) for a, b in diff.moved] == [(before.urn, after.urn)]
    assert f"- `{LOG_GROUP}` **{after.name}**: aliased, kept" in rendered(diff)


@pytest.mark.parametrize("move", MOVES, ids=lambda m: m.__name__)
def test_without_the_alias_plan_diff_shows_the_old_resource_go(move: Move) -> None:
    before, after, _, diff = run_move(move, aliased=False)
    assert after.options["aliases"] == []
    # Renamed, nothing ties the two, so the old one is removed; moved, it is replaced.
    assert [r["urn"] for r in diff.removed] == [before.urn] or (
        [(a["urn"], b["urn"]) for a, b in diff.moved] == [(before.urn, after.urn)]
        and "⚠ replaced: add an alias" in rendered(diff)
    )
    assert "aliased, kept" not in rendered(diff)


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [({}, "needs the old name, type_ or parent"), ({"name": " "}, "old logical name")],
)
def test_an_alias_that_keeps_nothing_is_refused(kwargs: dict[str, Any], words: str) -> None:
    with pytest.raises(ValueError, match=words):
        moved_from(**kwargs)
