"""Frontend: the static single-page app on S3 behind CloudFront.

Creates:
- a private, versioned, SSE-S3 bucket for `client/dist` whose policy lets only this
  distribution read (origin access control, SigV4) and refuses non-TLS requests;
- two cache policies: `/assets/*` (content-hashed files) cached a year, everything else
  (index.html and other unhashed files) revalidated with S3 on every request (ETag, 304);
- response headers policies adding HSTS (preload by config), nosniff, frame DENY, a
  Referrer-Policy, the configured Content-Security-Policy, CORS for the configured origins
  only, and the browser Cache-Control matching each cache policy;
- two CloudFront Functions (viewer request) that 301 every path on `www.` to the apex: the
  default behaviour's also serves `/index.html` for extension-less paths (client-side routes);
  `/assets/*` and `/api/*` get the one that only redirects, and there are no custom error
  responses, so API errors (and missing assets) reach the browser unchanged;
- the distribution: apex and www aliases, the us-east-1 certificate, TLSv1.2_2021, HTTP/2 and
  HTTP/3, IPv6, compression, standard logs (without cookies) to a bucket of their own in
  us-east-1 with lifecycle expiry; optionally `/api/*` to the ALB (HTTPS only, never cached,
  with the origin-verify header);
- with `edge.cdnWaf` (always with the API), a CLOUDFRONT-scope WAF web ACL in us-east-1 on the
  distribution, with the API's rules when it serves `/api/*`;
- behind Cloudflare's proxy, the secret header Cloudflare adds, which that ACL requires first
  (components/cloudflare_verify.py): nobody skips Cloudflare by calling CloudFront directly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.buckets import cloudfront_log_bucket, deny_insecure_transport, private_bucket
from components.cloudflare_verify import cloudflare_required_header
from components.config import ASSETS_DIR, EdgeConfig, SecretsConfig, StackWide
from components.load_balancer import HSTS_MAX_AGE, ORIGIN_VERIFY_HEADER
from components.viewer_functions import viewer_request_code, www_redirect_code
from components.waf import WebAcl, WebAclArgs, WebAclWiring

ASSETS_PATH = f"/{ASSETS_DIR}/*"  # Vite's build.assetsDir: every file in it has a content hash
API_PATH = "/api/*"
YEAR = HSTS_MAX_AGE  # also the longest CloudFront cache TTL worth having
S3_ORIGIN = "s3-frontend"
API_ORIGIN = "api"
ASSETS_CACHE_CONTROL = f"public, max-age={YEAR}, immutable"
# no-cache = store but revalidate every time: a deploy is visible at once, unchanged files
# still cost only a 304.
HTML_CACHE_CONTROL = "no-cache"


@dataclass(frozen=True, kw_only=True)
class FrontendWiring:
    """What Frontend takes from Certificates, LoadBalancer and the composition."""

    certificate_arn: pulumi.Input[str]
    """A validated us-east-1 ACM certificate for the apex and www."""
    us_east_1: aws.Provider
    """A provider for us-east-1, for the CLOUDFRONT-scope WAF web ACL and the logs' bucket."""
    origin_verify_secret: pulumi.Input[str] | None
    """Value of the origin-verify header sent to the API origin (required with it)."""


@dataclass(frozen=True, kw_only=True)
class FrontendArgs:
    """Inputs of Frontend."""

    stack: StackWide
    """The site is served at its `domain` (`www.` redirects there); `protect` covers the bucket,
    `disposable` lets destroy empty it."""
    edge: EdgeConfig
    """CORS origins, CSP, HSTS preload, price class, the API through the CDN and its WAF, how
    long access logs are kept."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the CDN WAF logs' key can still be cancelled."""
    wiring: FrontendWiring


