"""`bench build`, `bench up`, `bench down`, `bench status`, `bench env`: thin Click commands over runner.stack.

Errors the user can act on are `perflab.errors.LabError`s; the `bench` group (runner/cli.py) turns every one
into `Error: <message>` and exit status 1, the same for every command (usage errors: Click's exit 2).
"""
from __future__ import annotations

import shlex

import click

from perflab import catalogue, profiles
from runner import stack as lab_stack


def validate_apis(ctx: click.Context, param: click.Parameter, names: tuple[str, ...]) -> list[str] | None:
    """--api values: catalogue names (an unknown one is a usage error naming the known ones)."""
    for name in names:
        try:
            catalogue.api(name)
        except KeyError as error:
            raise click.BadParameter(str(error.args[0])) from None
    return list(names) or None


API_OPTION = click.option("--api", "api_names", multiple=True, callback=validate_apis,
                          help="only this API (repeatable; default: perflab:apis of the stack, else every API)")


@click.command()
@click.argument("stack", default="local")
@API_OPTION
def build(stack: str, api_names: list[str] | None) -> None:
    """Build the artifacts and images STACK refers to (the Pulumi program builds nothing itself)."""
    references = lab_stack.build(stack, log=click.echo, apis=api_names)
    for name, reference in references.items():
        click.echo(f"{name}: {reference}")


@click.command()
@click.argument("stack", default="local")
@API_OPTION
@click.option("--dry-run", is_flag=True, help="aws: print the stack's estimated hourly cost, deploy nothing")
@click.option("--profile", type=click.Choice(list(profiles.PROFILES)), default=None,
              help="the APIs' auth/secrets profile for this up [default: perflab:profile, else no-auth]")
def up(stack: str, api_names: list[str] | None, dry_run: bool, profile: str | None) -> None:
    """Build, bring STACK up (Pulumi CLI if installed, else in-process) and verify health and limits."""
    if stack == "aws" or dry_run:
        _up_aws(stack, api_names, dry_run, profile)
        return
    result = lab_stack.up(stack, log=click.echo, apis=api_names, profile=profile)
    click.echo(f"network mode: {result['networkMode']}")
    click.echo(f"profile: {result.get('profile') or profiles.DEFAULT}"
               + (" (`bench token` prints a token the APIs accept)" if result.get("auth") else ""))
    for key in ("database", "metricsDatabase"):
        database = result[key]
        click.echo(f"{key}: {database['container']} at {database['host']}:{database['port']}")
    for name, entry in result["apis"].items():
        click.echo(f"{name}: {entry['container']} at {entry['endpoint']} ({entry['protocol']})")
    click.echo("connection strings: `bench env` prints them as shell exports")


@click.command()
@click.argument("stack", default="local")
@click.option("--purge", is_flag=True,
              help="also remove the metrics database's volume: the run history is deleted (results/ stays)")
def down(stack: str, purge: bool) -> None:
    """Remove every container and network of STACK. Images stay (the build cache), and so does the metrics
    database's volume (the run history) unless --purge."""
    if stack == "aws":
        if purge:
            raise click.UsageError("--purge is for the local stack; `bench down aws` removes everything already")
        _down_aws()
        return
    removed = lab_stack.down(stack, log=click.echo, purge=purge)
    click.echo(f"stack {stack} down ({len(removed)} resources removed)")
    for name in lab_stack.kept_volumes(stack):
        click.echo(f"kept volume {name}: the metrics database's run history (`bench down {stack} --purge` "
                   f"deletes it)")


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
    if any(row["state"] == "stopped" for row in rows):
        click.echo("stopped: stopped by the lab (bench run and bench conformance run one API at a time); "
                   "`bench up` starts them again")


@click.command()
@click.argument("stack", default="local")
@click.option("--ttl", type=click.IntRange(1, 366 * 24 * 3600), default=3600, show_default=True,
              help="seconds until the token expires")
def token(stack: str, ttl: int) -> None:
    """Print a JWT the APIs of STACK accept (HS256 under the stack's key; the stack must run an auth
    profile): `JWT_TOKEN=$(bench token)` for the original lab's clients, `loadgen run --auth`, curl."""
    outputs = lab_stack.outputs(stack)
    if not outputs:
        raise lab_stack.StackError(f"the {stack} stack is not up: run `bench up {stack} --profile auth`")
    auth = outputs.get("auth")
    if not auth:
        raise lab_stack.StackError(f"the {stack} stack runs profile {outputs.get('profile') or profiles.DEFAULT}: its "
                                   f"APIs take no token (`bench up {stack} --profile auth`)")
    click.echo(profiles.token(auth["key"], ttl_seconds=ttl, issuer=auth.get("issuer"), audience=auth.get("audience")))


@click.command("env")
@click.argument("stack", default="local")
def env(stack: str) -> None:
    """Print the stack's connection strings as shell exports: eval "$(bench env)"."""
    outputs = lab_stack.outputs(stack)
    if not outputs:
        raise lab_stack.StackError(f"the {stack} stack is not up: run `bench up {stack}`")
    click.echo(f"export PERFLAB_DATABASE_DSN={shlex.quote(outputs['database']['dsn'])}")
    click.echo(f"export PERFLAB_METRICS_DSN={shlex.quote(outputs['metricsDatabase']['dsn'])}")
    for name, entry in outputs.get("apis", {}).items():
        variable = "PERFLAB_" + name.upper().replace("-", "_") + "_ENDPOINT"
        click.echo(f"export {variable}={shlex.quote(entry['endpoint'])}")


# --- the AWS stack (runner/aws.py): Automation API over the Pulumi CLI, never the in-process engine ---------

def _up_aws(stack: str, api_names: list[str] | None, dry_run: bool, profile: str | None = None) -> None:
    from perflab.errors import ConfigError
    from perflab.settings import load as load_config
    from runner import aws

    if stack != "aws":
        raise ConfigError(f"--dry-run estimates the AWS stack's cost; the {stack} stack has none (try `bench up aws "
                          f"--dry-run`)")
    if dry_run:
        for line in aws.format_estimate(aws.estimate(load_config("aws"), api_names, profile)):
            click.echo(line)
        return
    result = aws.up(log=click.echo, api_names=api_names, profile=profile)
    for name, entry in result.get("apis", {}).items():
        click.echo(f"{name}: {entry['endpoint']} ({entry['deployment']}, {entry['protocol']})")
    click.echo(f"database: {result['database']['host']}:{result['database']['port']} (password: RDS-managed "
               f"secret {result['database']['secretArn']})")
    click.echo(f"db-admin function: {result['admin']['functionName']}; results bucket: {result['resultsBucket']}")
    auth = result.get("auth") or {}
    click.echo(f"profile: {result.get('profile') or profiles.DEFAULT}"
               + (f" (JWT key: Secrets Manager secret {auth['secretArn']}; `bench token aws` prints a token the APIs "
                  f"accept)" if auth.get("secretArn") else ""))
    click.echo("every ECS service is at desired count 0 until a run measures it; `bench down aws` removes it all")


def _down_aws() -> None:
    from runner import aws

    aws.down(log=click.echo)
    click.echo("stack aws down")


COMMANDS = (build, up, down, status, env, token)
