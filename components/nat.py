"""NAT: how the private subnets reach the internet, per `webstack:network.natStrategy`.

Plain functions composed by Network; every resource is a child of the Network component.
Creates:
- `single`: one NAT gateway with its Elastic IP in the first public subnet; `per_az`: one in
  each public subnet;
- `instance`: one NAT instance in the first public subnet, for stacks where a NAT gateway's
  $1.08 a day is most of the bill (previews; refused in prod): a t4g.nano on Amazon Linux 2023
  with its source/destination check off and user data that turns on forwarding and
  masquerading for the VPC's range (both persist across reboots), IMDSv2 only, no key pair, an
  encrypted gp3 root volume, simplified automatic recovery, an auto-assigned public IPv4, a
  security group admitting only the VPC's range, and a role that only lets Session Manager in;
- `none`: nothing (the interface endpoints carry the AWS traffic).

`nat_route_targets` returns, per AZ, what that AZ's private default route points at.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components.config import NetworkConfig, StackWide
from components.iam import passed_role_trust_policy

# The smallest Graviton burstable (2 vCPU, 0.5 GiB, up to 5 Gbps in bursts): a preview's
# egress is image pulls and a few API calls. Graviton, so the AMI below is the arm64 one.
NAT_INSTANCE_TYPE = "t4g.nano"
# AWS's public parameter naming the newest Amazon Linux 2023 arm64 AMI of the region.
NAT_INSTANCE_AMI_PARAMETER = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-arm64"
# The size of the AL2023 AMI's root snapshot, the least the volume can be.
NAT_INSTANCE_ROOT_GB = 8

# Runs once, at the first boot (cloud-init); what it writes is read again at every boot:
# forwarding from /etc/sysctl.d by systemd-sysctl, the rules from /etc/sysconfig/nftables.conf
# by nftables.service (AL2023, like Fedora, has no iptables service by default). Forwarding is
# switched on last, once masquerading is in place. `$vpc_cidr` is the VPC's range.
NAT_USER_DATA = string.Template(
    """#!/bin/bash
# NAT for the private subnets of $vpc_cidr (webstack, network.natStrategy: instance).
set -euo pipefail

if ! command -v nft >/dev/null; then
  # dnf's metadata and solver can run a 0.5 GiB nano out of memory next to the SSM agent:
  # a swap file while it runs.
  fallocate -l 1G /swapfile-dnf
  chmod 600 /swapfile-dnf
  mkswap /swapfile-dnf
  swapon /swapfile-dnf
  # The package mirrors may not answer in the first seconds after boot.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    dnf install -y nftables && break
    echo "dnf install nftables failed (attempt $$attempt), retrying"
    sleep 10
  done
  swapoff /swapfile-dnf
  rm -f /swapfile-dnf
fi
command -v nft >/dev/null

cat > /etc/sysconfig/nftables.conf <<'EOF'
# Masquerade what the VPC's private subnets send out; forward nothing that they did not start.
table ip nat_instance
delete table ip nat_instance
table ip nat_instance {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ip saddr $vpc_cidr ip daddr != $vpc_cidr accept
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr $vpc_cidr ip daddr != $vpc_cidr masquerade
  }
}
EOF
systemctl enable --now nftables

# The VPC's router, not this instance, is the subnets' gateway: no ICMP redirects to them.
cat > /etc/sysctl.d/90-nat-instance.conf <<'EOF'
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.default.send_redirects = 0
net.ipv4.ip_forward = 1
EOF
sysctl --system
"""
)


class RouteTarget(NamedTuple):
    """What a private default route points at: a NAT gateway or a NAT instance's interface."""

    nat_gateway_id: pulumi.Output[str] | None = None
    network_interface_id: pulumi.Output[str] | None = None


def name_tag(stack: StackWide, role: str) -> dict[str, str]:
    """The Name tag of a network resource: `<name_prefix>-<role>`."""
    return {"Name": f"{stack.name_prefix}-{role}"}


