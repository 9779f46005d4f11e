"""The generated docs are current, and every page's outputs, keys and links exist.

Drift tests (terraform-docs' idea): each generated file under docs/ is regenerated from the
code and compared with the committed one; a difference fails with the command that fixes it.
"""

from __future__ import annotations

import difflib
import itertools
import re
from pathlib import Path
from typing import Any

import pytest

from components.config import AlarmThresholds
from tests.helpers import evaluated
from tools import alarmdoc, configdoc, diagram, docs
from tools.mockcloud import Evaluation
from tools.stackfile import ROOT, read_stack_file

DOC_FILES = sorted(
    [
        ROOT / "README.md",
        ROOT / "CONTRIBUTING.md",
        ROOT / "migrations" / "README.md",
        ROOT / "policies" / "README.md",
        *(ROOT / "docs").rglob("*.md"),
    ]
)


@pytest.fixture(scope="module")
def ordered(evaluations: dict[str, Evaluation]) -> dict[str, Evaluation]:
    """The committed stacks in the order the generators use (staging before prod)."""
    return {stack: evaluations[stack] for stack in configdoc.ordered_stacks()}


@pytest.fixture(scope="module")
def keys() -> dict[str, configdoc.Key]:
    return configdoc.gather()


def _assert_current(path: Path, generated: str) -> None:
    committed = path.read_text() if path.is_file() else ""
    if committed != generated:
        diff = difflib.unified_diff(
            committed.splitlines(), generated.splitlines(), "committed", "generated", lineterm=""
        )
        excerpt = "\n".join(list(diff)[:30])
        pytest.fail(
            f"{path.relative_to(ROOT)} differs from what the code generates: "
            f"run `{docs.REGENERATE}` and commit the result\n{excerpt}",
            pytrace=False,
        )


def test_generated_pages_are_current(ordered: dict[str, Evaluation]) -> None:
    for path, text in docs.text_files(ordered).items():
        _assert_current(path, text)


def test_diagram_sources_are_current(ordered: dict[str, Evaluation]) -> None:
    for path, text in diagram.files(ordered, with_svg=False).items():
        _assert_current(path, text)


def test_diagram_svgs_are_current(ordered: dict[str, Evaluation]) -> None:
    if diagram.dot_binary() is None:
        pytest.skip("Graphviz's dot is not installed (tools/install-system-deps installs it)")
    for path, text in diagram.files(ordered, with_svg=True).items():
        if path.suffix == ".svg":
            assert "graphviz version" not in text
            _assert_current(path, text)


# -- the configuration reference ----------------------------------------------------------


def _leaf_paths(value: Any, path: str) -> list[str]:
    if isinstance(value, dict) and value and set(value) != {"secure"}:
        return [p for k, v in value.items() for p in _leaf_paths(v, f"{path}.{k}")]
    return [path]


def test_every_key_of_the_stack_files_is_documented(keys: dict[str, configdoc.Key]) -> None:
    for stack in configdoc.ordered_stacks():
        config = read_stack_file(stack)["config"]
        for top, value in config.items():
            if not top.startswith("webstack:"):
                continue
            for path in _leaf_paths(value, top):
                parts = path.split(".")
                prefixes = {".".join(parts[:n]) for n in range(1, len(parts) + 1)}
                assert prefixes & set(keys), f"{path} ({stack}) is not in the reference"
    assert configdoc.undocumented(keys) == []


def test_rules_defaults_and_values_come_from_the_readers(keys: dict[str, configdoc.Key]) -> None:
    reference = configdoc.render(keys)

    def row(key: str) -> str:
        return next(line for line in reference.splitlines() if line.startswith(f"| `{key}` |"))

    assert "Must be >= 30 in prod." in row("webstack:database.backupRetentionDays")
    assert "Must be >= 2 in prod" in row("webstack:api.minCapacity")
    assert "Must be >= minCapacity." in row("webstack:api.maxCapacity")
    assert "`desiredCount`'s value" in row("webstack:worker.maxCapacity")
    assert "staging: `staging`; prod: `prod`" in row("webstack:environment")
    # The rule of a loop over two keys lands on those keys, not on the loop before it.
    assert "must be a secret" in row("webstack:alarms.criticalHttpsEndpoint")
    assert "must be a secret" not in row("webstack:alarms.criticalEmails")
    # Bounds and choices as the getters pass them; values from both stack files.
    assert "`single` · `per_az` · `none`" in row("webstack:network.natStrategy")
    assert "| `single` | `per_az` |" in row("webstack:network.natStrategy")
    assert "3653" in row("webstack:api.logRetentionDays")


