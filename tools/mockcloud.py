"""The offline cloud: run the real webstack program under Pulumi's mock runtime.

`evaluate(stack)` loads `Pulumi.<stack>.yaml`, runs `components.stack.build_stack` with the
real SDK classes (which reject unknown or missing arguments) against `MockCloud`, and returns
every registered resource with its inputs (secrets marked), options and mock outputs. The
tests, `make plan` and the offline policy check all use it.

`MockCloud` answers like AWS would in shape: ids with the right prefixes, ARNs in the stack's
region and a fixed account, and the computed attributes the program reads. Unknown invokes
fail loudly so a new data source gets a deliberate mock.

`RecordingMonitor` plays the engine: it answers the SDK's registrations and invokes itself,
synchronously on the program's own thread, and records each registration. What an evaluation
costs is then the SDK's own work per resource (its Outputs, futures and serialization); the
run leaves out what only the CLI uses (a stack trace per registration) and, while it runs,
cyclic garbage collection.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import json
import random
import string
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from unittest import mock

import pulumi
from google.protobuf import struct_pb2
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import resource as sdk_resource
from pulumi.runtime import rpc, settings
from pulumi.runtime.proto import resource_pb2, source_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from tools.stackfile import load_stack_config

if TYPE_CHECKING:
    from components.config import StackConfig

ACCOUNT_ID = "123456789012"
PROJECT = "webstack"

# id prefixes AWS uses, for types whose ids the program passes around.
_ID_PREFIX = {
    "aws:ec2/vpc:Vpc": "vpc-",
    "aws:ec2/subnet:Subnet": "subnet-",
    "aws:ec2/securityGroup:SecurityGroup": "sg-",
    "aws:ec2/defaultSecurityGroup:DefaultSecurityGroup": "sg-",
    "aws:ec2/internetGateway:InternetGateway": "igw-",
    "aws:ec2/natGateway:NatGateway": "nat-",
    "aws:ec2/eip:Eip": "eipalloc-",
    "aws:ec2/routeTable:RouteTable": "rtb-",
    "aws:ec2/vpcEndpoint:VpcEndpoint": "vpce-",
    "aws:ec2/flowLog:FlowLog": "fl-",
    "aws:ec2/instance:Instance": "i-",
    "aws:cloudfront/distribution:Distribution": "E",
}


def _random_string(rng: random.Random, inputs: Mapping[str, Any]) -> str:
    alphabet = ""
    if inputs.get("lower", True):
        alphabet += string.ascii_lowercase
    if inputs.get("upper", True):
        alphabet += string.ascii_uppercase
    if inputs.get("numeric", True):
        alphabet += string.digits
    if inputs.get("special", True):
        alphabet += inputs.get("overrideSpecial") or "!@#$%&*()-_=+[]{}<>:?"
    return "".join(rng.choice(alphabet) for _ in range(int(inputs["length"])))


def _digest(text: str, length: int = 17) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:length]


def _uuid(name: str) -> str:
    h = _digest(name, 32)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _short_region(region: str) -> str:
    """`us-east-1` -> `use1`, as ElastiCache endpoints spell it."""
    area, direction, number = region.split("-")
    return f"{area}{direction[0]}{number}"


def _secret(region: str, logical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    name = inputs.get("name") or f"{inputs.get('namePrefix', logical)}{_digest(logical, 26)}"
    return {
        "name": name,
        "arn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:{name}-{_digest(name, 6)}",
    }


def _rds_instance(region: str, logical: str, inputs: Mapping[str, Any]) -> dict[str, Any]:
    identifier = inputs.get("identifier") or f"{logical}-{_digest(logical, 7)}"
    address = f"{identifier}.c{_digest(region, 11)}.{region}.rds.amazonaws.com"
    port = int(inputs.get("port", 5432))
    state: dict[str, Any] = {
        "identifier": identifier,
        "arn": f"arn:aws:rds:{region}:{ACCOUNT_ID}:db:{identifier}",
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "resourceId": f"db-{_digest(logical, 26).upper()}",
    }
    if inputs.get("manageMasterUserPassword"):
        secret_name = f"rds!db-{_uuid(logical)}"
        state["masterUserSecrets"] = [
            {
                "secretArn": f"arn:aws:secretsmanager:{region}:{ACCOUNT_ID}:secret:"
                f"{secret_name}-{_digest(secret_name, 6)}",
                "kmsKeyId": inputs.get("masterUserSecretKmsKeyId", ""),
                "secretStatus": "active",
            }
        ]
    return state


def _public_parameter(region: str, args: Mapping[str, Any]) -> dict[str, Any]:
    """AWS's public SSM parameters naming the newest AMI (`/aws/service/ami-...`): an AMI id,
    stable per region and parameter. A stack's own parameters hold its state, which a mock
    cannot know: they fail loudly."""
    name = str(args.get("name"))
    if not name.startswith("/aws/service/ami-"):
        raise NotImplementedError(f"MockCloud answers only AWS's public AMI parameters, not {name}")
    ami = f"ami-{_digest(region + name)}"
    return {
        "id": name,
        "name": name,
        "arn": f"arn:aws:ssm:{region}::parameter{name}",
        "type": "String",
        "value": ami,
        "insecureValue": ami,
        "version": 1,
        "withDecryption": args.get("withDecryption", True),
    }


def _random_id(raw: bytes) -> dict[str, Any]:
    """A RandomId's outputs: the same bytes in each encoding the provider offers."""
    b64 = base64.b64encode(raw).decode()
    return {
        "hex": raw.hex(),
        "dec": str(int.from_bytes(raw, "big")),
        "b64Std": b64,
        "b64Url": base64.urlsafe_b64encode(raw).decode().rstrip("="),
    }


