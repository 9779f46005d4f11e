"""plan-diff on two JSON plans: what changed (resources and outputs), secrets masked, violations,
cost delta."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from tools import plandiff
from tools.plan import EXIT_MANDATORY_VIOLATION, MASK

URN = "urn:pulumi:prod::webstack::webstack:data:Database$aws:rds/instance:Instance::database-db"


def resource(urn: str = URN, **inputs: Any) -> dict[str, Any]:
    return {
        "urn": urn,
        "type": urn.split("::")[2].split("$")[-1],
        "name": urn.rsplit("::", 1)[-1],
        "parent": "",
        "custom": True,
        "protect": True,
        "aliases": [],
        "inputs": inputs,
    }


def a_plan(*resources: dict[str, Any], total: float = 100.0, **extra: Any) -> dict[str, Any]:
    return {
        "resources": list(resources),
        "outputs": {},
        "cost": {"total": total, "byComponent": {"database": total}, "lines": []},
        **extra,
    }


def test_changed_secret_is_reported_without_its_value() -> None:
    base = a_plan(resource(instanceClass="db.t4g.medium", password=f"{MASK} sha256:aaaa"))
    head = a_plan(resource(instanceClass="db.r6g.large", password=f"{MASK} sha256:bbbb"))
    diff = plandiff.diff_plans("prod", base, head)
    rows = dict((k, (a, b)) for k, a, b in diff.changed[0][1])
    assert rows["instanceClass"] == ("db.t4g.medium", "db.r6g.large")
    assert rows["password"] == (MASK, f"{MASK} (changed)")
    markdown = plandiff.render("`main`", [diff], [])
    assert "sha256" not in markdown and "bbbb" not in markdown
    assert "| `password` | [secret] | [secret] (changed) |" in markdown


def test_added_removed_and_moved_resources() -> None:
    moved_urn = URN.replace("webstack:data:Database$", "webstack:data:Data$")
    cache = URN.replace(
        "rds/instance:Instance::database-db", "elasticache/replicationGroup:ReplicationGroup::cache"
    )
    base = a_plan(resource(), resource(cache))
    renamed = resource(moved_urn)
    head = a_plan(renamed, resource(URN.replace("database-db", "database-replica")))
    diff = plandiff.diff_plans("prod", base, head)
    assert [r["name"] for r in diff.added] == ["database-replica"]
    assert [r["name"] for r in diff.removed] == ["cache"]
    assert [(a["urn"], b["urn"]) for a, b in diff.moved] == [(URN, moved_urn)]
    assert "replaced: add an alias" in "\n".join(plandiff.render_stack(diff))
    renamed["aliases"] = [f"urn: {URN}"]
    assert "aliased, kept" in "\n".join(
        plandiff.render_stack(plandiff.diff_plans("prod", base, head))
    )


def test_only_new_violations_are_listed_and_cost_delta_per_stack() -> None:
    old = {"policy": "rds-backups", "enforcement": "mandatory", "urn": URN, "message": "7 days"}
    new = {"policy": "no-public-db", "enforcement": "mandatory", "urn": URN, "message": "public"}
    base = a_plan(resource(), total=100.0, policy=[old])
    head = a_plan(resource(), total=142.5, policy=[old, new])
    diff = plandiff.diff_plans("prod", base, head)
    assert diff.new_violations == [new]
    markdown = plandiff.render("`main`", [diff], [])
    assert "| prod | 0 | 0 | 0 | 0 | 0 | 1 | $100.00 → $142.50 | +$42.50 |" in markdown
    assert "[mandatory] `no-public-db` (database-db): public" in markdown


def test_identical_plans_show_no_changes() -> None:
    base = a_plan(resource(instanceClass="db.t4g.medium"))
    base["outputs"] = {"vpcId": "vpc-0a1b", "jwtSecret": f"{MASK} sha256:aaaa"}
    diff = plandiff.diff_plans("staging", base, copy.deepcopy(base))
    assert diff.empty
    assert "No changes." in plandiff.render("`main`", [diff], [])
    assert "| staging | 0 | 0 | 0 | 0 | 0 |" in plandiff.render("`main`", [diff], [])


def test_added_removed_and_changed_outputs_are_reported_and_counted() -> None:
    base = a_plan(resource())
    head = copy.deepcopy(base)
    base["outputs"] = {
        "vpcId": "vpc-0a1b",
        "privateSubnetIds": ["subnet-a", "subnet-b"],
        "oldEndpoint": "db.example.internal",
        "jwtSecret": f"{MASK} sha256:aaaa",
    }
    head["outputs"] = {
        "vpcId": "vpc-0a1b",
        "privateSubnetIds": ["subnet-a", "subnet-b", "subnet-c"],
        "apiUrl": "https://api.example.com",
        "jwtSecret": f"{MASK} sha256:bbbb",
        "redisToken": f"{MASK} sha256:cccc",
    }
    diff = plandiff.diff_plans("prod", base, head)
    assert not diff.empty and not diff.changed
    assert dict((k, (a, b)) for k, a, b in diff.outputs) == {
        "apiUrl": ("—", "https://api.example.com"),
        "jwtSecret": (MASK, f"{MASK} (changed)"),
        "oldEndpoint": ("db.example.internal", "—"),
        "privateSubnetIds[2]": ("—", "subnet-c"),
        "redisToken": ("—", MASK),
    }
    markdown = plandiff.render("`main`", [diff], [])
    # five outputs count, no resource changed; the plans carry no verdicts (—)
    assert "| prod | 0 | 0 | 0 | 0 | 5 | — |" in markdown
    assert "**Outputs** (5 added, removed or changed)" in markdown
    assert "| `privateSubnetIds[2]` | — | subnet-c |" in markdown
    assert "aaaa" not in markdown and "bbbb" not in markdown and "cccc" not in markdown


FAKE_PLAN = """import json, sys
stack = sys.argv[1]
if stack == "good":
    print(json.dumps({"resources": [], "outputs": {"vpcId": "vpc-1"}, "cost": {"total": 1.0}}))
