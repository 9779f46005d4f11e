"""LoadBalancer: the API's public entry point.

Creates:
- a security group admitting 443 (and 80, for the redirect) from the internet or only from
  configured ranges, or 443 only from CloudFront's origin-facing prefix list; its one egress rule
  goes to the API workload group on the target port;
- an internet-facing ALB in the public subnets: invalid header fields dropped, deletion
  protection by config, access logs to a private, versioned SSE-S3 bucket with lifecycle
  expiry;
- an HTTPS listener (TLS 1.3 policy, ACM certificate) adding HSTS, nosniff, X-Frame-Options
  DENY and a locked-down CSP to every response, and an HTTP listener that only redirects;
- the API target group (ip targets, readiness health check, short deregistration delay) and,
  with a traffic-shifting deployment strategy (`api.deployment`), its twin (`<name>-api-alt`)
  that ECS starts each new release in;
- when CloudFront fronts the API, a random origin-verify secret: CloudFront sends it as a header,
  the ALB's WAF exempts those requests from its per-IP limit and, when only CloudFront may
  connect, the listener forwards nothing else;
- the listener rules (components/listener_rules.py): CloudFront's, and the production and test
  rules ECS shifts between the two target groups;
- a regional WAF web ACL (components/waf.py) associated with the ALB.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_random as random

from components.buckets import deny_insecure_transport, private_bucket
from components.config import ApiConfig, EdgeConfig, SecretsConfig, StackWide
from components.listener_rules import (
    ORIGIN_VERIFY_HEADER,
    ListenerRules,
    TrafficShiftRouting,
    listener_rules,
)
from components.waf import WebAcl, WebAclArgs, WebAclWiring

TLS_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
CLOUDFRONT_PREFIX_LIST = "com.amazonaws.global.cloudfront.origin-facing"
ACCESS_LOG_PREFIX = "alb"
HSTS_MAX_AGE = 31536000  # one year: the minimum the HSTS preload list accepts


@dataclass(frozen=True, kw_only=True)
class LoadBalancerWiring:
    """What LoadBalancer takes from Network, WorkloadSecurityGroups and Certificates."""

    vpc_id: pulumi.Input[str]
    """The VPC of the ALB and its targets."""
    public_subnet_ids: pulumi.Input[Sequence[str]]
    """Subnets the ALB lives in (one per AZ)."""
    target_security_group_id: pulumi.Input[str]
    """The API workload's security group: the only place the ALB may send traffic."""
    certificate_arn: pulumi.Input[str]
    """A validated regional ACM certificate for the API's hostname."""
    test_header_value: pulumi.Input[str] | None = None
    """The generated `X-Webstack-Test` value of a shifting strategy's test rule (a secret);
    required exactly when `api.deployment` has test traffic."""


@dataclass(frozen=True, kw_only=True)
class LoadBalancerArgs:
    """Inputs of LoadBalancer."""

    stack: StackWide
    """Names start with its `name_prefix`; `protect` turns on deletion protection; `disposable`
    lets destroy empty the access-log bucket."""
    edge: EdgeConfig
    """Who may connect, health check and drain, HSTS, WAF, access-log expiry, CloudFront."""
    api: ApiConfig
    """The container port the target groups send traffic to; the deployment strategy (a second
    target group and the rules ECS shifts, or neither)."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the WAF logs' key can still be cancelled."""
    wiring: LoadBalancerWiring


def hsts_value(preload: bool) -> str:
    """The Strict-Transport-Security header: a year, all subdomains, optional preload."""
    return f"max-age={HSTS_MAX_AGE}; includeSubDomains" + ("; preload" if preload else "")


