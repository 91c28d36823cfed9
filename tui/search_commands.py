"""`dltui search NAME`, and following a study under `dltui run`: thin commands over
`dltui.search`."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from dltui.tui.options import DEFAULT_MANIFEST, ManifestOpt, RunsOpt

if TYPE_CHECKING:
    from dltui.manifest import Manifest
    from dltui.store.runs import RunStore

SEARCH_FORMATS = ("table", "md", "json")


def follow_searches(*, manifest: Manifest, names: list[str], store: RunStore,
                    detach: bool) -> int:
    """After `dltui run`: say which studies go on (detached) or follow each until it is
    done. The number of studies whose driver stopped before the end."""
    from dltui.search.follow import follow_study

    studies = [manifest.experiment(n) for n in dict.fromkeys(names)
               if manifest.experiment(n).search is not None]
    stopped = 0
    for exp in studies:
        assert exp.search is not None
        if detach:
            typer.echo(f"study {exp.name}: {exp.search.trials} trials, queued as they are "
                       f"asked; follow with `dltui search {exp.name}`")
            continue
        typer.echo(f"study {exp.name}: {exp.search.method}, {exp.search.trials} trials, "
                   f"pruner {exp.search.pruner}; Ctrl-C stops following, not the study")
        stopped += follow_study(store=store, experiment=exp, out=sys.stdout)
    return stopped


def register(app: typer.Typer) -> None:
    """Add the `search` command to the CLI's Typer app."""

    @app.command("search")
    def search_command(
        name: Annotated[str, typer.Argument(help="A search experiment of the manifest.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="table, md or json.")
                       ] = "table",
        width: Annotated[int, typer.Option(help="Width of the text plots.")] = 60,
        manifest: ManifestOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Show a study: trials with state, params and value, the best so far, a
        best-so-far curve and each param against the metric."""
        from dltui.errors import UserError
        from dltui.manifest import load_manifest
        from dltui.search.view import study_json, study_markdown, study_text, study_view
        from dltui.tui.options import open_store as _store

        if fmt not in SEARCH_FORMATS:
            raise UserError(f"unknown format {fmt!r}", fix="use --format table, md or json")
        loaded = load_manifest(manifest)
        exp = loaded.experiment(name)
        if exp.search is None:
            raise UserError(f"experiment {name!r} is not a search",
                            fix=f"`dltui compare {name}` compares its runs; a search needs "
                            "search and space in the manifest")
        _, store = _store(manifest, runs)
        view = study_view(store=store, experiment=exp)
        if fmt == "json":
            typer.echo(study_json(view))
        elif fmt == "md":
            typer.echo(study_markdown(view, exp), nl=False)
        else:
            typer.echo(study_text(view, exp, width=width), nl=False)
