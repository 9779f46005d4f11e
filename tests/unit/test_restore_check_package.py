"""The restore check's Lambda zip and what the handler and the program must agree on."""

from __future__ import annotations

import ast
import re
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from components.backup.restore_testing import LOGIN
from migrations.bookkeeping import TABLE
from restore_check import handler, schema
from tools.lambda_package import (
    OFFLINE_CA_BUNDLE,
    REQUIREMENTS,
    RESTORE_CHECK,
    main,
    offline_restore_check_package,
    package_entries,
)
from tools.mockcloud import Evaluation
from tools.pgcluster import make_ca

MIGRATION = Path(__file__).parents[2] / "migrations" / "0003_restore_check_login.sql"


def test_it_reads_the_table_the_migration_runner_keeps() -> None:
    assert schema.BOOKKEEPING_TABLE == TABLE


def test_the_login_it_uses_is_the_one_the_migrations_create() -> None:
    text = MIGRATION.read_text()
    assert f"CREATE ROLE {LOGIN} LOGIN" in text
    assert f"GRANT SELECT ON {TABLE} TO {LOGIN}" in text
    assert f"GRANT rds_iam TO {LOGIN}" in text


def test_the_zip_carries_the_handler_and_the_ca_bundle_beside_it(tmp_path: Path) -> None:
    with zipfile.ZipFile(offline_restore_check_package()) as archive:
        names = set(archive.namelist())
        assert archive.read(RESTORE_CHECK.ca_entry) == OFFLINE_CA_BUNDLE.read_bytes()
    assert {"restore_check/handler.py", "restore_check/schema.py"} <= names
    assert RESTORE_CHECK.ca_entry == f"restore_check/{handler.CA_BUNDLE.name}"
    assert not any(n.startswith("migrations/") for n in names), "the runner stays out"
    ca, _ = make_ca(tmp_path, "rds-stand-in")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    output = tmp_path / "restore-check.zip"
    args = ["--package", "restore-check", "--wheels", str(wheels), "--output", str(output)]
    assert main([*args, "--rds-ca-bundle", str(ca)]) == 0
    with zipfile.ZipFile(output) as archive:
        archive.extract(RESTORE_CHECK.ca_entry, tmp_path / "task")
    handler.check_ca_bundle(tmp_path / "task" / RESTORE_CHECK.ca_entry)


def test_every_library_the_handler_imports_is_pinned_for_the_package() -> None:
    pinned = {
        re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0].lower()
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    imported: set[str] = set()
    for name, content in package_entries(RESTORE_CHECK.source, [], b"").items():
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(content)):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    # boto3 comes with the Lambda runtime; everything else travels in the zip
    bundled = imported - set(sys.stdlib_module_names) - {"restore_check", "boto3"}
    distributions = packages_distributions()
    assert bundled == {"psycopg"}
    assert all({d.lower() for d in distributions[m]} & pinned for m in bundled)


def test_the_handler_takes_the_environment_the_component_sets(stack: Evaluation) -> None:
    fn = stack.one("aws:lambda/function:Function", "backup-validator")
    variables = dict(fn.inputs["environment"]["variables"])
    documented = set(re.findall(r"\b[A-Z][A-Z_]{3,}\b", handler.__doc__ or ""))
    assert set(variables) <= documented
    settings = handler.Settings.of(variables)
    assert settings.source_arn == variables["SOURCE_DB_ARN"] and settings.port == 5432
    for name in variables:
        lacking = {k: v for k, v in variables.items() if k != name}
        with pytest.raises(handler.RestoreCheckError, match=name):
            handler.Settings.of(lacking)
