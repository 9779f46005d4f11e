"""The pictures in docs/architecture.md, drawn from the evaluated program (`make diagram`).

Four views per stack, each a Graphviz graph built from what `tools.mockcloud.evaluate` records
(every resource, its parent component, its dependencies and the property each one came
through):

- **components**: each top-level component a cluster (nested components inside it) with its
  main resources; an arrow from a component to each one it takes inputs from;
- **request path**: DNS record -> CloudFront / ALB -> WAF -> listener -> target group -> API
  service -> database and cache (the last hop read off the security-group rules);
- **release order**: what `pulumi up` does in order when a release changes (migrations, then
  the services, then what depends on them), with what each step waits for;
- **paging**: alarms, RDS events and the budget -> SNS topics -> subscribers.

Graphviz from Debian renders them (`dot -Tsvg`); the `diagrams` package was not used: it draws
the same Graphviz graphs with provider icons that its SVGs reference as PNG files by absolute
path inside site-packages, so the output would neither render on GitHub nor be the same on two
machines. DOT is written here directly (a few lines of quoting) rather than through the
`graphviz` package, to keep the tooling's dependencies as they are. Output is deterministic:
nodes and edges sorted, ids from URNs, and the one line naming the Graphviz version removed.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tools.mockcloud import Evaluation, Resource
from tools.stackfile import ROOT

OUTPUT_DIR = ROOT / "docs" / "diagrams"
VIEWS = ("components", "request-path", "release-order", "paging")
FONT = "Helvetica"

# What a node shows of a resource, per type: a short kind and the inputs worth a glance.
MAIN_TYPES: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws:ec2/vpc:Vpc": ("VPC", ("cidrBlock",)),
    "aws:ec2/subnet:Subnet": ("subnet", ()),
    "aws:ec2/natGateway:NatGateway": ("NAT gateway", ()),
    "aws:ec2/internetGateway:InternetGateway": ("internet gateway", ()),
    "aws:ec2/vpcEndpoint:VpcEndpoint": ("VPC endpoint", ()),
    "aws:ec2/flowLog:FlowLog": ("flow log", ()),
    "aws:ec2/securityGroup:SecurityGroup": ("security group", ()),
    "aws:kms/key:Key": ("KMS key", ()),
    "aws:secretsmanager/secret:Secret": ("secret", ()),
    "random:index/randomPassword:RandomPassword": ("generated password", ()),
    "aws:rds/instance:Instance": ("RDS PostgreSQL", ("instanceClass", "multiAz")),
    "aws:elasticache/replicationGroup:ReplicationGroup": (
        "ElastiCache",
        ("engine", "nodeType", "numCacheClusters"),
    ),
    "aws:acm/certificate:Certificate": ("ACM certificate", ()),
    "aws:lb/loadBalancer:LoadBalancer": ("ALB", ()),
    "aws:lb/listener:Listener": ("listener", ()),
    "aws:lb/listenerRule:ListenerRule": ("listener rule", ()),
    "aws:lb/targetGroup:TargetGroup": ("target group", ()),
    "aws:wafv2/webAcl:WebAcl": ("WAF web ACL", ("scope",)),
    "aws:s3/bucket:Bucket": ("S3 bucket", ()),
    "aws:s3/bucketObjectv2:BucketObjectv2": ("S3 object", ()),
    "aws:cloudfront/distribution:Distribution": ("CloudFront", ("priceClass",)),
    "aws:cloudfront/function:Function": ("CloudFront function", ()),
    "cloudflare:index/dnsRecord:DnsRecord": ("Cloudflare DNS record", ()),
    "cloudflare:index/zoneSetting:ZoneSetting": ("zone setting", ()),
    "aws:sns/topic:Topic": ("SNS topic", ()),
    "aws:sns/topicSubscription:TopicSubscription": ("subscription", ()),
    "aws:cloudwatch/metricAlarm:MetricAlarm": ("alarm", ()),
    "aws:cloudwatch/dashboard:Dashboard": ("dashboard", ()),
    "aws:budgets/budget:Budget": ("budget", ("limitAmount",)),
    "aws:rds/eventSubscription:EventSubscription": ("RDS event subscription", ()),
    "aws:lambda/function:Function": ("Lambda", ("runtime", "architectures")),
    "aws:lambda/invocation:Invocation": ("invocation during up", ()),
    "aws:ecr/repository:Repository": ("ECR repository", ()),
    "aws:ecs/cluster:Cluster": ("ECS cluster", ()),
    "aws:ecs/service:Service": ("ECS service", ()),
    "aws:ecs/taskDefinition:TaskDefinition": ("task definition", ()),
    "aws:appautoscaling/target:Target": ("autoscaling", ("minCapacity", "maxCapacity")),
}
# The steps of a release, in the order `pulumi up` reaches them.
RELEASE_TYPES = (
    "aws:lambda/invocation:Invocation",
    "aws:ecs/service:Service",
    "aws:s3/bucketObjectv2:BucketObjectv2",
    "aws:cloudfront/invalidation:Invalidation",
)
# What a release step waits for that is worth drawing (not subnets, groups, roles, ...).
PREREQUISITE_TYPES = (
    "aws:rds/instance:Instance",
    "aws:lambda/function:Function",
    "aws:ecs/taskDefinition:TaskDefinition",
    "aws:lb/targetGroup:TargetGroup",
    "aws:lb/listener:Listener",
    "aws:lb/listenerRule:ListenerRule",
    "aws:cloudwatch/metricAlarm:MetricAlarm",
)
# Same kind of step, more than this many: one node with a count (a frontend build's files).
GROUP_ABOVE = 3
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"


def quote(text: str) -> str:
    """A DOT string literal."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def node_id(key: str) -> str:
    return "n" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass
