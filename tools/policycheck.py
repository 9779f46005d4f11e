"""`make policy STACK=…`: the CrossGuard pack's verdict on a stack, without the Pulumi CLI.

Does what `pulumi preview --policy-pack policies --policy-pack-config policies/config/<stack>.json`
does with the pack: starts `policies/__main__.py` the way the CLI's `pulumi-analyzer-policy-python`
shim does (`python -u -m pulumi.policy <engine-address> .` in the pack's folder, stack and project
in the environment), reads the port it prints, then speaks the analyzer gRPC protocol to it:
Handshake, ConfigureStack, GetAnalyzerInfo, Configure (the config file reconciled with the
policies' schema defaults, as the CLI does), Analyze for every resource and AnalyzeStack with
all of them. The resources are those the real program registers under the mock cloud.

`check(evaluation, stack)` returns the violations; `Analyzer` keeps one pack process for many
checks (the tests start it once per session).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any

import grpc
from google.protobuf import empty_pb2, json_format, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from components.config import is_preview_stack
from tools.mockcloud import PROJECT, Evaluation, Resource
from tools.preview.derive import derive

ROOT = Path(__file__).resolve().parent.parent
PACK_DIR = ROOT / "policies"
CONFIG_DIR = PACK_DIR / "config"
# pulumi.policy parses the engine address but (as of pulumi 3.272) never dials it: violations
# travel in the Analyze responses. An address nothing listens on makes any future dependency on
# an engine fail loudly instead of silently.
ENGINE_ADDRESS = "127.0.0.1:0"
LEVELS = ("advisory", "mandatory", "remediate", "disabled")
# The policy whose allowed domains a preview's config gets from the preview's name.
CORS_DOMAINS = "cors-origins-within-domains"
_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "array": (list,),
    "object": (dict,),
}
_GRPC_OPTIONS = [("grpc.max_receive_message_length", 400 * 1024 * 1024)]


class PolicyConfigError(Exception):
    """A policy config file the CLI would reject (or that names no real policy or setting)."""


@dataclass(frozen=True)
class Violation:
    """One diagnostic of the pack, as the CLI reports it (and `make plan --json` lists it)."""

    policy: str
    enforcement: str
    """`mandatory` (blocks `pulumi up`) or `advisory`: what the configured level made it."""
    urn: str
    """The resource's URN; empty for a stack-wide finding without one."""
    message: str
    """The policy's description, then what exactly is wrong."""

    @property
    def mandatory(self) -> bool:
        return self.enforcement == "mandatory"


@dataclass(frozen=True)
class PolicySetting:
    """What Configure sends for one policy."""

    level: str
    properties: dict[str, Any]


def load_policy_config(stack: str) -> dict[str, Any]:
    """`policies/config/<stack>.json`, the file CI passes as --policy-pack-config.

    Every preview stack shares `preview.json`, completed with what follows its name: CORS
    origins only within its own domain (the preview workflow writes the result out as
    `policies/config/pr-<n>.json`, `python -m tools.preview policy-config pr-<n>`).
    """
    if is_preview_stack(stack):
        config = _read_policy_config("preview")
        cors = config.setdefault(CORS_DOMAINS, {})
        if not isinstance(cors, dict) or "allowedDomains" in cors:
            raise PolicyConfigError(
                f"{CONFIG_DIR / 'preview.json'}: {CORS_DOMAINS}.allowedDomains follows each "
                "preview's domain; remove it there"
            )
        cors["allowedDomains"] = [derive(stack).config[f"{PROJECT}:domain"]]
        return config
    return _read_policy_config(stack)


def _read_policy_config(name: str) -> dict[str, Any]:
    path = CONFIG_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError as e:
        raise PolicyConfigError(f"no policy config for stack {name!r}: {path}") from e
    except ValueError as e:
        raise PolicyConfigError(f"{path}: not JSON: {e}") from e
    if not isinstance(data, dict):
        raise PolicyConfigError(f"{path}: must be a JSON object of policy name -> settings")
    return data


def _schema_problems(policy: str, key: str, value: Any, spec: Mapping[str, Any]) -> list[str]:
    where = f"{policy}.{key}"
    kind = spec.get("type")
    if kind in _JSON_TYPES:
        # bool is an int in Python but not in JSON; JSON numbers may arrive as floats.
        fits = isinstance(value, _JSON_TYPES[kind]) and (
            kind == "boolean" or not isinstance(value, bool)
        )
        if kind == "integer" and isinstance(value, float):
            fits = value.is_integer()
        if not fits:
            return [f"{where}: must be a {kind}, got {value!r}"]
    problems = []
    if "enum" in spec and value not in spec["enum"]:
        problems.append(
            f"{where}: must be one of {', '.join(map(str, spec['enum']))}, got {value!r}"
        )
    if "minimum" in spec and isinstance(value, (int, float)) and value < spec["minimum"]:
        problems.append(f"{where}: must be >= {spec['minimum']}, got {value!r}")
    if "maximum" in spec and isinstance(value, (int, float)) and value > spec["maximum"]:
        problems.append(f"{where}: must be <= {spec['maximum']}, got {value!r}")
    if kind == "array" and "items" in spec:
        for i, item in enumerate(value):
            problems += _schema_problems(policy, f"{key}[{i}]", item, spec["items"])
    return problems


