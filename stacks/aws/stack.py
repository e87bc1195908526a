"""The AWS stack: network, database, one Fargate service per container API and one Lambda + HTTP API per
Lambda of the catalogue (or of perflab:apis), the database-admin function and the results bucket.

Security groups, one per kind of workload; every rule names its peer group, and only egress through the
NAT gateway names 0.0.0.0/0:
  loadgen --(API ports)--> nlb --(API ports)--> apis --5432--> database <--5432-- lambdas, admin
The outputs are everything the runner needs; the database password is in none of them (only the ARN of
the RDS-managed secret that holds it). Under an auth profile the JWT key's secret (stacks/aws/auth.py) is
shared by every API, and `auth` publishes the key as a Pulumi secret so the runner can make tokens.
"""
from __future__ import annotations

import pulumi
import pulumi_aws as aws

from perflab import profiles
from perflab.errors import ConfigError
from stacks.aws.admin import AdminFunction
from stacks.aws.auth import JwtKeySecret
from stacks.aws.container_service import ContainerService
from stacks.aws.database import Database
from stacks.aws.function import LambdaFunction
from stacks.aws.generator import LoadGenerator
from stacks.aws.network import Network
from stacks.aws.settings import AwsSettings
from stacks.aws.storage import ResultsBucket


class AwsStack(pulumi.ComponentResource):
    def __init__(self, name: str, settings: AwsSettings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:Stack", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        apis = settings.apis()  # validates perflab:apis and every class's AWS size first
        containers = [s for s in apis if s.deployment != "lambda"]
        lambdas = [s for s in apis if s.deployment == "lambda"]
        tag = f"perflab-{settings.stack}"
        account_id = aws.get_caller_identity_output().account_id

        self.network = Network("network", settings, opts=child)
        vpc_id = self.network.vpc.id

        def group(kind: str, description: str) -> aws.ec2.SecurityGroup:
            return aws.ec2.SecurityGroup(kind, vpc_id=vpc_id, description=f"perflab: {description}",
                                         tags={"Name": f"{tag}-{kind}"}, opts=child)

        self.security_groups = {
            "loadgen": group("loadgen", "load generator tasks"),
            "nlb": group("nlb", "internal NLB in front of the container APIs"),
            "apis": group("apis", "container API tasks"),
            "lambdas": group("lambdas", "the APIs' Lambda functions"),
            "admin": group("admin", "the database-admin function"),
        }
        sg = self.security_groups
        for service in containers:
            port = service.port
            for source, target in (("loadgen", "nlb"), ("nlb", "apis")):
                aws.vpc.SecurityGroupIngressRule(
                    f"{target}-from-{source}-{service.name}", security_group_id=sg[target].id, ip_protocol="tcp",
                    from_port=port, to_port=port, referenced_security_group_id=sg[source].id,
                    description=f"{service.name} from {source}", opts=child)
                aws.vpc.SecurityGroupEgressRule(
                    f"{source}-to-{target}-{service.name}", security_group_id=sg[source].id, ip_protocol="tcp",
                    from_port=port, to_port=port, referenced_security_group_id=sg[target].id,
                    description=f"{service.name} to {target}", opts=child)
        for kind in ("loadgen", "apis", "lambdas", "admin"):
            self.network.https_egress(kind, sg[kind], child)

        self.database = Database("database", settings, self.network,
                                 allow_from={kind: sg[kind] for kind in ("apis", "lambdas", "admin")}, opts=child)
        self.cluster = aws.ecs.Cluster("cluster", name=tag, settings=[
            aws.ecs.ClusterSettingArgs(name="containerInsights", value="disabled")], opts=child)
        self.load_balancer = aws.lb.LoadBalancer(
            "nlb", internal=True, load_balancer_type="network", subnets=self.network.private_subnet_ids,
            security_groups=[sg["nlb"].id], enable_cross_zone_load_balancing=True, tags={"Name": f"{tag}-nlb"},
            opts=child)

        # The profile's key, in Secrets Manager, for every API (none under no-auth: nothing changes).
        profile = settings.profile
        self.jwt_key: JwtKeySecret | None = None
        if profile.auth:
            if settings.jwt_key is None:
                raise ConfigError(f"profile {profile.name} needs a JWT key (perflab:jwtSecretKey or "
                                  f"PERFLAB_JWT_SECRET_KEY)")
            self.jwt_key = JwtKeySecret(profiles.JWT_KEY_SECRET, stack=settings.stack, key=settings.jwt_key,
                                        opts=child)

        self.apis: dict[str, dict] = {}
        self.services: dict[str, ContainerService] = {}
        self.functions: dict[str, LambdaFunction] = {}
        for service in containers:
            self.services[service.name] = ContainerService(
                service.name, service, settings=settings, cluster=self.cluster, network=self.network,
                load_balancer=self.load_balancer, security_group=sg["apis"], database=self.database,
                jwt_key=self.jwt_key, opts=child)
            self.apis[service.name] = self.services[service.name].output
        for service in lambdas:
            self.functions[service.name] = LambdaFunction(
                service.name, service, settings=settings, network=self.network, security_group=sg["lambdas"],
                database=self.database, account_id=account_id, jwt_key=self.jwt_key, opts=child)
            self.apis[service.name] = self.functions[service.name].output
        self.apis = {s.name: self.apis[s.name] for s in apis}  # catalogue order

        self.admin = AdminFunction("db-admin", settings=settings, network=self.network, security_group=sg["admin"],
                                   database=self.database, account_id=account_id, opts=child)
        self.results = ResultsBucket("results", settings.stack, opts=child)
        self.generator = LoadGenerator("loadgen", settings=settings, opts=child)

        self.outputs = {
            "stack": settings.stack,
            "target": "aws",
            "region": settings.region,
            "egress": settings.egress,
            "vpcId": vpc_id,
            "privateSubnetIds": self.network.private_subnet_ids,
            "cluster": self.cluster.name,
            "loadBalancer": self.load_balancer.dns_name,
            "database": self.database.output,
            "apis": self.apis,
            "profile": profile.name,
            # The issuer, audience and key (a Pulumi secret) of tokens the APIs accept, as the local stack's.
            "auth": self.jwt_key.output if self.jwt_key is not None else None,
            # What the runner needs to start generator tasks next to the APIs.
            "loadgen": {"cluster": self.cluster.name, "subnetIds": self.network.private_subnet_ids,
                        "securityGroupId": sg["loadgen"].id,
                        # The generator task (run_task, N at a time): runner/aws_run.py.
                        **self.generator.output,
                        # The Lambdas' HTTP APIs are public endpoints: reachable from the VPC through NAT.
                        "reachesLambdas": settings.egress == "nat"},
            "admin": self.admin.output,
            "resultsBucket": self.results.name,
        }
        self.register_outputs({})
