"""docs/runbooks/alarm-fired.md, generated: every alarm of the committed stacks, what it means,
where to look and which config key tunes it.

The alarms are read off the evaluated program (the MetricAlarm, RDS event subscription and
budget resources each stack registers, and the topics' subscriptions), so the page lists exactly
what `pulumi up` creates; the description is the catalog's (components/alarm_catalog.py,
components/data_alarms.py, components/edge_alarms.py), the one a notification carries. Which
`webstack:alarms.*` key tunes an alarm is read from the catalog function that defines it: the
`AlarmThresholds` fields it uses (`t.db_cpu_percent` -> `webstack:alarms.dbCpuPercent`),
matched by the definition's `key`.
"""

from __future__ import annotations

import ast
import inspect
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from components import alarm_catalog, data_alarms, edge_alarms
from tools.configdoc import Key
from tools.mockcloud import Evaluation, Resource

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
EVENTS = "aws:rds/eventSubscription:EventSubscription"
BUDGET = "aws:budgets/budget:Budget"
TOPIC = "aws:sns/topic:Topic"
SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
CATALOGS: tuple[ModuleType, ...] = (alarm_catalog, data_alarms, edge_alarms)
COMPARISONS = {
    "GreaterThanThreshold": ">",
    "GreaterThanOrEqualToThreshold": ">=",
    "LessThanThreshold": "<",
    "LessThanOrEqualToThreshold": "<=",
}


@dataclass(frozen=True)
class CatalogEntry:
    """One alarm definition function of the catalog: the keys it makes and what tunes it."""

    function: str
    key_pattern: re.Pattern[str]
    threshold_fields: tuple[str, ...]

    @property
    def specificity(self) -> int:
        """How much of the key is literal text (a literal key beats an f-string's pattern)."""
        return len(self.key_pattern.pattern.replace(".+", ""))


@dataclass
class AlarmRow:
    """One alarm (a numbered family such as `cache-memory-<n>` counts once) across stacks."""

    key: str
    severity: str = ""
    description: str = ""
    signal: str = ""
    fires: dict[str, str] = field(default_factory=dict)
    """Stack -> when it fires there."""
    count: dict[str, int] = field(default_factory=dict)
    tuned_by: list[str] = field(default_factory=list)