def reconcile(
    info: analyzer_pb2.AnalyzerInfo, given: Mapping[str, Any]
) -> dict[str, PolicySetting]:
    """The CLI's ReconcilePolicyPackConfig: schema defaults, then `all`, then each policy.

    Stricter than the CLI in one way: a policy or setting the pack does not have is an error,
    so a typo in a config file cannot silently leave a rule at its default.
    """
    schemas = {
        p.name: json_format.MessageToDict(p.configSchema).get("properties", {})
        for p in info.policies
    }
    result = {
        p.name: PolicySetting(
            analyzer_pb2.EnforcementLevel.Name(p.enforcementLevel).lower(),
            {k: s["default"] for k, s in schemas[p.name].items() if "default" in s},
        )
        for p in info.policies
    }
    problems: list[str] = []

    def level_of(name: str, value: Any) -> str | None:
        if value is None:
            return None
        if value not in LEVELS:
            problems.append(f"{name}: enforcement level must be one of {', '.join(LEVELS)}")
            return None
        return str(value)

    if "all" in given:
        level = level_of("all", given["all"] if isinstance(given["all"], str) else None)
        if level:
            result = {n: PolicySetting(level, s.properties) for n, s in result.items()}
    for name, value in given.items():
        if name == "all":
            continue
        if name not in result:
            problems.append(f"{name}: no such policy in pack {info.name}")
            continue
        settings = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        level = level_of(name, settings.pop("enforcementLevel", None))
        for key, prop in settings.items():
            if key not in schemas[name]:
                problems.append(
                    f"{name}.{key}: no such setting (known: {', '.join(schemas[name]) or 'none'})"
                )
            else:
                problems += _schema_problems(name, key, prop, schemas[name][key])
        current = result[name]
        result[name] = PolicySetting(level or current.level, {**current.properties, **settings})
    if problems:
        raise PolicyConfigError("invalid policy pack config:\n  - " + "\n  - ".join(problems))
    return result


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect,
        ignoreChanges=resource.options["ignoreChanges"],
        deleteBeforeReplace=resource.options["deleteBeforeReplace"],
        deleteBeforeReplaceDefined=resource.options["deleteBeforeReplace"],
        additionalSecretOutputs=resource.options["additionalSecretOutputs"],
        aliases=resource.options["aliases"],
        customTimeouts=analyzer_pb2.AnalyzerResourceOptions.CustomTimeouts(),
        parent=resource.parent,
    )


def _provider(
    resource: Resource, by_urn: Mapping[str, Resource]
) -> analyzer_pb2.AnalyzerProviderResource | None:
    provider = by_urn.get(resource.provider_urn)
    if provider is None:
        return None
    return analyzer_pb2.AnalyzerProviderResource(
        type=provider.type, properties=provider.raw_inputs, urn=provider.urn, name=provider.name
    )


def _described(resource: Resource, by_urn: Mapping[str, Resource]) -> dict[str, Any]:
    """What both Analyze and AnalyzeStack are told about a resource."""
    return {
        "type": resource.type,
        "properties": resource.raw_inputs,
        "urn": resource.urn,
        "name": resource.name,
        "options": _options(resource),
        "provider": _provider(resource, by_urn),
    }


