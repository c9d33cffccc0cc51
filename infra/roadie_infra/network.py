"""Network tier: a VPC across the stack's AZs with public, app and data subnets."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from roadie_infra import addressing
from roadie_infra.tagging import tags


@dataclass(frozen=True)
class NetworkArgs:
    environment: str
    region: str
    vpc_cidr: str
    availability_zones: tuple[str, ...]
    nat_per_az: bool
    """One NAT gateway per AZ, so losing an AZ does not cut the others off the internet."""


class Network(pulumi.ComponentResource):
    """VPC, subnets per AZ, internet and NAT gateways, route tables and an S3 endpoint."""

    vpc: aws.ec2.Vpc
    public_subnets: list[aws.ec2.Subnet]
    app_subnets: list[aws.ec2.Subnet]
    data_subnets: list[aws.ec2.Subnet]
    private_route_tables: list[aws.ec2.RouteTable]

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("roadie:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        env = args.environment
        self._vpc_cidr = args.vpc_cidr

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args.vpc_cidr,
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags=tags(env, "network", f"roadie-{env}"),
            opts=child,
        )
        gateway = aws.ec2.InternetGateway(
            f"{name}-igw", vpc_id=self.vpc.id, tags=tags(env, "network", f"roadie-{env}"), opts=child
        )
        public_routes = aws.ec2.RouteTable(
            f"{name}-public",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=gateway.id)],
            tags=tags(env, "network", f"roadie-{env}-public"),
            opts=child,
        )

        self.public_subnets, self.app_subnets, self.data_subnets = [], [], []
        self.private_route_tables = []
        nat_gateways: list[aws.ec2.NatGateway] = []
        for az_index, zone in enumerate(args.availability_zones, start=1):
            public = self._subnet(
                name,
                env,
                kind="public",
                zone=zone,
                az_index=az_index,
                plan=addressing.public_subnet,
                opts=child,
            )
            aws.ec2.RouteTableAssociation(
                f"{name}-public-{az_index}", subnet_id=public.id, route_table_id=public_routes.id, opts=child
            )
            self.public_subnets.append(public)
            if args.nat_per_az or az_index == 1:
                nat_gateways.append(self._nat_gateway(name, env, az_index, public, child))
            # Without a NAT per AZ every private subnet leaves through the first AZ's gateway.
            nat = nat_gateways[-1] if args.nat_per_az else nat_gateways[0]
            routes = aws.ec2.RouteTable(
                f"{name}-private-{az_index}",
                vpc_id=self.vpc.id,
                routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", nat_gateway_id=nat.id)],
                tags=tags(env, "network", f"roadie-{env}-private-{az_index}"),
                opts=child,
            )
            self.private_route_tables.append(routes)
            for kind, plan, subnets in (
                ("app", addressing.app_subnet, self.app_subnets),
                ("data", addressing.data_subnet, self.data_subnets),
            ):
                subnet = self._subnet(name, env, kind=kind, zone=zone, az_index=az_index, plan=plan, opts=child)
                aws.ec2.RouteTableAssociation(
                    f"{name}-{kind}-{az_index}", subnet_id=subnet.id, route_table_id=routes.id, opts=child
                )
                subnets.append(subnet)

        # pgBackRest pushes WAL and backups to S3 continuously: a gateway endpoint keeps that
        # traffic off the NAT gateways (cost, bandwidth) and inside the AWS network.
        aws.ec2.VpcEndpoint(
            f"{name}-s3",
            vpc_id=self.vpc.id,
            service_name=f"com.amazonaws.{args.region}.s3",
            vpc_endpoint_type="Gateway",
            route_table_ids=[table.id for table in self.private_route_tables],
            tags=tags(env, "network", f"roadie-{env}-s3"),
            opts=child,
        )
        self.register_outputs(
            {
                "vpc_id": self.vpc.id,
                "public_subnet_ids": [subnet.id for subnet in self.public_subnets],
                "app_subnet_ids": [subnet.id for subnet in self.app_subnets],
                "data_subnet_ids": [subnet.id for subnet in self.data_subnets],
            }
        )

    def _subnet(
        self,
        name: str,
        env: str,
        *,
        kind: str,
        zone: str,
        az_index: int,
        plan: addressing.SubnetPlan,
        opts: pulumi.ResourceOptions,
    ) -> aws.ec2.Subnet:
        # Tags tell the AWS load balancer controller which subnets EKS may place LBs in.
        role_tag = {"public": "kubernetes.io/role/elb", "app": "kubernetes.io/role/internal-elb"}.get(kind)
        extra = {role_tag: "1"} if role_tag else {}
        return aws.ec2.Subnet(
            f"{name}-{kind}-{az_index}",
            vpc_id=self.vpc.id,
            cidr_block=plan(self._vpc_cidr, az_index),
            availability_zone=zone,
            map_public_ip_on_launch=False,
            tags={**tags(env, "network", f"roadie-{env}-{kind}-{az_index}"), **extra},
            opts=opts,
        )

    def _nat_gateway(
        self, name: str, env: str, az_index: int, public: aws.ec2.Subnet, opts: pulumi.ResourceOptions
    ) -> aws.ec2.NatGateway:
        address = aws.ec2.Eip(
            f"{name}-nat-{az_index}", domain="vpc", tags=tags(env, "network", f"roadie-{env}-nat"), opts=opts
        )
        return aws.ec2.NatGateway(
            f"{name}-nat-{az_index}",
            allocation_id=address.id,
            subnet_id=public.id,
            tags=tags(env, "network", f"roadie-{env}-nat-{az_index}"),
            opts=opts,
        )