class Frontend(pulumi.ComponentResource):
    """S3 bucket, CloudFront distribution, cache and headers policies for the SPA."""

    distribution_id: pulumi.Output[str]
    distribution_domain_name: pulumi.Output[str]
    frontend_bucket_name: pulumi.Output[str]

    def __init__(
        self, name: str, args: FrontendArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:edge:Frontend", name, None, opts)
        origin_verify_secret = args.wiring.origin_verify_secret
        if args.edge.api_via_cdn and origin_verify_secret is None:
            raise ValueError("an API origin needs origin_verify_secret")
        bucket = private_bucket(
            f"{name}-bucket",
            parent=self,
            versioned=True,
            protect=args.stack.protect,
            force_destroy=args.stack.disposable,
        )
        routes = self._static_routes(name, args, bucket)
        if args.edge.api_via_cdn and origin_verify_secret is not None:
            # `/api/*` goes to the ALB by its own hostname, which its certificate matches.
            self._api_route(name, args, routes, args.stack.api_hostname, origin_verify_secret)
        web_acl_id = self._web_acl(name, args) if args.edge.cdn_waf else None
        log_bucket = cloudfront_log_bucket(
            f"{name}-access-logs",
            parent=self,
            provider=args.wiring.us_east_1,
            expiration_days=args.edge.access_log_expiration_days,
            protect=args.stack.protect,
            force_destroy=args.stack.disposable,
        )
        distribution = self._distribution(name, args, routes, web_acl_id, log_bucket)
        self._bucket_policy(name, bucket, distribution)
        self.distribution_id = distribution.id
        self.distribution_domain_name = distribution.domain_name
        self.frontend_bucket_name = bucket.bucket
        self.register_outputs(
            {
                "distribution_id": self.distribution_id,
                "distribution_domain_name": self.distribution_domain_name,
                "frontend_bucket_name": self.frontend_bucket_name,
            }
        )

    def _static_routes(self, name: str, args: FrontendArgs, bucket: aws.s3.Bucket) -> _Routes:
        """The bucket as origin (read with SigV4); `/assets/*` cached a year, everything else
        revalidated, through the viewer-request function; www redirected on both."""
        prefix = args.stack.name_prefix
        oac = aws.cloudfront.OriginAccessControl(
            f"{name}-oac",
            name=f"{prefix}-frontend",
            description="CloudFront reads the frontend bucket with SigV4",
            origin_access_control_origin_type="s3",
            signing_behavior="always",
            signing_protocol="sigv4",
            opts=pulumi.ResourceOptions(parent=self),
        )
        assets_cache = self._cache_policy(f"{name}-assets-cache", f"{prefix}-assets", YEAR, YEAR)
        html_cache = self._cache_policy(f"{name}-html-cache", f"{prefix}-html", 0, 0)
        assets_headers = self._headers_policy(
            f"{name}-assets-headers", f"{prefix}-assets", args, ASSETS_CACHE_CONTROL, cors=True
        )
        html_headers = self._headers_policy(
            f"{name}-html-headers", f"{prefix}-html", args, HTML_CACHE_CONTROL, cors=True
        )
        function = self._function(
            name,
            prefix,
            "viewer-request",
            "www to apex redirect; SPA routes to /index.html",
            viewer_request_code(args.stack.domain),
        )
        www_redirect = self._function(
            name,
            prefix,
            "www-redirect",
            "www to apex redirect",
            www_redirect_code(args.stack.domain),
        )
        static_methods = ["GET", "HEAD", "OPTIONS"]
        return _Routes(
            origins=[
                aws.cloudfront.DistributionOriginArgs(
                    origin_id=S3_ORIGIN,
                    domain_name=bucket.bucket_regional_domain_name,
                    origin_access_control_id=oac.id,
                )
            ],
            behaviours=[
                aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                    path_pattern=ASSETS_PATH,
                    target_origin_id=S3_ORIGIN,
                    viewer_protocol_policy="redirect-to-https",
                    allowed_methods=static_methods,
                    cached_methods=["GET", "HEAD"],
                    compress=True,
                    cache_policy_id=assets_cache.id,
                    response_headers_policy_id=assets_headers.id,
                    function_associations=_redirect_only(www_redirect),
                )
            ],
            default=aws.cloudfront.DistributionDefaultCacheBehaviorArgs(
                target_origin_id=S3_ORIGIN,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=static_methods,
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=html_cache.id,
                response_headers_policy_id=html_headers.id,
                function_associations=[
                    aws.cloudfront.DistributionDefaultCacheBehaviorFunctionAssociationArgs(
                        event_type="viewer-request", function_arn=function.arn
                    )
                ],
            ),
            www_redirect=www_redirect,
        )

    def _function(
        self, name: str, prefix: str, role: str, comment: str, code: str
    ) -> aws.cloudfront.Function:
        """A published viewer-request CloudFront Function named `<prefix>-<role>`."""
        return aws.cloudfront.Function(
            f"{name}-{role}",
            name=f"{prefix}-{role}",
            runtime="cloudfront-js-2.0",
            comment=comment,
            code=code,
            publish=True,
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _api_route(
        self,
        name: str,
        args: FrontendArgs,
        routes: _Routes,
        hostname: str,
        origin_verify_secret: pulumi.Input[str],
    ) -> None:
        """`/api/*` to the ALB (HTTPS only, never cached, with the origin-verify header) added
        to `routes`."""
        invoke = pulumi.InvokeOptions(parent=self)
        routes.origins.append(
            aws.cloudfront.DistributionOriginArgs(
                origin_id=API_ORIGIN,
                domain_name=hostname,
                custom_origin_config=aws.cloudfront.DistributionOriginCustomOriginConfigArgs(
                    http_port=80,
                    https_port=443,
                    origin_protocol_policy="https-only",
                    origin_ssl_protocols=["TLSv1.2"],
                ),
                custom_headers=[
                    aws.cloudfront.DistributionOriginCustomHeaderArgs(
                        name=ORIGIN_VERIFY_HEADER, value=origin_verify_secret
                    )
                ],
            )
        )
        caching_disabled = aws.cloudfront.get_cache_policy_output(
            name="Managed-CachingDisabled", opts=invoke
        )
        # Every viewer header, cookie and query string except Host, which becomes the
        # origin's hostname so the ALB's certificate matches.
        all_viewer = aws.cloudfront.get_origin_request_policy_output(
            name="Managed-AllViewerExceptHostHeader", opts=invoke
        )
        # The API answers CORS itself (ALLOWED_ORIGINS) and sets its own Cache-Control.
        api_headers = self._headers_policy(
            f"{name}-api-headers", f"{args.stack.name_prefix}-api", args, None, cors=False
        )
        routes.behaviours.append(
            aws.cloudfront.DistributionOrderedCacheBehaviorArgs(
                path_pattern=API_PATH,
                target_origin_id=API_ORIGIN,
                viewer_protocol_policy="redirect-to-https",
                allowed_methods=["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"],
                cached_methods=["GET", "HEAD"],
                compress=True,
                cache_policy_id=caching_disabled.apply(lambda p: p.id or ""),
                origin_request_policy_id=all_viewer.apply(lambda p: p.id or ""),
                response_headers_policy_id=api_headers.id,
                function_associations=_redirect_only(routes.www_redirect),
            )
        )

    def _web_acl(self, name: str, args: FrontendArgs) -> pulumi.Output[str]:
        """The distribution's CLOUDFRONT-scope web ACL (its ARN, which `web_acl_id` takes for
        WAFv2). With the API behind the CDN it is the API's rate limit too: the viewer's
        address is known here, not at the ALB, which sees CloudFront's servers."""
        wiring = WebAclWiring(
            scope="CLOUDFRONT",
            guards_api=args.edge.api_via_cdn,
            required_header=cloudflare_required_header(
                f"{name}-cloudflare-verify", args.stack, args.edge, parent=self
            ),
        )
        return WebAcl(
            f"{name}-waf",
            WebAclArgs(stack=args.stack, edge=args.edge, secrets=args.secrets, wiring=wiring),
            opts=pulumi.ResourceOptions(parent=self, providers={"aws": args.wiring.us_east_1}),
        ).arn

    def _distribution(
        self,
        name: str,
        args: FrontendArgs,
        routes: _Routes,
        web_acl_id: pulumi.Output[str] | None,
        log_bucket: pulumi.Output[str],
    ) -> aws.cloudfront.Distribution:
        prefix = args.stack.name_prefix
        return aws.cloudfront.Distribution(
            f"{name}-cdn",
            enabled=True,
            comment=f"{prefix} frontend",
            aliases=[args.stack.domain, f"www.{args.stack.domain}"],
            default_root_object="index.html",
            http_version="http2and3",
            is_ipv6_enabled=True,
            price_class=args.edge.price_class,
            origins=routes.origins,
            default_cache_behavior=routes.default,
            ordered_cache_behaviors=routes.behaviours,
            viewer_certificate=aws.cloudfront.DistributionViewerCertificateArgs(
                acm_certificate_arn=args.wiring.certificate_arn,
                ssl_support_method="sni-only",
                minimum_protocol_version="TLSv1.2_2021",
            ),
            restrictions=aws.cloudfront.DistributionRestrictionsArgs(
                geo_restriction=aws.cloudfront.DistributionRestrictionsGeoRestrictionArgs(
                    restriction_type="none"
                )
            ),
            web_acl_id=web_acl_id,
            # Cookies stay out of the logs: they may carry the viewer's session.
            logging_config=aws.cloudfront.DistributionLoggingConfigArgs(
                bucket=log_bucket, prefix="cloudfront/", include_cookies=False
            ),
            tags={"Name": f"{prefix}-frontend"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _bucket_policy(
        self, name: str, bucket: aws.s3.Bucket, distribution: aws.cloudfront.Distribution
    ) -> None:
        """Only this distribution reads the bucket, and only over TLS."""
        aws.s3.BucketPolicy(
            f"{name}-bucket-policy",
            bucket=bucket.bucket,
            policy=pulumi.Output.all(bucket.arn, distribution.arn).apply(
                lambda v: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AllowThisDistributionToRead",
                                "Effect": "Allow",
                                "Principal": {"Service": "cloudfront.amazonaws.com"},
                                "Action": "s3:GetObject",
                                "Resource": f"{v[0]}/*",
                                "Condition": {"StringEquals": {"AWS:SourceArn": v[1]}},
                            },
                            deny_insecure_transport(v[0]),
                        ],
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cache_policy(
        self, name: str, policy_name: str, min_ttl: int, default_ttl: int
    ) -> aws.cloudfront.CachePolicy:
        """A cache policy keyed on the path alone (plus the compression encoding)."""
        return aws.cloudfront.CachePolicy(
            name,
            name=policy_name,
            min_ttl=min_ttl,
            default_ttl=default_ttl,
            max_ttl=YEAR,
            parameters_in_cache_key_and_forwarded_to_origin={
                "cookies_config": {"cookie_behavior": "none"},
                "headers_config": {"header_behavior": "none"},
                "query_strings_config": {"query_string_behavior": "none"},
                "enable_accept_encoding_gzip": True,
                "enable_accept_encoding_brotli": True,
            },
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _headers_policy(
        self,
        name: str,
        policy_name: str,
        args: FrontendArgs,
        cache_control: str | None,
        *,
        cors: bool,
    ) -> aws.cloudfront.ResponseHeadersPolicy:
        """Security headers on every response; CORS and Cache-Control where asked."""
        cors_config: aws.cloudfront.ResponseHeadersPolicyCorsConfigArgsDict | None = None
        if cors and args.edge.allowed_origins:
            cors_config = {
                "access_control_allow_credentials": False,
                "access_control_allow_headers": {"items": ["Content-Type"]},
                "access_control_allow_methods": {"items": ["GET", "HEAD", "OPTIONS"]},
                "access_control_allow_origins": {"items": list(args.edge.allowed_origins)},
                "access_control_max_age_sec": 600,
                "origin_override": True,
            }
        custom_headers: aws.cloudfront.ResponseHeadersPolicyCustomHeadersConfigArgsDict | None = (
            None
        )
        if cache_control is not None:
            custom_headers = {
                "items": [{"header": "Cache-Control", "value": cache_control, "override": True}]
            }
        return aws.cloudfront.ResponseHeadersPolicy(
            name,
            name=policy_name,
            security_headers_config={
                "strict_transport_security": {
                    "access_control_max_age_sec": HSTS_MAX_AGE,
                    "include_subdomains": True,
                    "preload": args.edge.hsts_preload,
                    "override": True,
                },
                "content_type_options": {"override": True},
                "frame_options": {"frame_option": "DENY", "override": True},
                "referrer_policy": {
                    "referrer_policy": "strict-origin-when-cross-origin",
                    "override": True,
                },
                "content_security_policy": {
                    "content_security_policy": args.edge.content_security_policy,
                    "override": True,
                },
            },
            cors_config=cors_config,
            custom_headers_config=custom_headers,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _redirect_only(
    function: aws.cloudfront.Function,
) -> list[aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs]:
    """An ordered behaviour's association with the function that only redirects www."""
    return [
        aws.cloudfront.DistributionOrderedCacheBehaviorFunctionAssociationArgs(
            event_type="viewer-request", function_arn=function.arn
        )
    ]


@dataclass
class _Routes:
    """The distribution's origins and behaviours, collected before it is created."""

    origins: list[aws.cloudfront.DistributionOriginArgs]
    behaviours: list[aws.cloudfront.DistributionOrderedCacheBehaviorArgs]
    default: aws.cloudfront.DistributionDefaultCacheBehaviorArgs
    www_redirect: aws.cloudfront.Function
    """The function every other behaviour runs: www to the apex, nothing else."""
