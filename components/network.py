"""Network: the VPC every other component lives in.

Creates:
- a VPC with DNS support and hostnames;
- per availability zone three subnets: public (ALB, NAT), private (ECS tasks, Lambda; default
  route through NAT) and isolated (RDS, ElastiCache; no route out of the VPC);
- an internet gateway, and NAT per strategy (`single`, `per_az`, `instance` or `none`; see
  components/nat.py);
- route tables: one public, one private and one isolated per AZ;
- the default security group, adopted and emptied;
- VPC flow logs to a CloudWatch log group with retention, encrypted with a key of its own (the
  data key is made later, by Secrets), through a role scoped to that group;
- an S3 gateway endpoint and, by config, interface endpoints for ECR, logs, Secrets Manager, STS.
"""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.config import DatabaseConfig, NetworkConfig, SecretsConfig, StackWide
from components.context import ComponentContext
from components.iam import service_trust_policy
from components.log_groups import log_group_with_key
from components.nat import RouteTarget, name_tag, nat_route_targets

# Interface endpoints the ECS tasks and the migration Lambda need when they should not go
# through NAT: image pulls (ecr.api, ecr.dkr; layers come through the S3 gateway endpoint),
# logs, secrets injection and role credentials.
INTERFACE_ENDPOINT_SERVICES = ("ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts")
AZ_SLOTS = 4


class SubnetPlan(NamedTuple):
    """CIDRs of each tier, one per AZ, in AZ order."""

    public: list[str]
    private: list[str]
    isolated: list[str]