def nat_route_targets(
    name: str,
    *,
    stack: StackWide,
    network: NetworkConfig,
    vpc_id: pulumi.Input[str],
    igw: aws.ec2.InternetGateway,
    public: dict[str, aws.ec2.Subnet],
    public_routes: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> dict[str, RouteTarget]:
    """By AZ, where its private subnet's default route points (empty for `none`).

    `public` are the public subnets by AZ, in AZ order; `public_routes` their default route
    to `igw` and its associations.
    """
    azs = list(public)
    if network.nat_strategy == "instance":
        instance = _nat_instance(
            name,
            stack=stack,
            network=network,
            vpc_id=vpc_id,
            subnet=public[azs[0]],
            public_routes=public_routes,
            parent=parent,
        )
        return dict.fromkeys(
            azs, RouteTarget(network_interface_id=instance.primary_network_interface_id)
        )
    nat_azs = {"single": azs[:1], "per_az": azs, "none": []}[network.nat_strategy]
    gateways = {
        az: _nat_gateway(name, stack=stack, subnet=public[az], az=az, igw=igw, parent=parent)
        for az in nat_azs
    }
    if not gateways:
        return {}
    # per_az keeps egress inside the AZ (no cross-AZ data charges, survives an AZ outage);
    # single routes every AZ through the first one.
    first = gateways[nat_azs[0]]
    return {az: RouteTarget(nat_gateway_id=gateways.get(az, first).id) for az in azs}


def _nat_gateway(
    name: str,
    *,
    stack: StackWide,
    subnet: aws.ec2.Subnet,
    az: str,
    igw: aws.ec2.InternetGateway,
    parent: pulumi.Resource,
) -> aws.ec2.NatGateway:
    """A NAT gateway in `subnet` with its Elastic IP."""
    eip = aws.ec2.Eip(
        f"{name}-nat-eip-{az}",
        domain="vpc",
        tags=name_tag(stack, f"nat-{az}"),
        opts=pulumi.ResourceOptions(parent=parent),
    )
    return aws.ec2.NatGateway(
        f"{name}-nat-{az}",
        allocation_id=eip.id,
        subnet_id=subnet.id,
        tags=name_tag(stack, f"nat-{az}"),
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[igw]),
    )


