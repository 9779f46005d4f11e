"""Publishing the frontend inside `pulumi up`: with `frontend.distDir` pointing at a Vite-like
build, the plan holds one object per file, with its Content-Type and Cache-Control, after the API
service, hashed assets before the entry files, kept in the bucket when they leave the build; the
policy pack passes it; without the key there is no object at all."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components.frontend_release import object_name
from tests.unit.frontend_build import ENTRY, HASHED, VITE_BUILD, vite_build
from tools import policycheck
from tools.mockcloud import Evaluation, Resource, evaluate

OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
RETENTION = "pulumi-python:dynamic/webstack:FrontendRetention"
IMMUTABLE = "public, max-age=31536000, immutable"
# What browsers must be told, written out here (RFC 9239 for JavaScript, WebAssembly's own type
# for streaming compilation, fonts under font/).
CONTENT_TYPES = {
    "index.html": "text/html; charset=utf-8",
    "assets/index-C3ZDoKtq.js": "text/javascript; charset=utf-8",
    "assets/index-C3ZDoKtq.js.map": "application/json; charset=utf-8",
    "assets/vendor-BDvB1qOM.js": "text/javascript; charset=utf-8",
    "assets/Settings-x_9-aB3c.js": "text/javascript; charset=utf-8",
    "assets/index-DiwrgTda.css": "text/css; charset=utf-8",
    "assets/Inter-Regular-Cf2L1n0m.woff2": "font/woff2",
    "assets/logo-Bx1zJ8Kp.svg": "image/svg+xml; charset=utf-8",
    "assets/engine-QkT2mXe8.wasm": "application/wasm",
    "favicon.ico": "image/vnd.microsoft.icon",
    "robots.txt": "text/plain; charset=utf-8",
    "manifest.webmanifest": "application/manifest+json; charset=utf-8",
    "sw.mjs": "text/javascript; charset=utf-8",
}


@pytest.fixture(scope="module")
def build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return vite_build(tmp_path_factory.mktemp("frontend") / "dist")


@pytest.fixture(scope="module")
def published(build: Path) -> Evaluation:
    return evaluate("staging", overrides={"webstack:frontend": {"distDir": str(build)}})


def objects(ev: Evaluation) -> dict[str, Resource]:
    """The published objects by key."""
    return {str(r.inputs["key"]): r for r in ev.of_type(OBJECT)}


def test_one_object_per_file_in_the_cdn_bucket(published: Evaluation, build: Path) -> None:
    found = objects(published)
    assert sorted(found) == sorted(VITE_BUILD)
    bucket = published.outputs["frontendBucketName"]
    for key, obj in found.items():
        assert obj.inputs["bucket"] == bucket
        assert Path(obj.inputs["source"].path) == build / key
        assert obj.options["retainOnDelete"], f"{key} would be deleted as soon as it leaves"


def test_every_object_has_its_content_type(published: Evaluation) -> None:
    assert CONTENT_TYPES.keys() == VITE_BUILD.keys()
    assert {k: o.inputs["contentType"] for k, o in objects(published).items()} == CONTENT_TYPES


def test_hashed_assets_are_immutable_and_the_rest_revalidated(published: Evaluation) -> None:
    cache = {k: o.inputs["cacheControl"] for k, o in objects(published).items()}
    assert {k for k, v in cache.items() if v == IMMUTABLE} == set(HASHED)
    assert {k for k, v in cache.items() if v == "no-cache"} == set(ENTRY)


def test_every_object_waits_for_the_api_service(published: Evaluation) -> None:
    api = published.one("aws:ecs/service:Service", "app-api")
    for key, obj in objects(published).items():
        assert api.urn in obj.dependencies, key


def test_entry_files_wait_for_every_hashed_asset(published: Evaluation) -> None:
    found = objects(published)
    asset_urns = {found[k].urn for k in HASHED}
    for key in ENTRY:
        assert asset_urns <= set(found[key].dependencies), key
    for key in HASHED:
        assert not {found[k].urn for k in ENTRY} & set(found[key].dependencies), key


def test_the_uptime_checks_start_once_every_file_is_published(published: Evaluation) -> None:
    # A first deploy's site check looks for the built index.html: it must be in the bucket.
    waited = set(
        published.one("aws:route53/healthCheck:HealthCheck", "uptime-frontend").dependencies
    )
    assert {obj.urn for obj in objects(published).values()} <= waited


def test_the_retention_knows_the_build_and_runs_after_it(published: Evaluation) -> None:
    (retention,) = published.of_type(RETENTION)
    assert retention.inputs["files"] == sorted(VITE_BUILD)
    assert retention.inputs["bucket"] == published.outputs["frontendBucketName"]
    assert retention.inputs["region"] == "us-east-1"
    assert retention.inputs["keepRemovedDays"] == 7
    assert {o.urn for o in objects(published).values()} <= set(retention.dependencies)


def test_names_are_stable_per_path_and_safe_for_any_path() -> None:
    assert object_name("fr", "assets/index-C3ZDoKtq.js") == "fr-assets/index-C3ZDoKtq.js"
    odd = ["über uns.html", "a::b.txt", "x" * 101, "q?.txt", "a~b.txt"]
    names = [object_name("fr", key) for key in odd]
    assert len(set(names)) == len(odd)
    for key, name in zip(odd, names, strict=True):
        assert name == object_name("fr", key)  # stable
        assert "::" not in name and len(name) <= 3 + 48 + 1 + 16
        assert "~" in name


def test_special_file_names_are_published_under_their_own_keys(tmp_path: Path) -> None:
    build = vite_build(tmp_path / "dist", {"über uns.html": "x", "a b/c d.txt": "y"})
    ev = evaluate("staging", overrides={"webstack:frontend": {"distDir": str(build)}})
    found = objects(ev)
    assert {"über uns.html", "a b/c d.txt"} <= found.keys()
    assert len({r.urn for r in found.values()}) == len(found)


def test_the_policy_pack_passes_a_published_frontend(published: Evaluation) -> None:
    analyzer = policycheck.Analyzer("staging")
    try:
        violations = analyzer.check(published, policycheck.load_policy_config("staging"))
    finally:
        analyzer.close()
    assert [v for v in violations if v.mandatory] == []


def _no_frontend(stack: Evaluation) -> Iterator[Resource]:
    for r in stack.resources:
        if r.type in (OBJECT, RETENTION, "webstack:edge:FrontendRelease"):
            yield r


def test_without_dist_dir_nothing_is_published(stack: Evaluation) -> None:
    assert list(_no_frontend(stack)) == []
