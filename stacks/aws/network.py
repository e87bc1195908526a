"""The lab's VPC: two availability zones, private subnets for tasks, Lambdas and RDS, and one way out.

How tasks reach ECR, CloudWatch Logs and Secrets Manager is `perflab:egress` (hourly costs in docs/aws.md):
- `nat`: public subnets with an internet gateway and ONE NAT gateway (in the first zone; a zone outage
  stops egress, acceptable for a lab) that every private subnet routes through. Also lets a generator
  in the VPC reach the Lambdas' HTTP APIs, which are public endpoints.
- `endpoints`: no internet route at all; interface endpoints for ecr.api, ecr.dkr, logs and
  secretsmanager in both zones (private DNS), reachable on 443 from inside the VPC only.
Either way an S3 gateway endpoint (free) serves ECR's image layers and the results bucket.
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "logs", "secretsmanager")
ZONES = 2


def subnet_cidrs(vpc_cidr) -> tuple[list[str], list[str]]:
    """Private subnets take the first two sixteenths of the VPC, public ones (NAT only) the ninth and tenth."""
    blocks = list(vpc_cidr.subnets(prefixlen_diff=4))
    return [str(b) for b in blocks[:ZONES]], [str(b) for b in blocks[8:8 + ZONES]]


def _zone(zones: pulumi.Output, index: int) -> pulumi.Output:
    return zones.apply(lambda names: names[index])


class Network(pulumi.ComponentResource):
    endpoint_security_group: aws.ec2.SecurityGroup | None
    nat_gateway: aws.ec2.NatGateway | None

    def __init__(self, name: str, settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        tag = f"perflab-{settings.stack}"
        cidr = settings.vpc_cidr
        zones = aws.get_availability_zones_output(state="available").names.apply(lambda names: names[:ZONES])
        self.vpc = aws.ec2.Vpc(name, cidr_block=str(cidr), enable_dns_hostnames=True, enable_dns_support=True,
                               tags={"Name": tag}, opts=child)
        self.cidr = str(cidr)
        private_cidrs, public_cidrs = subnet_cidrs(cidr)
        self.private_subnets = [
            aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=self.vpc.id, cidr_block=block,
                           availability_zone=_zone(zones, i), map_public_ip_on_launch=False,
                           tags={"Name": f"{tag}-private-{i}"}, opts=child)
            for i, block in enumerate(private_cidrs)]
        self.private_route_table = aws.ec2.RouteTable(f"{name}-private", vpc_id=self.vpc.id,
                                                      tags={"Name": f"{tag}-private"}, opts=child)
        for i, subnet in enumerate(self.private_subnets):
            aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=subnet.id,
                                          route_table_id=self.private_route_table.id, opts=child)
        self.s3_endpoint = aws.ec2.VpcEndpoint(
            f"{name}-s3", vpc_id=self.vpc.id, service_name=f"com.amazonaws.{settings.region}.s3",
            vpc_endpoint_type="Gateway", route_table_ids=[self.private_route_table.id],
            tags={"Name": f"{tag}-s3"}, opts=child)
        self.egress = settings.egress
        self.endpoint_security_group = None
        self.nat_gateway = None
        if self.egress == "nat":
            self._nat(name, tag, zones, public_cidrs, child)
        else:
            self._endpoints(name, tag, settings.region, child)
        self.private_subnet_ids = [subnet.id for subnet in self.private_subnets]
        self.register_outputs({"vpcId": self.vpc.id})

    def _nat(self, name: str, tag: str, zones: pulumi.Output, cidrs: list[str], child) -> None:
        gateway = aws.ec2.InternetGateway(name, vpc_id=self.vpc.id, tags={"Name": tag}, opts=child)
        public = aws.ec2.RouteTable(f"{name}-public", vpc_id=self.vpc.id, tags={"Name": f"{tag}-public"},
                                    opts=child)
        aws.ec2.Route(f"{name}-public-default", route_table_id=public.id, destination_cidr_block="0.0.0.0/0",
                      gateway_id=gateway.id, opts=child)
        subnets = []
        for i, block in enumerate(cidrs):
            subnet = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=self.vpc.id, cidr_block=block,
                                    availability_zone=_zone(zones, i),
                                    map_public_ip_on_launch=False, tags={"Name": f"{tag}-public-{i}"}, opts=child)
            aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=subnet.id, route_table_id=public.id,
                                          opts=child)
            subnets.append(subnet)
        address = aws.ec2.Eip(f"{name}-nat", domain="vpc", tags={"Name": f"{tag}-nat"}, opts=child)
        nat = self.nat_gateway = aws.ec2.NatGateway(
            name, allocation_id=address.allocation_id, subnet_id=subnets[0].id, connectivity_type="public",
            tags={"Name": tag}, opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]))
        aws.ec2.Route(f"{name}-private-default", route_table_id=self.private_route_table.id,
                      destination_cidr_block="0.0.0.0/0", nat_gateway_id=nat.id, opts=child)

    def _endpoints(self, name: str, tag: str, region: str, child) -> None:
        group = self.endpoint_security_group = aws.ec2.SecurityGroup(
            f"{name}-endpoints", vpc_id=self.vpc.id, description="perflab: interface endpoints, 443 from the VPC",
            tags={"Name": f"{tag}-endpoints"}, opts=child)
        aws.vpc.SecurityGroupIngressRule(
            f"{name}-endpoints-https", security_group_id=group.id, ip_protocol="tcp",
            from_port=443, to_port=443, cidr_ipv4=self.cidr, description="HTTPS from inside the VPC", opts=child)
        for service in INTERFACE_ENDPOINTS:
            aws.ec2.VpcEndpoint(
                f"{name}-{service.replace('.', '-')}", vpc_id=self.vpc.id,
                service_name=f"com.amazonaws.{region}.{service}", vpc_endpoint_type="Interface",
                private_dns_enabled=True, subnet_ids=[s.id for s in self.private_subnets],
                security_group_ids=[group.id], tags={"Name": f"{tag}-{service}"},
                opts=child)

    def https_egress(self, name: str, security_group: aws.ec2.SecurityGroup, child) -> None:
        """Let a workload reach AWS APIs on 443: anywhere through the NAT, else the endpoints and S3."""
        if self.egress == "nat":
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-https", security_group_id=security_group.id, ip_protocol="tcp", from_port=443,
                to_port=443, cidr_ipv4="0.0.0.0/0", description="AWS APIs and ECR through the NAT gateway",
                opts=child)
            return
        assert self.endpoint_security_group is not None
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-https", security_group_id=security_group.id, ip_protocol="tcp", from_port=443, to_port=443,
            referenced_security_group_id=self.endpoint_security_group.id,
            description="AWS APIs through the interface endpoints", opts=child)
        aws.vpc.SecurityGroupEgressRule(
            f"{name}-s3", security_group_id=security_group.id, ip_protocol="tcp", from_port=443, to_port=443,
            prefix_list_id=self.s3_endpoint.prefix_list_id, description="ECR layers from S3", opts=child)
