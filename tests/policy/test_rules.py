"""Every rule, with resources that break it and ones that pass, through the real pack process.

The breaking programs include each way a reviewer slipped an insecure resource past an earlier
version of the pack (a rule spelled differently from what it expected); each names the resource
type that must carry the violation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.policy.fixtures import backups, cors, credentials, databases, edge, network, operations
from tools.policycheck import Analyzer, Violation

ViolationsOf = Callable[..., list[Violation]]
Program = Callable[[], None]
PROD_DB = {
    "rds-backup-plan": {"minimumRetentionDays": 30, "requireRestoreTesting": True},
    "rds-backup-retention": {"minimumRetentionDays": 30},
    "rds-durability": {"requireDeletionProtection": True, "requireMultiAz": True},
}
DOMAINS = {"cors-origins-within-domains": {"allowedDomains": ["example.com"]}}
ADVISORY = {"log-group-retention", "required-tags"}  # the rest is mandatory by default

RDS = "aws:rds/instance:Instance"
CLUSTER = "aws:rds/cluster:Cluster"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
LISTENER = "aws:lb/listener:Listener"
LISTENER_RULE = "aws:lb/listenerRule:ListenerRule"
TASK = "aws:ecs/taskDefinition:TaskDefinition"
LAMBDA = "aws:lambda/function:Function"
SSM = "aws:ssm/parameter:Parameter"
SECRET = "aws:secretsmanager/secret:Secret"
BUCKET = "aws:s3/bucket:Bucket"
ZONE_SETTING = "cloudflare:index/zoneSetting:ZoneSetting"
DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
TLS_1_3 = {"cloudflare-zone-settings": {"minimumTlsVersion": "1.3"}}
OWNED_ELSEWHERE = {"cloudflare-zone-settings": {"settingsOwnedElsewhere": True}}

# rule, breaking program, type of the resource it must flag, policy config
BREAKING: list[tuple[str, Program, str, dict[str, Any]]] = [
    ("rds-ssl-and-encryption", databases.rds_plain, RDS, {}),
    ("rds-ssl-and-encryption", databases.rds_group_without_force_ssl, RDS, {}),
    ("rds-ssl-and-encryption", databases.aurora_unencrypted, CLUSTER, {}),
    ("rds-ssl-and-encryption", databases.aurora_without_force_ssl, CLUSTER, {}),
    ("rds-ssl-and-encryption", databases.aurora_default_parameter_group, CLUSTER, {}),
    ("rds-ssl-and-encryption", databases.multi_az_cluster_unencrypted, CLUSTER, {}),
    ("rds-ssl-and-encryption", databases.multi_az_cluster_without_force_ssl, CLUSTER, {}),
    ("elasticache-encryption-and-auth", databases.cache_plain, "aws:elasticache/", {}),
    ("elasticache-encryption-and-auth", databases.cache_cluster_plain, "aws:elasticache/", {}),
    (
        "elasticache-encryption-and-auth",
        databases.cache_cluster_tls_without_auth,
        "aws:elasticache/cluster:Cluster",
        {},
    ),
    (
        "elasticache-encryption-and-auth",
        databases.serverless_cache_without_user_group,
        "aws:elasticache/serverlessCache:ServerlessCache",
        {},
    ),
    ("alb-listener-tls", edge.alb_weak, LISTENER, {}),
    ("alb-listener-tls", edge.alb_https_redirects_to_http, LISTENER, {}),
    ("alb-listener-tls", edge.alb_http_redirect_keeps_http, LISTENER, {}),
    ("alb-listener-tls", edge.alb_http_rule_forwards, LISTENER_RULE, {}),
    ("alb-listener-tls", edge.alb_https_rule_redirects_to_http, LISTENER_RULE, {}),
    ("cloudfront-tls", edge.cloudfront_weak, "aws:cloudfront/distribution:", {}),
    ("s3-tls-and-private", edge.bucket_open, "aws:s3/bucket:Bucket", {}),
    ("s3-tls-and-private", edge.bucket_two_blocks, "aws:s3/bucket:Bucket", {}),
    *[("s3-tls-and-private", b, BUCKET, {}) for b in edge.BUCKETS_WITH_ONE_FLAG_OFF],
    ("cloudflare-zone-settings", edge.cloudflare_proxied_full, ZONE_SETTING, {}),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_without_settings, DNS_RECORD, {}),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_old_tls, ZONE_SETTING, {}),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_old_tls, ZONE_SETTING, TLS_1_3),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_strict, ZONE_SETTING, TLS_1_3),
    ("cloudflare-zone-settings", edge.cloudflare_dns_only_flexible, ZONE_SETTING, {}),
    ("cors-https-origins", cors.cors_wildcard, "aws:cloudfront/", DOMAINS),
    ("cors-https-origins", cors.cors_env_cors_allowed_origins, TASK, DOMAINS),
    ("cors-https-origins", cors.cors_env_cors_origin_http, TASK, DOMAINS),
    ("cors-https-origins", cors.cors_env_cors_origin_wildcard, TASK, DOMAINS),
    ("cors-https-origins", cors.cors_env_lambda_http_origin, LAMBDA, DOMAINS),
    ("cors-https-origins", cors.cors_env_lowercase_json_list, LAMBDA, DOMAINS),
    ("cors-https-origins", cors.cors_env_space_separated, TASK, DOMAINS),
    ("cors-https-origins", cors.cors_env_allow_all_flag, TASK, DOMAINS),
    ("cors-https-origins", cors.cors_function_url_wildcard, "aws:lambda/functionUrl:", DOMAINS),
    ("cors-https-origins", cors.cors_http_api_wildcard, "aws:apigatewayv2/api:Api", DOMAINS),
    ("cors-https-origins", cors.cors_http_api_body_wildcard, "aws:apigatewayv2/api:", DOMAINS),
    (
        "cors-https-origins",
        cors.cors_http_api_integration_wildcard,
        "aws:apigatewayv2/integration:",
        DOMAINS,
    ),
    ("cors-https-origins", cors.cors_rest_api_wildcard, "integrationResponse", DOMAINS),
    (
        "cors-https-origins",
        cors.cors_gateway_response_reflects_origin,
        "aws:apigateway/response:Response",
        DOMAINS,
    ),
    ("cors-https-origins", cors.cors_rest_api_body_http, "aws:apigateway/restApi:", DOMAINS),
    ("cors-origins-within-domains", cors.cors_foreign, "aws:s3/", DOMAINS),
    ("cors-origins-within-domains", cors.cors_function_url_foreign, "functionUrl", DOMAINS),
    ("no-plaintext-secret-env", credentials.env_plain_secrets, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_plain_secrets, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_stripe_key, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_restricted_stripe_key, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_github_token, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_github_pat, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_slack_token, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_aws_access_key, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_jwt, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_pem_private_key, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_libpq_password, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_url_password, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_db_pass, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_session_signing, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_auth_value, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_secret_word_first, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_secret_word_versioned, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_token_word_versioned, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_key_word_first, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_bearer_token, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_key_value_token, TASK, {}),
    ("no-plaintext-secret-env", credentials.env_json_document, LAMBDA, {}),
    ("no-plaintext-secret-env", credentials.env_arn_name_holding_a_key, TASK, {}),
    (
        "no-plaintext-secret-env",
        credentials.env_allowed_name_holding_a_private_key,
        TASK,
        credentials.ALLOW_PUBLIC_KEY,
    ),
    ("secret-length", credentials.jwt_short, "random:", {}),
    ("secrets-manager-kms", credentials.secret_default_key, SECRET, {}),
    ("secrets-manager-kms", credentials.secret_aws_managed_alias, SECRET, {}),
    ("secrets-manager-kms", credentials.secret_aws_managed_alias_arn, SECRET, {}),
    ("ssm-secure-string", credentials.ssm_password_as_string, SSM, {}),
    ("ssm-secure-string", credentials.ssm_generated_value_as_string, SSM, {}),
    ("ssm-secure-string", credentials.ssm_token_under_innocent_name, SSM, {}),
    ("ssm-secure-string", credentials.ssm_secure_string_with_aws_key, SSM, {}),
    ("no-secret-literals", credentials.secret_literal, "aws:secretsmanager/", {}),
    ("rds-backup-plan", backups.rds_without_backup_plan, RDS, PROD_DB),
    ("rds-backup-plan", backups.rds_in_a_week_long_plan, RDS, PROD_DB),
    ("rds-backup-plan", backups.rds_never_restore_tested, RDS, PROD_DB),
    ("rds-backup-plan", backups.rds_selected_by_tag_only, RDS, PROD_DB),
    ("rds-backup-plan", backups.rds_excluded_from_its_selection, RDS, PROD_DB),
    ("rds-backup-plan", backups.aurora_without_backup_plan, CLUSTER, PROD_DB),
    ("rds-backup-plan", backups.aurora_in_a_week_long_plan, CLUSTER, PROD_DB),
    ("rds-backup-plan", backups.aurora_restore_tested_as_an_instance, CLUSTER, PROD_DB),
    ("rds-backup-retention", databases.rds_short_backups, RDS, PROD_DB),
    ("rds-backup-retention", databases.aurora_one_day_backups, CLUSTER, PROD_DB),
    ("rds-backup-retention", databases.multi_az_cluster_one_day_backups, CLUSTER, PROD_DB),
    ("rds-not-public", databases.rds_public, RDS, {}),
    ("rds-not-public", databases.aurora_public_instance, CLUSTER_INSTANCE, {}),
    ("rds-not-public", databases.multi_az_cluster_public, CLUSTER, {}),
    ("rds-durability", databases.rds_single_az_unprotected, RDS, PROD_DB),
    ("rds-durability", databases.aurora_unprotected, CLUSTER, PROD_DB),
    ("rds-durability", databases.multi_az_cluster_unprotected, CLUSTER, PROD_DB),
    ("no-public-ingress", network.sg_open, SG, {}),
    ("no-public-ingress", network.sg_open, "aws:vpc/securityGroupIngressRule:", {}),
    ("no-public-ingress", network.sg_halves_inline, SG, {}),
    ("no-public-ingress", network.sg_halves_across_rule_resources, SG_RULE, {}),
    ("no-public-ingress", network.sg_eights_cover_ipv4_on_a_port_range, SG, {}),
    ("no-public-ingress", network.sg_eights_cover_ipv6, SG, {}),
    ("no-public-ingress", network.sg_all_protocols_and_tcp_add_up, SG, {}),
    ("no-public-ingress", network.sg_wide_public_range, SG, {}),
    ("no-public-ingress", network.sg_public_seven_on_postgres, SG, {}),
    ("no-public-ingress", network.sg_wide_public_ipv6_range, SG, {}),
    ("ecs-service-safety", operations.ecs_unsafe, "aws:ecs/service:", {}),
    ("log-group-retention", operations.logs_forever, "aws:cloudwatch/logGroup:", {}),
    ("required-tags", operations.tags_missing, "aws:", {}),
]

# rule, passing program, policy config
PASSING: list[tuple[str, Program, dict[str, Any]]] = [
    ("rds-ssl-and-encryption", databases.rds_secure, {}),
    ("rds-ssl-and-encryption", databases.rds_mysql_secure, {}),
    ("rds-ssl-and-encryption", databases.aurora_secure, {}),
    ("rds-ssl-and-encryption", databases.multi_az_cluster_secure, {}),
    ("elasticache-encryption-and-auth", databases.cache_secure, {}),
    ("elasticache-encryption-and-auth", databases.cache_cluster_in_secure_group, {}),
    ("elasticache-encryption-and-auth", databases.memcached_with_tls, {}),
    ("elasticache-encryption-and-auth", databases.serverless_cache_with_user_group, {}),
    ("alb-listener-tls", edge.alb_secure, {}),
    ("alb-listener-tls", edge.alb_secure_with_rules, {}),
    ("cloudfront-tls", edge.cloudfront_secure, {}),
    ("s3-tls-and-private", edge.bucket_secure, {}),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_strict, {}),
    ("cloudflare-zone-settings", edge.cloudflare_dns_only, {}),
    ("cloudflare-zone-settings", edge.cloudflare_proxied_settings_elsewhere, OWNED_ELSEWHERE),
    ("cors-https-origins", cors.cors_own, DOMAINS),
    ("cors-https-origins", cors.cors_settings_that_are_not_origins, DOMAINS),
    ("cors-origins-within-domains", cors.cors_own, DOMAINS),
    ("cors-origins-within-domains", cors.cors_settings_that_are_not_origins, DOMAINS),
    ("no-plaintext-secret-env", credentials.env_secret_refs, {}),
    ("no-plaintext-secret-env", credentials.env_everyday_settings, credentials.ALLOW_PUBLIC_KEY),
    ("secret-length", credentials.jwt_long, {}),
    ("secrets-manager-kms", credentials.jwt_long, {}),
    ("secrets-manager-kms", credentials.secret_with_stack_key, {}),
    ("ssm-secure-string", credentials.ssm_secure_and_plain, {}),
    ("no-secret-literals", credentials.secret_from_config, {}),
    ("rds-backup-plan", backups.rds_backed_up_and_restore_tested, PROD_DB),
    ("rds-backup-plan", backups.rds_selected_by_arn_literal, PROD_DB),
    ("rds-backup-plan", backups.aurora_backed_up_and_restore_tested, PROD_DB),
    (
        "rds-backup-plan",
        backups.rds_never_restore_tested,
        {"rds-backup-plan": {"minimumRetentionDays": 30, "requireRestoreTesting": False}},
    ),
    ("rds-backup-retention", databases.rds_secure, PROD_DB),
    ("rds-backup-retention", databases.aurora_secure, PROD_DB),
    ("rds-backup-retention", databases.multi_az_cluster_secure, PROD_DB),
    ("rds-not-public", databases.rds_secure, {}),
    ("rds-not-public", databases.aurora_secure, {}),
    ("rds-not-public", databases.multi_az_cluster_secure, {}),
    ("rds-durability", databases.rds_secure, PROD_DB),
    ("rds-durability", databases.aurora_secure, PROD_DB),
    ("rds-durability", databases.multi_az_cluster_secure, PROD_DB),
    ("no-public-ingress", network.sg_web_only, {}),
    ("no-public-ingress", network.sg_halves_on_web_ports_private_and_narrow_elsewhere, {}),
    ("no-public-ingress", network.sg_eights_split_over_two_groups, {}),
    ("no-public-ingress", network.sg_public_nines_and_eights, {}),
    ("ecs-service-safety", operations.ecs_safe, {}),
    ("log-group-retention", operations.logs_bounded, {}),
    ("required-tags", operations.tags_complete, {}),
]

# Words the violation must say, for breaking programs that could trip their rule for another
# reason than the one they are about.
BECAUSE: dict[Program, str] = {
    databases.multi_az_cluster_unencrypted: "storageEncrypted must be true",
    databases.multi_az_cluster_without_force_ssl: "its parameter group must set",
    databases.multi_az_cluster_one_day_backups: "backupRetentionPeriod is 1 days",
    databases.multi_az_cluster_unprotected: "deletionProtection must be true",
    **{bucket: "not fully on: assets-public-access" for bucket in edge.BUCKETS_WITH_ONE_FLAG_OFF},
    cors.cors_env_cors_origin_wildcard: "CORS_ORIGIN: '*' allows any origin",
    cors.cors_env_lambda_http_origin: "'http://app.example.com' is not an https origin",
    credentials.env_secret_word_first: "SECRET_VALUE_1 holds a random-looking value",
    credentials.env_secret_word_versioned: "WEBHOOK_SECRET_V2 holds a random-looking value",
    credentials.env_token_word_versioned: "TOKEN_V2 holds a random-looking value",
    credentials.env_key_word_first: "KEY_MATERIAL holds a random-looking value",
    backups.aurora_without_backup_plan: "no AWS Backup plan selects it",
    backups.aurora_in_a_week_long_plan: "at most 7 days",
    backups.aurora_restore_tested_as_an_instance: "no restore testing selection",
    network.sg_public_seven_on_postgres: "tcp 5432 to 64.0.0.0/7, a public range wider than /8",
    network.sg_wide_public_ipv6_range: "tcp 22 to 2000::/4, a public range wider than /8",
}


def _id(case: tuple[Any, ...]) -> str:
    return f"{case[0]}:{case[1].__name__}"


@pytest.mark.parametrize("case", BREAKING, ids=_id)
def test_rule_flags_the_breaking_resource(violations_of: ViolationsOf, case: tuple) -> None:
    rule, breaking, flagged_type, config = case
    found = [v for v in violations_of(breaking, config) if v.policy == rule]
    assert found, f"{rule} did not flag {breaking.__name__}"
    assert {v.enforcement for v in found} == {"advisory" if rule in ADVISORY else "mandatory"}
    assert all(v.urn for v in found), "every violation names the resource"
    types = [v.urn.split("::")[2] for v in found]
    assert any(flagged_type in t for t in types), f"{flagged_type} not among flagged {types}"
    if breaking in BECAUSE:
        messages = [v.message for v in found]
        assert any(BECAUSE[breaking] in m for m in messages), messages


@pytest.mark.parametrize("case", PASSING, ids=_id)
def test_rule_passes_the_compliant_resource(violations_of: ViolationsOf, case: tuple) -> None:
    rule, passing, config = case
    assert [v.message for v in violations_of(passing, config) if v.policy == rule] == []


def test_every_rule_of_the_pack_breaks_and_passes(analyzer: Analyzer) -> None:
    rules = {p.name for p in analyzer.info.policies}
    assert {case[0] for case in BREAKING} == rules
    assert {case[0] for case in PASSING} == rules
