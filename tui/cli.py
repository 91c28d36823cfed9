"""The command line: thin Typer commands over keyword-only functions of `dltui`.

Heavy modules are imported inside the command that needs them, so that
`dltui --help` stays instant. A `UserError` becomes its message and exit code 2.
"""

from __future__ import annotations

import errno
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from dltui.tui.bridge_commands import register as _register_bridges
from dltui.tui.options import (
    DEFAULT_MANIFEST,
    DetachOpt,
    FormatOpt,
    ManifestOpt,
    RunsOpt,
    say_left_out,
)
from dltui.tui.options import load as _manifest
from dltui.tui.options import open_store as _store
from dltui.tui.program import end_now
from dltui.tui.report_command import register as _register_report
from dltui.tui.run_commands import register as _register_run_commands
from dltui.tui.search_commands import register as _register_search

if TYPE_CHECKING:
    from dltui.store.runs import RunInfo


_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES)


class _UserErrorsAsMessages(typer.core.TyperGroup):
    """Bad input ends in its message and exit code 2, never a traceback."""

    def invoke(self, ctx: Any) -> Any:
        from dltui.errors import UserError, disk_error

        try:
            return super().invoke(ctx)
        except UserError as err:
            typer.echo(f"error: {err.message}", err=True)
            raise typer.Exit(2) from None
        except OSError as err:  # a full disk, a read-only folder: one line, not a traceback
            if err.filename is None and err.errno not in _DISK_ERRNOS:
                raise
            typer.echo(f"error: {disk_error(err).message}", err=True)
            raise typer.Exit(2) from None