def _pattern(node: ast.expr) -> str | None:
    """A regex for a definition's `key=`: a literal, or an f-string whose parts are any text."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return re.escape(node.value)
    if isinstance(node, ast.JoinedStr):
        return "".join(
            ".+" if isinstance(part, ast.FormattedValue) else re.escape(str(part.value))  # type: ignore[attr-defined]
            for part in node.values
        )
    return None


def catalog_entries(modules: Sequence[ModuleType] = CATALOGS) -> list[CatalogEntry]:
    """Every function that returns an `AlarmDefinition(key=...)`, with the threshold fields
    (attributes of its `AlarmThresholds` parameter) it reads."""
    entries = []
    for module in modules:
        tree = ast.parse(inspect.getsource(module))
        for function in tree.body:
            if not isinstance(function, ast.FunctionDef):
                continue
            thresholds = [
                a.arg
                for a in function.args.args
                if a.annotation is not None and ast.unparse(a.annotation) == "AlarmThresholds"
            ]
            used = sorted(
                {
                    node.attr
                    for node in ast.walk(function)
                    if isinstance(node, ast.Attribute)
                    and isinstance(node.value, ast.Name)
                    and node.value.id in thresholds
                }
            )
            for call in ast.walk(function):
                if isinstance(call, ast.Call) and ast.unparse(call.func) == "AlarmDefinition":
                    for keyword in call.keywords:
                        pattern = _pattern(keyword.value) if keyword.arg == "key" else None
                        if pattern:
                            entries.append(
                                CatalogEntry(function.name, re.compile(f"^{pattern}$"), tuple(used))
                            )
    return entries


def _definitions_of(key: str, entries: Sequence[CatalogEntry]) -> list[CatalogEntry]:
    """The catalog entries that make the alarm `key`: the most specific match (a literal
    `db-cpu` over the pattern `<label>-cpu`)."""
    matching = [e for e in entries if e.key_pattern.match(key)]
    best = max((e.specificity for e in matching), default=0)
    return [e for e in matching if e.specificity == best]


def _normal(name: str) -> str:
    return name.replace("_", "").lower()


def config_key_of(threshold_field: str, keys: Mapping[str, Key]) -> str:
    """The `webstack:alarms.*` key that sets an `AlarmThresholds` field."""
    for key in keys:
        if key.startswith("webstack:alarms.") and _normal(key.rsplit(".", 1)[1]) == _normal(
            threshold_field
        ):
            return key
    raise LookupError(f"no webstack:alarms key sets AlarmThresholds.{threshold_field}")


def _family(key: str) -> str:
    """`cache-memory-2` -> `cache-memory-<n>`: one row for the alarms of every node."""
    return re.sub(r"-\d+$", "-<n>", key)


def _number(value: Any) -> str:
    number = float(value)
    return f"{int(number):,}" if number.is_integer() else f"{number:g}"


def _signal(inputs: Mapping[str, Any]) -> str:
    if inputs.get("metricName"):
        stat = inputs.get("extendedStatistic") or inputs.get("statistic")
        return f"`{inputs['namespace']}` {inputs['metricName']} ({stat})"
    for query in inputs.get("metricQueries", []):
        if query.get("expression"):
            return f"{query.get('label')}: `{query['expression']}`"
    return "—"


def _fires(inputs: Mapping[str, Any]) -> str:
    comparison = COMPARISONS.get(inputs.get("comparisonOperator", ""), "?")
    periods = int(inputs.get("evaluationPeriods", 1))
    needed = int(inputs.get("datapointsToAlarm") or periods)
    period = inputs.get("period")
    if period is None:  # metric math: the period sits on the queries
        period = next(
            (q["metric"]["period"] for q in inputs.get("metricQueries", []) if q.get("metric")),
            60,
        )
    window = f"{needed} of {periods} × {int(period)} s" if needed != periods else ""
    window = window or f"{periods} × {int(period)} s"
    return f"{comparison} {_number(inputs['threshold'])} in {window}"


def alarm_rows(evaluations: Mapping[str, Evaluation], keys: Mapping[str, Key]) -> list[AlarmRow]:
    entries = catalog_entries()
    rows: dict[str, AlarmRow] = {}
    for stack, evaluation in evaluations.items():
        assert evaluation.config is not None
        prefix = f"{evaluation.config.name_prefix}-"
        for alarm in sorted(evaluation.of_type(ALARM), key=lambda r: r.inputs["name"]):
            key = alarm.inputs["name"].removeprefix(prefix)
            row = rows.setdefault(_family(key), AlarmRow(_family(key)))
            severity, _, description = alarm.inputs["alarmDescription"].partition("] ")
            row.severity = severity.lstrip("[")
            # A numbered family's description names its node: show the first one's.
            if not row.description or stack == "prod":
                row.description = re.sub(r"\b(node|replica) \d+\b", r"\1 <n>", description)
            row.signal = _signal(alarm.inputs)
            row.fires[stack] = _fires(alarm.inputs)
            row.count[stack] = row.count.get(stack, 0) + 1
            for entry in _definitions_of(key, entries):
                for name in entry.threshold_fields:
                    config_key = config_key_of(name, keys)
                    if config_key not in row.tuned_by:
                        row.tuned_by.append(config_key)
    return sorted(rows.values(), key=lambda r: (r.severity != "critical", r.key))


def _topic_names(evaluation: Evaluation) -> dict[str, str]:
    """Topic ARN -> `critical` / `warning` (the topic's name without the stack prefix)."""
    assert evaluation.config is not None
    prefix = f"{evaluation.config.name_prefix}-"
    return {
        str(t.outputs.get("arn")): str(t.inputs["name"]).removeprefix(prefix)
        for t in evaluation.of_type(TOPIC)
    }


def _subscriber(subscription: Resource) -> str:
    if "endpoint" in subscription.secret_inputs:
        return f"{subscription.inputs['protocol']} endpoint (secret)"
    return f"{subscription.inputs['protocol']} `{subscription.inputs['endpoint']}`"


def subscribers(evaluation: Evaluation) -> dict[str, list[str]]:
    """Topic (`critical`, `warning`, per region) -> who it reaches."""
    names = _topic_names(evaluation)
    found: dict[str, list[str]] = {}
    for sub in evaluation.of_type(SUBSCRIPTION):
        topic = names.get(str(sub.inputs["topic"]), str(sub.inputs["topic"]))
        region = str(sub.inputs["topic"]).split(":")[3]
        found.setdefault(f"{topic} ({region})", []).append(_subscriber(sub))
    return {k: sorted(set(v)) for k, v in sorted(found.items())}


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render(evaluations: Mapping[str, Evaluation], keys: Mapping[str, Key]) -> str:
    stacks = list(evaluations)
    lines = [
        "# Runbook: an alarm fired",
        "",
        "<!-- Generated by `make docs` (tools/alarmdoc.py) from the alarm catalog",
        "     (components/alarm_catalog.py, components/data_alarms.py,",
        "     components/edge_alarms.py) and the evaluated stacks: edit the catalog, not this",
        "     file. -->",
        "",
        "Every alarm notifies its topic when it fires **and** when it recovers. Its name is",
        "`webstack-<env>-<alarm>`; its description (the notification's text) opens with its",
        "severity and says what to check first. `critical` pages (prod: the on-call rotation);",
        "`warning` goes to the team's inbox. Staging has the same alarms and thresholds, but its",
        "critical topic reaches only the team inbox.",
        "",
        "## First five minutes",
        "",
        "1. Which alarms are firing, and since when: `aws cloudwatch describe-alarms",
        "   --state-value ALARM --alarm-name-prefix webstack-prod-`",
        "   and `aws cloudwatch describe-alarm-history --alarm-name <name> --history-item-type"
        " StateUpdate`.",
        "2. The dashboard `webstack-<env>` (`pulumi stack output dashboardName`) shows traffic,",
        "   errors, latency and saturation of the API, worker, database, cache and CDN, what",
        "   Route 53's checkers see and the certificates' days to expiry, next to the state of",
        "   every alarm.",
        "3. Was there a release? `pulumi stack history` and the ECS service events:",
        "   `aws ecs describe-services --cluster $(pulumi stack output clusterName) --services"
        " $(pulumi stack output apiServiceName)`.",
        "   A bad release: [roll it back](rollback-release.md).",
        "4. Logs: `aws logs tail /ecs/webstack-<env>/api --since 30m` (the worker:",
        "   `/ecs/webstack-<env>/worker`; migrations: `/aws/lambda/$(pulumi stack output"
        " migrationFunctionName)`).",
        "5. Then the row below for the alarm; several firing at once usually share one cause",
        "   (the database first: the API's latency, 5xx and health checks follow it).",
        "",
        "## The alarms",
        "",
        "`<n>`: one alarm per cache node or read replica. *Fires when* is CloudWatch's",
        "comparison: the threshold, and how many datapoints of what period must breach.",
        "",
        "| alarm | severity | what it means, what to check first | signal | fires when "
        f"({' / '.join(stacks)}) | tuned by |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for row in alarm_rows(evaluations, keys):
        fires = [row.fires.get(stack, "not created") for stack in stacks]
        shown = fires[0] if len(set(fires)) == 1 else " / ".join(fires)
        cells = [
            f"`{row.key}`",
            row.severity,
            row.description,
            row.signal,
            shown,
            "<br>".join(f"`{k}`" for k in row.tuned_by) or "—",
        ]
        lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
    lines += [
        "",
        "The 5xx rate and unhealthy-hosts alarms are also the API service's deployment alarms:",
        "while a deployment runs, ECS rolls it back when either fires (and the deployment",
        "circuit breaker rolls back tasks that never become healthy).",
        "",
        "`api-unreachable` and `frontend-unreachable` watch Route 53's health checks of",
        "`https://api.<domain>/api/health` and `https://<domain>/` from outside AWS; what they",
        "request, from where and after how many failures is `webstack:uptime`. When one fires:",
        "[the site is down](site-down.md).",
        "",
        "## RDS events",
        "",
        "| subscription | events | topic |",
        "| --- | --- | --- |",
    ]
    seen: set[tuple[str, str, str]] = set()
    for evaluation in evaluations.values():
        assert evaluation.config is not None
        names = _topic_names(evaluation)
        prefix = f"{evaluation.config.name_prefix}-"
        for sub in sorted(evaluation.of_type(EVENTS), key=lambda r: r.name):
            row_key = (
                str(sub.inputs["name"]).removeprefix(prefix),
                ", ".join(sub.inputs["eventCategories"]),
                names.get(str(sub.inputs["snsTopic"]), "?"),
            )
            if row_key not in seen:
                seen.add(row_key)
                lines.append(f"| `{row_key[0]}` | {row_key[1]} | {row_key[2]} |")
    lines += [
        "",
        "A `failover` event: the standby took over; see [RDS failover](rds-failover.md).",
        "",
        "## The budget",
        "",
    ]
    for stack, evaluation in evaluations.items():
        for budget in evaluation.of_type(BUDGET):
            alerts = sorted(
                {
                    f"{n['notificationType'].lower()} > {_number(n['threshold'])} %"
                    for n in budget.inputs.get("notifications", [])
                }
            )
            lines.append(
                f"- {stack}: `{budget.inputs['name']}`, ${_number(budget.inputs['limitAmount'])}"
                f" a month (`webstack:alarms.monthlyBudgetUsd`); alerts at {', '.join(alerts)}"
                " to the warning topic."
            )
    lines += [
        "",
        "When it fires: [the budget alarm fired](budget-alarm.md).",
        "",
        "## Who is told",
        "",
        "Subscribers per topic (`webstack:alarms.criticalEmails`, `warningEmails`,",
        "`criticalHttpsEndpoint`, `warningHttpsEndpoint`). An email subscriber must confirm",
        "the subscription from the email AWS sends after the first `pulumi up`; until then it",
        "receives nothing (`aws sns list-subscriptions-by-topic --topic-arn $(pulumi stack",
        "output criticalTopicArn)` shows `PendingConfirmation`).",
        "",
    ]
    for stack, evaluation in evaluations.items():
        lines.append(f"- **{stack}**")
        for topic, who in subscribers(evaluation).items():
            lines.append(f"  - {topic}: {', '.join(who)}")
    lines.append("")
    return "\n".join(lines)