def _nat_instance(
    name: str,
    *,
    stack: StackWide,
    network: NetworkConfig,
    vpc_id: pulumi.Input[str],
    subnet: aws.ec2.Subnet,
    public_routes: Sequence[pulumi.Resource],
    parent: pulumi.Resource,
) -> aws.ec2.Instance:
    """The NAT instance in `subnet`, its security group and its instance profile."""
    child = pulumi.ResourceOptions(parent=parent)
    group = aws.ec2.SecurityGroup(
        f"{name}-nat-instance-sg",
        vpc_id=vpc_id,
        description="NAT instance: everything from the VPC in, the internet out",
        ingress=[
            aws.ec2.SecurityGroupIngressArgs(
                description="Whatever the private subnets send out",
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=[network.cidr],
            )
        ],
        egress=[
            aws.ec2.SecurityGroupEgressArgs(
                description="The internet, on every port a NAT gateway would pass",
                protocol="-1",
                from_port=0,
                to_port=0,
                cidr_blocks=["0.0.0.0/0"],
            )
        ],
        tags=name_tag(stack, "nat-instance"),
        opts=child,
    )
    ami = aws.ssm.get_parameter_output(
        name=NAT_INSTANCE_AMI_PARAMETER, opts=pulumi.InvokeOptions(parent=parent)
    ).insecure_value
    return aws.ec2.Instance(
        f"{name}-nat-instance",
        ami=ami,
        instance_type=NAT_INSTANCE_TYPE,
        subnet_id=subnet.id,
        vpc_security_group_ids=[group.id],
        # Same $0.005 an hour as an Elastic IP, without using up the region's five Elastic IPs
        # (each preview would hold one); a reboot or an automatic recovery keeps the address.
        associate_public_ip_address=True,
        # It forwards packets addressed to others: the check would drop every one of them.
        source_dest_check=False,
        iam_instance_profile=_session_manager_profile(name, stack=stack, parent=parent).name,
        user_data=NAT_USER_DATA.substitute(vpc_cidr=network.cidr),
        # cloud-init runs user data at the first boot only: a changed script needs a new
        # instance, not a stop and start.
        user_data_replace_on_change=True,
        metadata_options=aws.ec2.InstanceMetadataOptionsArgs(
            http_endpoint="enabled",
            http_tokens="required",
            # Nothing on the instance runs in a container that would need a second hop.
            http_put_response_hop_limit=1,
        ),
        root_block_device=aws.ec2.InstanceRootBlockDeviceArgs(
            volume_type="gp3",
            volume_size=NAT_INSTANCE_ROOT_GB,
            encrypted=True,
            delete_on_termination=True,
            # The provider merges its default tags into these (hashicorp/terraform-provider-aws
            # #33769, which pulumi-aws bridges); the Name says whose volume it is.
            tags=name_tag(stack, "nat-instance"),
        ),
        # Simplified automatic recovery (free, on by default for t4g): moved to healthy
        # hardware when the system status check fails, keeping its id, addresses and volume.
        maintenance_options=aws.ec2.InstanceMaintenanceOptionsArgs(auto_recovery="default"),
        # Unlimited, as AWS launches t4g by default: a nano in standard mode would boot (and
        # install nftables) with no CPU credits at 5 % of its vCPUs. Surplus credits are billed
        # only when the 24-hour average stays above that baseline, which forwarding does not.
        credit_specification=aws.ec2.InstanceCreditSpecificationArgs(cpu_credits="unlimited"),
        tags=name_tag(stack, "nat-instance"),
        opts=pulumi.ResourceOptions(
            parent=parent,
            # dnf needs the way out of the public subnet at the first boot.
            depends_on=list(public_routes),
            # The parameter names a new AMI every few weeks. Following it would replace the
            # stack's only way out during an unrelated `pulumi up`: the private routes move to
            # the new interface as soon as it runs, before its user data forwards anything, and
            # egress leaves from a new address. The AMI is read once, at creation; a preview
            # is rebuilt per PR, a longer-lived stack refreshes it with `pulumi up --replace`.
            ignore_changes=["ami"],
        ),
    )


def _session_manager_profile(
    name: str, *, stack: StackWide, parent: pulumi.Resource
) -> aws.iam.InstanceProfile:
    """The instance's role: AWS's managed policy for the SSM agent and nothing else.

    With no key pair and no SSH, Session Manager is the only way onto the instance to debug
    it (`aws ssm start-session`); it costs nothing, and sessions are logged in CloudTrail.
    """
    child = pulumi.ResourceOptions(parent=parent)
    partition = aws.get_partition_output(opts=pulumi.InvokeOptions(parent=parent)).partition
    role = aws.iam.Role(
        f"{name}-nat-instance-role",
        description="The NAT instance: Session Manager access only",
        # It reaches the instance only as its profile, passed at launch.
        assume_role_policy=passed_role_trust_policy("ec2.amazonaws.com"),
        tags=name_tag(stack, "nat-instance"),
        opts=child,
    )
    aws.iam.RolePolicyAttachment(
        f"{name}-nat-instance-ssm",
        role=role.name,
        policy_arn=pulumi.Output.concat(
            "arn:", partition, ":iam::aws:policy/AmazonSSMManagedInstanceCore"
        ),
        opts=child,
    )
    return aws.iam.InstanceProfile(
        f"{name}-nat-instance-profile",
        role=role.name,
        tags=name_tag(stack, "nat-instance"),
        opts=child,
    )
