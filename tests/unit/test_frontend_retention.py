"""FrontendRetention: a file that leaves the build stays until `keepRemovedDays` have passed,
then the next publish deletes it (S3 stubbed at its API with botocore's Stubber); a file that
comes back is forgotten; a refused deletion fails the publish; and the provider `pulumi` pickles
loads in a fresh interpreter from the project root, as the dynamic provider host loads it."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from pulumi.dynamic.dynamic import serialize_provider

from components.frontend_retention import RetentionProvider, advance
from tests.helpers import stubbed_client
from tools.stackfile import ROOT

BUCKET = "frontend-bucket-aadf729"
T0 = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
OLD = ["assets/index-AAAAAAAA.js", "assets/vendor-BDvB1qOM.js", "index.html"]
NEW = ["assets/index-BBBBBBBB.js", "assets/vendor-BDvB1qOM.js", "index.html"]


@pytest.fixture
def s3() -> Iterator[tuple[Any, Stubber]]:
    """A real botocore S3 client whose calls the Stubber answers; every answer queued is used."""
    with stubbed_client("s3", "eu-west-1") as (client, stubber):
        yield client, stubber
        stubber.assert_no_pending_responses()


def inputs(files: list[str], days: int = 7) -> dict[str, Any]:
    return {"bucket": BUCKET, "region": "eu-west-1", "files": files, "keepRemovedDays": days}


def expect_delete(
    stubber: Stubber, keys: list[str], errors: list[dict[str, str]] | None = None
) -> None:
    stubber.add_response(
        "delete_objects",
        {"Errors": errors} if errors else {},
        {
            "Bucket": BUCKET,
            "Delete": {"Objects": [{"Key": k} for k in keys], "Quiet": True},
        },
    )


def test_the_first_publish_deletes_nothing(s3: tuple[Any, Stubber]) -> None:
    client, _ = s3
    state = advance(None, inputs(OLD), T0, lambda region: client)
    assert state["retired"] == {} and state["deleted"] == []
    assert state["files"] == OLD


def test_a_removed_file_stays_until_its_days_have_passed(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    first = advance(None, inputs(OLD), T0, lambda region: client)
    second = advance(first, inputs(NEW), T0 + timedelta(hours=1), lambda region: client)
    assert second["retired"] == {"assets/index-AAAAAAAA.js": "2026-05-01T13:00:00Z"}
    assert second["deleted"] == []
    newer = [*NEW, "assets/about-CCCCCCCC.js"]
    third = advance(second, inputs(newer), T0 + timedelta(days=7), lambda region: client)
    assert third["deleted"] == [], "6 days 23 hours are not 7 days"
    expect_delete(stubber, ["assets/index-AAAAAAAA.js"])
    fourth = advance(third, inputs(NEW), T0 + timedelta(days=7, hours=1), lambda region: client)
    assert fourth["deleted"] == ["assets/index-AAAAAAAA.js"]
    # The about chunk left in the same publish: it starts its own seven days.
    assert fourth["retired"] == {"assets/about-CCCCCCCC.js": "2026-05-08T13:00:00Z"}


def test_a_file_that_comes_back_is_forgotten(s3: tuple[Any, Stubber]) -> None:
    client, _ = s3
    first = advance(None, inputs(OLD), T0, lambda region: client)
    second = advance(first, inputs(NEW), T0, lambda region: client)
    # A rollback to the old build publishes the old chunk again.
    back = advance(second, inputs(OLD), T0 + timedelta(days=30), lambda region: client)
    assert back["retired"] == {"assets/index-BBBBBBBB.js": "2026-05-31T12:00:00Z"}
    assert back["deleted"] == []


def test_zero_days_deletes_at_the_next_publish(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    first = advance(None, inputs(OLD, days=0), T0, lambda region: client)
    expect_delete(stubber, ["assets/index-AAAAAAAA.js"])
    second = advance(first, inputs(NEW, days=0), T0, lambda region: client)
    assert second["deleted"] == ["assets/index-AAAAAAAA.js"] and second["retired"] == {}


def test_deletions_go_in_batches_of_a_thousand(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    many = [f"assets/c{n:04d}-{n:08d}.js" for n in range(2500)]
    first = advance(None, inputs([*many, "index.html"], days=0), T0, lambda region: client)
    for start in (0, 1000, 2000):
        expect_delete(stubber, many[start : start + 1000])
    second = advance(first, inputs(["index.html"], days=0), T0, lambda region: client)
    assert second["deleted"] == many


def test_a_refused_deletion_fails_the_publish(s3: tuple[Any, Stubber]) -> None:
    client, stubber = s3
    first = advance(None, inputs(OLD, days=0), T0, lambda region: client)
    refused = {"Key": "assets/index-AAAAAAAA.js", "Code": "AccessDenied", "Message": "Denied"}
    expect_delete(stubber, ["assets/index-AAAAAAAA.js"], [refused])
    with pytest.raises(RuntimeError, match=r"could not delete 1 .*AccessDenied"):
        advance(first, inputs(NEW, days=0), T0, lambda region: client)


def test_the_client_is_made_for_the_bucket_region() -> None:
    regions: list[str] = []

    class Client:
        def delete_objects(self, **kwargs: Any) -> dict[str, Any]:
            return {}

    def client(region: str) -> Client:
        regions.append(region)
        return Client()

    first = advance(None, inputs(OLD, days=0), T0, client)
    advance(first, inputs(NEW, days=0), T0, client)
    assert regions == ["eu-west-1"]


def test_only_inputs_are_compared_and_another_bucket_replaces() -> None:
    provider = RetentionProvider()
    olds = {**inputs(OLD), "retired": {"x": "2026-05-01T12:00:00Z"}, "deleted": []}
    assert not provider.diff("id", olds, {**inputs(OLD), "__provider": "p"}).changes
    changed = provider.diff("id", olds, inputs(NEW))
    assert changed.changes and changed.replaces == []
    assert provider.diff("id", olds, inputs(OLD, days=30)).changes
    moved = provider.diff("id", olds, {**inputs(OLD), "bucket": "another"})
    assert moved.replaces == ["bucket"]


def test_the_pickled_provider_loads_where_pulumi_runs_it() -> None:
    # Pickled by reference (module and class), so the host imports this checkout's code: it
    # runs in the project directory with the project's virtualenv, and no PYTHONPATH.
    blob = serialize_provider(RetentionProvider())
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import base64, sys, dill; p = dill.loads(base64.b64decode(sys.argv[1])); "
            "print(type(p).__module__, type(p).__name__)",
            blob,
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert loaded.returncode == 0, loaded.stderr
    assert loaded.stdout.split() == ["components.frontend_retention", "RetentionProvider"]
    assert len(base64.b64decode(blob)) < 200, "the provider captured state it should not"
