"""`webstack:frontend`: the built single-page app that `pulumi up` publishes into the CDN's bucket.

The build's layout is Vite's: everything under `assets/` (its `build.assetsDir`) carries a content
hash in its name, and the CDN caches `/assets/*` for a year on that promise. The reader walks the
build once, so that every problem (a missing `index.html`, a symlink, a key S3 refuses, a file
under `assets/` without a hash) is reported with the others before anything is registered.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from components.config.reader import Section

# Where a relative `distDir` starts: the project root (Pulumi.yaml), wherever `pulumi` runs.
PROJECT_ROOT = Path(__file__).resolve().parents[2]
ASSETS_DIR = "assets"
"""Vite's build.assetsDir: the CDN caches `/<ASSETS_DIR>/*` a year."""
# `<name>-<hash>.<ext>` (Vite, Rollup: 8 characters of base64url) or `<name>.<hash>.<ext>`
# (webpack's hex contenthash); the extension may be double (`.js.map`, `.chunk.js`).
HASHED_NAME = re.compile(r"[^/]+[-.][A-Za-z0-9_-]{8,}(\.[A-Za-z0-9]+)+")
ENTRY_FILE = "index.html"
MAX_KEY_BYTES = 1024  # S3's limit on an object key, in UTF-8
DEFAULT_KEEP_REMOVED_DAYS = 7


def is_hashed_asset(key: str) -> bool:
    """Whether the file at `key` is a content-hashed asset (immutable: a new build renames it)."""
    directory, _, name = key.rpartition("/")
    in_assets = directory == ASSETS_DIR or directory.startswith(f"{ASSETS_DIR}/")
    return in_assets and HASHED_NAME.fullmatch(name) is not None


@dataclass(frozen=True, kw_only=True)
class FrontendConfig:
    """`webstack:frontend`: what `pulumi up` publishes to the CDN's bucket, and how long files
    removed from the build stay there."""

    dist_dir: Path | None
    """The built frontend (`npm run build`'s output, e.g. `client/dist`), relative to the project
    root or absolute: a directory with `index.html` at its top and a content hash in the name of
    every file under `assets/`. Unset, nothing is published (the bucket is filled by hand)."""
    files: tuple[str, ...]
    """Every file of the build as its bucket key (a POSIX path relative to `dist_dir`), sorted."""
    keep_removed_days: int
    """Days a file that left the build stays in the bucket: tabs opened before a release still
    load their old chunks. It is deleted by the first publish at least that long after."""


def _build_problems(dist_dir: Path, files: list[str]) -> list[str]:
    """What in the build cannot be published as it is (each message names the file)."""
    problems = []
    for key in files:
        try:
            encoded = key.encode("utf-8")
        except UnicodeEncodeError:
            problems.append(f"{key!r}: the file name is not UTF-8, which S3 keys must be")
            continue
        if len(encoded) > MAX_KEY_BYTES:
            problems.append(f"{key[:60]}...: longer than S3's {MAX_KEY_BYTES}-byte key limit")
        if key.startswith(f"{ASSETS_DIR}/") and not is_hashed_asset(key):
            problems.append(
                f"{key} has no content hash in its name (<name>-<hash>.<ext>, the hash 8 or "
                f"more of A-Z a-z 0-9 _ -): the CDN caches /{ASSETS_DIR}/* for a year, so a new "
                f"version would never reach browsers; hash its name or move it out of "
                f"{ASSETS_DIR}/"
            )
    if ENTRY_FILE not in files:
        problems.append(f"has no {ENTRY_FILE} at its top (is it the build's output directory?)")
    return problems


def _walk(dist_dir: Path) -> tuple[list[str], list[str]]:
    """(the keys of the build's regular files, the symlinks found), both sorted."""
    files, links = [], []
    for directory, dirnames, filenames in os.walk(dist_dir, followlinks=False):
        here = Path(directory)
        for name in [*dirnames, *filenames]:
            path = here / name
            key = path.relative_to(dist_dir).as_posix()
            if path.is_symlink():
                links.append(key)
            elif path.is_file():
                files.append(key)
    return sorted(files), sorted(links)


def read_frontend(section: Section, root: Path = PROJECT_ROOT) -> FrontendConfig:
    value = section.get_str("distDir", "")
    keep_days = section.get_int("keepRemovedDays", DEFAULT_KEEP_REMOVED_DAYS, min=0, max=3650)
    section.finish()
    # Without distDir nothing is published; keepRemovedDays may still be set in the stack file
    # for the deploy job, which sets distDir to the build it made.
    if not value:
        return FrontendConfig(dist_dir=None, files=(), keep_removed_days=keep_days)
    dist_dir = root / value  # an absolute `value` stays as it is
    if not dist_dir.is_dir():
        what = "is not a directory" if dist_dir.exists() else "does not exist"
        section.error(
            "distDir", f"{dist_dir} {what}: build the frontend first (npm ci && npm run build)"
        )
        return FrontendConfig(dist_dir=None, files=(), keep_removed_days=keep_days)
    files, links = _walk(dist_dir)
    for link in links:
        section.error("distDir", f"{link} is a symlink: a build holds files only")
    for problem in _build_problems(dist_dir, files):
        section.error("distDir", f"{dist_dir}: {problem}")
    return FrontendConfig(dist_dir=dist_dir, files=tuple(files), keep_removed_days=keep_days)