app = typer.Typer(
    name="dltui",
    cls=_UserErrorsAsMessages,
    help="Declare, launch, watch and compare deep-learning experiments.\n\n"
    "With no command, opens the dashboard on ./experiments.toml.",
    invoke_without_command=True,
    no_args_is_help=False,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

def _echo_json(data: Any) -> None:
    import json

    typer.echo(json.dumps(data, indent=1, default=str))


@app.callback()
def main_callback(
    ctx: typer.Context,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    loaded, store = _store(manifest, runs)
    if loaded is None:
        from dltui.errors import UserError

        raise UserError(f"no manifest at {manifest}",
                        fix="run dltui in the folder holding experiments.toml, or pass "
                        "--manifest PATH")
    from dltui.store.prefetch import prefetch_runs

    prefetch_runs(store.root)  # on another core, while the dashboard's code loads
    from dltui.tui.app import run_dashboard

    run_dashboard(manifest=loaded, runs_dir=store.root)


@app.command("list")
def list_command(manifest: ManifestOpt = DEFAULT_MANIFEST, runs: RunsOpt = None,
                 fmt: FormatOpt = "table") -> None:
    """List the experiments of the manifest and their latest runs."""
    from dltui.views.listing import experiment_rows
    from dltui.views.text import experiments_text

    loaded, store = _store(manifest, runs)
    if loaded is None:
        loaded = _manifest(manifest)
    rows = experiment_rows(manifest=loaded, store=store)
    if fmt == "json":
        _echo_json(rows)
    else:
        typer.echo(experiments_text(rows), nl=False)


@app.command("validate")
def validate_command(manifest: ManifestOpt = DEFAULT_MANIFEST) -> None:
    """Check the manifest without running anything."""
    from dltui.queue.launch import check_params

    loaded = _manifest(manifest)
    for exp in loaded.experiments.values():
        check_params(exp)
    count = sum(e.search.trials if e.search else e.run_count()
                for e in loaded.experiments.values())
    typer.echo(f"{loaded.path}: ok, {len(loaded.experiments)} experiments, {count} runs")


@app.command("run")
def run_command(
    names: Annotated[list[str], typer.Argument(help="Experiments to run.")],
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="Override a param: k=v; k=v1,v2 sweeps.")] = None,
    detach: DetachOpt = False,
    backend: Annotated[str | None, typer.Option(
        help="Where runs execute: local, torchrun or slurm (default: the manifest's).")] = None,
    notify: Annotated[list[str] | None, typer.Option(
        "--notify", metavar="URL", help="Also send word to this apprise URL when each run and "
        "the sweep end (beside [settings] notify).")] = None,
    seeds: Annotated[int | None, typer.Option(
        help="Run each configuration N times, with seed = 0..N-1.")] = None,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Run experiments: queued one per GPU (or on the CPU), followed until they end.
    A search experiment's trials are asked, queued and followed the same way."""
    from dltui.backends import get_backend
    from dltui.manifest import parse_overrides
    from dltui.notify.targets import check_urls
    from dltui.queue.launch import launch
    from dltui.tui.search_commands import follow_searches
    from dltui.views.follow import follow_runs
    from dltui.views.text import launch_plan

    loaded = _manifest(manifest)
    _, store = _store(manifest, runs)
    if backend is not None:
        get_backend(backend)  # an unknown name ends here, naming the known ones
    urls = check_urls(notify or [])
    queued = launch(manifest=loaded, names=names, overrides=parse_overrides(set_ or []),
                    runs_dir=store.root, backend=backend, notify=urls, seeds=seeds)
    for line in launch_plan(queued):
        typer.echo(line)
    if detach:
        if queued:
            typer.echo(f"{len(queued)} run{'' if len(queued) == 1 else 's'} queued; follow "
                       "with `dltui ps` or `dltui logs RUN -f`")
        follow_searches(manifest=loaded, names=names, store=store, detach=True)
        return
    failed = follow_runs(queued, store=store, out=sys.stdout, stop_grace=loaded.settings
                         .stop_grace) if queued else 0
    failed += follow_searches(manifest=loaded, names=names, store=store, detach=False)
    raise typer.Exit(1 if failed else 0)


@app.command("ps")
def ps_command(
    all_: Annotated[bool, typer.Option("--all", "-a", help="Every run, finished too.")] = False,
    tag: Annotated[str | None, typer.Option(help="Only runs with this tag.")] = None,
    note: Annotated[str | None, typer.Option(help="Only runs whose note has this text.")]
    = None,
    fmt: FormatOpt = "table",
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Show queued and running runs (with --all, every run, with its disk use)."""
    from dltui.store.active import active_paths
    from dltui.store.annotations import matches
    from dltui.store.bulk import collector_paused
    from dltui.tui.run_commands import with_disk_use
    from dltui.views.listing import run_row
    from dltui.views.text import runs_text

    _, store = _store(manifest, runs)
    supervisor = None
    if active_paths(store.root):  # queued runs that lost their supervisor get one
        from dltui.queue.scheduler import ensure_supervisor

        supervisor = ensure_supervisor(store.root)
    infos = store.runs() if all_ else store.active()
    if tag is not None or note is not None:
        infos = [info for info in infos if matches(info, tag=tag, note=note)]
    with collector_paused():  # thousands of rows, no cycles among them
        rows = [run_row(info, with_progress=not all_ or not info.is_final) for info in infos]
        disk = with_disk_use(rows, infos, store) if all_ else ""
        if fmt == "json":
            _echo_json(rows)
        else:
            typer.echo(runs_text(rows) + (disk if rows else ""), nl=False)
            queued = 0 if all_ else sum(r["state"] == "queued" for r in rows)
            if queued:
                from dltui.queue.scheduler import supervisor_pid

                pid = supervisor or supervisor_pid(store.root)
                typer.echo(f"{queued} queued; supervisor pid {pid}")
        end_now()


@app.command("logs")
def logs_command(
    run: Annotated[str, typer.Argument(help="Run id, unique prefix, or experiment name.")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing.")] = False,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Print a run's output (stdout and stderr). An experiment name means its latest run."""
    from dltui.views.logs import stream_log, waiting_note

    _, store = _store(manifest, runs)
    info = store.resolve(run)
    note = waiting_note(info)
    if note and not info.dir.log_file.exists():
        typer.echo(note + ("; following it" if follow else ""), err=True)
    for chunk in stream_log(info, follow=follow):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@app.command("stop")
def stop_command(
    run_refs: Annotated[list[str] | None, typer.Argument(help="Runs to stop.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Stop every queued and running run.")]
    = False,
    grace: Annotated[float, typer.Option(help="Seconds between SIGTERM and SIGKILL.")] = 10.0,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Stop runs: SIGTERM to the process group, SIGKILL after the grace period. An
    experiment name means every queued and running run of it."""
    from dltui.errors import UserError
    from dltui.queue.control import stop_runs

    _, store = _store(manifest, runs)
    if all_:
        targets = store.active()
    elif run_refs:
        targets = []
        for ref in run_refs:
            if store.is_experiment(ref):
                active = [i for i in store.active() if i.experiment == ref]
                typer.echo(f"{ref}: stopping {len(active)} active run"
                           f"{'' if len(active) == 1 else 's'}")
                targets += active
            else:
                targets.append(store.resolve(ref))
    else:
        raise UserError("nothing to stop", fix="name runs (dltui stop RUN) or pass --all")
    for info in stop_runs(targets, grace=grace):
        typer.echo(f"{info.ref}: {info.state}")


@app.command("requeue")
def requeue_command(
    runs_given: Annotated[list[str], typer.Argument(
        metavar="RUN...", help="Runs that failed, were stopped or lost, timed out or were "
        "preempted.")],
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Queue ended runs again in their own directories: the built-in tasks resume from
    their last checkpoint (a Slurm run becomes a new job in the same directory)."""
    from dltui.queue.requeue import requeue

    _, store = _store(manifest, runs)
    chosen = [store.resolve(given) for given in runs_given]  # every name checked first
    for info in chosen:
        typer.echo(requeue(run=info.dir))


@app.command("compare")
def compare_command(
    selection: Annotated[list[str] | None, typer.Argument(
        help="Experiments, groups, tag:NAME or runs (default: all).")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f",
                                     help="table, md, csv, latex or json.")] = "table",
    all_runs: Annotated[bool, typer.Option(
        "--all-runs", help="Every run, not only the latest per params.")] = False,
    show_same: Annotated[bool, typer.Option(
        "--show-same", help="Also params that are the same in every run.")] = False,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Compare runs: params that differ, last and best metrics, duration, status."""
    from dltui.store.bulk import collector_paused
    from dltui.views.compare import compare
    from dltui.views.formats import render
    from dltui.views.selection import labels_for, select_counted

    loaded, store = _store(manifest, runs)
    damaged: list[RunInfo] = []
    with collector_paused():  # thousands of rows, no cycles among them
        chosen, considered = select_counted(store, selection or [], manifest=loaded,
                                            all_runs=all_runs, left_out=damaged)
        say_left_out(damaged, shown=len(chosen), considered=considered)
        table = compare(chosen, labels=labels_for(loaded, chosen), show_same=show_same,
                        manifest=loaded)
        typer.echo(render(table, fmt), nl=False)
        end_now()


@app.command("params")
def params_command(
    spec: Annotated[str | None, typer.Argument(
        help="A spec, e.g. '28x28x3 | conv 8 5x5 | maxpool 4 stride 2 | flatten | linear 10'."
    )] = None,
    experiment: Annotated[str | None, typer.Option(
        "--experiment", "-e", help="The model of a built-in experiment of the manifest.")] = None,
    model: Annotated[str | None, typer.Option(
        help="A [models.NAME] table of the manifest (or of --models).")] = None,
    models: Annotated[Path | None, typer.Option(
        help="A TOML file of [models.NAME] tables (default: the manifest).")] = None,
    set_: Annotated[list[str] | None, typer.Option(
        "--set", "-s", help="Override a param of --experiment: k=v.")] = None,
    fmt: Annotated[str, typer.Option("--format", "-f", help="table, json or md.")] = "table",
    manifest: ManifestOpt = DEFAULT_MANIFEST,
) -> None:
    """Count parameters layer by layer, with the formula behind every number."""
    import json

    from dltui.params import format_report
    from dltui.params.models import architectures

    found = list(architectures(spec=spec, experiment=experiment, model=model,
                               models_file=models, manifest_path=manifest,
                               overrides=set_ or []))
    if fmt == "json" and experiment:  # a sweep may give several models: one JSON list
        _echo_json([{"model": title, **json.loads(format_report(report, fmt="json"))}
                    for title, report in found])
        return
    for title, report in found:
        if title and fmt != "json":
            typer.echo(f"== {title}")
        typer.echo(format_report(report, fmt=fmt).rstrip("\n"))


@app.command("tb")
def tb_command(
    run_refs: Annotated[list[str] | None, typer.Argument(
        help="Runs or experiments (default: all).")] = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 6006,
    manifest: ManifestOpt = DEFAULT_MANIFEST,
    runs: RunsOpt = None,
) -> None:
    """Open TensorBoard on the selected runs, bound to 127.0.0.1."""
    from dltui.bridges.tensorboard import free_port, tensorboard_argv
    from dltui.views.selection import select_runs

    loaded, store = _store(manifest, runs)
    chosen = select_runs(store, run_refs or [], manifest=loaded, all_runs=True)
    serving = free_port(port)
    if serving != port:
        typer.echo(f"port {port} is taken (another TensorBoard?); serving on {serving}",
                   err=True)
    argv = tensorboard_argv(chosen, port=serving)
    typer.echo(f"TensorBoard on http://127.0.0.1:{serving}/ ({len(chosen)} "
               f"run{'' if len(chosen) == 1 else 's'}); Ctrl-C stops it", err=True)
    sys.stdout.flush()
    os.execv(argv[0], argv)


_register_report(app)
_register_bridges(app)
_register_run_commands(app)
_register_search(app)


def main() -> None:
    from dltui.queue.detached import allow_fork

    allow_fork()  # this process is dltui's own: a supervisor it starts is forked from it
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
