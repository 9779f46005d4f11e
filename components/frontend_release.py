"""FrontendRelease: `pulumi up` publishes the built frontend (`webstack:frontend.distDir`) into the
CDN's bucket, after the API it calls.

Creates, as children of one `webstack:edge:FrontendRelease`:
- one `aws.s3.BucketObjectv2` per file of the build, its key the file's path, with its
  Content-Type (charset for text) and Cache-Control: `public, max-age=31536000, immutable` for
  the content-hashed files under `assets/`, `no-cache` for everything else (index.html and the
  other entry files are revalidated on every request, so a publish is visible at once without a
  CloudFront invalidation: the distribution's default cache policy has a minimum TTL of 0 and
  honours it);
- in release order: every object waits for the API service (a new frontend never calls an old
  API), and every no-cache file waits for every hashed one (the new index.html only goes live
  once everything it loads is in place);
- `FrontendRetention` (components/frontend_retention.py): the objects are `retain_on_delete`, so a
  file that leaves the build stays for the tabs that still load it, and is deleted
  `keepRemovedDays` later.

Each object's logical name is the component's name and the file's path (a path with other
characters than letters, digits and `._/@+-`, or a long one, is shortened and suffixed with its
digest): one URN per path, stable across builds, so an unchanged file is no change and a changed
one an in-place update.

Not Pulumi's synced-folder component (S3BucketFolder, v0.12): it needs its own provider plugin
(a Node.js component), its inputs (acl, bucketName, path, includeHiddenFiles, managedObjects)
have no Cache-Control at all, it creates the files in no order (no way to put hashed assets
before index.html), it deletes a file the moment it leaves the build, and it manages the
deprecated `aws.s3.BucketObject`.
"""

from __future__ import annotations

import hashlib
import mimetypes
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pulumi
import pulumi_aws as aws

from components.config import FrontendConfig, is_hashed_asset
from components.frontend import ASSETS_CACHE_CONTROL, HTML_CACHE_CONTROL
from components.frontend_retention import FrontendRetention

# Where `mimetypes` (its built-in table: the machine's /etc/mime.types would make plans differ
# between machines) is wrong or silent for what a frontend build holds.
CONTENT_TYPES = {
    ".js": "text/javascript",  # RFC 9239; mimetypes says application/javascript
    ".mjs": "text/javascript",
    ".cjs": "text/javascript",
    ".map": "application/json",  # source maps
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",  # browsers stream-compile WebAssembly only with this type
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".otf": "font/otf",
    ".webp": "image/webp",
    ".md": "text/markdown",
    ".gz": "application/gzip",  # not a Content-Encoding: the file is served as it is
}
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Text-like types that get `; charset=utf-8` (what Vite and every bundler write).
_TEXT_TYPES = re.compile(
    r"text/.*|application/(javascript|json|manifest\+json|xml|.*\+xml|.*\+json)|image/svg\+xml"
)
_BUILTIN_TYPES = mimetypes.MimeTypes(filenames=())
_PLAIN_NAME = re.compile(r"[A-Za-z0-9._/@+-]{1,100}")


def content_type(key: str) -> str:
    """The Content-Type of the file at `key`, by its last extension."""
    suffix = PurePosixPath(key).suffix.lower()
    found = (
        CONTENT_TYPES.get(suffix)
        or _BUILTIN_TYPES.types_map[True].get(suffix)
        or _BUILTIN_TYPES.types_map[False].get(suffix)
        or DEFAULT_CONTENT_TYPE
    )
    return f"{found}; charset=utf-8" if _TEXT_TYPES.fullmatch(found) else found


def cache_control(key: str) -> str:
    """Immutable for content-hashed assets, revalidated on every request for everything else."""
    return ASSETS_CACHE_CONTROL if is_hashed_asset(key) else HTML_CACHE_CONTROL


def object_name(prefix: str, key: str) -> str:
    """The logical name of the object for `key`: `<prefix>-<key>`, or for a key with other
    characters (or a long one) its plain characters and `~` and a digest of the key (`~` never
    appears in a plain name, so the two kinds cannot collide)."""
    if _PLAIN_NAME.fullmatch(key):
        return f"{prefix}-{key}"
    plain = re.sub(r"[^A-Za-z0-9._/@+-]", "_", key)[:48]
    return f"{prefix}-{plain}~{hashlib.sha256(key.encode('utf-8')).hexdigest()[:16]}"


@dataclass(frozen=True, kw_only=True)
class FrontendReleaseWiring:
    """What FrontendRelease takes from Frontend and ApiService."""

    bucket_name: pulumi.Input[str]
    """The CDN's bucket (Frontend.frontend_bucket_name)."""
    after: Sequence[pulumi.Resource]
    """What every object waits for: the API service the new frontend calls."""


@dataclass(frozen=True, kw_only=True)
class FrontendReleaseArgs:
    """Inputs of FrontendRelease."""

    frontend: FrontendConfig
    """The build (its directory and files) and how long removed files stay."""
    wiring: FrontendReleaseWiring


class FrontendRelease(pulumi.ComponentResource):
    """The build's files in the CDN's bucket, hashed assets first, and their retention."""

    def __init__(
        self, name: str, args: FrontendReleaseArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:edge:FrontendRelease", name, None, opts)
        dist_dir, after = args.frontend.dist_dir, args.wiring.after
        if dist_dir is None:
            raise ValueError("FrontendRelease needs frontend.dist_dir (the build to publish)")
        bucket = args.wiring.bucket_name
        hashed = [k for k in args.frontend.files if is_hashed_asset(k)]
        entry = [k for k in args.frontend.files if not is_hashed_asset(k)]
        assets = [self._object(name, bucket, dist_dir, k, after) for k in hashed]
        entries = [self._object(name, bucket, dist_dir, k, [*after, *assets]) for k in entry]
        region = aws.get_region_output(opts=pulumi.InvokeOptions(parent=self)).region
        retention = FrontendRetention(
            f"{name}-retention",
            bucket=bucket,
            region=region,
            files=args.frontend.files,
            keep_removed_days=args.frontend.keep_removed_days,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*assets, *entries]),
        )
        self.register_outputs({"files": len(args.frontend.files), "retired": retention.retired})

    def _object(
        self,
        name: str,
        bucket: pulumi.Input[str],
        dist_dir: Path,
        key: str,
        after: Sequence[pulumi.Resource],
    ) -> aws.s3.BucketObjectv2:
        """The file at `key` of the build, as an object of the bucket, after `after`."""
        return aws.s3.BucketObjectv2(
            object_name(name, key),
            bucket=bucket,
            key=key,
            source=pulumi.FileAsset(str(dist_dir / key)),
            content_type=content_type(key),
            cache_control=cache_control(key),
            # FrontendRetention deletes it, days after it leaves the build.
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(after), retain_on_delete=True),
        )