elif stack == "violating":
    print(json.dumps({"resources": [], "outputs": {}, "cost": {"total": 2.0}, "policy": []}))
    sys.exit(EXIT)
elif stack == "crashing":
    print("evaluating ...", file=sys.stderr)
    raise ValueError("boom")
else:
    sys.exit("no such stack: " + stack)
"""


def test_each_stack_of_a_tree_is_planned_in_one_process_with_its_own_outcome(
    tmp_path: Path,
) -> None:
    """tools/planbatch.py runs the tree's own tools/plan.py per stack, as `python -m` would."""
    (tmp_path / "tools").mkdir()
    (tmp_path / "tools" / "__init__.py").write_text("")
    (tmp_path / "tools" / "plan.py").write_text(
        FAKE_PLAN.replace("EXIT", str(EXIT_MANDATORY_VIOLATION))
    )
    stacks = ["good", "violating", "crashing", "unknown", "absent"]
    for stack in stacks[:-1]:
        (tmp_path / f"Pulumi.{stack}.yaml").write_text("config: {}\n")
    results = plandiff.run_plans(tmp_path, stacks, "BASE main")
    assert results["good"].plan == {
        "resources": [],
        "outputs": {"vpcId": "vpc-1"},
        "cost": {"total": 1.0},
    }
    # A mandatory violation exits non-zero, yet the plan is whole and is diffed.
    assert results["violating"].plan is not None and results["violating"].plan["policy"] == []
    assert results["crashing"].plan is None
    assert "BASE main: the plan of crashing failed" in results["crashing"].problem
    assert "ValueError: boom" in results["crashing"].problem
    assert results["unknown"].plan is None
    assert "no such stack: unknown" in results["unknown"].problem
    assert results["absent"] == plandiff.PlanResult(plandiff.EMPTY_PLAN)


def test_changed_components_name_the_top_level_components_a_change_touches() -> None:
    waf = (
        "urn:pulumi:prod::webstack::webstack:edge:LoadBalancer$webstack:edge:WebAcl"
        "$aws:wafv2/webAcl:WebAcl::load-balancer-waf-acl"
    )
    provider = "urn:pulumi:prod::webstack::pulumi:providers:aws::aws"
    base = a_plan(resource(instanceClass="db.t4g.medium"), resource(provider))
    head = a_plan(resource(instanceClass="db.r6g.large"), resource(waf), resource(provider))
    diff = plandiff.diff_plans("prod", base, head)
    assert plandiff.changed_components(diff) == [
        "webstack:data:Database",
        "webstack:edge:LoadBalancer",
    ]
    assert (
        "Components changed: `webstack:data:Database`, `webstack:edge:LoadBalancer`"
        in "\n".join(plandiff.render_stack(diff))
    )
    assert plandiff.changed_components(plandiff.diff_plans("prod", base, base)) == []
