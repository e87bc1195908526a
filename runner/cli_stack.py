"""`bench up`, `bench down`, `bench status`: thin Click commands over runner.stack (wired into runner/cli.py).

Run standalone as `python -m runner.cli_stack up local` until they are.
"""
from __future__ import annotations

import sys

import click

import docker.errors

from perflab import settings as stack_config
from runner import images
from runner import stack as lab_stack
from runner.engine.errors import EngineError

# What a user can act on: configuration, builds, Docker, the stack's own checks. Anything else is a bug
# and keeps its traceback.
USER_ERRORS = (lab_stack.StackError, EngineError, stack_config.ConfigError, images.BuildError, KeyError,
               docker.errors.DockerException)


def _fail(error: Exception) -> None:
    click.echo(f"error: {error}", err=True)
    sys.exit(1)


@click.command()
@click.argument("stack", default="local")
@click.option("--api", "api_names", multiple=True,
              help="deploy only this API (repeatable; default: perflab:apis of the stack, else every API)")
def up(stack: str, api_names: tuple[str, ...]) -> None:
    """Bring STACK up (Pulumi CLI if installed, else in-process) and verify health and limits."""
    from runner import catalogue

    try:
        names = list(api_names) if api_names else None
        if names:
            [catalogue.api(name) for name in names]  # unknown names fail before anything starts
        result = lab_stack.up(stack, log=click.echo, apis=names)
    except USER_ERRORS as error:
        _fail(error)
        return
    click.echo(f"network mode: {result['networkMode']}")
    for key in ("database", "metricsDatabase"):
        database = result[key]
        click.echo(f"{key}: {database['container']} at {database['host']}:{database['port']} "
                   f"(DSN in `runner.stack.outputs()`)")
    for name, entry in result["apis"].items():
        click.echo(f"{name}: {entry['container']} at {entry['endpoint']} ({entry['protocol']})")


@click.command()
@click.argument("stack", default="local")
def down(stack: str) -> None:
    """Remove every container, network and volume of STACK."""
    try:
        removed = lab_stack.down(stack, log=click.echo)
    except USER_ERRORS as error:
        _fail(error)
        return
    click.echo(f"stack {stack} down ({len(removed)} resources removed)")


@click.command()
@click.argument("stack", default="local")
def status(stack: str) -> None:
    """Show the containers of STACK: state, health, limits Docker applies, configured limits."""
    rows = lab_stack.status(stack)
    if not rows:
        click.echo(f"stack {stack}: nothing is up")
        return
    columns = ("container", "role", "state", "health", "cpus", "memory", "configured", "endpoint")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in columns}
    click.echo("  ".join(c.ljust(widths[c]) for c in columns).rstrip())
    for row in rows:
        click.echo("  ".join(str(row[c]).ljust(widths[c]) for c in columns).rstrip())


@click.group()
def main() -> None:
    """Stack commands (standalone entry point until runner/cli.py wires them)."""


main.add_command(up)
main.add_command(down)
main.add_command(status)

if __name__ == "__main__":
    main()
