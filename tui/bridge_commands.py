"""`dltui export` and `dltui import`: thin commands over `dltui.bridges`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from dltui.tui.options import DEFAULT_MANIFEST, AllRunsOpt, ManifestOpt, RunsOpt
from dltui.views.numbers import plural


def register(app: typer.Typer) -> None:
    """Add the `export` and `import` commands to the CLI's Typer app."""

    @app.command("export")
    def export_command(
        selection: Annotated[list[str], typer.Argument(
            metavar="RUN...", help="Runs, experiments, groups or tag:NAME.")],
        to: Annotated[str, typer.Option(
            "--to", help="mlflow, wandb (offline, for `wandb sync`) or tensorboard.")],
        dest: Annotated[str | None, typer.Option(
            help="mlflow: a .db file (default ./mlflow.db), a folder or a tracking URI; "
            "wandb: the folder for wandb/ (default .); tensorboard: a log folder "
            "(default ./tensorboard).")] = None,
        all_runs: AllRunsOpt = False,
        manifest: ManifestOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Export runs to MLflow, W&B or TensorBoard: params, metrics with their steps,
        summary, tags and note, written by each tool's own client."""
        from dltui.bridges.export import export_runs
        from dltui.tui.options import open_store as _store
        from dltui.views.selection import select_runs

        loaded, store = _store(manifest, runs)
        chosen = select_runs(store, selection, manifest=loaded, all_runs=all_runs)
        for line in export_runs(chosen, to=to, dest=dest):
            typer.echo(line)

    @app.command("import")
    def import_command(
        path: Annotated[Path, typer.Argument(
            help="A TensorBoard log folder, or a Lightning CSVLogger folder (metrics.csv).")],
        experiment: Annotated[str, typer.Option(
            "--experiment", "-e", help="The experiment the runs join (made if new).")],
        manifest: ManifestOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Import TensorBoard event folders and Lightning CSV logs as finished runs."""
        from dltui.bridges.imported import import_runs
        from dltui.tui.options import open_store as _store

        _, store = _store(manifest, runs)
        store.root.mkdir(parents=True, exist_ok=True)
        done = import_runs(path=path.resolve(), experiment=experiment, runs_dir=store.root)
        for source, run in done:
            count = len(source.scalars)
            typer.echo(f"{run.experiment}/{run.run_id}: {count} values from {source.kind} "
                       f"{source.path}")
        typer.echo(f"{plural(len(done), 'run')} imported; compare with "
                   f"`dltui compare {experiment}`")
