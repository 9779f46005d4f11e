"""Build the Lambda zips deterministically: same sources and wheels, same bytes.

`make package` (`python -m tools.lambda_package --arch arm64`) downloads the pinned manylinux
wheels of migrations/lambda-requirements.txt for the Lambda's Python and architecture into
build/wheels-<arch>/ and AWS's RDS CA bundle (or takes it from `--rds-ca-bundle PATH`), then
writes one zip per Lambda (`PACKAGES`): build/migrations-lambda-<arch>.zip (the `migrations`
package: runner, handler, SQL files) and build/restore-check-lambda-<arch>.zip (the
`restore_check` package, the restore test's validation). Each carries its package, the CA bundle
as <package>/rds-ca-bundle.pem (both handlers connect with `sslmode=verify-full` against it) and
the unpacked wheels. Entries are sorted and carry a fixed timestamp and fixed permissions, so a
zip's sha256 (and so the Lambda's code hash and the migration run's trigger) changes only when a
source, a pinned wheel or the bundle does.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import ssl
import subprocess
import sys
import tempfile
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from components.backup import package_path as restore_check_package_path
from components.migration_job import package_path
from migrations.lambda_handler import CA_BUNDLE

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "migrations"
# One set of pinned wheels for both Lambdas (psycopg; sqlparse, 100 kB, rides along with the
# restore check), so the two never connect with different libpq builds.
REQUIREMENTS = SOURCE / "lambda-requirements.txt"
PYTHON_VERSION = "3.12"  # components/migration_job.py: RUNTIME
PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}
FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip can record
FILE_MODE = 0o100644  # regular file, rw-r--r--: Lambda only reads (and dlopens) them
# AWS's documented bundle of every RDS CA (all regions, all CA generations).
RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
# A self-signed stand-in CA (certificate only; its key was thrown away): the offline plan needs
# a package that looks like the real one, byte for byte the same on every machine.
OFFLINE_CA_BUNDLE = ROOT / "tools" / "offline-ca-bundle.pem"


@dataclass(frozen=True)
class LambdaPackage:
    """One Lambda's zip: which Python package it carries and where it is written."""

    source: Path
    """The package's directory; its name is the top-level package in the zip."""
    path: Callable[[str], Path]
    """Where `make package ARCH=<architecture>` writes the zip (the component reads it there)."""

    @property
    def ca_entry(self) -> str:
        """Where the handler looks for the CA bundle: next to itself."""
        return f"{self.source.name}/{CA_BUNDLE.name}"


MIGRATIONS = LambdaPackage(SOURCE, package_path)
RESTORE_CHECK = LambdaPackage(ROOT / "restore_check", restore_check_package_path)
PACKAGES = {"migrations": MIGRATIONS, "restore-check": RESTORE_CHECK}
CA_BUNDLE_ENTRY = MIGRATIONS.ca_entry


def check_ca_bundle(pem: bytes, origin: str) -> bytes:
    """`pem` if it holds PEM certificates a TLS client can load; an error naming `origin` if not."""
    try:
        ssl.create_default_context(cadata=pem.decode("ascii"))
    except (UnicodeDecodeError, ssl.SSLError, ValueError) as e:
        raise SystemExit(f"{origin} is not a bundle of PEM certificates: {e}") from None
    return pem


def rds_ca_bundle(path: Path | None) -> bytes:
    """The CA bundle from `path`, else downloaded from AWS (needs internet)."""
    if path is not None:
        return check_ca_bundle(path.read_bytes(), str(path))
    with urllib.request.urlopen(RDS_CA_BUNDLE_URL, timeout=30) as response:
        return check_ca_bundle(response.read(), RDS_CA_BUNDLE_URL)