def subnet_plan(vpc_cidr: str, az_count: int) -> SubnetPlan:
    """Carve the VPC into tiers: public and isolated a quarter each, private the remaining half.

    Each tier has AZ_SLOTS fixed slots, so adding an AZ later adds subnets without moving (and
    so replacing) the existing ones. A /16 gives /20 public and isolated and /19 private
    subnets; a /24 gives /28 and /27, AWS's smallest.
    """
    if not 1 <= az_count <= AZ_SLOTS:
        raise ValueError(f"az_count must be 1..{AZ_SLOTS}, got {az_count}")
    vpc = ipaddress.ip_network(vpc_cidr)
    public_q, isolated_q, _, _ = vpc.subnets(prefixlen_diff=2)
    _, private_half = vpc.subnets(prefixlen_diff=1)
    slot_bits = (AZ_SLOTS - 1).bit_length()

    def slots(block: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
        return [str(s) for s in block.subnets(prefixlen_diff=slot_bits)][:az_count]

    return SubnetPlan(
        public=slots(public_q), private=slots(private_half), isolated=slots(isolated_q)
    )


@dataclass(frozen=True, kw_only=True)
class NetworkArgs:
    """Inputs of Network."""

    stack: StackWide
    """Physical names and Name tags start with its `name_prefix`."""
    network: NetworkConfig
    """The VPC's range, its zones, NAT and interface endpoints, flow-log retention."""
    database: DatabaseConfig
    """With `snapshot_before_migrations`, the migration run calls the RDS API from the VPC."""
    secrets: SecretsConfig
    """Days a scheduled deletion of the flow logs' key can still be cancelled."""


class Network(pulumi.ComponentResource):
    """VPC, three subnet tiers per AZ, NAT, endpoints and flow logs."""

    vpc_id: pulumi.Output[str]
    vpc_cidr: pulumi.Output[str]
    public_subnet_ids: pulumi.Output[list[str]]
    private_subnet_ids: pulumi.Output[list[str]]
    isolated_subnet_ids: pulumi.Output[list[str]]
    private_egress: list[pulumi.Resource]

    def __init__(
        self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__("webstack:network:Network", name, None, opts)
        ctx = ComponentContext.of(name, self)
        network = args.network
        plan = subnet_plan(network.cidr, len(network.availability_zones))
        vpc = self._vpc(name, args)
        igw = aws.ec2.InternetGateway(
            f"{name}-igw",
            vpc_id=vpc.id,
            tags=_tags(args, "igw"),
            opts=pulumi.ResourceOptions(parent=self),
        )
        public = self._subnets(name, args, vpc, "public", plan.public)
        private = self._subnets(name, args, vpc, "private", plan.private)
        isolated = self._subnets(name, args, vpc, "isolated", plan.isolated)
        public_routes = self._public_routes(name, args, vpc, igw, public)
        nat_by_az = nat_route_targets(
            name,
            stack=args.stack,
            network=network,
            vpc_id=vpc.id,
            igw=igw,
            public=public,
            public_routes=public_routes,
            parent=self,
        )
        # The private subnets' way out (NAT routes, VPC endpoints), for whatever must not run
        # before it exists.
        private_rts, self.private_egress = self._private_routes(name, args, vpc, private, nat_by_az)
        self._isolated_routes(name, args, vpc, isolated)
        self.private_egress += self._endpoints(ctx, args, vpc, private, private_rts)
        self._flow_logs(ctx, args, vpc, _tags(args, "flow-logs"))

        self.vpc_id = vpc.id
        self.vpc_cidr = vpc.cidr_block
        self.public_subnet_ids = pulumi.Output.all(*[s.id for s in public.values()])
        self.private_subnet_ids = pulumi.Output.all(*[s.id for s in private.values()])
        self.isolated_subnet_ids = pulumi.Output.all(*[s.id for s in isolated.values()])
        self.register_outputs(
            {
                "vpc_id": self.vpc_id,
                "vpc_cidr": self.vpc_cidr,
                "public_subnet_ids": self.public_subnet_ids,
                "private_subnet_ids": self.private_subnet_ids,
                "isolated_subnet_ids": self.isolated_subnet_ids,
                "availability_zones": list(network.availability_zones),
            }
        )

    def _vpc(self, name: str, args: NetworkArgs) -> aws.ec2.Vpc:
        """The VPC, and its default security group adopted and emptied."""
        child = pulumi.ResourceOptions(parent=self)
        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.network.cidr,
            enable_dns_support=True,
            enable_dns_hostnames=True,
            tags=_tags(args, "vpc"),
            opts=child,
        )
        # Adopting the default security group with no rules removes AWS's allow-all-within-group
        # default, so nothing can accidentally be launched into an open group.
        aws.ec2.DefaultSecurityGroup(
            f"{name}-default-sg",
            vpc_id=vpc.id,
            ingress=[],
            egress=[],
            tags=_tags(args, "default-do-not-use"),
            opts=child,
        )
        return vpc

    def _subnets(
        self, name: str, args: NetworkArgs, vpc: aws.ec2.Vpc, tier: str, cidrs: list[str]
    ) -> dict[str, aws.ec2.Subnet]:
        """One subnet of `tier` per AZ, by AZ (in AZ order)."""
        return {
            az: aws.ec2.Subnet(
                f"{name}-{tier}-{az}",
                vpc_id=vpc.id,
                cidr_block=cidr,
                availability_zone=az,
                map_public_ip_on_launch=False,
                tags={**_tags(args, f"{tier}-{az}"), "tier": tier},
                opts=pulumi.ResourceOptions(parent=self),
            )
            for az, cidr in zip(args.network.availability_zones, cidrs, strict=True)
        }

    def _public_routes(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        igw: aws.ec2.InternetGateway,
        public: dict[str, aws.ec2.Subnet],
    ) -> list[pulumi.Resource]:
        """One route table for every public subnet, its default route to the internet; returns
        the route and the associations."""
        child = pulumi.ResourceOptions(parent=self)
        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt", vpc_id=vpc.id, tags=_tags(args, "public"), opts=child
        )
        route = aws.ec2.Route(
            f"{name}-public-default",
            route_table_id=public_rt.id,
            destination_cidr_block="0.0.0.0/0",
            gateway_id=igw.id,
            opts=child,
        )
        return [
            route,
            *(
                aws.ec2.RouteTableAssociation(
                    f"{name}-public-{az}",
                    subnet_id=subnet.id,
                    route_table_id=public_rt.id,
                    opts=child,
                )
                for az, subnet in public.items()
            ),
        ]

    def _private_routes(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        private: dict[str, aws.ec2.Subnet],
        nat_by_az: dict[str, RouteTarget],
    ) -> tuple[list[aws.ec2.RouteTable], list[pulumi.Resource]]:
        """A route table per private subnet with its NAT route; returns the tables, and the
        routes and associations that make up the subnets' way out."""
        child = pulumi.ResourceOptions(parent=self)
        route_tables: list[aws.ec2.RouteTable] = []
        egress: list[pulumi.Resource] = []
        for az, subnet in private.items():
            rt = aws.ec2.RouteTable(
                f"{name}-private-rt-{az}",
                vpc_id=vpc.id,
                tags=_tags(args, f"private-{az}"),
                opts=child,
            )
            route_tables.append(rt)
            nat = nat_by_az.get(az)
            if nat is not None:
                # One name whatever the target: switching strategies updates the route in place.
                route = aws.ec2.Route(
                    f"{name}-private-default-{az}",
                    route_table_id=rt.id,
                    destination_cidr_block="0.0.0.0/0",
                    nat_gateway_id=nat.nat_gateway_id,
                    network_interface_id=nat.network_interface_id,
                    opts=child,
                )
                egress.append(route)
            association = aws.ec2.RouteTableAssociation(
                f"{name}-private-{az}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )
            egress.append(association)
        return route_tables, egress

    def _isolated_routes(
        self,
        name: str,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        isolated: dict[str, aws.ec2.Subnet],
    ) -> None:
        child = pulumi.ResourceOptions(parent=self)
        for az, subnet in isolated.items():
            # No routes at all: only the VPC-local route, so data stores cannot reach out.
            rt = aws.ec2.RouteTable(
                f"{name}-isolated-rt-{az}",
                vpc_id=vpc.id,
                tags=_tags(args, f"isolated-{az}"),
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-isolated-{az}", subnet_id=subnet.id, route_table_id=rt.id, opts=child
            )

    def _endpoints(
        self,
        ctx: ComponentContext,
        args: NetworkArgs,
        vpc: aws.ec2.Vpc,
        private: dict[str, aws.ec2.Subnet],
        private_rts: list[aws.ec2.RouteTable],
    ) -> list[pulumi.Resource]:
        """The S3 gateway endpoint and, by config, the interface endpoints."""
        name, region = ctx.name, ctx.region
        child = pulumi.ResourceOptions(parent=self)
        s3 = aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=vpc.id,
            service_name=pulumi.Output.concat("com.amazonaws.", region, ".s3"),
            vpc_endpoint_type="Gateway",
            route_table_ids=[rt.id for rt in private_rts],
            tags=_tags(args, "s3"),
            opts=child,
        )
        if not args.network.interface_endpoints:
            return [s3]
        endpoint_sg = aws.ec2.SecurityGroup(
            f"{name}-endpoints-sg",
            vpc_id=vpc.id,
            description="HTTPS from inside the VPC to AWS interface endpoints",
            ingress=[
                aws.ec2.SecurityGroupIngressArgs(
                    description="HTTPS from the VPC",
                    protocol="tcp",
                    from_port=443,
                    to_port=443,
                    cidr_blocks=[args.network.cidr],
                )
            ],
            tags=_tags(args, "endpoints"),
            opts=child,
        )
        return [
            s3,
            *(
                aws.ec2.VpcEndpoint(
                    f"{name}-{service.replace('.', '-')}",
                    vpc_id=vpc.id,
                    service_name=pulumi.Output.concat("com.amazonaws.", region, f".{service}"),
                    vpc_endpoint_type="Interface",
                    private_dns_enabled=True,
                    subnet_ids=[s.id for s in private.values()],
                    security_group_ids=[endpoint_sg.id],
                    tags=_tags(args, service),
                    opts=child,
                )
                for service in (*INTERFACE_ENDPOINT_SERVICES, *_more_endpoint_services(args))
            ),
        ]

    def _flow_logs(
        self, ctx: ComponentContext, args: NetworkArgs, vpc: aws.ec2.Vpc, tags: dict[str, str]
    ) -> None:
        name = ctx.name
        child = pulumi.ResourceOptions(parent=self)
        prefix = args.stack.name_prefix
        # Every connection's addresses and ports: kept under a customer-managed key like the
        # data tier's logs.
        log_group = log_group_with_key(
            f"{name}-flow-logs",
            log_group_name=f"/vpc/{prefix}/flow-logs",
            retention_days=args.network.flow_log_retention_days,
            description=f"{prefix} VPC flow logs",
            alias=f"alias/{prefix}-flow-logs",
            deletion_window_days=args.secrets.kms_deletion_window_days,
            protect=args.stack.protect,
            ctx=ctx,
            tags=tags,
        )
        role = aws.iam.Role(
            f"{name}-flow-logs-role",
            assume_role_policy=service_trust_policy(
                "vpc-flow-logs.amazonaws.com", account_id=ctx.account_id
            ),
            tags=tags,
            opts=child,
        )
        aws.iam.RolePolicy(
            f"{name}-flow-logs-policy",
            role=role.id,
            policy=log_group.arn.apply(
                lambda arn: json.dumps(
                    {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": [
                                    "logs:CreateLogStream",
                                    "logs:PutLogEvents",
                                    "logs:DescribeLogStreams",
                                ],
                                "Resource": [arn, f"{arn}:*"],
                            }
                        ],
                    }
                )
            ),
            opts=child,
        )
        aws.ec2.FlowLog(
            f"{name}-flow-log",
            vpc_id=vpc.id,
            traffic_type="ALL",
            log_destination_type="cloud-watch-logs",
            log_destination=log_group.arn,
            iam_role_arn=role.arn,
            max_aggregation_interval=60,
            tags=tags,
            opts=child,
        )


def _more_endpoint_services(args: NetworkArgs) -> tuple[str, ...]:
    """Interface endpoints that other components' calls from the VPC need: with endpoints, 443
    leaves the VPC through nothing else."""
    # The migration run's snapshot before migrating calls the RDS API.
    return ("rds",) if args.database.snapshot_before_migrations else ()


def _tags(args: NetworkArgs, role: str) -> dict[str, str]:
    return name_tag(args.stack, role)
