"""TLS everywhere: data stores, the load balancer, CloudFront and S3 (Cloudflare: cloudflare.py)."""

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
RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
RDS_CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
REPLICATION_GROUP = "aws:elasticache/replicationGroup:ReplicationGroup"
CACHE_CLUSTER = "aws:elasticache/cluster:Cluster"
SERVERLESS_CACHE = "aws:elasticache/serverlessCache:ServerlessCache"
LISTENERS = ("aws:lb/listener:Listener", "aws:alb/listener:Listener")
LISTENER_RULES = ("aws:lb/listenerRule:ListenerRule", "aws:alb/listenerRule:ListenerRule")
DISTRIBUTION = "aws:cloudfront/distribution:Distribution"
BUCKETS = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"

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


# The parameter that makes the server refuse unencrypted connections, per engine family, and
# the values that turn it on.
FORCE_TLS_PARAMETERS = {
    "rds.force_ssl": ("1",),  # PostgreSQL, SQL Server (and Aurora PostgreSQL, cluster-level)
    "require_secure_transport": ("1", "on", "true"),  # MySQL, MariaDB, Aurora MySQL
}
# Where each database type names its parameter group, and which group type that is. Aurora
# cluster instances inherit TLS and encryption from their cluster, which is checked instead.
DATABASE_PARAMETER_GROUPS = {
    RDS_INSTANCE: ("parameterGroupName", RDS_PARAMETER_GROUP),
    RDS_CLUSTER: ("dbClusterParameterGroupName", RDS_CLUSTER_PARAMETER_GROUP),
}


def _forces_tls(group: Any) -> bool:
    return any(
        str(p.get("value")).strip().lower() in FORCE_TLS_PARAMETERS.get(str(p.get("name")), ())
        for p in (as_dict(x) for x in as_list(group.props.get("parameters")))
    )


def _storage_encrypted(db: Any) -> bool:
    # Aurora Serverless v1 clusters are always encrypted; everything else must say so.
    if db.resource_type == RDS_CLUSTER and db.props.get("engineMode") == "serverless":
        return db.props.get("storageEncrypted") is None or truthy(db.props["storageEncrypted"])
    return truthy(db.props.get("storageEncrypted"))


def _rds_validate(args: StackValidationArgs, report: Report) -> None:
    for db in (r for r in args.resources if r.resource_type in DATABASE_PARAMETER_GROUPS):
        prop, group_type = DATABASE_PARAMETER_GROUPS[db.resource_type]
        groups = [r for r in args.resources if r.resource_type == group_type]
        if not _storage_encrypted(db):
            report(f"{label(db)}: storageEncrypted must be true.", db.urn)
        if not db.props.get(prop):
            report(
                f"{label(db)}: {prop} is unset, so it uses the engine's default parameter group, "
                "which does not force TLS; give it one that sets rds.force_ssl=1 (PostgreSQL) "
                "or require_secure_transport=ON (MySQL).",
                db.urn,
            )
            continue
        mine = related(db, prop, groups)
        if not mine:
            report(
                f"{label(db)}: its parameter group {db.props.get(prop)!r} is not managed in "
                "this stack, so forced TLS cannot be verified.",
                db.urn,
            )
        elif not all(_forces_tls(g) for g in mine):
            report(
                f"{label(db)}: its parameter group must set rds.force_ssl=1 (PostgreSQL) or "
                "require_secure_transport=ON (MySQL).",
                db.urn,
            )


