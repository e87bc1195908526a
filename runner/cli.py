"""`bench`: the lab's command line. It parses options and calls the `runner` library; nothing more."""
from __future__ import annotations

import pathlib
import sys

import click
from rich.console import Console
from rich.table import Table

from perflab import catalogue, profiles
from perflab.errors import LabError

console = Console(highlight=False)
if not console.is_terminal:
    console.width = 160  # logs and CI: wide enough for the summary tables


def _apis(names: tuple[str, ...]) -> list[catalogue.Service]:
    try:
        return [catalogue.api(name) for name in names] if names else list(catalogue.APIS)
    except KeyError as error:
        raise click.BadParameter(str(error.args[0]), param_hint="--api") from error


class LabGroup(click.Group):
    """Every command's errors the same way: a `LabError` (something the user can act on: configuration,
    Docker, the stack, a build, a run that could not start) is `Error: <message>` on stderr and exit 1;
    Click's usage errors keep exit 2; anything else is a bug and keeps its traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except LabError as error:
            raise click.ClickException(str(error)) from error


@click.group(cls=LabGroup)
def main() -> None:
    """API performance lab: identical event-ingestion APIs, measured fairly."""


def _deployed_apis(names: tuple[str, ...], outputs: dict) -> list[catalogue.Service]:
    """The named APIs, or by default every API the stack deployed (in catalogue order)."""
    if names:
        return _apis(names)
    deployed = outputs.get("apis", {})
    return [service for service in catalogue.APIS if service.name in deployed]


@main.command("apis")
def list_apis() -> None:
    """List the APIs of the catalogue."""
    table = Table("name", "language", "framework", "protocol", "port", "deployment")
    for service in catalogue.APIS:
        table.add_row(service.name, service.language, service.framework, service.protocol, str(service.port),
                      service.deployment)
    console.print(table)


@main.command()
@click.option("--api", "api_names", multiple=True,
              help="API to test (repeatable; default: every API the stack deployed)")
@click.option("--stack", default="local", show_default=True, help="the stack whose APIs are tested")
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True)
@click.option("-k", "keyword", help="only conformance cases matching this pytest -k expression")
def conformance(api_names, stack, results_dir, keyword) -> None:
    """Run the black-box conformance suite against each deployed API, one at a time."""
    from runner import conformance as job
    from runner import stack as stack_module

    extra = ["-k", keyword] if keyword else []
    try:
        outputs = stack_module.outputs(stack)
        results = job.run(_deployed_apis(api_names, outputs), outputs, results_dir, stack=stack,
                          log=console.print, extra_args=extra)
    except job.ConformanceError as error:
        raise click.ClickException(str(error)) from error
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


@main.command()
@click.option("--api", "api_names", multiple=True,
              help="API to fuzz (repeatable; default: every API the stack deployed)")
@click.option("--requests", "requests_wanted", type=click.IntRange(1, 1_000_000), default=1000, show_default=True,
              help="generated requests per API")
@click.option("--seed", type=click.IntRange(0), default=None,
              help="Hypothesis seed: the same seed sends the same inputs [default: random, printed]")
@click.option("--token", default=None,
              help="bearer token sent with every request [default: under an auth profile, one of the stack's key]")
@click.option("--stack", default="local", show_default=True, help="the stack whose APIs are fuzzed")
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True, help="where the JSON summary (fuzz-<time>.json) is written")
def fuzz(api_names, requests_wanted, seed, token, stack, results_dir) -> None:
    """Send generated and hostile requests to each deployed API, one at a time: no server error, every answer
    as the contract says, nothing written for a rejected request, still healthy afterwards."""
    from runner import fuzz as job
    from runner import stack as stack_module

    outputs = stack_module.outputs(stack)
    report = job.run(_deployed_apis(api_names, outputs), outputs, results_dir, requests_wanted=requests_wanted,
                     seed=seed, token=token, stack=stack, log=console.print)
    table = Table("api", "requests", "responses", "server errors", "schema violations", "writes by rejected",
                  "healthy after", "seconds", "verdict", title=f"fuzz (seed {report.seed})")
    for result in report.results:
        statuses = ", ".join(f"{status} {count}" for status, count in result.status_classes().items())
        if result.library_parse_errors:
            statuses += f" ({result.library_parse_errors} of them the gRPC library refusing undecodable bytes)"
        verdict = "[green]passes[/]" if result.ok else f"[red]FAILS[/] {result.problem[:200]}"
        table.add_row(result.api, str(result.requests), statuses, str(result.server_errors), str(result.violations),
                      str(result.rejected_writes), {True: "yes", False: "NO", None: "—"}[result.healthy_after],
                      f"{result.seconds:.1f}", verdict)
    console.print(table)
    for result in report.results:
        for finding in result.findings[:3] if not result.ok else []:
            console.print(f"{result.api} {finding.kind}: {finding.detail}\n  request: {finding.request[:600]}\n"
                          f"  response: {finding.response[:300]}", markup=False, style="red")
    console.print(f"summary: {report.summary_path}")
    passed = sum(result.ok for result in report.results)
    print(f"fuzz: {passed} passed, {len(report.results) - passed} failed")
    sys.exit(0 if report.ok else 1)


def _payload_sizes(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> list[str]:
    """Checked against the generator's own list (its one home), not a copy of it."""
    if not values:
        return []
    from runner import shapes

    known = shapes.describe().payload_order
    for value in values:
        if value not in known:
            raise click.BadParameter(f"{value!r} is not one of the load generator's sizes: {', '.join(known)}")
    return list(values)