def test_rule_text_drops_what_the_user_gave() -> None:
    assert configdoc.rule_text("must be >= minCapacity (…), got …") == "must be >= minCapacity"
    assert configdoc.rule_text("prefix must be between /16 and /24, got /…") == (
        "prefix must be between /16 and /24"
    )


# -- the alarm runbook ---------------------------------------------------------------------


def test_every_threshold_tunes_a_cataloged_alarm() -> None:
    used = {f for entry in alarmdoc.catalog_entries() for f in entry.threshold_fields}
    assert used == set(AlarmThresholds.__dataclass_fields__)


def test_every_alarm_of_every_stack_is_on_the_page(
    ordered: dict[str, Evaluation], keys: dict[str, configdoc.Key]
) -> None:
    page = alarmdoc.render(ordered, keys)
    rows = {row.key: row for row in alarmdoc.alarm_rows(ordered, keys)}
    for stack, evaluation in ordered.items():
        for alarm in evaluation.of_type(alarmdoc.ALARM):
            key = re.sub(r"-\d+$", "-<n>", alarm.inputs["name"].split(f"webstack-{stack}-")[1])
            assert f"| `{key}` |" in page
    assert rows["db-cpu"].tuned_by == ["webstack:alarms.dbCpuPercent"]
    assert set(rows["api-5xx-rate"].tuned_by) == {
        "webstack:alarms.api5xxRatePercent",
        "webstack:alarms.api5xxMinRequests",
    }
    assert rows["cache-memory-<n>"].count == {"staging": 1, "prod": 3}


# -- the diagrams --------------------------------------------------------------------------


def _edges(graph: diagram.Graph) -> set[tuple[str, str]]:
    first = {nid: attrs["label"].split("\n")[0] for nid, attrs in graph.nodes.items()}
    return {(first[a], first[b]) for a, b in graph.edges}


def test_request_path_follows_the_program(ordered: dict[str, Evaluation]) -> None:
    edges = _edges(diagram.request_path_view(diagram.Program(ordered["prod"])))
    path = [
        "api.example.com",
        "load-balancer-alb",
        "load-balancer-waf-acl",
        "load-balancer-https",
        "load-balancer-api",
        "app-api",
        "database-primary",
    ]
    assert set(itertools.pairwise(path)) <= edges
    assert ("app-api", "cache-group") in edges
    # Prod's distribution has a web ACL (edge.cdnWaf) in front of its bucket.
    assert {("frontend-cdn", "frontend-waf-acl"), ("frontend-waf-acl", "frontend-bucket")} <= edges
    assert not any(b == "app-worker" for _, b in edges)  # no request reaches the worker


def test_request_path_through_the_cdn_when_the_api_is_served_there() -> None:
    evaluation = evaluated("staging", {"webstack:edge": _edge_with(apiViaCdn=True)})
    graph = diagram.request_path_view(diagram.Program(evaluation))
    first = {nid: attrs["label"].split("\n")[0] for nid, attrs in graph.nodes.items()}
    labelled = {(first[a], first[b], attrs.get("label")) for (a, b), attrs in graph.edges.items()}
    # The CDN's WAF, then /api/* back through the API's DNS name to the ALB.
    assert ("frontend-cdn", "frontend-waf-acl", "inspected by") in labelled
    assert ("frontend-waf-acl", "api.staging.example.com", "origin: /api/*") in labelled
    assert ("api.staging.example.com", "load-balancer-alb", None) in labelled