def download_wheels(arch: str, dest: Path) -> list[Path]:
    """The pinned wheels for the Lambda's Python and `arch`, into a fresh `dest`."""
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    subprocess.run(
        [
            *(sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"),
            *("--only-binary=:all:", "--platform", PLATFORMS[arch]),
            *("--python-version", PYTHON_VERSION, "--implementation", "cp"),
            *("-r", str(REQUIREMENTS), "-d", str(dest)),
        ],
        check=True,
    )
    return sorted(dest.glob("*.whl"))


def package_entries(source: Path, wheels: Iterable[Path], ca_bundle: bytes) -> dict[str, bytes]:
    """Archive name -> content: the source package under its own name (`migrations/`), the CA
    bundle next to its handler, then each wheel."""
    entries = {
        f"{source.name}/{path.relative_to(source).as_posix()}": path.read_bytes()
        for path in source.rglob("*")
        if path.is_file()
        and path.suffix in (".py", ".sql")
        and "__pycache__" not in path.parts
        and path.name != "bench.py"  # needs the test tooling; never runs in Lambda
    }
    entries[f"{source.name}/{CA_BUNDLE.name}"] = ca_bundle
    for wheel in sorted(wheels):
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    entries[info.filename] = archive.read(info)
    return entries


def write_zip(entries: dict[str, bytes], output: Path) -> str:
    """Write `entries` reproducibly; return the zip's sha256 (hex)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    # A uniquely named partial file, renamed into place: concurrent builds (plan-diff runs
    # plans in parallel) never see or write a half-written zip.
    with tempfile.NamedTemporaryFile(dir=output.parent, suffix=".partial", delete=False) as tmp:
        partial = Path(tmp.name)
    with zipfile.ZipFile(partial, "w") as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.create_system = 3  # unix, so external_attr means permissions everywhere
            info.external_attr = FILE_MODE << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, entries[name], compresslevel=9)
    partial.replace(output)
    return hashlib.sha256(output.read_bytes()).hexdigest()


def _offline(package: LambdaPackage) -> Path:
    """A stand-in zip for the offline plan and tests: the sources and a stand-in CA, no wheels.

    The offline tooling must not download anything, and the mock cloud never unpacks the zip;
    only a real deploy needs `make package`.
    """
    output = ROOT / "build" / "offline" / f"{package.source.name}-lambda-sources.zip"
    ca_bundle = check_ca_bundle(OFFLINE_CA_BUNDLE.read_bytes(), str(OFFLINE_CA_BUNDLE))
    write_zip(package_entries(package.source, [], ca_bundle), output)
    return output


def offline_package() -> Path:
    """The migration Lambda's stand-in zip (see `_offline`)."""
    return _offline(MIGRATIONS)


def offline_restore_check_package() -> Path:
    """The restore check's stand-in zip (see `_offline`)."""
    return _offline(RESTORE_CHECK)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.lambda_package", description=__doc__)
    parser.add_argument("--arch", choices=sorted(PLATFORMS), default="arm64")
    parser.add_argument(
        "--package",
        choices=sorted(PACKAGES),
        action="append",
        help="build only this Lambda's zip (repeatable; default: every one)",
    )
    parser.add_argument(
        "--output", type=Path, help="with one --package: the zip (default build/<name>-<arch>.zip)"
    )
    parser.add_argument(
        "--wheels", type=Path, help="use the wheels already in this directory (no download)"
    )
    parser.add_argument(
        "--rds-ca-bundle",
        type=Path,
        help=f"AWS's RDS CA bundle, already downloaded (default: download {RDS_CA_BUNDLE_URL})",
    )
    args = parser.parse_args(argv)
    chosen = [PACKAGES[name] for name in args.package or sorted(PACKAGES)]
    if args.output and len(chosen) != 1:
        parser.error("--output names one zip: give exactly one --package with it")
    if args.wheels:
        wheels = sorted(args.wheels.glob("*.whl"))
    else:
        wheels = download_wheels(args.arch, ROOT / "build" / f"wheels-{args.arch}")
    ca_bundle = rds_ca_bundle(args.rds_ca_bundle)
    for package in chosen:
        output = args.output or package.path(args.arch)
        digest = write_zip(package_entries(package.source, wheels, ca_bundle), output)
        shown = output.relative_to(ROOT) if output.is_relative_to(ROOT) else output
        print(f"{shown}  sha256 {digest}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
