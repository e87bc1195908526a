"""The load generator on ECS Fargate: a task definition the runner starts N times with `run_task`
(runner/aws_run.py), in the stack's private subnets with the `loadgen` security group.

- Image: tools/loadgen/Dockerfile built unchanged (local only, never pushed), then stacks/aws/loadgen/Dockerfile
  on top of it (curl + `perflab-task`), pushed to its own ECR repository. `perflab-task` runs loadgen with
  the runner's command override and PUTs the summary and raw samples to presigned S3 URLs the runner
  creates per file, so the task has NO task role: no AWS credentials, no S3 right, nothing to leak.
- Execution role (what ECS itself uses to start the task): pull from this repository, write this log group.
- Size: the `loadgen` resource class as a Fargate size (exact, stacks/aws/settings.py).
"""
from __future__ import annotations

import hashlib
import json

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from perflab import artifacts
from perflab.catalogue import LOADGEN, ROOT
from stacks.aws import iam, registry

CONTAINER = "loadgen"
DOCKERFILE = ROOT / "stacks" / "aws" / "loadgen" / "Dockerfile"
ENTRYPOINT = ROOT / "stacks" / "aws" / "loadgen" / "perflab-task.sh"
# Indirection point for the mock tests, which have no built artifacts to hash.
content_tag = artifacts.content_tag


def task_tag(base_tag: str) -> str:
    """The task image's tag: the loadgen image's content tag and the two files this layer adds."""
    digest = hashlib.sha256(base_tag.encode())
    for path in (DOCKERFILE, ENTRYPOINT):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def container_definitions(image: str, log_group: str, region: str) -> str:
    return json.dumps([{
        "name": CONTAINER,
        "image": image,
        "essential": True,
        # The command (loadgen run ... --segment K/N --start-at T) and the two presigned URLs arrive as
        # run_task overrides; without them perflab-task prints loadgen's usage and exits 2.
        "command": ["--help"],
        "logConfiguration": {"logDriver": "awslogs", "options": {
            "awslogs-group": log_group, "awslogs-region": region, "awslogs-stream-prefix": CONTAINER}},
        "stopTimeout": 30,  # SIGTERM, then 30 s for loadgen to write its summary and the uploads
    }], sort_keys=True)


class LoadGenerator(pulumi.ComponentResource):
    def __init__(self, name: str, *, settings, opts: pulumi.ResourceOptions | None = None):
        super().__init__("perflab:aws:LoadGenerator", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        size = settings.fargate(LOADGEN.resource_class)
        self.size = size
        self.repository = registry.repository(name, settings.stack, LOADGEN.name, child)
        base_tag = content_tag(LOADGEN)
        self.base_image = docker.Image(
            f"{name}-base", image_name=f"perflab-{settings.stack}-loadgen-base:{base_tag}",
            build=docker.DockerBuildArgs(context=str(ROOT), dockerfile=str(LOADGEN.dockerfile),
                                         platform=settings.docker_platform,
                                         builder_version=docker.BuilderVersion.BUILDER_V1),
            skip_push=True, opts=child)
        self.image = registry.pushed_image(name, self.repository, task_tag(base_tag), str(DOCKERFILE),
                                           {"BASE": self.base_image.image_name}, settings.docker_platform, child)
        self.log_group = aws.cloudwatch.LogGroup(
            name, name=f"/perflab/{settings.stack}/ecs/{LOADGEN.name}",
            retention_in_days=settings.log_retention_days, opts=child)
        self.execution_role = iam.Role(f"{name}-execution", "ecs-tasks.amazonaws.com", [
            *registry.pull_statements(self.repository), iam.log_statement(self.log_group.arn)], opts=child)
        definitions = pulumi.Output.all(self.image.repo_digest, self.log_group.name).apply(
            lambda values: container_definitions(values[0], values[1], settings.region))
        # No task_role_arn: the task calls no AWS API (uploads go to presigned URLs).
        self.task_definition = aws.ecs.TaskDefinition(
            name, family=f"perflab-{settings.stack}-{LOADGEN.name}", cpu=str(size.cpu), memory=str(size.memory),
            network_mode="awsvpc", requires_compatibilities=["FARGATE"],
            runtime_platform=aws.ecs.TaskDefinitionRuntimePlatformArgs(
                operating_system_family="LINUX", cpu_architecture=settings.architecture),
            execution_role_arn=self.execution_role.arn, container_definitions=definitions, opts=child)
        self.output = {
            "taskDefinition": self.task_definition.arn, "containerName": CONTAINER,
            "logGroup": self.log_group.name, "repository": self.repository.repository_url,
            "image": self.image.repo_digest, "fargate": size.as_dict(),
            "resourceClass": LOADGEN.resource_class,
        }
        self.register_outputs({"taskDefinition": self.task_definition.arn})