def _alb_suffix(name: str) -> str:
    return f"app/{name[:24]}/{_digest(name, 16)}"


def _tg_suffix(name: str) -> str:
    return f"targetgroup/{name[:24]}/{_digest(name, 16)}"


def _bucket_name(name: str, inputs: Mapping[str, Any]) -> str:
    return str(inputs.get("bucket") or f"{name}-{_digest(name, 7)}")


def unwrap_secrets(value: Any) -> tuple[Any, bool]:
    """Strip Pulumi's secret wrappers; say whether any were found."""
    if rpc.is_rpc_secret(value):
        inner, _ = unwrap_secrets(rpc.unwrap_rpc_secret(value))
        return inner, True
    if isinstance(value, dict):
        found = False
        out = {}
        for k, v in value.items():
            out[k], secret = unwrap_secrets(v)
            found |= secret
        return out, found
    if isinstance(value, list):
        pairs = [unwrap_secrets(v) for v in value]
        return [v for v, _ in pairs], any(s for _, s in pairs)
    return value, False


@dataclass
class Resource:
    """One registered resource as the engine saw it."""

    urn: str
    type: str
    name: str
    custom: bool
    parent: str
    provider: str
    protect: bool
    inputs: dict[str, Any]
    """Inputs with secret wrappers removed."""
    secret_inputs: set[str]
    """Top-level input names whose value is (or contains) a secret."""
    outputs: dict[str, Any]
    dependencies: list[str]
    options: dict[str, Any]
    """Other resource options: ignoreChanges, deleteBeforeReplace, aliases, retainOnDelete,
    customTimeouts (only those set), ..."""
    raw_inputs: struct_pb2.Struct = field(repr=False)
    """The inputs exactly as serialized (secret signatures kept), for the policy analyzer."""
    id: str = ""
    """The id the mock cloud assigned (empty for components)."""
    property_dependencies: dict[str, list[str]] = field(default_factory=dict)
    """Per input, the URNs of the resources its value came from (how policies relate resources)."""

    @property
    def provider_urn(self) -> str:
        return self.provider.rsplit("::", 1)[0] if self.provider else ""