class Graph:
    """A DOT graph assembled in any order and written sorted (deterministic output)."""

    name: str
    rankdir: str = "LR"
    nodes: dict[str, dict[str, str]] = field(default_factory=dict)
    edges: dict[tuple[str, str], dict[str, str]] = field(default_factory=dict)
    clusters: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Cluster id -> {label, parent cluster id, node ids}."""

    def node(self, key: str, label: str, cluster: str = "", **attrs: str) -> str:
        nid = node_id(key)
        self.nodes[nid] = {"label": label, **attrs}
        if cluster:
            self.clusters[cluster]["nodes"].add(nid)
        return nid

    def edge(self, a: str, b: str, **attrs: str) -> None:
        if a != b:
            self.edges.setdefault((a, b), {}).update(attrs)

    def cluster(self, key: str, label: str, parent: str = "") -> str:
        cid = "cluster_" + node_id(key)
        self.clusters.setdefault(cid, {"label": label, "parent": parent, "nodes": set()})
        return cid

    def dot(self) -> str:
        lines = [
            f"digraph {quote(self.name)} {{",
            f"  graph [rankdir={self.rankdir}, fontname={quote(FONT)}, fontsize=12, "
            "compound=true, nodesep=0.25, ranksep=0.5];",
            f'  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", '
            f"fontname={quote(FONT)}, fontsize=10];",
            f'  edge [fontname={quote(FONT)}, fontsize=9, color="#555555"];',
        ]
        clustered = {n for c in self.clusters.values() for n in c["nodes"]}

        def emit(parent: str, indent: str) -> None:
            for cid in sorted(c for c, v in self.clusters.items() if v["parent"] == parent):
                spec = self.clusters[cid]
                lines.append(f"{indent}subgraph {cid} {{")
                lines.append(
                    f'{indent}  label={quote(spec["label"])}; style="rounded"; color="#8899aa";'
                )
                for nid in sorted(spec["nodes"]):
                    lines.append(f"{indent}  {nid} [{_attrs(self.nodes[nid])}];")
                emit(cid, indent + "  ")
                lines.append(f"{indent}}}")

        emit("", "  ")
        for nid in sorted(set(self.nodes) - clustered):
            lines.append(f"  {nid} [{_attrs(self.nodes[nid])}];")
        for (a, b), attrs in sorted(self.edges.items()):
            lines.append(f"  {a} -> {b}" + (f" [{_attrs(attrs)}]" if attrs else "") + ";")
        lines.append("}")
        return "\n".join(lines) + "\n"


def _attrs(attrs: Mapping[str, str]) -> str:
    return ", ".join(f"{k}={quote(v)}" for k, v in sorted(attrs.items()))


# -- reading the evaluation ------------------------------------------------------------------


class Program:
    """An evaluation indexed for drawing: URNs, top-level components, dependencies."""

    def __init__(self, evaluation: Evaluation) -> None:
        self.evaluation = evaluation
        self.by_urn = {r.urn: r for r in evaluation.resources}

    def parent(self, r: Resource) -> Resource | None:
        return self.by_urn.get(r.parent)

    def component_path(self, r: Resource) -> list[Resource]:
        """The components around `r`, outermost first."""
        path: list[Resource] = []
        parent = self.parent(r)
        while parent is not None:
            path.insert(0, parent)
            parent = self.parent(parent)
        return path

    def top(self, r: Resource) -> Resource | None:
        path = self.component_path(r) if r.custom else [*self.component_path(r), r]
        return path[0] if path else None

    def depends_on(self, r: Resource) -> set[str]:
        found = set(r.dependencies)
        for urns in r.property_dependencies.values():
            found.update(urns)
        return {u for u in found if u in self.by_urn}

    def via(self, r: Resource, *properties: str) -> list[Resource]:
        """The resources `r` took the given inputs from."""
        urns = {u for p in properties for u in r.property_dependencies.get(p, [])}
        return sorted((self.by_urn[u] for u in urns if u in self.by_urn), key=lambda x: x.urn)

    def of_type(self, type_: str) -> list[Resource]:
        return sorted(self.evaluation.of_type(type_), key=lambda r: r.urn)

    def ancestors_closure(self, r: Resource) -> set[str]:
        """Every resource `r` waits for, directly or not."""
        seen: set[str] = set()
        stack = list(self.depends_on(r))
        while stack:
            urn = stack.pop()
            if urn not in seen:
                seen.add(urn)
                stack.extend(self.depends_on(self.by_urn[urn]))
        return seen


def _kind(r: Resource) -> str:
    return MAIN_TYPES.get(r.type, (r.type.rsplit(":", 1)[-1], ()))[0]


def _settings(r: Resource) -> list[str]:
    shown = []
    for key in MAIN_TYPES.get(r.type, ("", ()))[1]:
        value = r.inputs.get(key)
        if value is None:
            continue
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, list):
            value = ",".join(map(str, value))
        shown.append(f"{key}={value}")
    return shown


def _label(r: Resource, title: str = "") -> str:
    return "\n".join([title or r.name, _kind(r), *_settings(r)])


# -- the views -------------------------------------------------------------------------------


def components_view(program: Program) -> Graph:
    graph = Graph(f"{program.evaluation.stack} components")
    tops: dict[str, Resource] = {}
    groups: dict[tuple[str, str], list[Resource]] = {}
    cluster_of: dict[str, str] = {}
    for r in sorted(program.evaluation.resources, key=lambda x: x.urn):
        if not r.custom:
            path = [*program.component_path(r), r]
            parent_cluster = ""
            for component in path:
                cid = graph.cluster(
                    component.urn, f"{component.name}\n{component.type}", parent_cluster
                )
                cluster_of[component.urn] = cid
                parent_cluster = cid
            tops[path[0].urn] = path[0]
            continue
        if r.type in MAIN_TYPES and r.parent in program.by_urn:
            groups.setdefault((r.parent, r.type), []).append(r)
    supporting: dict[str, int] = {}
    for r in program.evaluation.resources:
        if r.custom and r.type not in MAIN_TYPES and r.parent in program.by_urn:
            supporting[r.parent] = supporting.get(r.parent, 0) + 1
    anchors: dict[str, str] = {}
    for (parent, type_), members in sorted(groups.items()):
        first = members[0]
        label = _label(first) if len(members) == 1 else f"{_kind(first)} ×{len(members)}"
        nid = graph.node(f"{parent}/{type_}", label, cluster_of[parent])
        top = program.top(first)
        if top is not None:
            anchors.setdefault(top.urn, nid)
    for parent, count in sorted(supporting.items()):
        spec = graph.clusters[cluster_of[parent]]
        spec["label"] += f"\n(+{count} more: IAM, logs, rules, policies, ...)"
    # A component -> each component it takes inputs from (arrows point at the provider).
    uses: set[tuple[str, str]] = set()
    for r in program.evaluation.resources:
        mine = program.top(r)
        for urn in program.depends_on(r):
            theirs = program.top(program.by_urn[urn])
            if mine and theirs and mine.urn != theirs.urn:
                uses.add((mine.urn, theirs.urn))
    for a, b in sorted(uses):
        if a in anchors and b in anchors:
            graph.edge(
                anchors[a],
                anchors[b],
                ltail=cluster_of[a],
                lhead=cluster_of[b],
                color="#aab4c0",
            )
    return graph


def _sg_users(program: Program) -> dict[str, list[Resource]]:
    """Security group URN -> the data-tier resources and services it is attached to."""
    users: dict[str, list[Resource]] = {}
    for r in program.evaluation.resources:
        for sg in program.via(
            r, "vpcSecurityGroupIds", "securityGroupIds", "networkConfiguration", "vpcConfig"
        ):
            if sg.type == "aws:ec2/securityGroup:SecurityGroup":
                users.setdefault(sg.urn, []).append(r)
    return users


def _record_title(r: Resource) -> str:
    return str(r.inputs.get("name", r.name)) if r.type == DNS_RECORD else ""


def _origin_paths(distribution: Resource, origin_id: str) -> str:
    """The path patterns a distribution sends to an origin (`default` for the rest)."""
    paths = [
        str(b.get("pathPattern"))
        for b in distribution.inputs.get("orderedCacheBehaviors", [])
        if b.get("targetOriginId") == origin_id
    ]
    default = distribution.inputs.get("defaultCacheBehavior", {})
    if default.get("targetOriginId") == origin_id:
        paths.append("default")
    return "origin: " + ", ".join(paths) if paths else "origin"


def request_path_view(program: Program) -> Graph:
    graph = Graph(f"{program.evaluation.stack} request path")
    users = graph.node("users", "users\n(browsers, API clients)", shape="ellipse")

    def add(r: Resource, title: str = "") -> str:
        return graph.node(r.urn, _label(r, title))

    acl_of = {
        a.urn: acl
        for assoc in program.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
        for a in program.via(assoc, "resourceArn")
        for acl in program.via(assoc, "webAclArn")
    }
    for dist in program.of_type("aws:cloudfront/distribution:Distribution"):
        for acl in program.via(dist, "webAclId"):
            acl_of[dist.urn] = acl

    def entry(r: Resource) -> str:
        """The node a request reaches first at `r`: its WAF when it has one."""
        node = add(r)
        if r.urn in acl_of:
            graph.edge(node, add(acl_of[r.urn]), label="inspected by")
        return node

    def after_waf(r: Resource) -> str:
        return add(acl_of[r.urn]) if r.urn in acl_of else add(r)

    for record in program.of_type(DNS_RECORD):
        targets = [t for t in program.via(record, "content") if not t.type.startswith("aws:acm")]
        if not targets:
            continue  # certificate validation records: not on a request's way
        rec = add(record, _record_title(record))
        graph.edge(users, rec)
        for target in targets:
            graph.edge(rec, entry(target))
    records = {str(r.inputs.get("name")): r for r in program.of_type(DNS_RECORD)}
    for dist in program.of_type("aws:cloudfront/distribution:Distribution"):
        # An origin is a domain name: a resource the distribution took it from, or a record
        # in our DNS (the API's hostname, which leads back to the ALB).
        known = {
            str(value): r
            for r in program.via(dist, "origins")
            for value in r.outputs.values()
            if isinstance(value, str)
        }
        for origin in dist.inputs.get("origins", []):
            domain = str(origin.get("domainName"))
            found = known.get(domain) or records.get(domain)
            if found is not None:
                paths = _origin_paths(dist, str(origin.get("originId")))
                graph.edge(after_waf(dist), add(found, _record_title(found)), label=paths)
    for listener in program.of_type("aws:lb/listener:Listener"):
        port = listener.inputs.get("port")
        title = f"{listener.name}\n{listener.inputs.get('protocol')} :{int(port or 0)}"
        node = add(listener, title)
        for alb in program.via(listener, "loadBalancerArn"):
            graph.edge(after_waf(alb), node)
        forwards = program.via(listener, "defaultActions")
        for target in forwards:
            graph.edge(node, add(target), label="forward")
        if not forwards and "redirect" in str(listener.inputs.get("defaultActions")):
            graph.edge(node, node_id(f"{listener.urn}/redirect"), label="301 to https")
            graph.node(f"{listener.urn}/redirect", "redirect to HTTPS", shape="note")
    for rule in program.of_type("aws:lb/listenerRule:ListenerRule"):
        for listener in program.via(rule, "listenerArn"):
            # The listener's node exists already, with its port in the label.
            graph.edge(node_id(listener.urn), add(rule))
        for target in program.via(rule, "actions"):
            graph.edge(add(rule), add(target), label="forward")
    sg_users = _sg_users(program)
    egress = program.of_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    for service in program.of_type("aws:ecs/service:Service"):
        # Its load balancer block also names the rules and the role a traffic-shifting
        # strategy uses; the request reaches the service through the target groups.
        groups = [
            r
            for r in program.via(service, "loadBalancers")
            if r.type == "aws:lb/targetGroup:TargetGroup"
        ]
        if not groups:
            continue  # not behind the load balancer: not on a request's way
        node = add(service)
        for tg in groups:
            graph.edge(add(tg), node)
        own = {sg.urn for sg in program.via(service, "networkConfiguration")}
        for rule in egress:
            if not own & {sg.urn for sg in program.via(rule, "securityGroupId")}:
                continue
            for sg in program.via(rule, "referencedSecurityGroupId"):
                for data in sg_users.get(sg.urn, []):
                    if data.type.startswith(("aws:rds/", "aws:elasticache/")):
                        port = int(rule.inputs.get("fromPort", 0))
                        graph.edge(node, add(data), label=f"tcp {port}")
    return graph


def release_order_view(program: Program) -> Graph:
    graph = Graph(f"{program.evaluation.stack} release order")
    steps = [r for t in RELEASE_TYPES for r in program.of_type(t)]
    closure = {r.urn: program.ancestors_closure(r) for r in steps}
    kinds: dict[tuple[str, str], list[Resource]] = {}
    for r in steps:
        component = program.top(r)
        kinds.setdefault((component.urn if component else "", r.type), []).append(r)
    node_of: dict[str, str] = {}
    for (component_urn, type_), members in sorted(kinds.items()):
        if len(members) > GROUP_ABOVE:
            nid = graph.node(
                f"{component_urn}/{type_}", f"{_kind(members[0])} ×{len(members)}", penwidth="2"
            )
            node_of.update({m.urn: nid for m in members})
        else:
            for m in members:
                node_of[m.urn] = graph.node(m.urn, _label(m), penwidth="2")
    # Step b follows step a when b waits for a and no other step sits between them.
    for b in steps:
        before = [a for a in steps if a.urn in closure[b.urn]]
        for a in before:
            between = any(a.urn in closure[c.urn] for c in before if c is not a)
            if not between:
                graph.edge(node_of[a.urn], node_of[b.urn], penwidth="2")
    # What the first steps wait for, among the main resources (gray, dashed).
    for r in steps:
        for dep in sorted((program.by_urn[u] for u in program.depends_on(r)), key=lambda d: d.urn):
            if dep.type in PREREQUISITE_TYPES:
                waits = graph.node(dep.urn, _label(dep), style="rounded,dashed", color="#8899aa")
                graph.edge(waits, node_of[r.urn], style="dashed", color="#aab4c0")
    return graph


def paging_view(program: Program) -> Graph:
    graph = Graph(f"{program.evaluation.stack} paging")
    topics = {t.urn: t for t in program.of_type("aws:sns/topic:Topic")}
    topic_node = {
        urn: graph.node(urn, f"{t.inputs.get('name')}\nSNS topic", fillcolor="#fff4d6")
        for urn, t in topics.items()
    }
    sources: dict[tuple[str, str], list[str]] = {}

    def source(r: Resource, label: str, *properties: str) -> None:
        for topic in program.via(r, *properties):
            if topic.urn in topics:
                top = program.top(r)
                sources.setdefault((top.name if top else "", topic.urn), []).append(label)

    assert program.evaluation.config is not None
    prefix = f"{program.evaluation.config.name_prefix}-"
    for alarm in program.of_type("aws:cloudwatch/metricAlarm:MetricAlarm"):
        source(alarm, str(alarm.inputs.get("name")).removeprefix(prefix), "alarmActions")
    for events in program.of_type("aws:rds/eventSubscription:EventSubscription"):
        categories = ", ".join(events.inputs.get("eventCategories", []))
        source(events, f"RDS events: {categories}", "snsTopic")
    for budget in program.of_type("aws:budgets/budget:Budget"):
        source(budget, f"budget {budget.inputs.get('name')}", "notifications")
    for (component, topic_urn), labels in sorted(sources.items()):
        names = sorted(set(labels))
        nid = graph.node(
            f"{component}/{topic_urn}", "\n".join([f"{component}:", *names]), shape="note"
        )
        graph.edge(nid, topic_node[topic_urn])
    for sub in program.of_type("aws:sns/topicSubscription:TopicSubscription"):
        for topic in program.via(sub, "topic"):
            if "endpoint" in sub.secret_inputs:
                who = f"{sub.inputs.get('protocol')} endpoint\n(secret)"
            else:
                who = f"{sub.inputs.get('protocol')}\n{sub.inputs.get('endpoint')}"
            person = graph.node(f"subscriber/{who}", who, shape="ellipse")
            graph.edge(topic_node[topic.urn], person)
    return graph


BUILDERS = {
    "components": components_view,
    "request-path": request_path_view,
    "release-order": release_order_view,
    "paging": paging_view,
}


def dot_sources(evaluations: Mapping[str, Evaluation]) -> dict[str, str]:
    """`<stack>-<view>` -> DOT source, for every stack and view."""
    out = {}
    for stack, evaluation in evaluations.items():
        program = Program(evaluation)
        for view in VIEWS:
            out[f"{stack}-{view}"] = BUILDERS[view](program).dot()
    return out


# -- rendering -------------------------------------------------------------------------------

# `<!-- Generated by graphviz version 2.43.0 (0)\n -->`: two lines, the only version-dependent text.
_VERSION_COMMENT = re.compile(r"<!-- Generated by graphviz version [^>]*-->\n")


def dot_binary() -> str | None:
    return shutil.which("dot")


def render_svg(source: str, dot: str = "dot") -> str:
    """The SVG of a DOT source, without the line that names the Graphviz version."""
    svg = subprocess.run(
        [dot, "-Tsvg"], input=source, capture_output=True, text=True, check=True
    ).stdout
    return _VERSION_COMMENT.sub("", svg)


def files(evaluations: Mapping[str, Evaluation], with_svg: bool) -> dict[Path, str]:
    """Every diagram file: `docs/diagrams/<stack>-<view>.dot`, and `.svg` when asked."""
    out: dict[Path, str] = {}
    for name, source in dot_sources(evaluations).items():
        out[OUTPUT_DIR / f"{name}.dot"] = source
        if with_svg:
            out[OUTPUT_DIR / f"{name}.svg"] = render_svg(source)
    return out