def _edge_with(**changes: Any) -> dict[str, Any]:
    edge = dict(read_stack_file("staging")["config"]["webstack:edge"])
    edge.update(changes)
    return edge


def test_release_order_runs_migrations_before_the_services(
    ordered: dict[str, Evaluation],
) -> None:
    edges = _edges(diagram.release_order_view(diagram.Program(ordered["prod"])))
    assert {("migrations-run", "app-api"), ("migrations-run", "app-worker")} <= edges
    assert ("load-balancer-https", "app-api") in edges  # ECS needs the forwarding listener


def test_paging_reaches_the_subscribers(ordered: dict[str, Evaluation]) -> None:
    graph = diagram.paging_view(diagram.Program(ordered["prod"]))
    labels = {attrs["label"] for attrs in graph.nodes.values()}
    assert "email\noncall@example.com" in labels
    critical = next(
        n for n, a in graph.nodes.items() if a["label"].startswith("webstack-prod-critical")
    )
    sources = [graph.nodes[a]["label"] for a, b in graph.edges if b == critical]
    assert any("api-5xx-rate" in s for s in sources)


def test_dot_output_is_deterministic(ordered: dict[str, Evaluation]) -> None:
    assert diagram.dot_sources(ordered) == diagram.dot_sources(ordered)


def test_architecture_page_shows_every_diagram() -> None:
    page = (ROOT / "docs" / "architecture.md").read_text()
    shown = set(re.findall(r"\]\((diagrams/[^)]+\.svg)\)", page))
    generated = {f"diagrams/{p.name}" for p in diagram.OUTPUT_DIR.glob("*.svg")}
    assert generated and shown == generated


# -- what the pages mention exists -----------------------------------------------------------


@pytest.fixture(scope="module")
def known_outputs(ordered: dict[str, Evaluation]) -> set[str]:
    """Every output a stack can export: both stacks, and a first deploy without an image and
    without a DNS provider (`firstDeploy`, `dnsRecordsToCreate`)."""
    edge = _edge_with(dnsProvider="none")
    for key in ("cloudflareZoneId", "manageZoneSettings"):
        edge.pop(key, None)
    first = evaluated("staging", {"webstack:edge": edge, "webstack:api": _without_image()})
    return {key for e in [*ordered.values(), first] for key in e.outputs}


def _without_image() -> dict[str, Any]:
    api = dict(read_stack_file("staging")["config"]["webstack:api"])
    api.pop("imageTag")
    return api


def _mentions(pattern: str) -> list[tuple[Path, str]]:
    return [(p, m) for p in DOC_FILES for m in re.findall(pattern, p.read_text())]


def test_every_stack_output_a_page_names_exists(known_outputs: set[str]) -> None:
    mentioned = _mentions(r"pulumi stack output\s+(?:--\S+\s+)*([A-Za-z]\w*)")
    assert mentioned
    unknown = [f"{p.relative_to(ROOT)}: {m}" for p, m in mentioned if m not in known_outputs]
    assert not unknown, f"no stack exports these outputs: {unknown}"


def test_every_config_key_a_page_names_exists(keys: dict[str, configdoc.Key]) -> None:
    sections = {k.section for k in keys.values()}
    valid = set(keys) | sections

    def known(key: str) -> bool:
        parts = key.rstrip(".").split(".")
        return any(".".join(parts[:n]) in valid for n in range(1, len(parts) + 1))

    named = _mentions(r"(webstack:[A-Za-z][\w.]*)(?![\w:-])")
    named += [(p, f"webstack:{m}") for p, m in _mentions(r"--path '?([A-Za-z][\w]*(?:\.[\w<>]+)*)")]
    assert named
    unknown = [f"{p.relative_to(ROOT)}: {m}" for p, m in named if not known(m)]
    assert not unknown, f"no reader reads these keys: {unknown}"


def test_relative_links_resolve() -> None:
    broken = []
    for page in DOC_FILES:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (page.parent / target).exists():
                broken.append(f"{page.relative_to(ROOT)} -> {target}")
    assert not broken, broken
