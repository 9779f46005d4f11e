"""The Lambda package is reproducible: same sources and wheels, same bytes."""

from __future__ import annotations

import ast
import hashlib
import os
import re
import sys
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

from migrations.lambda_handler import CA_BUNDLE, check_ca_bundle
from tools.lambda_package import (
    CA_BUNDLE_ENTRY,
    FIXED_TIME,
    OFFLINE_CA_BUNDLE,
    REQUIREMENTS,
    SOURCE,
    main,
    offline_package,
    package_entries,
    write_zip,
)
from tools.pgcluster import make_ca

CA = OFFLINE_CA_BUNDLE.read_bytes()


def fake_wheel(path: Path, files: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as whl:
        for name, content in files.items():
            whl.writestr(name, content)
    return path


def test_building_twice_gives_identical_bytes(tmp_path: Path) -> None:
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    fake_wheel(wheels / "b-1.0-py3-none-any.whl", {"b/__init__.py": b"", "b/_c.so": b"\x7fELF"})
    fake_wheel(wheels / "a-1.0-py3-none-any.whl", {"a/__init__.py": b"x = 1\n"})
    first = write_zip(package_entries(SOURCE, wheels.glob("*.whl"), CA), tmp_path / "one.zip")
    # touch every input: different mtimes must not change a byte
    for path in [*SOURCE.rglob("*.sql"), *wheels.iterdir()]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    old_umask = os.umask(0o077)
    try:
        second = write_zip(package_entries(SOURCE, wheels.glob("*.whl"), CA), tmp_path / "two.zip")
    finally:
        os.umask(old_umask)
    assert first == second
    assert first == hashlib.sha256((tmp_path / "two.zip").read_bytes()).hexdigest()

    with zipfile.ZipFile(tmp_path / "one.zip") as archive:
        infos = archive.infolist()
    names = [i.filename for i in infos]
    assert names == sorted(names)
    assert {i.date_time for i in infos} == {FIXED_TIME}
    assert {i.external_attr >> 16 for i in infos} == {0o100644}
    assert {"migrations/lambda_handler.py", "migrations/runner.py", "a/__init__.py"} <= set(names)
    assert "migrations/0001_platform_extensions.sql" in names
    assert "migrations/repeatable/app_login.sql" in names
    assert f"migrations/{CA_BUNDLE.name}" in names, "where the handler looks for it"
    assert not any("__pycache__" in n for n in names)


def test_a_changed_source_changes_the_package(tmp_path: Path) -> None:
    entries = package_entries(SOURCE, [], CA)
    before = write_zip(entries, tmp_path / "a.zip")
    entries["migrations/0099_new.sql"] = b"SELECT 1;\n"
    assert write_zip(entries, tmp_path / "b.zip") != before


def test_the_package_carries_the_ca_bundle_it_was_given(tmp_path: Path) -> None:
    ca, _ = make_ca(tmp_path, "rds-stand-in")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    output = tmp_path / "lambda.zip"
    args = ["--package", "migrations", "--wheels", str(wheels), "--output", str(output)]
    args += ["--rds-ca-bundle", str(ca)]
    assert main(args) == 0
    with zipfile.ZipFile(output) as archive:
        assert archive.read(CA_BUNDLE_ENTRY) == ca.read_bytes()
        # what the handler will find next to itself in /var/task is a usable bundle
        archive.extract(CA_BUNDLE_ENTRY, tmp_path / "task")
    check_ca_bundle(tmp_path / "task" / CA_BUNDLE_ENTRY)
    before = hashlib.sha256(output.read_bytes()).hexdigest()
    other, _ = make_ca(tmp_path, "rds-next-generation")
    assert main([*args[:-1], str(other)]) == 0
    assert hashlib.sha256(output.read_bytes()).hexdigest() != before, "a new bundle, a new zip"


def test_a_file_that_is_not_a_ca_bundle_is_refused(tmp_path: Path) -> None:
    not_pem = tmp_path / "global-bundle.pem"
    not_pem.write_text("<html>404 Not Found</html>\n")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    output = tmp_path / "lambda.zip"
    with pytest.raises(SystemExit, match="not a bundle of PEM certificates"):
        main(
            [
                *("--package", "migrations", "--wheels", str(wheels)),
                *("--output", str(output), "--rds-ca-bundle", str(not_pem)),
            ]
        )
    assert not output.exists()


def test_the_offline_stand_in_is_reproducible() -> None:
    first = hashlib.sha256(offline_package().read_bytes()).hexdigest()
    with zipfile.ZipFile(offline_package()) as archive:
        assert archive.read(CA_BUNDLE_ENTRY) == CA
    assert hashlib.sha256(offline_package().read_bytes()).hexdigest() == first


def test_every_library_the_packaged_code_imports_is_pinned_for_the_package() -> None:
    pinned = {
        re.split(r"[=<>~!\[ ]", line, maxsplit=1)[0].lower().replace("_", "-")
        for line in REQUIREMENTS.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    distributions = packages_distributions()
    imported: set[str] = set()
    for name, content in package_entries(SOURCE, [], CA).items():
        if name.endswith(".py"):
            for node in ast.walk(ast.parse(content)):
                if isinstance(node, ast.Import):
                    imported |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"migrations"}
    # the Lambda runtime provides boto3 (and botocore); everything else travels in the zip
    bundled = third_party - {"boto3", "botocore"}
    assert {"psycopg", "sqlparse"} <= bundled
    missing = {
        module
        for module in bundled
        if not {d.lower() for d in distributions.get(module, [module])} & pinned
    }
    assert missing == set(), f"imported by the Lambda's code but not in {REQUIREMENTS.name}"
