"""`bench`: the lab's command line. It parses options and calls the `runner` library; nothing more."""
from __future__ import annotations

import pathlib
import sys

import click
from rich.console import Console
from rich.table import Table

from runner import catalogue

console = Console(highlight=False)


def _apis(names: tuple[str, ...]) -> list[catalogue.Service]:
    try:
        return [catalogue.api(name) for name in names] if names else list(catalogue.APIS)
    except KeyError as error:
        raise click.BadParameter(str(error.args[0]), param_hint="--api") from error


@click.group()
def main() -> None:
    """API performance lab: identical event-ingestion APIs, measured fairly."""


@main.command("apis")
def list_apis() -> None:
    """List the APIs of the catalogue."""
    table = Table("name", "language", "framework", "protocol", "port", "deployment")
    for service in catalogue.APIS:
        table.add_row(service.name, service.language, service.framework, service.protocol, str(service.port),
                      service.deployment)
    console.print(table)


@main.command()
@click.option("--api", "api_names", multiple=True, help="API to test (repeatable; default: every API)")
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True)
@click.option("--keep-database", is_flag=True, help="leave the database container running afterwards")
@click.option("-k", "keyword", help="only conformance cases matching this pytest -k expression")
def conformance(api_names, results_dir, keep_database, keyword) -> None:
    """Run the black-box conformance suite against each API in Docker, one at a time."""
    from runner import conformance as job

    extra = ["-k", keyword] if keyword else []
    results = job.run(_apis(api_names), results_dir, keep=keep_database, log=console.print, extra_args=extra)
    table = Table("api", "passed", "failed", "errors", "skipped", "seconds", "verdict", title="conformance")
    for result in results:
        verdict = "[green]conforms[/]" if result.ok else f"[red]FAILS[/] {result.problem[:200]}"
        table.add_row(result.api, str(result.passed), str(result.failed), str(result.errors), str(result.skipped),
                      f"{result.seconds:.1f}", verdict)
    console.print(table)
    passed = sum(r.passed for r in results)
    failed = sum(r.failed + r.errors + (1 if r.problem else 0) for r in results)
    # A plain closing line, in the form test-result readers look for.
    print(f"conformance: {passed} passed, {failed} failed")
    sys.exit(0 if results and all(r.ok for r in results) else 1)


if __name__ == "__main__":
    main()
