"""Click commands `report`, `compare` and `runs`; `runner/cli.py` adds them to `bench`.

They parse options, call the `reports` library and write files; all work happens in the library.
"""
from __future__ import annotations

import pathlib
import sys

import click

from reports import browser, model, ranking, render
from reports import compare as comparing

RESULTS_DIR = click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
                           show_default=True, help="where runs are stored, one directory per run")


def _load(refs: tuple[str, ...], results_dir: pathlib.Path) -> list[model.Run]:
    try:
        return [model.resolve(ref, results_dir) for ref in refs or ("latest",)]
    except model.ResultsError as error:
        raise click.ClickException(str(error)) from error


@click.command()
@click.argument("runs", nargs=-1)
@RESULTS_DIR
@click.option("-o", "--output", type=click.Path(path_type=pathlib.Path),
              help="directory for the report files [default: the run's directory, or results/report-A..B]")
@click.option("--screenshot/--no-screenshot", default=True, show_default=True,
              help="open the HTML in headless Chromium, check it and keep a screenshot")
def report(runs, results_dir, output, screenshot) -> None:
    """Write the HTML and Markdown report and the ranking tables (CSV, JSON) of one or more RUNS.

    A RUN is a run id under --results-dir, a run directory or a run.json; default: the latest run."""
    loaded = _load(runs, results_dir)
    if output is None:
        output = loaded[0].directory if len(loaded) == 1 else results_dir / f"report-{loaded[0].id}..{loaded[-1].id}"
    output.mkdir(parents=True, exist_ok=True)
    data = render.build(loaded)
    files = {"report.html": render.html(data), "report.md": render.markdown(data),
             "ranking.csv": ranking.to_csv(data["rankings"]), "ranking.json": ranking.to_json(data["rankings"])}
    for name, text in files.items():
        (output / name).write_text(text)
        click.echo(f"wrote {output / name}")
    if not screenshot:
        return
    try:
        check = browser.check_page(output / "report.html", output / "report.png")
    except browser.BrowserError as error:
        click.echo(f"warning: no screenshot: {error}", err=True)
        return
    click.echo(f"wrote {output / 'report.png'} ({check.charts} charts drawn)")
    if not check.ok:
        for problem in check.problems or ["no chart drawn"]:
            click.echo(f"error: report page: {problem}", err=True)
        sys.exit(1)


@click.command()
@click.argument("run_a")
@click.argument("run_b")
@RESULTS_DIR
@click.option("--threshold", type=float, metavar="PERCENT",
              help="exit 1 if a significant regression is larger than PERCENT (a regression gate)")
@click.option("--alpha", type=click.FloatRange(0.001, 0.2), default=0.05, show_default=True,
              help="significance level of the tests")
@click.option("-o", "--output", type=click.Path(path_type=pathlib.Path),
              help="also write compare.md and compare.html into this directory")
def compare(run_a, run_b, results_dir, threshold, alpha, output) -> None:
    """Compare run B against run A, per API and phase, with a significance test; Markdown on stdout."""
    first, second = _load((run_a, run_b), results_dir)
    changes = comparing.compare(first, second, alpha=alpha)
    if not changes:
        raise click.ClickException(f"{first.id} and {second.id} share no API, payload size and phase")
    data = render.compare_data(first, second, changes, threshold)
    text = render.compare_markdown(data)
    click.echo(text, nl=False)
    if output is not None:
        output.mkdir(parents=True, exist_ok=True)
        (output / "compare.md").write_text(text)
        (output / "compare.html").write_text(render.compare_html(data))
        click.echo(f"wrote {output / 'compare.md'} and {output / 'compare.html'}", err=True)
    if threshold is not None and data["regressions"]:
        sys.exit(1)


@click.command("runs")
@RESULTS_DIR
@click.option("--stack", default="local", show_default=True,
              help="the stack whose metrics database is compared with the results directory")
def list_runs(results_dir, stack) -> None:
    """List the stored runs with their key figures, and which of them the metrics database holds."""
    from runner.cli_db import holdings_line  # the bench command line: the one place reports meet the stack

    try:
        stored = model.discover(results_dir)
    except model.ResultsError as error:
        raise click.ClickException(str(error)) from error
    held, database_line = holdings_line({run.id for run in stored}, stack)
    if not stored:
        click.echo(f"no runs under {results_dir}")
        click.echo(database_line)
        return
    header = ("run", "started", "mode", "stack", "commit", "verified", "in DB", "best (default size)")
    rows = []
    for run in stored:
        results = run.results
        verified = sum(ranking.is_verified(r) for r in results)
        tables = ranking.rankings([run])
        size = "default" if "default" in tables else next(iter(tables), None)
        best = tables[size][0] if size and tables[size] and tables[size][0]["rank"] else None
        commit = run.doc["environment"].get("gitCommit") or "?"
        if ranking.is_functional(run):
            figure = "functional check, not ranked"
        elif best:
            p99 = "–" if best["p99Ms"] is None else f"{best['p99Ms']:.1f} ms"
            figure = f"{best['api']} {best['throughput']:,.0f} req/s p99 {p99}"
        else:
            figure = "–"
        rows.append((run.id, run.doc["startedAt"][:19] + "Z", run.doc["mode"], run.doc["stack"],
                     commit[:10] + ("+" if run.doc["environment"].get("gitDirty") else ""),
                     f"{verified}/{len(results)}", "?" if held is None else "yes" if run.id in held else "no",
                     figure))
    widths = [max(len(str(r[i])) for r in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        click.echo("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    click.echo(database_line)