class MockCloud(pulumi.runtime.Mocks):
    """Plausible AWS, Cloudflare and random answers, without a cloud."""

    def __init__(self, region: str, stack: str = "") -> None:
        self.region = region
        self.stack = stack
        self.provider_regions: dict[str, str] = {}
        self.secret_outputs: list[str] = []
        """Set by RecordingMonitor per registration: outputs the engine would mark secret. One
        attribute serves every registration because they are answered one at a time, on the
        program's thread (`_answered_inline`)."""

    def rng(self, name: str, inputs: Mapping[str, Any]) -> random.Random:
        """A generator seeded by stack, resource name and inputs: stable per resource."""
        seed = f"{self.stack}/{name}/{json.dumps(inputs, sort_keys=True, default=str)}"
        return random.Random(hashlib.sha256(seed.encode()).digest())

    # -- invokes -------------------------------------------------------------------------------

    def _region_of(self, provider_ref: str, args: Mapping[str, Any]) -> str:
        if args.get("region"):
            return str(args["region"])
        urn = provider_ref.rsplit("::", 1)[0] if provider_ref else ""
        return self.provider_regions.get(urn, self.region)

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict:  # type: ignore[override]
        handler = INVOKES.get(args.token)
        if handler is None:
            raise NotImplementedError(f"MockCloud has no mock for invoke {args.token}")
        return handler(self, self._region_of(args.provider, args.args), args.args)

    # -- resources ----------------------------------------------------------------------------

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict]:
        inputs, _ = unwrap_secrets(args.inputs)
        if args.typ.startswith("pulumi:providers:"):
            return f"{args.name}-provider-id", dict(args.inputs)
        if not args.custom:
            return None, {}
        prefix = _ID_PREFIX.get(args.typ, "")
        resource_id = f"{prefix}{_digest(args.typ + args.name)}" if prefix else f"{args.name}-id"
        region = self.provider_regions.get(
            args.provider.rsplit("::", 1)[0] if args.provider else "", self.region
        )
        state: dict[str, Any] = dict(args.inputs)
        physical = inputs.get("name") or f"{args.name}-{_digest(args.name, 7)}"
        module = args.typ.split(":")[1].split("/")[0]
        state.setdefault("name", physical)
        state.setdefault("arn", f"arn:aws:{module}:{region}:{ACCOUNT_ID}:{args.name}/{physical}")
        computed = COMPUTED.get(args.typ)
        if computed is not None:
            state.update(computed(self, region, args.name, inputs, resource_id))
        # The engine, not the SDK, marks additionalSecretOutputs secret; the mock must too.
        for key in self.secret_outputs:
            if key in state and not rpc.is_rpc_secret(state[key]):
                state[key] = rpc.wrap_rpc_secret(state[key])
        return resource_id, state


def _replication_group(region: str, name: str, i: Mapping[str, Any]) -> dict[str, Any]:
    group = i.get("replicationGroupId") or name
    host = f"{group}.{_digest(name, 6)}.{_short_region(region)}.cache.amazonaws.com"
    members = int(i.get("numCacheClusters", 1))
    return {
        "arn": f"arn:aws:elasticache:{region}:{ACCOUNT_ID}:replicationgroup:{group}",
        "primaryEndpointAddress": f"master.{host}",
        "readerEndpointAddress": f"replica.{host}",
        "memberClusters": [f"{group}-{n:03d}" for n in range(1, members + 1)],
    }


