"""The offline Pulumi plan as the Terraform plan JSON that Checkov's `terraform_plan` reads.

pulumi-aws is bridged from the Terraform AWS provider, so a resource maps onto the Terraform
resource it wraps and its inputs onto that resource's arguments:

- the type: `aws:<module>/<x>:<Name>` -> `aws_<module>_<name in snake case>`
  (`aws:cloudwatch/logGroup:LogGroup` -> `aws_cloudwatch_log_group`), except where the bridge
  names it otherwise (`TERRAFORM_TYPES`: `aws:rds/instance:Instance` -> `aws_db_instance`);
- argument names: camelCase -> snake_case; an object becomes a one-element block list (as
  Terraform writes a block with at most one item); a list of objects takes the block's singular
  name (`defaultActions` -> `default_action`), because the bridge pluralised it;
- maps (tags, environment variables) keep their keys;
- JSON-string inputs that Terraform also accepts as blocks (the WAF ACL's `ruleJson`) are
  expanded into those blocks, so Checkov's checks on `rule` see them;
- a value that came from another resource's output (Pulumi's property dependencies) becomes a
  reference `<type>.<name>.<attribute>`, as a fresh Terraform plan leaves it unknown and Checkov
  substitutes the reference; `configuration.root_module.resources[].expressions` lists the
  references too. Checkov's graph checks (a WAF association and its ALB, a bucket and its
  policy, public-access block, versioning, encryption) follow them.

Components and providers are not resources in Terraform's sense and are left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from tools import cost, plan
from tools.cost_assumptions import CostAssumptions
from tools.mockcloud import Evaluation

# What Checkov reads of the header; any 1.x format and a Terraform 1.x version are accepted.
FORMAT_VERSION = "1.2"
TERRAFORM_VERSION = "1.9.0"

# The bridge's Terraform names where they are not `<package>_<module>_<name>` (pulumi-aws
# provider/resources.go): the classic EC2 and VPC resources carry no module prefix, the RDS
# instance family keeps Terraform's `db_` prefix, the load balancer is plain `aws_lb`, and the
# random provider's names already start with the package.
TERRAFORM_TYPES: dict[str, str] = {
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "aws_default_security_group",
    "aws:ec2/eip:Eip": "aws_eip",
    "aws:ec2/flowLog:FlowLog": "aws_flow_log",
    "aws:ec2/instance:Instance": "aws_instance",
    "aws:ec2/internetGateway:InternetGateway": "aws_internet_gateway",
    "aws:ec2/launchTemplate:LaunchTemplate": "aws_launch_template",
    "aws:ec2/natGateway:NatGateway": "aws_nat_gateway",
    "aws:ec2/networkAcl:NetworkAcl": "aws_network_acl",
    "aws:ec2/route:Route": "aws_route",
    "aws:ec2/routeTable:RouteTable": "aws_route_table",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "aws_route_table_association",
    "aws:ec2/securityGroup:SecurityGroup": "aws_security_group",
    "aws:ec2/securityGroupRule:SecurityGroupRule": "aws_security_group_rule",
    "aws:ec2/subnet:Subnet": "aws_subnet",
    "aws:ec2/vpc:Vpc": "aws_vpc",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "aws_vpc_endpoint",
    "aws:lb/loadBalancer:LoadBalancer": "aws_lb",
    "aws:rds/eventSubscription:EventSubscription": "aws_db_event_subscription",
    "aws:rds/instance:Instance": "aws_db_instance",
    "aws:rds/optionGroup:OptionGroup": "aws_db_option_group",
    "aws:rds/parameterGroup:ParameterGroup": "aws_db_parameter_group",
    "aws:rds/snapshot:Snapshot": "aws_db_snapshot",
    "aws:rds/subnetGroup:SubnetGroup": "aws_db_subnet_group",
    "random:index/randomId:RandomId": "random_id",
    "random:index/randomPassword:RandomPassword": "random_password",
}
# Arguments Pulumi renamed beyond the case change.
RENAMED_ARGUMENTS: dict[str, dict[str, str]] = {
    "aws_lambda_function": {"code": "filename", "code_sha256": "source_code_hash"},
}
# Map-typed inputs: their keys are data (tag keys, variable names), not argument names. A dict
# whose keys are not all camelCase identifiers is a map too, whatever its name.
MAP_INPUTS = frozenset({"tags", "tagsAll", "variables", "dimensions", "keepers", "triggers"})
# Block lists Terraform itself names in the plural, so the singular rule must not touch them.
PLURAL_BLOCKS = frozenset({"items", "redacted_fields"})
# JSON-string inputs Checkov reads as blocks: (Terraform type, JSON argument) -> block name.
# The JSON is in the AWS API's shape (PascalCase), which the same rules turn into blocks.
JSON_BLOCKS: dict[tuple[str, str], str] = {
    ("aws_wafv2_web_acl", "rule_json"): "rule",
    ("aws_wafv2_rule_group", "rule_json"): "rule",
}
# AWS API names whose Terraform argument is not their plain snake case.
API_NAMES = {"CloudWatchMetricsEnabled": "cloudwatch_metrics_enabled"}

_CAMEL_IDENTIFIER = re.compile(r"^[a-z][a-zA-Z0-9]*$")
_WORD_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_ADDRESS_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")
# Outputs a reference names first when several hold the same value, as Terraform code would.
_PREFERRED_ATTRIBUTES = ("id", "arn")


class ConversionError(ValueError):
    """The plan holds something the converter cannot express as a Terraform plan."""


@dataclass(frozen=True)
class PlanResource:
    """One custom resource of the offline plan, with what the converter needs beyond its inputs."""

    urn: str
    type: str
    name: str
    inputs: Mapping[str, Any]
    """As `make plan --json` prints them: secrets masked, assets as their path."""
    outputs: Mapping[str, Any] = field(default_factory=dict)
    """What the mock cloud answered: the values other resources' inputs may have come from."""
    property_dependencies: Mapping[str, Sequence[str]] = field(default_factory=dict)
    """Per input, the URNs of the resources its value came from."""