def _profiles(values: tuple[str, ...]) -> list[str]:
    """--profile values (repeatable, or comma-separated), each known, in order, once."""
    chosen: list[str] = []
    for value in values:
        for name in (part.strip() for part in value.split(",")):
            if name not in profiles.PROFILES:
                raise click.BadParameter(f"unknown profile {name!r}: the profiles are {', '.join(profiles.PROFILES)}")
            if name not in chosen:
                chosen.append(name)
    return chosen


def _progress_line(progress: dict) -> str:
    return (f"phase {progress.get('phase', '?'):>10} · VUs {progress.get('vus', '-'):>5} · "
            f"{progress.get('rps', 0):8.1f} req/s · errors {progress.get('errors', 0):>5} · "
            f"p95 {progress.get('p95Ms', progress.get('p95', 0)) or 0:8.2f} ms · "
            f"{progress.get('elapsedSeconds', 0):6.1f} s elapsed, {progress.get('remainingSeconds', 0):6.1f} s left")


@main.command("run")
@click.argument("mode", type=click.Choice(["smoke", "full", "saturation"]))
@click.option("--api", "api_names", multiple=True,
              help="API to measure (repeatable; default: every API the stack deployed)")
@click.option("--payload-size", "payload_sizes", multiple=True, callback=_payload_sizes,
              help="one of the load generator's sizes (see `build/loadgen/loadgen describe`); "
                   "repeatable; default: default")
@click.option("--stack", type=click.Choice(["local", "aws"]), default=None,
              help="local (Docker) or aws (ECS/Lambda: generators as Fargate tasks in the VPC, CloudWatch metrics, cost "
                   "per million events; needs the Pulumi CLI and AWS credentials); default: whichever stack is up")
@click.option("--repeat", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--phase-scale", type=click.FloatRange(0.001, 10), default=1.0, show_default=True,
              help="multiply every phase's duration (CI runs the full shapes in seconds)")
@click.option("--think-time", "think_time_ms", type=click.IntRange(0), default=0, show_default=True,
              help="milliseconds between a VU's requests")
@click.option("--rate", type=click.FloatRange(0.1), default=None,
              help="open model: constant arrival rate (requests/s) per phase instead of VUs")
@click.option("--entity-pool", type=click.IntRange(1), default=10000, show_default=True,
              help="distinct entity ids per type, so updates (merges) happen")
@click.option("--warmup", "warmup_seconds", type=click.FloatRange(0), default=None,
              help="seconds of warm-up before the first phase, excluded from results [default: 0 for smoke, 5]")
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True)
@click.option("--ephemeral", is_flag=True, help="bring the stack up first and down afterwards, even on failure")
@click.option("--generators", type=click.IntRange(1, 64), default=1, show_default=True,
              help="load generator instances per measurement, each running an exact share of every phase "
                   "(VUs or arrivals) from one agreed start, their summaries merged (percentiles from the merged "
                   "histograms). Local stack: N containers that together get one generator's CPU and memory "
                   "(each CPUs/N, memory/N); not for smoke, which ends by count. --stack aws: Fargate tasks in "
                   "the VPC")
@click.option("--profile", "profile_names", multiple=True, callback=lambda ctx, param, values: _profiles(values),
              help="auth/secrets profile(s) to measure every API under: no-auth, auth, auth+secrets (repeatable or "
                   "comma-separated; the stack is brought up again under each) [default: the stack's current one]")
@click.option("--reference/--no-reference", default=None,
              help="first measure the database's own limit per payload size and phase: pgbench running the contract's "
                   "statements (runner/reference.py) [default: on for full and saturation, off for smoke]")
