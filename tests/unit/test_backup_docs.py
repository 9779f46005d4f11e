"""The backup docs' AWS CLI commands use flags the AWS API has (the CLI derives its options from
the API models botocore carries), so a runbook command fails for its situation, not a typo."""

from __future__ import annotations

import re
from pathlib import Path

import botocore
import botocore.session
import pytest

DOCS = Path(__file__).parents[2] / "docs"
COMMAND = re.compile(r"aws (rds|backup|ecs) ([a-z-]+)((?:[^\n`]*\\\n)*[^\n`]*)")
GLOBAL = {"query", "output", "region", "stack"}  # the CLI's own options, and pulumi's --stack


def options(service: str, operation: str) -> set[str]:
    model = botocore.session.get_session().get_service_model(service)
    name = next(n for n in model.operation_names if botocore.xform_name(n, "-") == operation)
    found = set()
    for member, shape in model.operation_model(name).input_shape.members.items():
        flag = botocore.xform_name(member, "-")
        found |= {flag, f"no-{flag}"} if shape.type_name == "boolean" else {flag}
    return found


@pytest.mark.parametrize("doc", ["backups.md", "runbooks/restore-from-backup.md"])
def test_every_cli_flag_exists(doc: str) -> None:
    commands = [m for m in COMMAND.finditer((DOCS / doc).read_text()) if m[2] != "wait"]
    assert commands
    for command in commands:
        used = set(re.findall(r"--([a-z0-9-]+)", command[3])) - GLOBAL
        assert used <= options(command[1], command[2]), command[0]
