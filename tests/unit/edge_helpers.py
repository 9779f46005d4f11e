"""Helpers for the edge tests: config variants, provider regions and buckets."""

from __future__ import annotations

import json
from typing import Any

from tests.helpers import evaluated
from tools.mockcloud import Evaluation, Resource
from tools.stackfile import load_stack_config


def edge_section(stack: str, **changes: Any) -> dict[str, Any]:
    """The committed `webstack:edge` section of `stack` with changes (None drops a key)."""
    config, _ = load_stack_config(stack)
    section = {**json.loads(config["webstack:edge"]), **changes}
    return {k: v for k, v in section.items() if v is not None}


def edge_variant(stack: str, **changes: Any) -> Evaluation:
    """Evaluate `stack` with its edge section changed."""
    return evaluated(stack, overrides={"webstack:edge": edge_section(stack, **changes)})


def bucket_child(ev: Evaluation, bucket: str, type_: str) -> dict[str, Any]:
    """The inputs of the one `type_` resource (a bucket setting) of the bucket named `bucket`."""
    name = ev.one("aws:s3/bucket:Bucket", bucket).outputs["bucket"]
    (found,) = [r.inputs for r in ev.of_type(type_) if r.inputs["bucket"] == name]
    return found


def assert_no_public_access(ev: Evaluation, bucket: str) -> None:
    """All four public-access blocks are on for the bucket named `bucket`."""
    block = bucket_child(ev, bucket, "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(
        block[k]
        for k in (
            "blockPublicAcls",
            "blockPublicPolicy",
            "ignorePublicAcls",
            "restrictPublicBuckets",
        )
    )


def provider_region(ev: Evaluation, resource: Resource) -> str:
    """The region of the AWS provider a resource was created through."""
    return str(ev.by_urn(resource.provider_urn).inputs["region"])