rds_ssl_and_encryption = StackValidationPolicy(
    name="rds-ssl-and-encryption",
    description=(
        "RDS instances and Aurora/Multi-AZ clusters encrypt storage and refuse unencrypted "
        "connections (a parameter group, for clusters the cluster parameter group, with "
        "rds.force_ssl=1 or require_secure_transport=ON): credentials and data never cross the "
        "network in clear text."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_rds_validate,
)

# ElastiCache engines that have AUTH / RBAC user groups (Memcached has neither).
AUTH_ENGINES = ("redis", "valkey")


def _cache_problems(resource_type: str, props: Mapping[str, Any]) -> list[str]:
    engine = str(props.get("engine") or "redis").lower()
    if resource_type == SERVERLESS_CACHE:
        # Always TLS and encrypted at rest; only authentication is up to the stack.
        if engine in AUTH_ENGINES and not props.get("userGroupId"):
            return ["userGroupId is unset, so any client that reaches the cache is let in."]
        return []
    if resource_type == CACHE_CLUSTER and props.get("replicationGroupId"):
        return []  # a member of a replication group, which carries (and is checked for) these
    problems = []
    if not truthy(props.get("transitEncryptionEnabled")):
        problems.append("transitEncryptionEnabled must be true.")
    elif props.get("transitEncryptionMode") == "preferred":
        problems.append(
            "transitEncryptionMode 'preferred' still accepts plain-text clients; use 'required'."
        )
    if resource_type == CACHE_CLUSTER:
        if engine in AUTH_ENGINES:
            problems.append(
                f"A standalone {engine} cache cluster can neither require AUTH nor encrypt at "
                "rest; use a ReplicationGroup (numCacheClusters=1 for a single node) with "
                "authToken or userGroupIds and atRestEncryptionEnabled."
            )
        return problems
    if not truthy(props.get("atRestEncryptionEnabled")):
        problems.append("atRestEncryptionEnabled must be true.")
    if not (
        props.get("authToken") or props.get("authTokenWo") or as_list(props.get("userGroupIds"))
    ):
        problems.append(
            "Clients must authenticate: set authToken (or authTokenWo) or userGroupIds."
        )
    return problems


def _elasticache_validate(args: ResourceValidationArgs, report: Report) -> None:
    if args.resource_type in (REPLICATION_GROUP, CACHE_CLUSTER, SERVERLESS_CACHE):
        for problem in _cache_problems(args.resource_type, args.props):
            report(problem)


elasticache_encryption_and_auth = ResourceValidationPolicy(
    name="elasticache-encryption-and-auth",
    description=(
        "ElastiCache replication groups, cache clusters and serverless caches encrypt in transit "
        "and at rest and require AUTH or a user group (where the engine has them), so session "
        "data and tokens in Redis/Valkey are neither sniffable nor open to any VPC host."
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


def _redirect_protocol(action: Mapping[str, Any], listener_protocol: str | None) -> str | None:
    """The protocol a redirect action sends the browser to (None: not a redirect).

    `#{protocol}` (also the default) keeps the request's protocol, which is the listener's; an
    unknown listener leaves it unknown ("").
    """
    if str(action.get("type") or "").lower() != "redirect":
        return None
    protocol = str(as_dict(action.get("redirect")).get("protocol") or "#{protocol}").upper()
    if protocol == "#{PROTOCOL}":
        return listener_protocol or ""
    return protocol


def _listener_problems(
    protocol: str | None, actions: list[dict[str, Any]], where: str
) -> list[str]:
    """What is wrong with `actions` served by a listener speaking `protocol` (None: unknown)."""
    targets = [_redirect_protocol(a, protocol) for a in actions]
    if protocol == "HTTP" and not (actions and all(t == "HTTPS" for t in targets)):
        return [f"{where}: on an HTTP listener every action must redirect to HTTPS."]
    if "HTTP" in targets:
        return [f"{where}: redirects to http://; redirect to HTTPS only."]
    return []


def _actions(resource: Any, prop: str) -> list[dict[str, Any]]:
    return [as_dict(a) for a in as_list(resource.props.get(prop))]


def _listener_validate(args: StackValidationArgs, report: Report) -> None:
    config = config_of(args.get_config, ALB_DEFAULTS)
    listeners = [r for r in args.resources if r.resource_type in LISTENERS]
    for listener in listeners:
        protocol = str(listener.props.get("protocol") or "").upper()
        if protocol in ("HTTPS", "TLS"):
            policy = listener.props.get("sslPolicy")
            if policy not in config["allowedSslPolicies"]:
                report(
                    f"{label(listener)}: sslPolicy {policy!r} is not allowed; use one of "
                    f"{', '.join(config['allowedSslPolicies'])}.",
                    listener.urn,
                )
        elif protocol != "HTTP":
            report(
                f"{label(listener)}: protocol {protocol or 'unset'!r}: public listeners are "
                "HTTPS, or HTTP redirects.",
                listener.urn,
            )
        for problem in _listener_problems(
            protocol, _actions(listener, "defaultActions"), f"{label(listener)} default action"
        ):
            report(problem, listener.urn)
    for rule in (r for r in args.resources if r.resource_type in LISTENER_RULES):
        # Only ALB listeners have rules, and an ALB listener's protocol defaults to HTTP. A rule
        # of a listener outside this stack is judged on what it says alone.
        mine = related(rule, "listenerArn", listeners, ("arn",))
        protocols: list[str | None] = [
            str(m.props.get("protocol") or "HTTP").upper() for m in mine
        ] or [None]
        for of_listener in protocols:
            for problem in _listener_problems(of_listener, _actions(rule, "actions"), label(rule)):
                report(problem, rule.urn)


alb_listener_tls = StackValidationPolicy(
    name="alb-listener-tls",
    description=(
        "Load balancer listeners serve HTTPS with an allowed TLS policy (TLS 1.2+ with forward "
        "secrecy) and never redirect to http://; plain HTTP listeners, their default action and "
        "every listener rule on them, only redirect to HTTPS."
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
        # Several blocks on one bucket overwrite each other in whatever order they apply, so
        # every one of them must be fully on.
        mine = [b for b in blocks if about(b)]
        partial = [b for b in mine if not all(truthy(b.props.get(f)) for f in PUBLIC_ACCESS_FLAGS)]
        if not mine or partial:
            which = f"; not fully on: {', '.join(b.name for b in partial)}" if partial else ""
            report(
                f"{label(bucket)}: needs public access blocks with all four flags true "
                f"({', '.join(PUBLIC_ACCESS_FLAGS)}){which}.",
                bucket.urn,
            )


s3_tls_and_private = StackValidationPolicy(
    name="s3-tls-and-private",
    description=(
        "S3 buckets deny non-TLS requests in their bucket policy and block all public access "
        "(every public access block on a bucket fully on); the frontend is served through "
        "CloudFront, never from a public bucket."
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    validate=_s3_validate,
)


POLICIES = [
    rds_ssl_and_encryption,
    elasticache_encryption_and_auth,
    alb_listener_tls,
    cloudfront_tls,
    s3_tls_and_private,
]
