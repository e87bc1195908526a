"""One container API of the catalogue on ECS Fargate, reachable inside the VPC through the lab's NLB.

- Image: its ECR repository, built from the same Dockerfile and build arguments as locally
  (`pulumi_docker.Image`, pushed with the registry's ECR credentials) and tagged with the same content tag.
- Task: the resource class's Fargate size (stacks/aws/settings.py), the environment contract
  (DB_POOL_MAX, LOG_LEVEL, MAX_BODY_BYTES, PORT, BIND_ADDRESS=0.0.0.0 in awsvpc mode, DATABASE_URL without
  a password) and PGPASSWORD from the RDS-managed secret through ECS `secrets`; under an auth profile
  AUTH_ENABLED, JWT_ISSUER, JWT_AUDIENCE and JWT_SECRET_KEY from the key's secret the same way
  (stacks/aws/auth.py); the image's own health probe as the container health check (HTTP, or a real
  grpc.health.v1 call) and logs to its log group.
- Service: desired count 0 (the runner scales the API it measures to 1, one API at a time, as locally;
  Pulumi ignores later changes of the count). Behind a TCP listener on the catalogue port of the internal
  NLB: REST and gRPC pass through unchanged (HTTP/2 end to end). The target group checks REST over HTTP on
  the API's health path; gRPC targets get a TCP check there and the real gRPC check from ECS.
"""
from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from perflab import artifacts
from perflab.catalogue import Service
from stacks.aws import auth, iam, registry

HEALTH_PATH = "/api/v1/events/health"
# Indirection point for the mock tests, which have no built artifacts to hash.
content_tag = artifacts.content_tag
PROBE = "/usr/local/bin/healthprobe"


def container_health_check(service: Service) -> list[str]:
    """The same probe as the local stack's Docker health check, inside the task."""
    if service.protocol == "grpc":
        return ["CMD", PROBE, "grpc", f"127.0.0.1:{service.port}"]
    return ["CMD", PROBE, "http", f"http://127.0.0.1:{service.port}{HEALTH_PATH}"]


def container_definitions(service: Service, image: str, environment: dict[str, str], secret_arn: str,
                          log_group: str, region: str, jwt_secret_arn: str | None = None) -> str:
    # The password only: ECS reads the JSON key of the RDS-managed secret at task start; the JWT key's
    # secret is the key itself (its whole text).
    secrets = [{"name": "PGPASSWORD", "valueFrom": f"{secret_arn}:password::"}]
    if jwt_secret_arn is not None:
        secrets.append({"name": auth.KEY_VARIABLE, "valueFrom": jwt_secret_arn})
    return json.dumps([{
        "name": service.name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": service.port, "hostPort": service.port, "protocol": "tcp"}],
        "environment": [{"name": key, "value": value} for key, value in sorted(environment.items())],
        "secrets": secrets,
        "healthCheck": {"command": container_health_check(service), "interval": 10, "timeout": 5,
                        "retries": 3, "startPeriod": 60},
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": service.name}},
        "readonlyRootFilesystem": False,
    }], sort_keys=True)


