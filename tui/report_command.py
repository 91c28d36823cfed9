"""`dltui report`: a thin command over `dltui.report.writer.write_report`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from dltui.tui.options import DEFAULT_MANIFEST, AllRunsOpt, ManifestOpt, RunsOpt


def register(app: typer.Typer) -> None:
    """Add the `report` command to the CLI's Typer app."""

    @app.command("report")
    def report_command(
        selection: Annotated[list[str] | None, typer.Argument(
            help="Experiments, groups, tag:NAME or runs (default: all).")] = None,
        out: Annotated[Path, typer.Option(
            "--out", "-o", help="Folder for report.md and its figures (made if missing).")
        ] = Path("report"),
        fmt: Annotated[str, typer.Option(
            "--format", "-f", help="md (report.md + PNGs) or html (one self-contained "
            "report.html).")] = "md",
        title: Annotated[str | None, typer.Option(help="The report's title.")] = None,
        all_runs: AllRunsOpt = False,
        manifest: ManifestOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Write a report: comparison table, a figure per metric, each run's artifacts."""
        from dltui.errors import UserError
        from dltui.report.writer import REPORT_FORMATS, write_report
        from dltui.tui.options import open_store as _store
        from dltui.tui.options import say_left_out
        from dltui.views.selection import labels_for, select_counted

        if fmt not in REPORT_FORMATS:
            raise UserError(f"unknown report format {fmt!r}", fix="use --format md or html")
        loaded, store = _store(manifest, runs)
        damaged: list[Any] = []
        chosen, considered = select_counted(store, selection or [], manifest=loaded,
                                            all_runs=all_runs, left_out=damaged)
        say_left_out(damaged, shown=len(chosen), considered=considered)
        target = write_report(runs=chosen, out_dir=out, fmt=fmt, title=title,
                              labels=labels_for(loaded, chosen), manifest=loaded)
        typer.echo(f"wrote {target} ({len(chosen)} runs)")
        for info in chosen:
            if info.is_final and info.state != "succeeded":
                error = info.status.error
                typer.echo(f"note: {info.ref} {info.state}" + (f": {error}" if error else ""),
                           err=True)
            elif not info.is_final:
                typer.echo(f"note: {info.ref} is {info.state}; reported as it is now", err=True)
