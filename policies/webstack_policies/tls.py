"""TLS everywhere: data stores, the load balancer, CloudFront, S3 and Cloudflare."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .common import Report, as_dict, as_json, as_list, config_of, label, related, schema, truthy

RDS_INSTANCE = "aws:rds/instance:Instance"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
CLOUDFLARE_ZONE = "cloudflare:index/zone:Zone"
CLOUDFLARE_ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"

# CloudFront's viewer security policies, oldest first; a minimum is a position in this list.
CLOUDFRONT_TLS_VERSIONS = (
    "SSLv3",
    "TLSv1",
    "TLSv1_2016",
    "TLSv1.1_2016",
    "TLSv1.2_2018",
    "TLSv1.2_2019",
    "TLSv1.2_2021",
    "TLSv1.2_2025",
    "TLSv1.3_2025",
)
VIEWER_HTTPS = ("redirect-to-https", "https-only")
PUBLIC_ACCESS_FLAGS = (
    "blockPublicAcls",
    "blockPublicPolicy",
    "ignorePublicAcls",
    "restrictPublicBuckets",
)


def _force_ssl(group: Any) -> bool:
    return any(
        p.get("name") == "rds.force_ssl" and str(p.get("value")) == "1"
        for p in as_list(group.props.get("parameters"))
    )


def _rds_validate(args: StackValidationArgs, report: Report) -> None:
    groups = [r for r in args.resources if r.resource_type == RDS_PARAMETER_GROUP]
    for db in (r for r in args.resources if r.resource_type == RDS_INSTANCE):
        if not truthy(db.props.get("storageEncrypted")):
            report(f"{label(db)}: storageEncrypted must be true.", db.urn)
        if not db.props.get("parameterGroupName"):
            report(
                f"{label(db)}: uses the engine's default parameter group, which does not set "
                "rds.force_ssl=1; give it a parameter group that does.",
                db.urn,
            )
            continue
        mine = related(db, "parameterGroupName", groups)
        if not mine:
            report(
                f"{label(db)}: its parameter group {db.props.get('parameterGroupName')!r} is not "
                "managed in this stack, so rds.force_ssl=1 cannot be verified.",
                db.urn,
            )
        elif not all(_force_ssl(g) for g in mine):
            report(f"{label(db)}: its parameter group must set rds.force_ssl=1.", db.urn)


rds_ssl_and_encryption = StackValidationPolicy(
    name="rds-ssl-and-encryption",
    description=(
        "RDS instances encrypt storage and refuse unencrypted connections (a parameter group "
        "with rds.force_ssl=1): credentials and data never cross the network in clear text."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_rds_validate,
)


def _elasticache_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != REPLICATION_GROUP:
        return
    props = args.props
    if not truthy(props.get("transitEncryptionEnabled")):
        report("transitEncryptionEnabled must be true.")
    elif props.get("transitEncryptionMode") == "preferred":
        report(
            "transitEncryptionMode 'preferred' still accepts plain-text clients; use 'required'."
        )
    if not truthy(props.get("atRestEncryptionEnabled")):
        report("atRestEncryptionEnabled must be true.")
    if not (
        props.get("authToken") or props.get("authTokenWo") or as_list(props.get("userGroupIds"))
    ):
        report("Clients must authenticate: set authToken (or authTokenWo) or userGroupIds.")


elasticache_encryption_and_auth = ResourceValidationPolicy(
    name="elasticache-encryption-and-auth",
    description=(
        "ElastiCache replication groups encrypt in transit and at rest and require AUTH, so "
        "session data and tokens in Redis are neither sniffable nor open to any VPC host."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_elasticache_validate,
)

ALB_DEFAULTS: dict[str, Any] = {
    "allowedSslPolicies": [
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
    ]
}


def _redirects_to_https(action: Mapping[str, Any]) -> bool:
    redirect = as_dict(action.get("redirect"))
    return action.get("type") == "redirect" and redirect.get("protocol") == "HTTPS"


def _listener_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type not in LISTENERS:
        return
    config = config_of(args.get_config, ALB_DEFAULTS)
    protocol = str(args.props.get("protocol") or "").upper()
    if protocol in ("HTTPS", "TLS"):
        policy = args.props.get("sslPolicy")
        if policy not in config["allowedSslPolicies"]:
            report(
                f"sslPolicy {policy!r} is not allowed; use one of "
                f"{', '.join(config['allowedSslPolicies'])}."
            )
    elif protocol == "HTTP":
        actions = [as_dict(a) for a in as_list(args.props.get("defaultActions"))]
        if not actions or not all(_redirects_to_https(a) for a in actions):
            report(
                "An HTTP listener may only redirect to HTTPS (a redirect action, protocol HTTPS)."
            )
    else:
        report(f"protocol {protocol or 'unset'!r}: public listeners are HTTPS, or HTTP redirects.")


alb_listener_tls = ResourceValidationPolicy(
    name="alb-listener-tls",
    description=(
        "Load balancer listeners serve HTTPS with an allowed TLS policy (TLS 1.2+ with forward "
        "secrecy); plain HTTP listeners only redirect to HTTPS."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        ALB_DEFAULTS, {"allowedSslPolicies": {"type": "array", "items": {"type": "string"}}}
    ),
    validate=_listener_validate,
)

CLOUDFRONT_DEFAULTS: dict[str, Any] = {"minimumProtocolVersion": "TLSv1.2_2021"}


def _cloudfront_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type != DISTRIBUTION:
        return
    minimum = config_of(args.get_config, CLOUDFRONT_DEFAULTS)["minimumProtocolVersion"]
    behaviours = [("default cache behaviour", as_dict(args.props.get("defaultCacheBehavior")))]
    behaviours += [
        (f"cache behaviour {b.get('pathPattern')!r}", b)
        for b in (as_dict(x) for x in as_list(args.props.get("orderedCacheBehaviors")))
    ]
    for where, behaviour in behaviours:
        if behaviour.get("viewerProtocolPolicy") not in VIEWER_HTTPS:
            report(
                f"{where}: viewerProtocolPolicy {behaviour.get('viewerProtocolPolicy')!r} "
                "allows plain HTTP; use redirect-to-https or https-only."
            )
    certificate = as_dict(args.props.get("viewerCertificate"))
    version = certificate.get("minimumProtocolVersion")
    if truthy(certificate.get("cloudfrontDefaultCertificate")):
        report("The default *.cloudfront.net certificate allows TLSv1; use an ACM certificate.")
    elif version not in CLOUDFRONT_TLS_VERSIONS or CLOUDFRONT_TLS_VERSIONS.index(
        version
    ) < CLOUDFRONT_TLS_VERSIONS.index(minimum):
        report(f"viewerCertificate.minimumProtocolVersion {version!r} is below {minimum}.")
    for origin in (as_dict(o) for o in as_list(args.props.get("origins"))):
        custom = as_dict(origin.get("customOriginConfig"))
        if not custom:
            continue
        where = f"origin {origin.get('originId')!r}"
        if custom.get("originProtocolPolicy") != "https-only":
            report(f"{where}: originProtocolPolicy must be https-only.")
        weak = [p for p in as_list(custom.get("originSslProtocols")) if p != "TLSv1.2"]
        if weak:
            report(f"{where}: originSslProtocols must be TLSv1.2 only, not {', '.join(weak)}.")


cloudfront_tls = ResourceValidationPolicy(
    name="cloudfront-tls",
    description=(
        "CloudFront serves viewers over HTTPS only (redirect or https-only on every behaviour) "
        "with a modern minimum TLS version, and talks to custom origins over TLS 1.2."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=schema(
        CLOUDFRONT_DEFAULTS,
        {"minimumProtocolVersion": {"type": "string", "enum": list(CLOUDFRONT_TLS_VERSIONS)}},
    ),
    validate=_cloudfront_validate,
)


def _denies_insecure_transport(policy: Any) -> bool:
    document = as_json(policy)
    if not isinstance(document, Mapping):
        return False
    statements = document.get("Statement")
    if isinstance(statements, Mapping):
        statements = [statements]
    for statement in as_list(statements):
        statement = as_dict(statement)
        condition = as_dict(as_dict(statement.get("Condition")).get("Bool"))
        if (
            statement.get("Effect") == "Deny"
            and statement.get("Principal") in ("*", {"AWS": "*"})
            and str(condition.get("aws:SecureTransport")).lower() == "false"
        ):
            return True
    return False


def _s3_validate(args: StackValidationArgs, report: Report) -> None:
    policies = [r for r in args.resources if r.resource_type == BUCKET_POLICY]
    blocks = [r for r in args.resources if r.resource_type == PUBLIC_ACCESS_BLOCK]
    for bucket in (r for r in args.resources if r.resource_type in BUCKETS):

        def about(resource: Any, bucket: Any = bucket) -> bool:
            return bucket in related(resource, "bucket", [bucket], ("bucket",))

        if not any(_denies_insecure_transport(p.props.get("policy")) for p in policies if about(p)):
            report(
                f"{label(bucket)}: needs a bucket policy that denies requests with "
                "aws:SecureTransport=false.",
                bucket.urn,
            )
        mine = [b for b in blocks if about(b)]
        if not any(all(truthy(b.props.get(f)) for f in PUBLIC_ACCESS_FLAGS) for b in mine):
            report(
                f"{label(bucket)}: needs a public access block with all four flags true "
                f"({', '.join(PUBLIC_ACCESS_FLAGS)}).",
                bucket.urn,
            )


s3_tls_and_private = StackValidationPolicy(
    name="s3-tls-and-private",
    description=(
        "S3 buckets deny non-TLS requests in their bucket policy and block all public access; "
        "the frontend is served through CloudFront, never from a public bucket."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_s3_validate,
)


def _cloudflare_validate(args: StackValidationArgs, report: Report) -> None:
    ssl_settings = [
        r
        for r in args.resources
        if r.resource_type == CLOUDFLARE_ZONE_SETTING and r.props.get("settingId") == "ssl"
    ]
    for setting in ssl_settings:
        if setting.props.get("value") != "strict":
            report(
                f"{label(setting)}: SSL mode {setting.props.get('value')!r}; only 'strict' "
                "validates the origin's certificate.",
                setting.urn,
            )
    for zone in (r for r in args.resources if r.resource_type == CLOUDFLARE_ZONE):
        if not any(related(s, "zoneId", [zone], ()) for s in ssl_settings):
            report(
                f"{label(zone)}: manage its 'ssl' zone setting and set it to 'strict'.", zone.urn
            )


cloudflare_ssl_strict = StackValidationPolicy(
    name="cloudflare-ssl-strict",
    description=(
        "Cloudflare zones managed here use SSL mode 'strict': Cloudflare verifies the origin's "
        "certificate instead of accepting any (full) or talking plain HTTP (flexible)."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_cloudflare_validate,
)

POLICIES = [
    rds_ssl_and_encryption,
    elasticache_encryption_and_auth,
    alb_listener_tls,
    cloudfront_tls,
    s3_tls_and_private,
    cloudflare_ssl_strict,
]