# Computed attributes per type: (cloud, region, logical name, inputs, id) -> extra state.
Computed = Callable[[MockCloud, str, str, dict[str, Any], str], dict[str, Any]]
COMPUTED: dict[str, Computed] = {
    "aws:ec2/vpc:Vpc": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:vpc/{rid}",
        "defaultSecurityGroupId": f"sg-{_digest(name + 'default')}",
        "mainRouteTableId": f"rtb-{_digest(name + 'main')}",
    },
    "aws:ec2/subnet:Subnet": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:subnet/{rid}",
    },
    "aws:ec2/securityGroup:SecurityGroup": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:security-group/{rid}",
    },
    "aws:cloudwatch/logGroup:LogGroup": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:logs:{region}:{ACCOUNT_ID}:log-group:{i.get('name', name)}",
    },
    "aws:ecr/repository:Repository": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ecr:{region}:{ACCOUNT_ID}:repository/{i['name']}",
        "repositoryUrl": f"{ACCOUNT_ID}.dkr.ecr.{region}.amazonaws.com/{i['name']}",
        "registryId": ACCOUNT_ID,
    },
    "aws:ecs/cluster:Cluster": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ecs:{region}:{ACCOUNT_ID}:cluster/{i['name']}",
    },
    "aws:ecs/taskDefinition:TaskDefinition": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ecs:{region}:{ACCOUNT_ID}:task-definition/{i['family']}:1",
        "revision": 1,
    },
    "aws:lambda/function:Function": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{i.get('name', name)}",
    },
    "aws:iam/role:Role": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{i.get('name', name)}",
        "uniqueId": f"AROA{_digest(name, 17).upper()}",
    },
    # Random values are generated, never literals; their length and alphabet follow the
    # inputs so length and character-set checks see what the real provider would return. They
    # are seeded by stack, name and inputs, like state keeps them stable across real runs, so
    # two offline plans of the same code agree and `make plan-diff` shows no phantom changes.
    "random:index/randomPassword:RandomPassword": lambda c, region, name, i, rid: {
        "result": _random_string(c.rng(name, i), i),
        "bcryptHash": "$2a$10$" + _digest(f"bcrypt/{c.stack}/{name}/{i}", 53),
    },
    "random:index/randomId:RandomId": lambda c, region, name, i, rid: _random_id(
        c.rng(name, i).randbytes(int(i["byteLength"]))
    ),
    "aws:sns/topic:Topic": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:sns:{region}:{ACCOUNT_ID}:{i.get('name', name)}",
    },
    "aws:cloudwatch/metricAlarm:MetricAlarm": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:cloudwatch:{region}:{ACCOUNT_ID}:alarm:{i.get('name', name)}",
    },
    "aws:kms/key:Key": lambda c, region, name, i, rid: {
        "keyId": _uuid(name),
        "arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{_uuid(name)}",
    },
    # Secrets Manager appends six random characters to a secret's name in its ARN.
    "aws:secretsmanager/secret:Secret": lambda c, region, name, i, rid: _secret(region, name, i),
    "aws:secretsmanager/secretVersion:SecretVersion": lambda c, region, name, i, rid: {
        "secretArn": i["secretId"],
        "versionId": _uuid(name),
    },
    "aws:rds/instance:Instance": lambda c, region, name, i, rid: _rds_instance(region, name, i),
    "aws:elasticache/replicationGroup:ReplicationGroup": lambda c, region, name, i, rid: (
        _replication_group(region, name, i)
    ),
    "aws:ec2/eip:Eip": lambda c, region, name, i, rid: {
        "publicIp": f"203.0.113.{int(_digest(name, 2), 16) % 250 + 1}",
        "allocationId": rid,
    },
    # The NAT instance's primary interface is where the private subnets' routes point.
    "aws:ec2/instance:Instance": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:ec2:{region}:{ACCOUNT_ID}:instance/{rid}",
        "primaryNetworkInterfaceId": f"eni-{_digest(name + 'eni')}",
    },
    "aws:acm/certificate:Certificate": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:acm:{region}:{ACCOUNT_ID}:certificate/{_uuid(name)}",
        "domainValidationOptions": [
            {
                "domainName": domain,
                "resourceRecordName": f"_{_digest(domain, 32)}.{domain}.",
                "resourceRecordType": "CNAME",
                "resourceRecordValue": f"_{_digest(domain + 'v', 32)}.acm-validations.aws.",
            }
            for domain in [i["domainName"], *i.get("subjectAlternativeNames", [])]
        ],
    },
    "aws:acm/certificateValidation:CertificateValidation": lambda c, region, name, i, rid: {
        "certificateArn": i["certificateArn"],
    },
    "aws:lb/loadBalancer:LoadBalancer": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{_alb_suffix(name)}",
        "arnSuffix": _alb_suffix(name),
        "dnsName": f"{name}-{int(_digest(name, 8), 16)}.{region}.elb.amazonaws.com",
        "zoneId": "Z35SXDOTRQ7X7K",
    },
    "aws:lb/targetGroup:TargetGroup": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:{_tg_suffix(name)}",
        "arnSuffix": _tg_suffix(name),
    },
    "aws:lb/listener:Listener": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:elasticloadbalancing:{region}:{ACCOUNT_ID}:listener/"
        f"{_alb_suffix(name)}/{_digest(name + 'l', 16)}",
    },
    # A rule's ARN is its listener's, as `listener-rule/...`, plus the rule's own id.
    "aws:lb/listenerRule:ListenerRule": lambda c, region, name, i, rid: {
        "arn": str(i["listenerArn"]).replace(":listener/", ":listener-rule/", 1)
        + f"/{_digest(name + 'r', 16)}",
    },
    "aws:s3/bucket:Bucket": lambda c, region, name, i, rid: {
        "bucket": _bucket_name(name, i),
        "arn": f"arn:aws:s3:::{_bucket_name(name, i)}",
        "bucketDomainName": f"{_bucket_name(name, i)}.s3.amazonaws.com",
        "bucketRegionalDomainName": f"{_bucket_name(name, i)}.s3.{region}.amazonaws.com",
        "region": region,
    },
    "aws:cloudfront/distribution:Distribution": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:distribution/{rid}",
        "domainName": f"d{_digest(name, 13)}.cloudfront.net",
        "hostedZoneId": "Z2FDTNDATAQYW2",
        "status": "Deployed",
    },
    "aws:cloudfront/function:Function": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:cloudfront::{ACCOUNT_ID}:function/{i.get('name', name)}",
    },
    "aws:backup/vault:Vault": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:backup:{region}:{ACCOUNT_ID}:backup-vault:{i.get('name', name)}",
    },
    "aws:backup/plan:Plan": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:backup:{region}:{ACCOUNT_ID}:backup-plan:{_uuid(name)}",
        "version": _digest(name + "version", 32),
    },
    "aws:backup/restoreTestingPlan:RestoreTestingPlan": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:backup:{region}:{ACCOUNT_ID}:restore-testing-plan:"
        f"{i.get('name', name)}-{_uuid(name)}",
    },
    "aws:cloudwatch/eventRule:EventRule": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{i.get('name', name)}",
    },
    "aws:wafv2/webAcl:WebAcl": lambda c, region, name, i, rid: {
        "arn": f"arn:aws:wafv2:{region}:{ACCOUNT_ID}:"
        f"{'global' if i.get('scope') == 'CLOUDFRONT' else 'regional'}/webacl/"
        f"{i.get('name', name)}/{_uuid(name)}",
    },
}