class LoadBalancer(pulumi.ComponentResource):
    """The API's ALB with its listeners, target group, security group, logs and WAF."""

    alb_security_group_id: pulumi.Output[str]
    alb_arn_suffix: pulumi.Output[str]
    alb_dns_name: pulumi.Output[str]
    target_group_arn: pulumi.Output[str]
    target_group_arn_suffix: pulumi.Output[str]
    traffic_shift: TrafficShiftRouting | None
    """The second target group and the rules of a traffic-shifting strategy (None: ROLLING)."""
    alternate_target_group_arn_suffix: pulumi.Output[str] | None
    """The second target group's CloudWatch dimension (None with ROLLING)."""
    forwarding: list[pulumi.Resource]
    """The HTTPS listener and the rules forwarding to the target groups: ECS refuses a service
    whose target group no listener forwards to yet."""
    origin_verify_secret: pulumi.Output[str] | None
    """Secret value of the `X-Origin-Verify` header CloudFront must send (None without CDN)."""

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        _check_args(args)
        super().__init__("webstack:edge:LoadBalancer", name, None, opts)
        sg = self._security_group(name, args)
        alb = self._alb(name, args, sg, self._access_logs(name, args))
        target_group = self._target_group(name, args)
        # ECS starts each release in whichever group is idle; `-alt` is only the second name.
        alternate = (
            self._target_group(name, args, role="alt")
            if args.api.deployment.shifts_traffic
            else None
        )
        self._http_redirect(name, alb)
        https = self._https_listener(name, args, alb, target_group)
        self.origin_verify_secret = self._origin_verify_secret(name, args)
        rules = listener_rules(
            self,
            name,
            listener=https,
            primary=target_group,
            alternate=alternate,
            origin_verify_secret=self.origin_verify_secret if _cloudfront_only(args) else None,
            test_header_value=args.wiring.test_header_value,
        )
        self.forwarding = [https, *rules.forwarding]
        self._waf(name, args, alb)
        self._publish(args, sg, alb, (target_group, alternate), https, rules)

    def _security_group(self, name: str, args: LoadBalancerArgs) -> aws.ec2.SecurityGroup:
        """The ALB's group: ingress by config, one egress rule to the API tasks."""
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.wiring.vpc_id,
            description="Public entry to the API load balancer",
            tags={"Name": f"{args.stack.name_prefix}-alb"},
            opts=pulumi.ResourceOptions(parent=self),
        )
        self._ingress(name, args, sg)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-egress-api",
            security_group_id=sg.id,
            description="To the API tasks on their container port",
            ip_protocol="tcp",
            from_port=args.api.port,
            to_port=args.api.port,
            referenced_security_group_id=args.wiring.target_security_group_id,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return sg

    def _ingress(self, name: str, args: LoadBalancerArgs, sg: aws.ec2.SecurityGroup) -> None:
        child = pulumi.ResourceOptions(parent=self)
        if _cloudfront_only(args):
            prefix_list = aws.ec2.get_managed_prefix_list_output(
                name=CLOUDFRONT_PREFIX_LIST, opts=pulumi.InvokeOptions(parent=self)
            )
            # 443 only: the list weighs ~55 rules against the group's quota of 60, so a second
            # port would not fit, and CloudFront reaches this origin over HTTPS only.
            aws.vpc.SecurityGroupIngressRule(
                f"{name}-ingress-cloudfront-443",
                security_group_id=sg.id,
                description="HTTPS from CloudFront origin-facing servers",
                ip_protocol="tcp",
                from_port=443,
                to_port=443,
                prefix_list_id=prefix_list.id,
                opts=child,
            )
            return
        for cidr in _ingress_cidrs(args):
            for port in (443, 80):
                aws.vpc.SecurityGroupIngressRule(
                    f"{name}-ingress-{cidr.replace('/', '-')}-{port}",
                    security_group_id=sg.id,
                    description="HTTPS" if port == 443 else "HTTP (redirected to HTTPS)",
                    ip_protocol="tcp",
                    from_port=port,
                    to_port=port,
                    cidr_ipv4=cidr,
                    opts=child,
                )

    def _access_logs(self, name: str, args: LoadBalancerArgs) -> _AccessLogs:
        """A private bucket with expiry, writable by the region's ELB log delivery only."""
        invoke = pulumi.InvokeOptions(parent=self)
        logs = private_bucket(
            f"{name}-access-logs",
            parent=self,
            # A deleted or overwritten log stays recoverable for the noncurrent-version window.
            versioned=True,
            expiration_days=args.edge.access_log_expiration_days,
            protect=args.stack.protect,
            force_destroy=args.stack.disposable,
        )
        account_id = aws.get_caller_identity_output(opts=invoke).account_id
        # us-east-1 and every region older than August 2022 deliver ALB logs from a regional
        # ELB account; aws.elb.get_service_account knows it (and fails loudly in a newer region,
        # which would need the logdelivery.elasticloadbalancing.amazonaws.com principal).
        elb_account_arn = aws.elb.get_service_account_output(opts=invoke).arn
        policy = aws.s3.BucketPolicy(
            f"{name}-access-logs-policy",
            bucket=logs.bucket,
            policy=pulumi.Output.all(logs.arn, account_id, elb_account_arn).apply(
                lambda v: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Sid": "AllowElbLogDelivery",
                                "Effect": "Allow",
                                "Principal": {"AWS": v[2]},
                                "Action": "s3:PutObject",
                                "Resource": f"{v[0]}/{ACCESS_LOG_PREFIX}/AWSLogs/{v[1]}/*",
                            },
                            deny_insecure_transport(v[0]),
                        ],
                    }
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        return _AccessLogs(logs, policy)

    def _alb(
        self,
        name: str,
        args: LoadBalancerArgs,
        sg: aws.ec2.SecurityGroup,
        logs: _AccessLogs,
    ) -> aws.lb.LoadBalancer:
        return aws.lb.LoadBalancer(
            f"{name}-alb",
            load_balancer_type="application",
            internal=False,
            ip_address_type="ipv4",
            security_groups=[sg.id],
            subnets=args.wiring.public_subnet_ids,
            drop_invalid_header_fields=True,
            enable_deletion_protection=args.stack.protect,
            access_logs=aws.lb.LoadBalancerAccessLogsArgs(
                bucket=logs.bucket.bucket, prefix=ACCESS_LOG_PREFIX, enabled=True
            ),
            tags={"Name": f"{args.stack.name_prefix}-api"},
            # ELB checks that it can write to the bucket when logging is switched on.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs.policy]),
        )

    def _target_group(
        self, name: str, args: LoadBalancerArgs, role: str = ""
    ) -> aws.lb.TargetGroup:
        """An API target group; `role` suffixes the second one's names."""
        health = args.edge.health_check
        suffix = f"-{role}" if role else ""
        return aws.lb.TargetGroup(
            f"{name}-api{suffix}",
            target_type="ip",
            protocol="HTTP",
            port=args.api.port,
            vpc_id=args.wiring.vpc_id,
            deregistration_delay=args.edge.deregistration_delay_seconds,
            health_check=aws.lb.TargetGroupHealthCheckArgs(
                enabled=True,
                protocol="HTTP",
                port="traffic-port",
                path=health.path,
                matcher="200",
                interval=health.interval_seconds,
                timeout=health.timeout_seconds,
                healthy_threshold=health.healthy_threshold,
                unhealthy_threshold=health.unhealthy_threshold,
            ),
            tags={"Name": f"{args.stack.name_prefix}-api{suffix}"},
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _http_redirect(self, name: str, alb: aws.lb.LoadBalancer) -> None:
        aws.lb.Listener(
            f"{name}-http",
            load_balancer_arn=alb.arn,
            port=80,
            protocol="HTTP",
            default_actions=[
                aws.lb.ListenerDefaultActionArgs(
                    type="redirect",
                    redirect=aws.lb.ListenerDefaultActionRedirectArgs(
                        protocol="HTTPS", port="443", status_code="HTTP_301"
                    ),
                )
            ],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _https_listener(
        self,
        name: str,
        args: LoadBalancerArgs,
        alb: aws.lb.LoadBalancer,
        target_group: aws.lb.TargetGroup,
    ) -> aws.lb.Listener:
        """TLS 1.3, the security headers; forwards to the API unless only CloudFront may."""
        forward = aws.lb.ListenerDefaultActionArgs(
            type="forward", target_group_arn=target_group.arn
        )
        refuse = aws.lb.ListenerDefaultActionArgs(
            type="fixed-response",
            fixed_response=aws.lb.ListenerDefaultActionFixedResponseArgs(
                content_type="text/plain", message_body="Forbidden", status_code="403"
            ),
        )
        return aws.lb.Listener(
            f"{name}-https",
            load_balancer_arn=alb.arn,
            port=443,
            protocol="HTTPS",
            ssl_policy=TLS_POLICY,
            certificate_arn=args.wiring.certificate_arn,
            default_actions=[refuse if _cloudfront_only(args) else forward],
            routing_http_response_strict_transport_security_header_value=hsts_value(
                args.edge.hsts_preload
            ),
            routing_http_response_x_content_type_options_header_value="nosniff",
            routing_http_response_x_frame_options_header_value="DENY",
            # The API serves JSON: nothing in it may load, run or be framed.
            routing_http_response_content_security_policy_header_value=(
                "default-src 'none'; frame-ancestors 'none'"
            ),
            routing_http_response_server_enabled=False,
            # CORS is not set here: an ALB can only send one static Allow-Origin, so the API
            # answers CORS itself from ALLOWED_ORIGINS (the stack's edge.allowedOrigins).
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _origin_verify_secret(self, name: str, args: LoadBalancerArgs) -> pulumi.Output[str] | None:
        """Behind CloudFront: the value of the header CloudFront sends and the ALB checks."""
        if not args.edge.api_via_cdn:
            return None
        return random.RandomPassword(
            f"{name}-origin-verify",
            length=48,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        ).result

    def _waf(self, name: str, args: LoadBalancerArgs, alb: aws.lb.LoadBalancer) -> None:
        """The regional web ACL; requests with the origin-verify secret skip its rate limit."""
        exempt: tuple[str, pulumi.Input[str]] | None = None
        if self.origin_verify_secret is not None:
            exempt = (ORIGIN_VERIFY_HEADER, self.origin_verify_secret)
        child = pulumi.ResourceOptions(parent=self)
        waf = WebAcl(
            f"{name}-waf",
            WebAclArgs(
                stack=args.stack,
                edge=args.edge,
                secrets=args.secrets,
                wiring=WebAclWiring(scope="REGIONAL", rate_limit_exempt_header=exempt),
            ),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-waf-association", resource_arn=alb.arn, web_acl_arn=waf.arn, opts=child
        )

    def _publish(
        self,
        args: LoadBalancerArgs,
        sg: aws.ec2.SecurityGroup,
        alb: aws.lb.LoadBalancer,
        target_groups: tuple[aws.lb.TargetGroup, aws.lb.TargetGroup | None],
        https: aws.lb.Listener,
        rules: ListenerRules,
    ) -> None:
        """The handles other components use, and the component's outputs."""
        target_group, alternate = target_groups
        self.alb_security_group_id = sg.id
        self.alb_arn_suffix = alb.arn_suffix
        self.alb_dns_name = alb.dns_name
        self.target_group_arn = target_group.arn
        self.target_group_arn_suffix = target_group.arn_suffix
        self.alternate_target_group_arn_suffix = alternate.arn_suffix if alternate else None
        self.traffic_shift = (
            TrafficShiftRouting(
                alternate_target_group_arn=alternate.arn,
                production_listener_rule_arn=rules.production.arn,
                test_listener_rule_arn=rules.test.arn if rules.test else None,
            )
            if alternate is not None and rules.production is not None
            else None
        )
        outputs: dict[str, pulumi.Input[str]] = {
            "alb_security_group_id": self.alb_security_group_id,
            "alb_arn_suffix": self.alb_arn_suffix,
            "alb_dns_name": self.alb_dns_name,
            "target_group_arn": self.target_group_arn,
            "target_group_arn_suffix": self.target_group_arn_suffix,
            "https_listener_arn": https.arn,
        }
        if alternate is not None:
            outputs["alternate_target_group_arn"] = alternate.arn
        self.register_outputs(outputs)


def _check_args(args: LoadBalancerArgs) -> None:
    """A test header exactly when the deployment strategy has a test route."""
    deployment = args.api.deployment
    wanted = deployment.shifts_traffic and deployment.test_traffic
    if wanted and args.wiring.test_header_value is None:
        raise ValueError(
            f"LoadBalancer: strategy {deployment.strategy} with test traffic needs "
            "wiring.test_header_value"
        )
    if not wanted and args.wiring.test_header_value is not None:
        raise ValueError("LoadBalancer: test_header_value is set, but there is no test rule")


def _cloudfront_only(args: LoadBalancerArgs) -> bool:
    """Only CloudFront may connect (ingress `cloudfront`, which config allows with the CDN)."""
    return args.edge.ingress == "cloudfront"


def _ingress_cidrs(args: LoadBalancerArgs) -> tuple[str, ...]:
    """The ranges admitted on 80 and 443: the internet, the configured ones, or none (only
    CloudFront's prefix list)."""
    return {"internet": ("0.0.0.0/0",), "cidrs": args.edge.ingress_cidrs}.get(args.edge.ingress, ())


@dataclass(frozen=True)
class _AccessLogs:
    """The ALB's log bucket and the policy that lets ELB write to it."""

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy
