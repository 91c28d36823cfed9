"""`dltui report`: real runs through the engine, reported as Markdown and as one HTML file."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import struct
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from conftest import Project, printed_sweep, wait_for
from dltui.errors import UserError
from dltui.manifest import load_manifest
from dltui.queue.launch import launch
from dltui.report.model import legend_labels, status_line
from dltui.report.writer import build_report, write_report
from dltui.store.runs import RunInfo, RunStore
from dltui.views.compare import compare
from dltui.views.formats import render
from dltui.views.selection import select_runs

PY = sys.executable
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
LABELS = {"lr": "Learning Rate", "loss": "Training Loss", "acc": "Valid. Acc."}

# An uninstrumented script: `epoch N/E key=value` lines become metrics; lr > 1 fails.
PRINTS = """
import sys
lr, epochs = float(sys.argv[1]), int(sys.argv[2])
for epoch in range(1, epochs + 1):
    print(f"epoch {epoch}/{epochs} loss={1 / (1 + epoch * lr):.4f} acc={epoch / (epochs + 1):.3f}")
if lr > 1:
    sys.exit("diverged: loss is nan")
print(f"test_acc={0.5 + lr / 4:.3f}")
"""

# A script on the tracking API that saves the artifacts a task saves.
TRACKED = """
import json
import numpy as np
import dltui
from dltui.tracking.png import encode_png

run = dltui.init()
width = run.params["width"]
for step in range(run.params["steps"]):
    run.log({"loss": 2.0 / (step + 1), "miou": 0.1 * step * width / 8}, step=step)
run.log({"test_miou": 0.3 + width / 100})
grid = (np.arange(18 * 30 * 3).reshape(18, 30, 3) * 7 % 255).astype("uint8")
run.log_image("filters/conv1", grid)
example = np.zeros((12, 12, 3), dtype="uint8"); example[3:9, 3:9, 0] = 255
run.save_artifact("example 0.png", encode_png(example))
run.save_artifact("examples.md", "# Example captions\\n\\n![a red square](example%200.png)\\n\\n"
                  "- prediction: a red square\\n- reference: a red square\\n")
run.save_artifact("per_class_iou.json", json.dumps({"background": 0.91, "square": 0.42}))
run.save_artifact("predictions.jsonl", json.dumps({"id": 0, "caption": "a red square"}) + "\\n")
run.summary["params_total"] = 10298
"""

# Logs three of fifteen epochs, then waits for the test to let it finish.
WAITS = """
import pathlib, sys, time
for epoch in range(1, 4):
    print(f"epoch {epoch}/15 loss={1 / epoch:.3f}", flush=True)
release = pathlib.Path(sys.argv[1])
deadline = time.time() + 60
while not release.exists() and time.time() < deadline:
    time.sleep(0.05)
"""


def manifest_text(root: Path) -> str:
    printed = printed_sweep(root / "prints.py", 4, "0.1, 1.0, 4.0")
    return f"""
[settings]
max_parallel = 2
{printed}
[experiments.tracked]
command = ["{PY}", "{root / 'tracked.py'}"]
params = {{ steps = 5 }}
sweep = {{ width = [8, 16] }}
metric = "miou"
mode = "max"

[experiments.waits]
command = ["{PY}", "{root / 'waits.py'}", "{root / 'release'}"]
params = {{ epochs = 15 }}
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Project:
    """Three runs of a printed sweep (one fails) and two tracked runs, all finished."""
    root = tmp_path_factory.mktemp("report")
    for name, text in (("prints.py", PRINTS), ("tracked.py", TRACKED), ("waits.py", WAITS)):
        (root / name).write_text(text, encoding="utf-8")
    found = Project(root)
    found.write(manifest_text(root))
    done = found.cli("run", "printed", "tracked", timeout=180)
    assert done.returncode == 1, done.stdout + done.stderr  # the lr=4 run fails
    assert done.stdout.count("done ") == 4, done.stdout
    return found


def chosen(project: Project, *selection: str) -> list[RunInfo]:
    return select_runs(RunStore(project.runs), selection,
                       manifest=load_manifest(project.manifest))


def linked_files(markdown: str) -> list[str]:
    return [unquote(m) for m in re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", markdown)]


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE), "not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def metric_records(info: RunInfo, metric: str) -> list[tuple[float, float]]:
    lines = info.dir.metrics_file.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.strip()]
    return [(r["step"], r[metric]) for r in records if metric in r]


def test_markdown_report_has_the_table_and_valid_linked_figures(project: Project,
                                                                tmp_path: Path) -> None:
    runs = chosen(project, "printed")
    target = write_report(runs=runs, out_dir=tmp_path / "out", labels=LABELS)
    assert target == tmp_path / "out" / "report.md"
    text = target.read_text()
    assert render(compare(runs, labels=LABELS), "md") in text  # the same as `compare -f md`
    assert "| Learning Rate |" in text and "Valid. Acc." in text
    links = linked_files(text)
    assert {"figures/loss.png", "figures/acc.png", "figures/test_acc-bar.png"} <= set(links)
    for link in links:
        assert not link.startswith(("/", "file:")), link  # renders on GitHub as it is
        width, height = png_size((target.parent / link).read_bytes())
        assert 200 <= width <= 2000 and 150 <= height <= 1500, (link, width, height)
    sidecar = json.loads((target.parent / "report.json").read_text())
    curve = next(f for f in sidecar["figures"] if f["metric"] == "loss")
    assert curve["xlabel"] == "Epoch" and curve["ylabel"] == "Training Loss"
    assert {s["label"] for s in curve["series"]} == {"lr=4 (failed)", "lr=1", "lr=0.1"}


def test_every_logged_point_is_plotted(project: Project, tmp_path: Path) -> None:
    runs = chosen(project, "printed", "tracked")
    assert set(legend_labels(runs)) == {"printed: lr=0.1", "printed: lr=1", "printed: lr=4",
                                        "tracked: width=8", "tracked: width=16"}
    write_report(runs=runs, out_dir=tmp_path, labels=LABELS)
    sidecar = json.loads((tmp_path / "report.json").read_text())
    by_ref = {info.ref: info for info in runs}
    curves = [f for f in sidecar["figures"] if f["kind"] == "curve"]
    assert {f["metric"] for f in curves} == {"loss", "acc", "miou"}
    for figure in curves:
        having = [info for info in runs if metric_records(info, figure["metric"])]
        assert {s["run"] for s in figure["series"]} == {info.ref for info in having}
        for series in figure["series"]:
            logged = metric_records(by_ref[series["run"]], figure["metric"])
            assert list(zip(series["x"], series["y"], strict=True)) == logged
    bars = {f["metric"]: f for f in sidecar["figures"] if f["kind"] == "bar"}
    assert set(bars) == {"test_acc", "test_miou"}  # logged once: a bar per run that has it
    assert sorted(s["y"] for s in bars["test_miou"]["series"]) == pytest.approx([0.38, 0.46])


def test_a_failed_run_is_named_and_the_rest_reported(project: Project,
                                                     tmp_path: Path) -> None:
    runs = chosen(project, "printed")
    failed = next(info for info in runs if info.state == "failed")
    text = write_report(runs=runs, out_dir=tmp_path).read_text()
    note = text[text.index("> **Note:**"):text.index("## Comparison")]
    assert failed.ref in note and "exited with code 1" in note
    assert "diverged: loss is nan" in text  # the tail of its log
    for info in runs:
        assert f"`{info.ref}`" in text
    assert text.count("succeeded in") == 2


def test_artifacts_are_shown_under_their_run(project: Project, tmp_path: Path) -> None:
    runs = chosen(project, "tracked")
    text = write_report(runs=runs, out_dir=tmp_path).read_text()
    for info in runs:
        section = text[text.index(f"`{info.ref}`"):]
        section = section[:section.find("\n### ")] if "\n### " in section else section
        prefix = f"artifacts/tracked/{info.run_id}"
        assert f"]({prefix}/filters_conv1.png)" in section
        assert "#### Example captions" in section  # the file's own heading, nested
        assert f"![a red square]({prefix}/example%200.png)" in section
        assert section.count("example%200.png") == 1  # shown with its caption, not twice
        assert "| background | 0.91 |" in section and "| square | 0.42 |" in section
        assert "`predictions.jsonl`" in section
        for link in linked_files(section):
            png_size((tmp_path / link).read_bytes())
    assert sorted(legend_labels(runs)) == ["width=16", "width=8"]


