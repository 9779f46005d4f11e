"""Final snapshots: a fresh identifier for each lifetime of a database or cache.

Creates (as a child of the calling component) a `pulumi_random.RandomId` keyed on the resource's
identifier. A final-snapshot name must be unique in the account and region and outlives the
resource, so a fixed `<identifier>-final` works exactly once: the next teardown or replacement
fails with DBSnapshotAlreadyExists (or ElastiCache's SnapshotAlreadyExistsFault).
"""

from __future__ import annotations

import pulumi
import pulumi_random as random

SUFFIX_BYTES = 4


def final_snapshot_identifier(
    name: str, identifier: str, parent: pulumi.Resource
) -> pulumi.Output[str]:
    """`<identifier>-final-<8 hex>`; the suffix changes whenever the identifier does.

    A destroyed stack destroys the suffix too, so the next lifetime snapshots under a new name.
    """
    suffix = random.RandomId(
        f"{name}-final-snapshot-suffix",
        byte_length=SUFFIX_BYTES,
        keepers={"identifier": identifier},
        opts=pulumi.ResourceOptions(parent=parent),
    )
    # Hex: lowercase letters and digits, valid in RDS and ElastiCache snapshot names.
    return pulumi.Output.concat(identifier, "-final-", suffix.hex)
