"""What every command shares: the manifest and runs options, and opening them."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from dltui.manifest import Manifest
    from dltui.store.runs import RunInfo, RunStore


def _given_before_the_command(ctx: typer.Context, param: typer.CallbackParam,
                              value: Any) -> Any:
    """`dltui --runs DIR ps`: an option given before the command's name holds for the
    command, unless the command is given its own."""
    parent, name = ctx.parent, param.name
    if parent is None or name is None:
        return value  # the options of `dltui` itself
    source = ctx.get_parameter_source(name)
    if source is not None and source.name != "DEFAULT":
        return value
    given = parent.get_parameter_source(name)
    if given is None or given.name == "DEFAULT":
        return value
    return parent.params.get(name, value)


ManifestOpt = Annotated[Path, typer.Option(
    "--manifest", "-m", help="The experiments file.", show_default=True,
    callback=_given_before_the_command)]
# Without -m: `dltui tag RUN -smoke` removes a tag, it does not name a manifest "oke".
ManifestLongOpt = Annotated[Path, typer.Option(
    "--manifest", help="The experiments file.", show_default=True,
    callback=_given_before_the_command)]
RunsOpt = Annotated[
    Path | None,
    typer.Option("--runs", help="Runs directory (default: the manifest's runs_dir, ./runs).",
                 callback=_given_before_the_command),
]
FormatOpt = Annotated[str, typer.Option("--format", "-f", help="table or json.")]
AllRunsOpt = Annotated[bool, typer.Option(
    "--all-runs", help="Every run, not only the latest per params.")]
DetachOpt = Annotated[bool, typer.Option(
    "--detach", "-d", help="Queue and return; the runs go on after you log out.")]
DEFAULT_MANIFEST = Path("experiments.toml")


def load(path: Path) -> Manifest:
    from dltui.manifest import load_manifest

    return load_manifest(path)


def open_store(manifest_path: Path, runs: Path | None) -> tuple[Manifest | None, RunStore]:
    """The manifest if there is one, and the runs directory to use."""
    from dltui.store.runs import RunStore

    manifest = None
    if manifest_path.exists() or manifest_path != DEFAULT_MANIFEST:
        manifest = load(manifest_path)
    root = runs or (manifest.runs_dir if manifest else Path("runs"))
    store = RunStore(root.expanduser().resolve())
    store.check_readable()
    return manifest, store


def say_left_out(damaged: list[RunInfo], *, shown: int, considered: int) -> None:
    """Say on stderr what a selection left out, so that nothing is left out silently:
    each damaged run, and how many older runs of the same params."""
    from dltui.views.selection import dropped_note

    for info in damaged:
        typer.echo(f"note: {info.ref} left out, damaged: {info.damage}; {info.damage_fix}",
                   err=True)
    note = dropped_note(shown, considered)
    if note:
        typer.echo(f"note: {note}", err=True)
