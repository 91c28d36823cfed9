"""TensorBoard event folders read with TensorBoard's own loader.

Each folder holding event files is one run, as TensorBoard's `--logdir` shows it.
A folder whose events carry only an HParams session (what torch's
`SummaryWriter.add_hparams` writes into a subfolder) gives its params, and the
values logged beside them, to the run of the folder above it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from dltui.bridges.imported import Scalar, SourceRun


def event_folders(path: Path) -> list[Path]:
    """Folders under `path` (itself included) that hold TensorBoard event files."""
    found = {event.parent for event in path.rglob("*tfevents*") if event.is_file()}
    return sorted(found)


def read_folder(folder: Path) -> tuple[list[Scalar], dict[str, Any], list[Path]]:
    """(scalars, hparams, event files) of one folder, its subfolders left out."""
    from tensorboard.backend.event_processing import event_accumulator as ea
    from tensorboard.plugins.hparams import metadata as hparams_metadata
    from tensorboard.util import tensor_util

    files = sorted(p for p in folder.iterdir() if p.is_file() and "tfevents" in p.name)
    scalars: list[Scalar] = []
    params: dict[str, Any] = {}
    for event_file in files:
        acc = ea.EventAccumulator(str(event_file), size_guidance={ea.SCALARS: 0, ea.TENSORS: 0})
        acc.Reload()
        tags = acc.Tags()
        for tag in tags.get(ea.SCALARS, []):
            scalars += [Scalar(tag, e.step, float(e.value), e.wall_time) for e in acc.Scalars(tag)]
        try:  # an HParams session is plugin data on a value without a tensor
            contents = acc.PluginTagToContent(hparams_metadata.PLUGIN_NAME)
        except KeyError:
            contents = {}
        if hparams_metadata.SESSION_START_INFO_TAG in contents:
            info = hparams_metadata.parse_session_start_info_plugin_data(
                contents[hparams_metadata.SESSION_START_INFO_TAG])
            params.update(_hparam_values(info.hparams))
        for tag in tags.get(ea.TENSORS, []):
            if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
                continue  # images, text, histograms: not metrics
            for e in acc.Tensors(tag):
                value = tensor_util.make_ndarray(e.tensor_proto)
                if value.size == 1:
                    scalars.append(Scalar(tag, e.step, float(value.item()), e.wall_time))
    return scalars, params, files


def _hparam_values(hparams: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in hparams.items():
        kind = value.WhichOneof("kind")
        if kind == "number_value":
            number = value.number_value
            out[name] = int(number) if number.is_integer() else number
        elif kind == "string_value":
            out[name] = value.string_value
        elif kind == "bool_value":
            out[name] = value.bool_value
    return out


def find_tensorboard_runs(path: Path) -> list[SourceRun]:
    """One SourceRun per event folder under `path`, HParams subfolders folded in."""
    runs: dict[Path, SourceRun] = {}
    for folder in event_folders(path):
        scalars, params, files = read_folder(folder)
        parent = next((p for p in folder.parents if p in runs), None)
        if params and parent is not None:
            host = runs[parent]
            host.params.update(params)
            known = {s.tag for s in host.scalars}
            host.scalars += [s for s in scalars if s.tag not in known]
            continue
        runs[folder] = SourceRun(folder, "tensorboard", scalars, params, files)
    return list(runs.values())