def snake_case(name: str) -> str:
    """`cidrIpv4` -> `cidr_ipv4`, `IPSetReferenceStatement` -> `ip_set_reference_statement`."""
    return API_NAMES.get(name) or _WORD_BOUNDARY.sub("_", name).lower()


def singular(name: str) -> str:
    """The singular of a block list's name. Hand-written because the bridge's plurals are all
    regular English ones (`policies`, `addresses`, `rules`); a dependency would be heavier."""
    if name in PLURAL_BLOCKS or name.endswith(("ss", "us")):
        return name
    if name.endswith("ies"):
        return name[: -len("ies")] + "y"
    if name.endswith(("sses", "ches", "shes", "xes")):
        return name[: -len("es")]
    return name.removesuffix("s")


def terraform_type(pulumi_type: str) -> str:
    """The Terraform resource type the bridged provider wraps for a Pulumi type token."""
    if pulumi_type in TERRAFORM_TYPES:
        return TERRAFORM_TYPES[pulumi_type]
    try:
        package, module_path, name = pulumi_type.split(":")
    except ValueError:
        raise ConversionError(f"not a Pulumi resource type token: {pulumi_type!r}") from None
    module = module_path.split("/")[0]
    prefix = f"{package}_" if module == "index" else f"{package}_{module.lower()}_"
    return prefix + snake_case(name)


def _is_map(key: str, value: Mapping[str, Any]) -> bool:
    return key in MAP_INPUTS or not all(_CAMEL_IDENTIFIER.match(k) for k in value)


def _plain_number(value: Any) -> Any:
    # The mock runtime hands every number back as a float; Terraform writes integers as such.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _map_value(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _map_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_value(v) for v in value]
    return _plain_number(value)


def arguments(
    inputs: Mapping[str, Any], rename: Mapping[str, str] | None = None, *, api: bool = False
) -> dict[str, Any]:
    """Pulumi inputs (or, with `api`, an AWS API JSON object) as Terraform arguments."""
    out: dict[str, Any] = {}
    for key, value in inputs.items():
        name = snake_case(key)
        name = (rename or {}).get(name, name)
        if isinstance(value, Mapping):
            if not api and _is_map(key, value):
                out[name] = _map_value(value)
            else:
                out[name] = [arguments(value, api=api)]
        elif isinstance(value, list) and any(isinstance(v, Mapping) for v in value):
            out[singular(name)] = [
                arguments(v, api=api) if isinstance(v, Mapping) else _plain_number(v) for v in value
            ]
        else:
            out[name] = _map_value(value)
    return out


def _expand_json_blocks(tf_type: str, values: dict[str, Any], where: str) -> None:
    for (block_type, argument), block in JSON_BLOCKS.items():
        if block_type != tf_type or argument not in values:
            continue
        try:
            items = json.loads(values.pop(argument))
        except (TypeError, json.JSONDecodeError) as exc:
            raise ConversionError(f"{where}: {argument} is not JSON: {exc}") from None
        if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
            raise ConversionError(f"{where}: {argument} is not a JSON list of objects")
        values[block] = [arguments(item, api=True) for item in items]


