"""Helpers shared by the tests: bad-config assertions and lookups in an evaluated stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, StackConfig
from tools.mockcloud import Evaluation, evaluate

SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"


def problems_of(
    stack: str, secret_overrides: dict[str, Any] | None = None, **overrides: Any
) -> list[str]:
    """Evaluate with overrides; return the reported problems (and check nothing was created)."""
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
                overrides={f"webstack:{k}": v for k, v in overrides.items()},
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


def committed(stack: str, section: str) -> dict[str, Any]:
    """A `webstack:<section>` object as Pulumi.<stack>.yaml commits it (to override one key)."""
    from tools.stackfile import ROOT

    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    return dict(document["config"][f"webstack:{section}"])


def data_key_arn(ev: Evaluation) -> str:
    """The ARN of the data tier's KMS key (secrets, database, cache, their logs)."""
    return str(ev.one("aws:kms/key:Key", "secrets-key").outputs["arn"])


def write_files(directory: Path, files: dict[str, str]) -> Path:
    """Write `files` (name -> text) into `directory`, creating it; return the directory."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    return directory