def run_command(mode, api_names, payload_sizes, stack, repeat, phase_scale, think_time_ms, rate, entity_pool,
                warmup_seconds, results_dir, ephemeral, generators, profile_names, reference) -> None:
    """Measure every API (one at a time) under the MODE's load phases, verified."""
    from rich.live import Live

    from perflab import settings as stack_config
    from runner import run as run_module
    from runner import stack as stack_module

    stack = stack or stack_module.active_stack() or "local"
    if stack == "aws" and len(profile_names) > 1:
        raise click.BadParameter("the AWS stack runs one profile per up: `bench up aws --profile P`, then "
                                 "`bench run --stack aws --profile P` for each", param_hint="--profile")
    if stack == "aws":
        # Generators on ECS inside the VPC, CloudWatch metrics, cost per million events: runner/aws_run.py.
        # It checks the Pulumi CLI and the credentials first and stops at once saying which is missing.
        from runner import aws_run

        try:
            document = aws_run.run_from_cli(
                mode=mode, api_names=api_names, payload_sizes=list(payload_sizes), repeat=repeat,
                phase_scale=phase_scale, think_time_ms=think_time_ms, rate=rate, entity_pool=entity_pool,
                warmup=warmup_seconds, results_dir=results_dir, generators=generators, ephemeral=ephemeral,
                command="bench " + " ".join(sys.argv[1:]), log=console.print,
                profile=profile_names[0] if profile_names else None)
        except run_module.RunError as error:
            raise click.ClickException(str(error)) from error
        _print_run_summary(document, results_dir)
        sys.exit(0 if document["results"] and all(r["status"] == "passed" for r in document["results"]) else 1)
    if generators > 1:  # before any stack is brought up
        from runner import generators as generators_module
        from runner import shapes

        try:
            generators_module.check_mode(generators, shapes.describe(phase_scale, warmup_seconds).mode(mode)
                                         .requests_by_count, mode)
        except generators_module.GeneratorError as error:
            raise click.BadParameter(str(error), param_hint="--generators") from error
    try:
        if ephemeral:
            stack_module.up(stack, log=console.print, profile=profile_names[0] if profile_names else None)
        outputs = stack_module.outputs(stack)
        if not outputs:
            raise click.ClickException(f"the {stack} stack is not up: run `bench up {stack}` (or use --ephemeral)")
        options = run_module.RunOptions(
            mode=mode, apis=_deployed_apis(api_names, outputs), payload_sizes=list(payload_sizes) or ["default"],
            repeat=repeat, phase_scale=phase_scale, think_time_ms=think_time_ms, rate=rate, entity_pool=entity_pool,
            warmup_seconds=warmup_seconds, results_dir=results_dir, stack=stack, generators=generators,
            reference=mode != "smoke" if reference is None else reference,
            profiles=profile_names or [outputs.get("profile") or profiles.DEFAULT],
            command="bench " + " ".join(sys.argv[1:]))
        deployed = list(outputs.get("apis", {}))  # a profile switch keeps the stack's API set as it is

        def bring_up(profile: str) -> dict:
            return stack_module.up(stack, log=console.print, apis=deployed, profile=profile)

        with Live(console=console, transient=True, refresh_per_second=4) as live:
            runner = run_module.Runner(options, outputs, stack_config.load(stack),
                                       on_progress=lambda p: live.update(_progress_line(p)), log=console.print,
                                       bring_up=bring_up)
            document = runner.run()
    except (run_module.RunError, stack_module.StackError) as error:
        raise click.ClickException(str(error)) from error
    finally:
        if ephemeral:
            stack_module.down(stack, log=console.print)
    _print_run_summary(document, options.results_dir)
    ok = document["results"] and all(r["status"] == "passed" for r in document["results"])
    sys.exit(0 if ok else 1)


def _print_run_summary(document: dict, results_dir: pathlib.Path) -> None:
    table = Table("api", "payload", "phase", "req/s", "of DB limit", "p50 ms", "p95 ms", "p99 ms", "errors",
                  "API CPU-s/1k req", "verified", "status", title=f"run {document['runId']} ({document['mode']})")
    for result in document["results"]:
        verified = (result.get("verification") or {}).get("passed")
        for phase in result["phases"] or [{}]:
            latency = phase.get("latencyMs") or {}
            efficiency = phase.get("efficiency") or {}

            def number(value, digits=2):
                return "—" if value is None else f"{value:.{digits}f}"
            table.add_row(result["api"], result["payloadSize"], phase.get("name", "—"),
                          number(phase.get("throughput"), 1), number(phase.get("referenceFraction")),
                          number(latency.get("p50")), number(latency.get("p95")),
                          number(latency.get("p99")), str(phase.get("failures", "—")),
                          number(efficiency.get("cpuSecondsPer1kRequests"), 3),
                          "yes" if verified else "NO", result["status"] + (f": {result['problem']}" if result["problem"] else ""))
    console.print(table)
    if document.get("references"):  # runner/reference.py: what "of DB limit" divides by
        console.print("database reference (pgbench, the contract's transaction, no API): " + "; ".join(
            f"{r['payloadSize']} {r['name']} {r['tps']:,.0f}/s ({r['clients']} clients)" for r in document["references"]))
    timed = [r for r in document["results"] if r.get("overheadSeconds") is not None]
    if timed:
        lab = [r["overheadSeconds"] - (r.get("startupSeconds") or 0) for r in timed]
        console.print("per API, everything but the generator's iterations: "
                      + ", ".join(f"{r['api']} {r['overheadSeconds']:.2f} s (start-up {r.get('startupSeconds') or 0:.2f} s)"
                                  for r in timed))
        console.print(f"lab overhead without the APIs' own start-up: max {max(lab):.2f} s, "
                      f"mean {sum(lab) / len(lab):.2f} s per API")
    console.print(f"results: {results_dir / document['runId'] / 'run.json'}")


def _register_commands() -> None:
    from reports.cli import compare, list_runs, report
    from runner.cli_chaos import chaos
    from runner.cli_db import db
    from runner.cli_stack import COMMANDS

    for command in (*COMMANDS, db, chaos, report, compare, list_runs):
        main.add_command(command)


_register_commands()

if __name__ == "__main__":
    main()