class _References:
    """Which output of which resource each dependent value came from."""

    def __init__(self, resources: Sequence[PlanResource], addresses: Mapping[str, str]) -> None:
        self._outputs = {r.urn: r.outputs for r in resources}
        self._addresses = addresses

    def candidates(self, urns: Iterable[str]) -> dict[str, str]:
        """Output value -> `<address>.<attribute>` for the given resources' string outputs."""
        found: dict[str, str] = {}
        for urn in urns:
            if urn not in self._addresses:
                continue  # a component or provider: nothing Terraform could reference
            outputs = self._outputs[urn]
            keys = sorted(outputs, key=lambda k: (k not in _PREFERRED_ATTRIBUTES, k))
            for key in keys:
                value = outputs[key]
                if isinstance(value, str) and value:
                    found.setdefault(value, f"{self._addresses[urn]}.{snake_case(key)}")
        return found


def _substitute(value: Any, candidates: Mapping[str, str], used: list[str]) -> Any:
    """`value` with each string that is one of the outputs replaced by its reference."""
    if isinstance(value, str) and value in candidates:
        used.append(candidates[value])
        return candidates[value]
    if isinstance(value, list):
        return [_substitute(v, candidates, used) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, candidates, used) for k, v in value.items()}
    return value


def terraform_names(resources: Sequence[PlanResource]) -> dict[str, tuple[str, str]]:
    """URN -> (Terraform type, name), names made unique per type and safe for an address."""
    taken: set[tuple[str, str]] = set()
    out: dict[str, tuple[str, str]] = {}
    for r in resources:
        tf_type = terraform_type(r.type)
        name = _ADDRESS_UNSAFE.sub("_", r.name)
        if not re.match(r"^[A-Za-z_]", name):
            name = "_" + name
        base, n = name, 1
        while (tf_type, name) in taken:
            # Pulumi allows one name under different parents; Terraform needs one per type.
            n += 1
            name = f"{base}_{n}"
        taken.add((tf_type, name))
        out[r.urn] = (tf_type, name)
    return out


def convert(resources: Sequence[PlanResource]) -> dict[str, Any]:
    """The Terraform plan JSON (format 1.x) for the given custom resources."""
    names = terraform_names(resources)
    addresses = {urn: f"{t}.{n}" for urn, (t, n) in names.items()}
    references = _References(resources, addresses)
    planned: list[dict[str, Any]] = []
    configured: list[dict[str, Any]] = []
    for r in resources:
        tf_type, name = names[r.urn]
        where = f"{r.type} {r.name}"
        values = arguments(r.inputs, RENAMED_ARGUMENTS.get(tf_type))
        _expand_json_blocks(tf_type, values, where)
        expressions: dict[str, Any] = {}
        for key, urns in sorted(r.property_dependencies.items()):
            candidates = references.candidates(urns)
            if not candidates:
                continue
            tf_key = next((k for k in values if k in _argument_names(key, tf_type)), None)
            if tf_key is None:
                continue
            used: list[str] = []
            values[tf_key] = _substitute(values[tf_key], candidates, used)
            # Terraform lists the attribute reference, then the resource itself.
            refs = list(dict.fromkeys(used or [next(iter(candidates.values()))]))
            refs += list(dict.fromkeys(ref.rsplit(".", 1)[0] for ref in refs))
            expressions[tf_key] = {"references": refs}
        address = addresses[r.urn]
        planned.append(
            {
                "address": address,
                "mode": "managed",
                "type": tf_type,
                "name": name,
                "provider_name": f"registry.terraform.io/hashicorp/{tf_type.split('_')[0]}",
                "schema_version": 0,
                "values": values,
            }
        )
        configured.append(
            {"address": address, "mode": "managed", "type": tf_type, "name": name}
            | ({"expressions": expressions} if expressions else {})
        )
    return {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_VERSION,
        "planned_values": {"root_module": {"resources": planned}},
        "configuration": {"root_module": {"resources": configured}},
    }


def _argument_names(pulumi_key: str, tf_type: str) -> set[str]:
    """The Terraform arguments a Pulumi input can have become (renamed, singular, expanded)."""
    name = snake_case(pulumi_key)
    name = RENAMED_ARGUMENTS.get(tf_type, {}).get(name, name)
    return {name, singular(name), JSON_BLOCKS.get((tf_type, name), name)}


def plan_resources(evaluation: Evaluation) -> list[PlanResource]:
    """The custom resources of an evaluated stack, with inputs exactly as `make plan --json`
    prints them (secrets masked), except providers, which Terraform does not plan."""
    # Only the inputs are read; the cost lines the plan carries do not matter here.
    printed = plan.plan_json(evaluation, cost.estimate(evaluation.resources, CostAssumptions()))
    inputs = {r["urn"]: r["inputs"] for r in printed["resources"]}
    return [
        PlanResource(
            urn=r.urn,
            type=r.type,
            name=r.name,
            inputs=inputs[r.urn],
            outputs=r.outputs,
            property_dependencies=r.property_dependencies,
        )
        for r in evaluation.resources
        if r.custom and not r.type.startswith("pulumi:providers:")
    ]
