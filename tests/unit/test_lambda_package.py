"""The Lambda package is reproducible: same sources and wheels, same bytes."""

from __future__ import annotations

import hashlib
import os
import zipfile
from pathlib import Path

from tools.lambda_package import FIXED_TIME, SOURCE, package_entries, write_zip


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
    first = write_zip(package_entries(SOURCE, wheels.glob("*.whl")), tmp_path / "one.zip")
    # touch every input: different mtimes must not change a byte
    for path in [*SOURCE.rglob("*.sql"), *wheels.iterdir()]:
        os.utime(path, (1_700_000_000, 1_700_000_000))
    old_umask = os.umask(0o077)
    try:
        second = write_zip(package_entries(SOURCE, wheels.glob("*.whl")), tmp_path / "two.zip")
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
    assert not any("__pycache__" in n for n in names)


def test_a_changed_source_changes_the_package(tmp_path: Path) -> None:
    entries = package_entries(SOURCE, [])
    before = write_zip(entries, tmp_path / "a.zip")
    entries["migrations/0099_new.sql"] = b"SELECT 1;\n"
    assert write_zip(entries, tmp_path / "b.zip") != before
