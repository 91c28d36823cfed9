"""Commands over single runs: reproduce, diff, tag, note, rm, gc.

Thin Typer commands over `dltui.queue.reproduce`, `dltui.snapshots.rundiff`,
`dltui.store.annotations` and `dltui.store.trash`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from dltui.tui.options import DEFAULT_MANIFEST, DetachOpt, ManifestLongOpt, RunsOpt, open_store
from dltui.views.numbers import plural

if TYPE_CHECKING:
    from dltui.store.runs import RunInfo, RunStore


def register(app: typer.Typer) -> None:
    """Add the run commands to the CLI's Typer app."""

    @app.command("reproduce")
    def reproduce_command(
        run: Annotated[str, typer.Argument(help="The run to run again.")],
        detach: DetachOpt = False,
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """A new run of the same code snapshot, params and needed runs."""
        import sys

        from dltui.queue.reproduce import reproduce
        from dltui.queue.scheduler import ensure_supervisor
        from dltui.views.follow import follow_runs

        loaded, store = open_store(manifest, runs)
        original = store.resolve(run)
        made = reproduce(info=original)
        for note in made.notes:
            typer.echo(f"note: {note}", err=True)
        ensure_supervisor(store.root)
        typer.echo(f"queued {made.run.experiment}/{made.run.run_id} (reproduces {original.ref})")
        if detach:
            return
        grace = loaded.settings.stop_grace if loaded else 10.0
        failed = follow_runs([made.run], store=store, out=sys.stdout, stop_grace=grace)
        raise typer.Exit(1 if failed else 0)

    @app.command("diff")
    def diff_command(
        run_a: Annotated[str, typer.Argument(help="The first run.")],
        run_b: Annotated[str, typer.Argument(help="The second run.")],
        fmt: Annotated[str, typer.Option("--format", "-f", help="text or json.")] = "text",
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """What differs between two runs: params, final metrics, code, environment."""
        from dltui.errors import UserError
        from dltui.snapshots.rundiff import diff_text, run_diff
        from dltui.tui.cli import _echo_json

        if fmt not in ("text", "json"):
            raise UserError(f"unknown format {fmt!r}", fix="use --format text or json")
        _, store = open_store(manifest, runs)
        found = run_diff(store.resolve(run_a), store.resolve(run_b))
        if fmt == "json":
            _echo_json(found)
        else:
            typer.echo(diff_text(found), nl=False)

    @app.command("tag", context_settings={"ignore_unknown_options": True,
                                          "help_option_names": ["--help"]})
    def tag_command(
        words: Annotated[list[str], typer.Argument(
            metavar="RUN... +TAG -TAG", help="Runs, then +tag to add and -tag to remove.")],
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Add (+tag) and remove (-tag) tags of runs."""
        from dltui.errors import UserError
        from dltui.store.annotations import change_tags

        refs = [w for w in words if not w.startswith(("+", "-"))]
        add = [w[1:] for w in words if w.startswith("+")]
        remove = [w[1:] for w in words if w.startswith("-")]
        if not refs or not (add or remove):
            raise UserError("nothing to tag", fix="dltui tag RUN... +tag -tag")
        _, store = open_store(manifest, runs)
        for info in [store.resolve(ref) for ref in refs]:  # every name checked first
            tags = change_tags(info, add=add, remove=remove)
            typer.echo(f"{info.ref}: {' '.join('#' + t for t in tags) or '(no tags)'}")

    @app.command("note")
    def note_command(
        run: Annotated[str, typer.Argument(help="The run.")],
        text: Annotated[str, typer.Argument(help="The note (\"\" removes it).")],
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Write a note on a run (shown by `dltui ps` and the dashboard)."""
        from dltui.store.annotations import set_note

        _, store = open_store(manifest, runs)
        info = store.resolve(run)
        set_note(info, text)
        typer.echo(f"{info.ref}: {'note removed' if not text.strip() else 'noted'}")

    @app.command("rm")
    def rm_command(
        run_refs: Annotated[list[str], typer.Argument(metavar="RUN...", help="Runs to remove.")],
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Move ended runs to the runs folder's trash (`dltui gc` empties it)."""
        from dltui.store.disk import human_bytes
        from dltui.store.trash import remove_runs

        _, store = open_store(manifest, runs)
        chosen = [store.resolve(ref) for ref in run_refs]
        removed = remove_runs(store, chosen)
        for item in removed:
            typer.echo(f"removed {item.ref} ({human_bytes(item.bytes)}) to {item.to}")
        total = sum(item.bytes for item in removed)
        typer.echo(f"{plural(len(removed), 'run')}, {human_bytes(total)} in the trash; `dltui gc` "
                   "deletes them for good")

    @app.command("gc")
    def gc_command(
        dry_run: Annotated[bool, typer.Option(
            "--dry-run", "-n", help="Say what would be deleted, delete nothing.")] = False,
        manifest: ManifestLongOpt = DEFAULT_MANIFEST,
        runs: RunsOpt = None,
    ) -> None:
        """Delete the trash and the code snapshots no run names."""
        from dltui.store.disk import human_bytes
        from dltui.store.trash import SNAPSHOT_GRACE_S, collect_garbage

        _, store = open_store(manifest, runs)
        found = collect_garbage(store, dry_run=dry_run)
        verb = "would delete" if dry_run else "deleted"
        for path in found.trash_runs:
            typer.echo(f"{verb} {path.relative_to(store.root)}")
        for path in found.snapshots:
            typer.echo(f"{verb} {path.relative_to(store.root)}")
        typer.echo(f"{verb} {plural(len(found.trash_runs), 'trashed run')} "
                   f"({human_bytes(found.trash_bytes)}) and "
                   f"{plural(len(found.snapshots), 'unused snapshot')} "
                   f"({human_bytes(found.snapshot_bytes)}): "
                   f"{human_bytes(found.total_bytes)}")
        if found.kept_recent:
            typer.echo(f"kept {plural(found.kept_recent, 'unused snapshot')} made in the last "
                       f"{SNAPSHOT_GRACE_S // 60} minutes (a launch may still be queueing)")
        if found.kept_unknown:
            damaged = found.damaged_specs
            more = f" and {len(damaged) - 3} more" if len(damaged) > 3 else ""
            typer.echo(f"kept {plural(found.kept_unknown, 'unused snapshot')}: the run.json of "
                       f"{', '.join(damaged[:3])}{more} is damaged, so which snapshot it "
                       "names is unknown; repair it or remove the run (dltui ps --all shows "
                       "how), then run dltui gc again", err=True)


def with_disk_use(rows: list[dict[str, object]], infos: list[RunInfo],
                  store: RunStore) -> str:
    """Put each run's size in its row (`disk`); the lines that sum it up per experiment,
    with the shared snapshots and the trash."""
    from dltui.store.disk import human_bytes, run_sizes
    from dltui.store.trash import snapshot_bytes, trash_bytes

    sizes = run_sizes(infos)
    per_experiment: dict[str, list[int]] = {}
    for row in rows:  # each row's `experiment/run`, as run_sizes names it
        size = row["disk"] = sizes[f"{row['experiment']}/{row['run']}"]
        per_experiment.setdefault(row["experiment"], []).append(size)  # type: ignore[arg-type]
    lines = [f"disk: {name} {human_bytes(sum(found))} in {plural(len(found), 'run')}"
             for name, found in sorted(per_experiment.items())]
    lines.append(f"disk: code snapshots {human_bytes(snapshot_bytes(store))}, trash "
                 f"{human_bytes(trash_bytes(store))}")
    return "\n".join(lines) + "\n"