class Analyzer:
    """The policy pack running as a separate process, spoken to over gRPC like the CLI does."""

    def __init__(self, stack: str, pack_dir: Path = PACK_DIR) -> None:
        # Lives as long as the process; closed in close().
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115
        env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
        env.update(PULUMI_PROJECT=PROJECT, PULUMI_STACK=stack, PULUMI_DRY_RUN="true")
        # The CLI's shim: `<virtualenv>/bin/python -u -m pulumi.policy <engine> .` in the pack.
        self._process = subprocess.Popen(
            [sys.executable, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS, "."],
            cwd=pack_dir,
            env=env,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().decode().strip()
        if not port.isdigit():
            output = self.stderr()
            self.close()
            raise RuntimeError(f"policy pack did not start (printed {port!r}):\n{output}")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=_GRPC_OPTIONS)
        self._stub = analyzer_pb2_grpc.AnalyzerStub(self._channel)
        try:
            self._stub.Handshake(
                analyzer_pb2.AnalyzerHandshakeRequest(
                    engine_address=ENGINE_ADDRESS,
                    root_directory=str(pack_dir),
                    program_directory=str(pack_dir),
                )
            )
        except grpc.RpcError as e:
            if e.code() != grpc.StatusCode.UNIMPLEMENTED:  # the CLI tolerates exactly this
                raise
        self._stub.ConfigureStack(
            analyzer_pb2.AnalyzerStackConfigureRequest(stack=stack, project=PROJECT, dry_run=True)
        )
        self.info: analyzer_pb2.AnalyzerInfo = self._stub.GetAnalyzerInfo(empty_pb2.Empty())

    def stderr(self) -> str:
        self._stderr.seek(0)
        return self._stderr.read().decode(errors="replace")

    def configure(self, given: Mapping[str, Any]) -> None:
        """Reconcile a policy config file's content with the pack's defaults and send it."""
        settings = reconcile(self.info, given)
        request = analyzer_pb2.ConfigureAnalyzerRequest()
        for name, setting in settings.items():
            properties = struct_pb2.Struct()
            properties.update(setting.properties)
            request.policyConfig[name].CopyFrom(
                analyzer_pb2.PolicyConfig(
                    enforcementLevel=analyzer_pb2.EnforcementLevel.Value(setting.level.upper()),
                    properties=properties,
                )
            )
        self._stub.Configure(request)

    def analyze(self, resources: Iterable[Resource]) -> list[Violation]:
        """Analyze each resource and AnalyzeStack over all of them; every diagnostic, the
        resources' own in their order, then the stack's.

        Every request is sent at once (the pack serves four at a time): this process builds the
        next requests while the pack judges the first ones, instead of waiting for each answer
        in turn. Should one fail, the others are cancelled, so a pack kept for later checks is
        not left working through them.
        """
        resources = list(resources)
        by_urn = {r.urn: r for r in resources}
        stack = self._stub.AnalyzeStack.future(
            analyzer_pb2.AnalyzeStackRequest(
                resources=[
                    analyzer_pb2.AnalyzerResource(
                        **_described(r, by_urn),
                        parent=r.parent,
                        dependencies=r.dependencies,
                        propertyDependencies={
                            key: analyzer_pb2.AnalyzerPropertyDependencies(urns=urns)
                            for key, urns in r.property_dependencies.items()
                            if urns
                        },
                    )
                    for r in resources
                ]
            )
        )
        each = [
            (r, self._stub.Analyze.future(analyzer_pb2.AnalyzeRequest(**_described(r, by_urn))))
            for r in resources
        ]
        try:
            diagnostics = [
                analyzer_pb2.AnalyzeDiagnostic(**{**_fields(d), "urn": d.urn or r.urn})
                for r, answer in each
                for d in answer.result().diagnostics
            ]
            diagnostics += stack.result().diagnostics
        finally:
            for _, answer in each:
                answer.cancel()
            stack.cancel()
        return [
            Violation(
                policy=d.policyName,
                enforcement=analyzer_pb2.EnforcementLevel.Name(d.enforcementLevel).lower(),
                urn=d.urn,
                message=d.message,
            )
            for d in diagnostics
        ]

    def check(self, evaluation: Evaluation, config: Mapping[str, Any]) -> list[Violation]:
        """Configure with `config` (a policy config file's content) and analyze the evaluation."""
        self.configure(config)
        return self.analyze(evaluation.resources)

    def close(self) -> None:
        if getattr(self, "_channel", None) is not None:
            self._channel.close()
        if self._process.poll() is None:
            self._process.terminate()
            self._process.wait(timeout=10)
        if self._process.stdout is not None:
            self._process.stdout.close()
        self._stderr.close()

    def __enter__(self) -> Analyzer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _fields(diagnostic: analyzer_pb2.AnalyzeDiagnostic) -> dict[str, Any]:
    return {f.name: v for f, v in diagnostic.ListFields()}


def check(
    evaluation: Evaluation, stack: str | None = None, config: Mapping[str, Any] | None = None
) -> list[Violation]:
    """The pack's violations for an evaluation, with the stack's policy config file by default."""
    stack = stack or evaluation.stack
    given = load_policy_config(stack) if config is None else config
    with Analyzer(stack) as analyzer:
        return analyzer.check(evaluation, given)


def render(violations: Sequence[Violation], evaluation: Evaluation) -> list[str]:
    """`Policy: N mandatory, M advisory`, then each violation with its resource and message."""
    by_urn = {r.urn: r for r in evaluation.resources}
    mandatory = sum(v.mandatory for v in violations)
    lines = [f"Policy: {mandatory} mandatory, {len(violations) - mandatory} advisory"]
    for v in sorted(violations, key=lambda v: (not v.mandatory, v.policy, v.urn)):
        resource = by_urn.get(v.urn)
        where = f"{resource.type} {resource.name}" if resource else (v.urn or "the stack")
        lines.append(f"  [{v.enforcement}] {v.policy} ({where})")
        lines += [f"      {line}" for line in v.message.splitlines()]
    return lines


def main(argv: list[str] | None = None) -> int:
    from components.config import ConfigError
    from tools.mockcloud import evaluate
    from tools.stackfile import StackFileError

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stack")
    parser.add_argument("--config", type=Path, help="policy config file (default: the stack's)")
    args = parser.parse_args(argv)
    try:
        given = (
            json.loads(args.config.read_text()) if args.config else load_policy_config(args.stack)
        )
        evaluation = evaluate(args.stack)
        violations = check(evaluation, args.stack, given)
    except (ConfigError, PolicyConfigError, StackFileError) as e:
        print(e, file=sys.stderr)
        return 2
    print("\n".join(render(violations, evaluation)))
    return 1 if any(v.mandatory for v in violations) else 0


if __name__ == "__main__":
    sys.exit(main())
