"""The lab's Pulumi program: read the stack's configuration, compose the stack, export what the runner needs.

Applied by `pulumi up -s local`, by `bench up local` through the Automation API, or — without the Pulumi
CLI — by `bench up local` in-process (runner/engine, docs/engine.md). See stacks/ for the pieces. Build
the images first (`bench build`; `bench up` does it): the program only refers to them.
"""
import pulumi

from perflab.errors import ConfigError
from stacks import settings as stack_settings
from stacks.local import LocalStack

settings = stack_settings.load()
target = settings.config.target
if target != "local":
    raise ConfigError(f"perflab:target {target!r}: only the local stack exists so far (stacks/local.py)")

stack = LocalStack(settings.stack, settings)
for key, value in stack.outputs.items():
    pulumi.export(key, value)
