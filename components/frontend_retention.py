"""FrontendRetention: files that left the frontend build stay in the bucket for a while, then go.

A tab opened before a release keeps loading that release's chunks (lazy routes, its CSS) until
it is reloaded, so a file that disappears from the build must stay in the bucket for some days.
Pulumi alone cannot do "delete later": the objects of `FrontendRelease` are `retain_on_delete`
(leaving the build drops them from the state and leaves them in S3), and this resource deletes
them once they have been out of the build for `keepRemovedDays`.

Why a dynamic resource: deciding "out of the build since when" needs the previous build's file
list, and a resource's own state is the one place Pulumi keeps it (an update receives its old
outputs). S3 lifecycle rules cannot do it: they filter by prefix, tag and size and count days
from an object's creation, so no rule tells "left the build 7 days ago" from "uploaded 7 days
ago and still current"; and Pulumi cannot re-tag an object it no longer manages.

Its state: the inputs (bucket, region, the build's keys, the days) and `retired`, key -> the UTC
instant it left the build. Each update (a new build, or new days) records the keys that left,
forgets those that came back (`FrontendRelease` uploads them again), and deletes the keys retired
at least `keepRemovedDays` ago with DeleteObjects. The bucket is versioned, so a deletion is a
delete marker and the bytes stay recoverable for the bucket's noncurrent-version expiry.
Deleting this resource (unsetting `frontend.distDir`) deletes nothing: what was published stays.

It runs in the `pulumi` process with the deploying credentials (boto3 is a program dependency);
`pulumi preview` only diffs, without calling AWS.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pulumi
from pulumi.dynamic import CreateResult, DiffResult, ResourceProvider, UpdateResult

INPUTS = ("bucket", "region", "files", "keepRemovedDays")
MAX_KEYS_PER_DELETE = 1000  # S3's DeleteObjects limit
_STAMP = "%Y-%m-%dT%H:%M:%SZ"

S3Client = Callable[[str], Any]
"""region -> a boto3 S3 client."""


def _s3(region: str) -> Any:
    # boto3 has no type information: mypy calls it import-untyped where it is installed.
    import boto3  # type: ignore[import-untyped, unused-ignore]

    return boto3.client("s3", region_name=region)


def delete_keys(s3: Any, bucket: str, keys: Sequence[str]) -> None:
    """DeleteObjects in batches; any key S3 refuses fails the update (its state is kept, so the
    next publish tries again)."""
    for start in range(0, len(keys), MAX_KEYS_PER_DELETE):
        batch = keys[start : start + MAX_KEYS_PER_DELETE]
        answer = s3.delete_objects(
            Bucket=bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True}
        )
        errors = answer.get("Errors", [])
        if errors:
            shown = ", ".join(
                f"{e.get('Key')}: {e.get('Code')} {e.get('Message', '')}".strip()
                for e in errors[:5]
            )
            raise RuntimeError(
                f"could not delete {len(errors)} old frontend file(s) from {bucket} ({shown}); "
                "the next publish tries again"
            )


def advance(
    previous: Mapping[str, Any] | None,
    inputs: Mapping[str, Any],
    now: datetime,
    s3: S3Client,
) -> dict[str, Any]:
    """The new state after a publish: keys that left the build are retired `now`, keys back in
    it are forgotten, keys retired `keepRemovedDays` ago or more are deleted from the bucket."""
    files = set(inputs["files"])
    retired: dict[str, str] = dict(previous.get("retired") or {}) if previous else {}
    left = set(previous["files"]) - files if previous else set()
    for key in sorted(left):
        retired.setdefault(key, now.strftime(_STAMP))
    for key in files & set(retired):
        del retired[key]
    keep = timedelta(days=int(inputs["keepRemovedDays"]))
    due = sorted(
        key
        for key, since in retired.items()
        if now - datetime.strptime(since, _STAMP).replace(tzinfo=UTC) >= keep
    )
    if due:
        delete_keys(s3(str(inputs["region"])), str(inputs["bucket"]), due)
    return {
        **{k: inputs[k] for k in INPUTS},
        "retired": {k: v for k, v in sorted(retired.items()) if k not in due},
        "deleted": due,
    }


def _changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> Iterable[str]:
    return (k for k in INPUTS if olds.get(k) != news.get(k))


class RetentionProvider(ResourceProvider):
    """The dynamic provider; `pulumi` pickles it by reference, so the deploying checkout's code
    runs it."""

    # It captures no secret, so its serialized form stays readable in the state and the plan.
    serialize_as_secret_always = False

    def create(self, props: dict[str, Any]) -> CreateResult:
        state = advance(None, props, datetime.now(UTC), _s3)
        return CreateResult(id_=f"{props['bucket']}-retention", outs=state)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        changed = list(_changed(olds, news))
        # Another bucket is another set of files: start over (the old one keeps what it has).
        replaces = [k for k in changed if k in ("bucket", "region")]
        return DiffResult(changes=bool(changed), replaces=replaces, delete_before_replace=False)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=advance(olds, news, datetime.now(UTC), _s3))


class FrontendRetention(pulumi.dynamic.Resource, module="webstack", name="FrontendRetention"):
    """Deletes files `keepRemovedDays` after they left the build (see the module docstring)."""

    retired: pulumi.Output[dict[str, str]]
    deleted: pulumi.Output[list[str]]

    def __init__(
        self,
        name: str,
        *,
        bucket: pulumi.Input[str],
        region: pulumi.Input[str],
        files: Sequence[str],
        keep_removed_days: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(
            RetentionProvider(),
            name,
            {
                "bucket": bucket,
                "region": region,
                "files": list(files),
                "keepRemovedDays": keep_removed_days,
                "retired": None,
                "deleted": None,
            },
            opts,
        )
