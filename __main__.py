"""The lab's Pulumi program: read the stack's configuration, compose the stack, export what the runner needs.

Applied by `pulumi up -s local`, by `bench up local` through the Automation API, or — without the Pulumi
CLI — by `bench up local` in-process (runner/engine, docs/engine.md); `pulumi up -s aws` / `bench up aws`
the AWS stack (docs/aws.md). See stacks/ for the pieces. Build
the images first (`bench build`; `bench up` does it): the program only refers to them.
"""
import pulumi

from perflab.errors import ConfigError
from stacks import settings as stack_settings
from stacks.local import LocalStack

# perflab:target picks the stack: local (Docker, stacks/local.py) or aws (stacks/aws/, docs/aws.md).
target = pulumi.Config("perflab").get("target") or "local"
stack: pulumi.ComponentResource
if target == "aws":
    from stacks.aws import AwsStack
    from stacks.aws import settings as aws_settings

    stack = AwsStack(pulumi.get_stack(), aws_settings.load())
elif target == "local":
    settings = stack_settings.load()
    stack = LocalStack(settings.stack, settings)
else:
    raise ConfigError(f"perflab:target must be local or aws, not {target!r}")
for key, value in stack.outputs.items():
    pulumi.export(key, value)
