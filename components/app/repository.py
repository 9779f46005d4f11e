"""The API image's ECR repository: immutable tags, scan on push, and a lifecycle policy that
keeps enough rollback targets while bounding storage."""

from __future__ import annotations

import json

import pulumi_aws as aws

from components.app.context import AppContext

# Tagged images kept in ECR: enough rollback targets, bounded storage.
KEEP_IMAGES = 50
UNTAGGED_IMAGE_DAYS = 7


def image_repository(
    ctx: AppContext, *, name_prefix: str, protect: bool, force_delete: bool
) -> aws.ecr.Repository:
    """The repository `<prefix>/api` both services run their image from, and its lifecycle;
    `force_delete` lets `pulumi destroy` delete it with the images in it."""
    repository = aws.ecr.Repository(
        f"{ctx.name}-repository",
        name=f"{name_prefix}/api",
        # A tag names one image forever: the tag in config is what runs, and a rollback
        # to an older tag gets exactly the image that ran before.
        image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(
            scan_on_push=True
        ),
        force_delete=force_delete,
        opts=ctx.child(protect=protect),
    )
    aws.ecr.LifecyclePolicy(
        f"{ctx.name}-repository-lifecycle",
        repository=repository.name,
        policy=json.dumps(_lifecycle_rules()),
        opts=ctx.child(),
    )
    return repository


def _lifecycle_rules() -> dict[str, list[dict[str, object]]]:
    """Untagged layers expire after a week; of the rest, the newest KEEP_IMAGES stay."""
    return {
        "rules": [
            {
                "rulePriority": 1,
                "description": f"untagged layers after {UNTAGGED_IMAGE_DAYS} days",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": UNTAGGED_IMAGE_DAYS,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": f"keep the newest {KEEP_IMAGES} images",
                "selection": {
                    "tagStatus": "any",
                    "countType": "imageCountMoreThan",
                    "countNumber": KEEP_IMAGES,
                },
                "action": {"type": "expire"},
            },
        ]
    }