def test_html_is_one_self_contained_file(project: Project, tmp_path: Path) -> None:
    runs = chosen(project, "printed", "tracked")
    target = write_report(runs=runs, out_dir=tmp_path, fmt="html", labels=LABELS)
    assert target.name == "report.html"
    page = target.read_text()
    assert "<table>" in page and "Learning Rate" in page
    sources = re.findall(r"""\bsrc=["']([^"']*)""", page)
    assert sources and all(s.startswith("data:image/") for s in sources), sources
    assert not re.search(r"""<link\b|\bhref=["'](?!#|https?:|data:)""", page)
    for source in sources:
        if source.startswith("data:image/png;base64,"):
            png_size(base64.b64decode(source.split(",", 1)[1]))
    images = len(build_report(runs=runs, labels=LABELS).files)
    assert len(sources) == images
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.html", "report.json"]


def test_a_second_report_replaces_the_first(project: Project, tmp_path: Path) -> None:
    runs = chosen(project, "tracked")
    write_report(runs=runs, out_dir=tmp_path)
    (tmp_path / "notes.txt").write_text("mine")
    assert (tmp_path / "figures" / "loss.png").exists()
    write_report(runs=runs, out_dir=tmp_path, fmt="html")
    assert not (tmp_path / "figures").exists() and not (tmp_path / "report.md").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"  # not ours: left alone


def test_a_running_run_is_reported_as_it_is(project: Project, tmp_path: Path) -> None:
    manifest = load_manifest(project.manifest)
    (run_dir,) = launch(manifest=manifest, names=["waits"], runs_dir=project.runs)
    try:
        wait_for(lambda: run_dir.metrics_file.exists()
                 and run_dir.metrics_file.read_text().count("\n") >= 3, what="three epochs")
        info = RunStore(project.runs).resolve(f"waits/{run_dir.run_id}")
        assert status_line(info) == "running: step 3/15"
        text = write_report(runs=[info], out_dir=tmp_path).read_text()
        assert "is running: step 3/15" in text and "| running |" in text
    finally:
        (project.root / "release").touch()
        wait_for(lambda: run_dir.status().state == "succeeded", what="the run to end")


def test_bad_input_is_a_user_error(project: Project, tmp_path: Path) -> None:
    runs = chosen(project, "tracked")
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(UserError, match="not a folder"):
        write_report(runs=runs, out_dir=blocker)
    with pytest.raises(UserError, match="cannot make the report folder"):
        write_report(runs=runs, out_dir=blocker / "report")
    with pytest.raises(UserError, match="no runs"):
        write_report(runs=[], out_dir=tmp_path / "x")
    with pytest.raises(UserError, match="unknown report format"):
        write_report(runs=runs, out_dir=tmp_path / "x", fmt="pdf")


def test_cli_report(project: Project, tmp_path: Path) -> None:
    done = project.invoke("report", "printed", "-o", str(tmp_path / "md"), check=True)
    assert "wrote" in done.stdout and "failed" in done.stderr
    text = (tmp_path / "md" / "report.md").read_text()
    assert "| Learning Rate |" in text  # the manifest's labels
    done = project.invoke("report", "tracked", "-o", str(tmp_path / "html"), "--format", "html",
                       "--title", "Heads", check=True)
    assert "<title>Heads</title>" in (tmp_path / "html" / "report.html").read_text()
    for args in (["no-such-experiment"], ["tracked", "--format", "pdf"],
                 ["tracked", "-o", str(project.manifest / "out")]):
        done = project.invoke("report", *args, *(["-o", str(tmp_path / "e")]
                                              if "-o" not in args else []))
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stderr.startswith("error:") and "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.skipif(importlib.util.find_spec("dltui.tasks.cnn") is None,
                    reason="the built-in cnn task (dltui.tasks.cnn) is not there yet")
def test_report_of_a_cnn_run(tmp_path: Path) -> None:
    found = Project(tmp_path)
    found.write("""
[experiments.cnn-lr]
task = "cnn"
params = { epochs = 1, train_count = 64, val_count = 32, test_count = 32 }
metric = "val_acc"
mode = "max"
labels = { train_loss = "Training Loss", val_acc = "Valid. Acc.", test_acc = "Test Acc." }
""")
    started = time.monotonic()
    done = found.cli("run", "cnn-lr", timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr + (
        found.invoke("logs", "cnn-lr").stdout)
    out = tmp_path / "out"
    found.invoke("report", "cnn-lr", "-o", str(out), check=True)
    text = (out / "report.md").read_text()
    assert "Valid. Acc." in text
    links = linked_files(text)
    assert any(link.startswith("artifacts/cnn-lr/") for link in links), text
    assert "#### Conv1 filters" in text and "#### Conv2 filters" in text
    for link in links:
        png_size((out / link).read_bytes())
    assert time.monotonic() - started < 600
