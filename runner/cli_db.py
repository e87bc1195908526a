"""`bench db load`: (re)load results documents into the metrics database; and what it holds, for `bench runs`.

The metrics database keeps its data in a volume that outlives `bench down` (only `bench down --purge`
removes it); the documents under results/ are the source of truth, so loading them again is always safe:
the loader replaces a stored run rather than adding a second copy (runner/metricsdb.py).
"""
from __future__ import annotations

import pathlib

import click
import psycopg2

from perflab import results as results_model
from perflab.errors import LabError
from runner import metricsdb
from runner import stack as lab_stack

DSN_VARIABLE = "PERFLAB_METRICS_DSN"  # what `bench env` exports


def _runs(count: int) -> str:
    return f"{count} run" if count == 1 else f"{count} runs"


def stack_dsn(stack: str) -> str:
    """The stack's metrics database DSN, from its outputs."""
    outputs = lab_stack.outputs(stack)
    dsn = (outputs.get("metricsDatabase") or {}).get("dsn")
    if not dsn:
        raise lab_stack.StackError(f"the {stack} stack is not up, and the metrics database is part of it: run "
                                   f"`bench up {stack}` (its volume kept the history), or give --dsn")
    return dsn


def _documents(refs: tuple[str, ...], results_dir: pathlib.Path) -> tuple[list[results_model.RunDocument], list[str]]:
    """The documents named (a run id under results_dir, a run directory or a run.json), or every run under
    results_dir; and a problem line for each one that cannot be read."""
    if refs:
        paths = []
        for ref in refs:
            candidate = pathlib.Path(ref)
            paths.append(candidate if candidate.exists() else results_dir / ref)
    else:
        paths = sorted(path.parent for path in results_dir.glob(f"*/{results_model.RUN_FILE}"))
    documents, problems = [], []
    for path in paths:
        try:
            documents.append(results_model.load(path))
        except results_model.ResultsError as error:
            problems.append(str(error))
    return documents, problems


@click.group("db")
def db() -> None:
    """The metrics database: every run's results, queryable (SQL), kept across `bench down`."""


@db.command("load")
@click.argument("runs", nargs=-1)
@click.option("--results-dir", type=click.Path(path_type=pathlib.Path), default=pathlib.Path("results"),
              show_default=True, help="where runs are stored, one directory per run")
@click.option("--stack", default="local", show_default=True, help="the stack whose metrics database is loaded")
@click.option("--dsn", envvar=DSN_VARIABLE, help=f"the metrics database to load instead of the stack's "
                                                 f"[env: {DSN_VARIABLE}]")
def load(runs: tuple[str, ...], results_dir: pathlib.Path, stack: str, dsn: str | None) -> None:
    """(Re)load RUNS into the metrics database: run ids under --results-dir, run directories or run.json
    files; default: every run under --results-dir. Idempotent: a run already stored is replaced, never doubled."""
    documents, problems = _documents(runs, results_dir)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if not documents:
        if problems:
            raise click.exceptions.Exit(1)
        click.echo(f"no runs under {results_dir}")
        return
    dsn = dsn or stack_dsn(stack)
    try:
        applied = metricsdb.migrate(dsn)
        report = metricsdb.load_all(dsn, documents)
        held = metricsdb.stored_runs(dsn)
    except psycopg2.Error as error:
        raise LabError(f"the metrics database: {str(error).strip()}") from error
    if applied:
        click.echo(f"migrated: {', '.join(applied)}")
    for run_id in report.added:
        click.echo(f"loaded {run_id}")
    for run_id in report.replaced:
        click.echo(f"reloaded {run_id} (the stored copy replaced)")
    click.echo(f"metrics database: {len(report.added)} added, {len(report.replaced)} replaced, {len(problems)} "
               f"unreadable; it holds {_runs(len(held))}")
    if problems:
        raise click.exceptions.Exit(1)


def holdings_line(run_ids: set[str], stack: str = "local") -> tuple[set[str] | None, str]:
    """For `bench runs`: the run ids the stack's metrics database holds (None when it cannot be asked) and one
    line comparing them with the runs under the results directory."""
    try:
        held = metricsdb.stored_runs(stack_dsn(stack))
    except (LabError, psycopg2.Error) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return None, f"metrics database: not checked ({reason})"
    missing = run_ids - held
    elsewhere = held - run_ids
    line = (f"metrics database ({stack} stack): holds {_runs(len(held))}; {len(run_ids & held)} of the {len(run_ids)} "
            f"here")
    if missing:
        line += f" ({len(missing)} not loaded: `bench db load` loads them)"
    if elsewhere:
        line += f"; {len(elsewhere)} not under this results directory"
    return held, line