Invoke = Callable[[MockCloud, str, Mapping[str, Any]], dict[str, Any]]
_AZ_LETTERS = {"us-east-1": "abcdef", "us-west-2": "abcd", "eu-west-1": "abc"}
INVOKES: dict[str, Invoke] = {
    "aws:index/getAvailabilityZones:getAvailabilityZones": lambda c, region, a: {
        "id": region,
        "names": [f"{region}{x}" for x in _AZ_LETTERS.get(region, "abc")],
        "zoneIds": [f"use1-az{n}" for n, _ in enumerate(_AZ_LETTERS.get(region, "abc"), 1)],
        "groupNames": [region],
    },
    "aws:index/getCallerIdentity:getCallerIdentity": lambda c, region, a: {
        "id": ACCOUNT_ID,
        "accountId": ACCOUNT_ID,
        "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/offline",
        "userId": "AIDAOFFLINE",
    },
    "aws:index/getPartition:getPartition": lambda c, region, a: {
        "id": "aws",
        "partition": "aws",
        "dnsSuffix": "amazonaws.com",
        "reverseDnsPrefix": "com.amazonaws",
    },
    "aws:elb/getServiceAccount:getServiceAccount": lambda c, region, a: {
        # The ELB log-delivery account of us-east-1, as AWS documents it.
        "id": "127311923021",
        "arn": "arn:aws:iam::127311923021:root",
    },
    "aws:ec2/getManagedPrefixList:getManagedPrefixList": lambda c, region, a: {
        "id": f"pl-{_digest(str(a.get('name')), 8)}",
        "name": a.get("name"),
        "addressFamily": "IPv4",
        "maxEntries": 55,
        "entries": [],
    },
    "aws:cloudfront/getCachePolicy:getCachePolicy": lambda c, region, a: {
        "id": _uuid(str(a.get("name"))),
        "name": a.get("name"),
    },
    "aws:cloudfront/getOriginRequestPolicy:getOriginRequestPolicy": lambda c, region, a: {
        "id": _uuid(str(a.get("name"))),
        "name": a.get("name"),
    },
    "aws:ssm/getParameter:getParameter": lambda c, region, a: _public_parameter(region, a),
    "aws:index/getRegion:getRegion": lambda c, region, a: {
        "id": region,
        "name": region,
        "region": region,
        "endpoint": f"ec2.{region}.amazonaws.com",
        "description": region,
    },
}


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The mock monitor, keeping every registration request for assertions and the analyzer."""

    def __init__(self, cloud: MockCloud) -> None:
        super().__init__(cloud)
        self.cloud = cloud
        self.recorded: list[Resource] = []
        self._aliases: dict[str, list[str]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        # The engine does not qualify children of the root stack with the stack's type.
        if parent.split("::")[2:3] == ["pulumi:pulumi:Stack"]:
            parent = ""
        return super().make_urn(parent, type_, name)

    def _alias_urns(self, request: Any, urn: str) -> list[str]:
        """The old URNs the engine derives from a registration (its `generateAliases`): each
        alias resolved against the resource's current name, type and parent, then every alias
        of its parent applied to the resource and to each of those, a child name that starts
        with the parent's name taking the parent's old name instead."""

        def resolve(alias: Any) -> str:
            if alias.WhichOneof("alias") == "urn":
                return str(alias.urn)
            spec = alias.spec
            if spec.stack or spec.project:
                raise NotImplementedError("MockCloud models aliases within one stack and project")
            parent = "" if spec.noParent else (spec.parentUrn or request.parent)
            return self.make_urn(parent, spec.type or request.type, spec.name or request.name)

        own = [resolve(a) for a in request.aliases]
        found = list(own)
        parent_name = request.parent.rsplit("::", 1)[-1]
        for parent_alias in self._aliases.get(request.parent, []):
            for child in (urn, *own):
                child_type = child.split("::")[2].split("$")[-1]
                child_name = child.rsplit("::", 1)[-1]
                if child_name.startswith(parent_name):
                    child_name = parent_alias.rsplit("::", 1)[-1] + child_name[len(parent_name) :]
                found.append(self.make_urn(parent_alias, child_type, child_name))
        self._aliases[urn] = list(dict.fromkeys(found))
        return self._aliases[urn]

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        urn = self.make_urn(request.parent, request.type, request.name)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=urn)
        inputs_wrapped = rpc.deserialize_properties(request.object)
        self.cloud.secret_outputs = list(request.additionalSecretOutputs)
        given_id, state = self.cloud.new_resource(
            pulumi.runtime.MockResourceArgs(
                typ=request.type,
                name=request.name,
                inputs=inputs_wrapped,
                provider=request.provider,
                resource_id=request.importId,
                custom=bool(request.custom),
            )
        )
        resource_id = given_id or ""  # none for a component
        response = resource_pb2.RegisterResourceResponse(
            urn=urn,
            id=resource_id,
            object=_state_struct(state, inputs_wrapped, request.object),
        )
        unwrapped = {k: unwrap_secrets(v) for k, v in inputs_wrapped.items()}
        inputs = {k: value for k, (value, _) in unwrapped.items()}
        secret_inputs = {k for k, (_, secret) in unwrapped.items() if secret}
        if request.type == "pulumi:providers:aws":
            self.cloud.provider_regions[urn] = inputs.get("region") or self.cloud.region
        # As the program will see them (the engine's numbers are doubles, no None at the top).
        outputs, _ = unwrap_secrets(rpc.deserialize_properties(response.object))
        if request.custom:
            # The id travels beside the state; keep it where tests look for other attributes.
            outputs.setdefault("id", resource_id)
        self.resources[urn] = pulumi_mocks.MockMonitor.ResourceRegistration(urn, resource_id, state)
        raw = struct_pb2.Struct()
        raw.CopyFrom(request.object)
        self.recorded.append(
            Resource(
                urn=urn,
                type=request.type,
                name=request.name,
                custom=bool(request.custom),
                parent=request.parent,
                provider=request.provider,
                protect=bool(request.protect),
                inputs=inputs,
                secret_inputs=secret_inputs,
                outputs=outputs,
                dependencies=list(request.dependencies),
                options={
                    "ignoreChanges": list(request.ignoreChanges),
                    "deleteBeforeReplace": bool(request.deleteBeforeReplace),
                    "retainOnDelete": bool(request.retainOnDelete),
                    "aliases": self._alias_urns(request, urn),
                    "additionalSecretOutputs": list(request.additionalSecretOutputs),
                    "replaceOnChanges": list(request.replaceOnChanges),
                    "customTimeouts": {
                        k: getattr(request.customTimeouts, k)
                        for k in ("create", "update", "delete")
                        if getattr(request.customTimeouts, k)
                    },
                },
                raw_inputs=raw,
                id=resource_id,
                property_dependencies={
                    key: list(deps.urns) for key, deps in request.propertyDependencies.items()
                },
            )
        )
        return response

    def Invoke(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        if request.tok == "pulumi:pulumi:getResource":
            raise NotImplementedError(
                "MockCloud rebuilds no resource passed by reference: pass its id or name instead"
            )
        args = rpc.deserialize_properties(request.args)
        answer = self.cloud.call(
            pulumi.runtime.MockCallArgs(token=request.tok, args=args, provider=request.provider)
        )
        return resource_pb2.ResourceInvokeResponse(**{"return": _plain_struct(answer)})

    def ReadResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        raise NotImplementedError(
            f"MockCloud reads no existing resource ({request.type} {request.name}): give it a mock"
        )


def _plain_struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    """Plain values (text, numbers, booleans, lists, maps, secret wrappers) as the SDK would
    serialize them: a key whose value is None is left out, as `rpc.serialize_properties` does
    (a None inside a map or list stays, as a null)."""
    struct = struct_pb2.Struct()
    struct.update({k: v for k, v in values.items() if v is not None})
    return struct


def _state_struct(
    state: Mapping[str, Any], inputs: Mapping[str, Any], serialized_inputs: struct_pb2.Struct
) -> struct_pb2.Struct:
    """A resource's state on the wire: each input the mock passed through unchanged is copied as
    the SDK serialized it (assets and archives included), everything the mock computed is a
    plain value."""
    unchanged = {k for k, v in state.items() if k in inputs and inputs[k] is v}
    struct = _plain_struct({k: v for k, v in state.items() if k not in unchanged})
    for key in unchanged & set(serialized_inputs.fields):
        struct.fields[key].CopyFrom(serialized_inputs.fields[key])
    return struct


@dataclass
class Evaluation:
    """What one run of the program registered and exported."""

    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    config: StackConfig | None = None
    """The validated config the program ran with (None for `run_program` fixtures)."""

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str, name: str | None = None) -> Resource:
        found = [r for r in self.of_type(type_) if name is None or r.name == name]
        if len(found) != 1:
            raise LookupError(
                f"expected one {type_} named {name!r}, found {[r.name for r in found]}"
            )
        return found[0]

    def by_urn(self, urn: str) -> Resource:
        for r in self.resources:
            if r.urn == urn:
                return r
        raise LookupError(urn)

    def children(self, parent: Resource) -> list[Resource]:
        return [r for r in self.resources if r.parent == parent.urn]

    def descendants(self, ancestor: Resource) -> Iterator[Resource]:
        for child in self.children(ancestor):
            yield child
            yield from self.descendants(child)


def run_program(
    stack: str,
    config: Mapping[str, str],
    secret_keys: list[str],
    program: Callable[[], Mapping[str, Any]],
) -> Evaluation:
    """Run `program` (returning stack outputs) under the mock cloud with the given config."""
    pulumi.runtime.set_all_config(dict(config), secret_keys)
    cloud = MockCloud(config.get("aws:region", "us-east-1"), stack)
    monitor = RecordingMonitor(cloud)
    # A fresh root stack per run, so URNs name this stack and not the previous run's.
    settings.set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(cloud, project=PROJECT, stack=stack, preview=False, monitor=monitor)
    outputs: dict[str, Any] = {}
    secret_outputs: set[str] = set()

    async def resolve() -> None:
        for key, value in program().items():
            out = pulumi.Output.from_input(value)
            outputs[key] = await out.future()
            if await out.is_secret():
                secret_outputs.add(key)

    with _no_cyclic_collection(), _no_source_positions(), _answered_inline():
        try:
            _sync_await(run_pulumi_func(lambda: _sync_await(resolve())))
        except BaseException:
            _cancel_what_is_left()
            raise
    return Evaluation(stack, monitor.recorded, outputs, secret_outputs)


def _cancel_what_is_left() -> None:
    """A run that failed leaves the SDK's tasks (registrations, Outputs) pending on the thread's
    event loop, and its failed Outputs in the SDK's process-wide set, where the next run would
    wait for them and fail with this run's error: cancel the tasks and forget the Outputs. (Every
    task on the loop is the SDK's: runs are all the loop serves.)"""
    loop = _ensure_event_loop()
    left = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in left:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*left, return_exceptions=True))
    with settings.SETTINGS.lock:
        settings.SETTINGS.outputs.clear()


