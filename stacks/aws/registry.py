"""ECR for the lab's images: one private, immutable, scanned repository per image, the image pushed with the
registry's own token, and what an ECS execution role needs to pull from it — the same for every API task and
the load generator."""
from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws
import pulumi_docker as docker

from perflab.catalogue import ROOT
from stacks.aws import iam


def repository(name: str, stack: str, image: str, opts: pulumi.ResourceOptions) -> aws.ecr.Repository:
    return aws.ecr.Repository(
        name, name=f"perflab-{stack}/{image}", image_tag_mutability="IMMUTABLE",
        image_scanning_configuration=aws.ecr.RepositoryImageScanningConfigurationArgs(scan_on_push=True),
        encryption_configurations=[aws.ecr.RepositoryEncryptionConfigurationArgs(encryption_type="AES256")],
        force_delete=True, opts=opts)


def pushed_image(name: str, registry: aws.ecr.Repository, tag: pulumi.Input[str], dockerfile: str,
                 args: Mapping[str, pulumi.Input[str]] | None, platform: str,
                 opts: pulumi.ResourceOptions) -> docker.Image:
    """Built from the repository's context with the classic builder (local base images, no registry pull)."""
    token = aws.ecr.get_authorization_token_output(registry_id=registry.registry_id)
    return docker.Image(
        name,
        image_name=pulumi.Output.concat(registry.repository_url, ":", tag),
        build=docker.DockerBuildArgs(context=str(ROOT), dockerfile=dockerfile, args=args, platform=platform,
                                     builder_version=docker.BuilderVersion.BUILDER_V1),
        registry=docker.RegistryArgs(server=registry.repository_url, username=token.user_name,
                                     password=pulumi.Output.secret(token.password)),
        opts=opts)


def pull_statements(registry: aws.ecr.Repository) -> list[dict]:
    """An execution role's rights to pull from this repository (the token action exists on "*" only)."""
    return [iam.statement(["ecr:GetAuthorizationToken"], "*"),
            iam.statement(["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                          [registry.arn])]
