"""Helpers shared by the tests: config as the program parses it, bad-config assertions, and
lookups in an evaluated stack."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, StackConfig, parse_stack_config
from components.config.reader import namespace_values
from tools.mockcloud import Evaluation, evaluate
from tools.stackfile import load_stack_config, read_stack_file

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
PREFIX = "webstack:"


_EVALUATED: dict[str, Evaluation] = {}


def evaluated(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    secret_overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """`evaluate`, once per process for the same stack and overrides (under pytest-xdist, once
    per worker): a second test asking for the same variant reads the first one's result.

    Only for a test that reads the evaluation and changes nothing else the program reads (no
    monkeypatch, no edited file): the key is the stack and the overrides alone.
    """
    key = json.dumps([stack, overrides, secret_overrides], sort_keys=True)
    if key not in _EVALUATED:
        _EVALUATED[key] = evaluate(stack, overrides, secret_overrides)
    return _EVALUATED[key]


def share_evaluations(monkeypatch: pytest.MonkeyPatch) -> None:
    """Let `make plan`'s and `make policy`'s `main` evaluate through `evaluated`: a test of what
    a command prints and exits with, given a stack file nothing has changed, reads the
    evaluation the other tests share (evaluating is the subject of tests of its own)."""

    def shared(
        stack: str,
        overrides: Mapping[str, Any] | None = None,
        secret_overrides: Mapping[str, Any] | None = None,
    ) -> Evaluation:
        return evaluated(stack, overrides or None, secret_overrides or None)

    monkeypatch.setattr("tools.mockcloud.evaluate", shared)  # policycheck.main imports it late
    monkeypatch.setattr("tools.plan.evaluate", shared)


def six_zones(region: str) -> Sequence[str]:
    """A region's zones for the parser: six, as us-east-1 has (the committed stacks' region)."""
    return [f"{region}{letter}" for letter in "abcdef"]


def _full_keys(
    overrides: Mapping[str, Any] | None, webstack_overrides: Mapping[str, Any]
) -> dict[str, Any]:
    """`overrides` (full keys) and `webstack_overrides` (`webstack:` implied) as one map."""
    return {**(overrides or {}), **{PREFIX + k: v for k, v in webstack_overrides.items()}}


def _stack_config(
    stack: str,
    overrides: Mapping[str, Any] | None,
    secret_overrides: Mapping[str, Any] | None,
    webstack_overrides: Mapping[str, Any],
) -> tuple[dict[str, str], list[str]]:
    """The flat config map the engine would hand the program: the stack file plus overrides."""
    return load_stack_config(stack, _full_keys(overrides, webstack_overrides), secret_overrides)


def stack_values(stack: str, **overrides: Any) -> dict[str, Any]:
    """The stack's `webstack:*` values as the program receives them (prefix removed), with
    `overrides` of whole keys (None removes one)."""
    config, _ = _stack_config(stack, None, None, overrides)
    return namespace_values(config)


def parse(
    stack: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    secret_overrides: Mapping[str, Any] | None = None,
    region_azs: Callable[[str], Sequence[str]] = six_zones,
    **webstack_overrides: Any,
) -> StackConfig:
    """Run the pure parser on Pulumi.<stack>.yaml with overrides, as the program would.

    `webstack_overrides` replace `webstack:<key>` (None removes it); `overrides` replace full
    keys (`aws:region`); `secret_overrides` add keys marked secret, as `--secret` would.
    """
    config, secret_keys = _stack_config(stack, overrides, secret_overrides, webstack_overrides)
    return parse_stack_config(
        stack,
        namespace_values(config),
        config.get("aws:region"),
        region_azs,
        secret_keys={k.removeprefix(PREFIX) for k in secret_keys if k.startswith(PREFIX)},
        other_keys=[k for k in config if not k.startswith(PREFIX)],
    )


def parse_problems(stack: str, **kwargs: Any) -> list[str]:
    """The problems the parser reports for `stack` with overrides (see `parse`)."""
    with pytest.raises(ConfigError) as info:
        parse(stack, **kwargs)
    assert info.value.stack == stack
    return info.value.problems


def problems_of(
    stack: str,
    *,
    overrides: Mapping[str, Any] | None = None,
    secret_overrides: Mapping[str, Any] | None = None,
    **webstack_overrides: Any,
) -> list[str]:
    """Evaluate the whole program with overrides under the mock cloud; return the reported
    problems, and check that nothing was registered. Slow (seconds): for the few end-to-end
    cases; `parse_problems` checks a rejection in milliseconds."""
    from tools import mockcloud

    registered: list[Any] = []
    original = mockcloud.RecordingMonitor.RegisterResource

    def spy(self: mockcloud.RecordingMonitor, request: Any) -> Any:
        if request.type != "pulumi:pulumi:Stack":  # the mock runtime's own root
            registered.append(request.type)
        return original(self, request)

    mockcloud.RecordingMonitor.RegisterResource = spy  # type: ignore[method-assign]
    try:
        with pytest.raises(ConfigError) as info:
            evaluate(
                stack,
                overrides=_full_keys(overrides, webstack_overrides),
                secret_overrides=secret_overrides,
            )
    finally:
        mockcloud.RecordingMonitor.RegisterResource = original  # type: ignore[method-assign]
    assert registered == [], f"resources registered despite bad config: {registered}"
    assert info.value.stack == stack
    return info.value.problems


def assert_problem(problems: list[str], key: str, stack: str, *words: str) -> None:
    matching = [p for p in problems if p.startswith(f"{key} ({stack}):")]
    assert matching, f"no problem for {key} in {problems}"
    assert any(all(w in p for w in words) for p in matching), matching


def config_of(ev: Evaluation) -> StackConfig:
    """The validated config the program ran with."""
    assert ev.config is not None
    return ev.config


def sg_id(ev: Evaluation, name: str) -> str:
    """The id of the security group with logical name `name` (`workloads-api`, `database-sg`)."""
    return str(ev.one(SECURITY_GROUP, name).id)


def committed(stack: str, section: str, **changes: Any) -> dict[str, Any]:
    """A `webstack:<section>` object as Pulumi.<stack>.yaml commits it, with `changes` (None
    removes a key)."""
    values = {**read_stack_file(stack)["config"][PREFIX + section], **changes}
    return {k: v for k, v in values.items() if v is not None}


def data_key_arn(ev: Evaluation) -> str:
    """The ARN of the data tier's KMS key (secrets, database, cache, their logs)."""
    return str(ev.one("aws:kms/key:Key", "secrets-key").outputs["arn"])


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write `files` (relative path -> text) into `directory`, creating it and any
    subdirectories; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = directory / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return directory


@contextmanager
def stubbed_client(service: str, region: str) -> Iterator[tuple[Any, Any]]:
    """A real botocore client of `service` whose calls botocore's Stubber answers: a call with no
    queued response, or other parameters than expected, fails the test."""
    import botocore.session
    from botocore import UNSIGNED
    from botocore.config import Config
    from botocore.stub import Stubber

    client = botocore.session.get_session().create_client(
        service, region_name=region, config=Config(signature_version=UNSIGNED)
    )
    with Stubber(client) as stubber:
        yield client, stubber
