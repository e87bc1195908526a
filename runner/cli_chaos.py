"""`bench chaos SCENARIO…`: the thin Click command over runner.chaos (it parses, calls and prints)."""
from __future__ import annotations

import pathlib
import sys

import click

from runner.chaos import SCENARIOS


def _number(value: float | None, digits: int = 2, unit: str = "") -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _fault_cell(fault: dict) -> str:
    if not fault:
        return "none"
    if fault.get("error"):
        return f"[red]{fault['error'][:80]}[/]"
    return f"{fault['seconds']:.1f} s" if fault.get("seconds") is not None else "not undone"


def _print_summary(document: dict, results_dir: pathlib.Path) -> None:
    from rich.table import Table

    from runner.cli import console

    table = Table("scenario", "api", "fault", "errors", "error window", "slowest error", "recovery", "verified",
                  "verdict", title=f"chaos run {document['runId']}")
    for result in document["results"]:
        chaos = result.get("chaos") or {}
        fault = chaos.get("fault") or {}
        window = chaos.get("errorWindow") or {}
        failed = [f"{c['name']}: {c['detail']}" for c in chaos.get("checks", []) if not c["passed"]]
        codes = ", ".join(f"{code} x{count}" for code, count in (window.get("byCode") or {}).items())
        table.add_row(chaos.get("scenario", "—"), result["api"],
                      _fault_cell(fault),
                      codes or "0", _number(window.get("seconds"), 2, " s") if window else "—",
                      _number(window.get("latencyMsMax"), 0, " ms") if window else "—",
                      _number(chaos.get("recoverySeconds"), 3, " s"),
                      "yes" if (result.get("verification") or {}).get("passed") else "NO",
                      "[green]ok[/]" if chaos.get("passed") else f"[red]FAILED[/] {'; '.join(failed)[:300]}")
    console.print(table)
    for scenario in document.get("chaos", []):
        interrupt = scenario.get("interrupt")
        if interrupt:
            console.print(f"interrupt · {scenario['apis'][0]}: SIGINT at {interrupt['signalAt']}, exit code "
                          f"{interrupt['exitCode']} after {interrupt['teardownSeconds']} s, left running: "
                          f"{', '.join(interrupt['leftRunning']) or 'nothing'}; partial result kept: "
                          f"{interrupt['partialRequests']} requests in {interrupt['partialPhases']} phases "
                          f"({interrupt['resultsFile']})")
        history = scenario.get("metricsDatabase")
        if history:
            console.print(f"api-kill · metrics database: {history['runsBefore']} runs before, {history['runsAfter']} "
                          f"after (added {', '.join(history['addedRuns'])}; changed {history['changedRuns'] or 'none'}; "
                          f"missing {history['missingRuns'] or 'none'})")
        failed = [f"{c['name']}: {c['detail']}" for c in scenario["checks"] if not c["passed"]]
        verdict = "[green]passed[/]" if scenario["passed"] else f"[red]FAILED[/] {'; '.join(failed)[:600]}"
        console.print(f"scenario {scenario['name']}: {verdict}")
    console.print(f"results: {results_dir / document['runId'] / 'run.json'}")


@click.command("chaos")
@click.argument("scenarios", nargs=-1, required=True, type=click.Choice(SCENARIOS))
@click.option("--api", "api_names", multiple=True,
              help="API to run the scenarios against (repeatable; default: every API the stack deployed). "
                   "api-kill kills the first and measures the second as usual; interrupt uses the first")
@click.option("--vus", type=click.IntRange(1, 2000), default=10, show_default=True, help="VUs of the one hold")
@click.option("--hold", "hold_seconds", type=click.FloatRange(2, 3600), default=None,
              help="seconds of the hold [default: per scenario, the fault and 10 s to recover in]")
@click.option("--fault-after", "fault_after_seconds", type=click.FloatRange(0.5, 600), default=3.0, show_default=True,
              help="seconds into the hold when the fault is injected")
@click.option("--outage", "outage_seconds", type=click.FloatRange(0, 600), default=2.0, show_default=True,
              help="db-restart: seconds the database stays stopped")
@click.option("--exhaustion", "exhaustion_seconds", type=click.FloatRange(0.5, 600), default=7.0, show_default=True,
              help="db-connections: seconds every connection slot is held (longer than DB_ACQUIRE_TIMEOUT)")
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True)
def chaos(scenarios, api_names, vus, hold_seconds, fault_after_seconds, outage_seconds, exhaustion_seconds,
          results_dir) -> None:
    """Inject faults into the local stack under load and report what the APIs did (SCENARIO: db-restart,
    api-kill, db-connections, interrupt; several run in order, into one results document)."""
    from rich.live import Live

    from perflab import settings as stack_config
    from runner import chaos as chaos_module
    from runner import stack as stack_module
    from runner.cli import _deployed_apis, _progress_line, console

    outputs = stack_module.outputs("local")
    if not outputs:
        raise click.ClickException("the local stack is not up: run `bench up local`")
    options = chaos_module.ChaosOptions(
        scenarios=list(scenarios), apis=_deployed_apis(api_names, outputs), vus=vus, hold_seconds=hold_seconds,
        fault_after_seconds=fault_after_seconds, outage_seconds=outage_seconds, exhaustion_seconds=exhaustion_seconds,
        results_dir=results_dir, command="bench " + " ".join(sys.argv[1:]))
    with Live(console=console, transient=True, refresh_per_second=4) as live:
        runner = chaos_module.ChaosRunner(options, outputs, stack_config.load("local"),
                                          on_progress=lambda p: live.update(_progress_line(p)), log=console.print)
        document = runner.run()
    _print_summary(document, results_dir)
    sys.exit(0 if document["chaos"] and all(s["passed"] for s in document["chaos"]) else 1)