class _Inline(ThreadPoolExecutor):
    """An executor that runs each call at once, on the calling thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        done: Future[Any] = Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as a thread would
            done.set_exception(exc)
        return done


@contextmanager
def _answered_inline() -> Iterator[None]:
    """While the program runs, the SDK's calls to the monitor are answered on its own thread.

    The SDK hands every call to the monitor (a gRPC round trip to the engine, for real) to the
    event loop's default executor, a thread pool. RecordingMonitor answers from memory without
    waiting on anything, so a thread per call only added hand-offs between threads: a tenth of
    an evaluation (measured). Nothing it answers may pump the event loop again (the SDK's own
    MockMonitor does, which is why RecordingMonitor answers registrations and invokes itself).
    The loop stays the thread's own: Outputs made outside a run (config parsing makes secrets)
    belong to it. Afterwards it gets a fresh thread pool, as asyncio would make it one.
    """
    loop = _ensure_event_loop()
    loop.set_default_executor(_Inline(max_workers=1))
    try:
        yield
    finally:
        loop.set_default_executor(ThreadPoolExecutor())


@contextmanager
def _no_source_positions() -> Iterator[None]:
    """No stack trace per registration while the program runs under the mock.

    The SDK walks the Python stack at every resource registration (`traceback.extract_stack`,
    which reads each frame's source line, then a file URI per frame) so the CLI can point its
    diagnostics at the program's source. The mock monitor records no source position and the
    policy pack is never told one, yet the walk took a tenth of an evaluation (measured). The
    SDK's own function is replaced, not wrapped: `mock.patch.object` fails loudly should an SDK
    release rename it.
    """
    with mock.patch.object(sdk_resource, "_get_stack_trace", source_pb2.StackTrace):
        yield


@contextmanager
def _no_cyclic_collection() -> Iterator[None]:
    """No cyclic garbage collection while the program runs; one young collection after.

    A run allocates some 250,000 objects (outputs, futures, tasks) that stay referenced until
    it ends, so collections during the run find little garbage, promote the rest, and soon
    trigger full collections over everything the process holds: measured, 20 % of an
    evaluation's CPU time in a process whose modules are frozen, half in one whose are not.
    Afterwards the run's cyclic garbage is all young, and one collection of the young
    generations frees it without walking the old one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
            gc.collect(1)


def evaluate(
    stack: str,
    overrides: Mapping[str, Any] | None = None,
    secret_overrides: Mapping[str, Any] | None = None,
) -> Evaluation:
    """Run the webstack program for `stack` (its Pulumi.<stack>.yaml plus overrides)."""
    from components.config import load_stack_config as load_program_config
    from components.stack import build_stack, region_availability_zones
    from tools.lambda_package import offline_package, offline_restore_check_package

    config, secret_keys = load_stack_config(stack, overrides, secret_overrides)
    package = offline_package()
    restore_check = offline_restore_check_package()
    loaded: list[StackConfig] = []

    def program() -> Mapping[str, Any]:
        loaded.append(load_program_config(region_availability_zones))
        return build_stack(
            loaded[0], migration_package=package, restore_check_package=restore_check
        )

    evaluation = run_program(stack, config, secret_keys, program)
    evaluation.config = loaded[0]
    return evaluation