class ContainerService(pulumi.ComponentResource):
    def __init__(self, name: str, service: Service, *, settings, cluster: aws.ecs.Cluster, network,
                 load_balancer: aws.lb.LoadBalancer, security_group: aws.ec2.SecurityGroup, database,
                 jwt_key: auth.JwtKeySecret | None = None, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:ContainerService", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        size = settings.fargate(service.resource_class)
        self.size = size
        self.repository = registry.repository(name, settings.stack, service.name, child)
        self.image = registry.pushed_image(name, self.repository, content_tag(service), str(service.dockerfile),
                                           service.docker_build_args, settings.docker_platform, child)
        self.log_group = aws.cloudwatch.LogGroup(
            name, name=f"/perflab/{settings.stack}/ecs/{service.name}",
            retention_in_days=settings.log_retention_days, opts=child)
        self.execution_role = iam.Role(f"{name}-execution", "ecs-tasks.amazonaws.com", [
            *registry.pull_statements(self.repository),
            iam.log_statement(self.log_group.arn),
            iam.secret_statement(database.secret_arn),
            *([iam.secret_statement(jwt_key.arn)] if jwt_key is not None else []),
        ], opts=child)
        environment = {**settings.config.api_environment(), **(auth.api_environment() if jwt_key is not None else {}),
                       "PORT": str(service.port), "BIND_ADDRESS": "0.0.0.0"}
        jwt_secret_arn = jwt_key.arn if jwt_key is not None else None
        definitions = pulumi.Output.all(self.image.repo_digest, database.url_without_password,
                                        database.secret_arn, self.log_group.name, jwt_secret_arn).apply(
            lambda values: container_definitions(service, values[0], {**environment, "DATABASE_URL": values[1]},
                                                 values[2], values[3], settings.region, values[4]))
        self.task_definition = aws.ecs.TaskDefinition(
            name, family=f"perflab-{settings.stack}-{service.name}", cpu=str(size.cpu), memory=str(size.memory),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=settings.architecture),
            execution_role_arn=self.execution_role.arn, container_definitions=definitions, opts=child)
        health = (aws.lb.TargetGroupHealthCheckArgs(protocol="TCP", port=str(service.port), interval=10,
                                                     healthy_threshold=2, unhealthy_threshold=2)
                  if service.protocol == "grpc" else
                  aws.lb.TargetGroupHealthCheckArgs(protocol="HTTP", port=str(service.port), path=HEALTH_PATH,
                                                     matcher="200", interval=10, healthy_threshold=2,
                                                     unhealthy_threshold=2))
        self.target_group = aws.lb.TargetGroup(
            name, port=service.port, protocol="TCP", target_type="ip",
            vpc_id=network.vpc.id, deregistration_delay=10, health_check=health, opts=child)
        self.listener = aws.lb.Listener(
            name, load_balancer_arn=load_balancer.arn, port=service.port, protocol="TCP",
            default_actions=[aws.lb.ListenerDefaultActionArgs(type="forward",
                                                              target_group_arn=self.target_group.arn)],
            opts=child)
        self.service = aws.ecs.Service(
            name, name=service.name, cluster=cluster.arn, task_definition=self.task_definition.arn,
            desired_count=0, launch_type="FARGATE", platform_version="1.4.0",
            network_configuration=aws.ecs.ServiceNetworkConfigurationArgs(
                subnets=network.private_subnet_ids, security_groups=[security_group.id], assign_public_ip=False),
            load_balancers=[aws.ecs.ServiceLoadBalancerArgs(target_group_arn=self.target_group.arn,
                                                            container_name=service.name,
                                                            container_port=service.port)],
            health_check_grace_period_seconds=60, deployment_minimum_healthy_percent=0,
            deployment_maximum_percent=100, enable_ecs_managed_tags=True, propagate_tags="SERVICE",
            wait_for_steady_state=False,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.listener], ignore_changes=["desiredCount"]))
        endpoint = pulumi.Output.concat(load_balancer.dns_name, ":", str(service.port))
        self.output = {
            "deployment": "container", "protocol": service.protocol, "port": service.port,
            "endpoint": endpoint if service.protocol == "grpc" else pulumi.Output.concat("http://", endpoint),
            "cluster": cluster.name, "service": self.service.name, "taskDefinition": self.task_definition.arn,
            "repository": self.repository.repository_url, "image": self.image.repo_digest,
            "resourceClass": service.resource_class, "limits": settings.limits(service.resource_class).as_dict(),
            "fargate": size.as_dict(), "logGroup": self.log_group.name,
            "targetGroup": self.target_group.arn,  # the runner waits for healthy targets here
        }
        self.register_outputs({"service": self.service.name})
