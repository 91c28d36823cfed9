"""The numbers a person checks by hand, the three output formats, and the package's limits."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from dltui.errors import UserError
from dltui.params import count_parameters, format_report, parse_spec, spec_for_task
from dltui.params.breakdown import human_bytes

Q1_CNN = "28x28x3 | conv 8 5x5 | maxpool 4 stride 2 | flatten | linear 10 | softmax"
Q1_MLP = "28x28x3 | flatten | linear 100 | linear 10"


def report_of(spec: str):  # type: ignore[no-untyped-def]
    return count_parameters(parse_spec(spec))


# -- report B, question 1 ----------------------------------------------------------------


def test_report_b_cnn_layer_by_layer() -> None:
    report = report_of(Q1_CNN)
    rows = report.rows
    assert [r.index for r in rows] == ["0", "1", "2", "3", "4", "5"]
    assert [r.params for r in rows] == [0, 608, 0, 0, 9_690, 0]
    assert [r.output_shape for r in rows] == ["28x28x3", "24x24x8", "11x11x8", "968", "10", "10"]
    assert rows[1].formula == "5*5*3*8 + 8 = 608"
    assert rows[1].shape_formula == "(28 - 5)/1 + 1 = 24"
    assert rows[2].shape_formula == "(24 - 4)/2 + 1 = 11"
    assert rows[3].shape_formula == "11*11*8 = 968"
    assert rows[4].formula == "968*10 + 10 = 9,690"
    assert (report.total, report.trainable, report.frozen) == (10_298, 10_298, 0)
    table = format_report(report)
    for number in ("608", "9,690", "10,298"):
        assert number in table
    assert "total parameters: 10,298" in table


def test_report_b_mlp() -> None:
    report = report_of(Q1_MLP)
    assert report.total == 236_310
    assert report.rows[2].formula == "2352*100 + 100 = 235,300"
    assert "236,310" in format_report(report)


def test_attention_rank_bound() -> None:
    (row,) = report_of("196x384 | attention 6").layers
    assert row.params == 4 * 384 * 384 + 4 * 384
    assert any("rank(A) <= min(d_model, d_head) = min(384, 64) = 64" in n for n in row.notes)
    (row,) = report_of("10x512 | attention 1 dim 64").layers
    assert any("min(512, 64) = 64" in n for n in row.notes)
    (row,) = report_of("10x32 | attention 2 sharedqk").layers
    assert row.formula == "(32*64 + 64) + (32*32 + 32) = 3,168"
    assert any("symmetric positive semi-definite" in n for n in row.notes)


# -- the arithmetic as it is shown -------------------------------------------------------


def test_floor_and_ceil_are_shown_where_they_round() -> None:
    (row,) = report_of("7x7x1 | conv 1 2x2 stride 2").layers
    assert row.shape_formula == "floor((7 - 2)/2) + 1 = 3"
    (row,) = report_of("7x7x1 | maxpool 2 ceil").layers
    assert row.shape_formula == "ceil((7 - 2)/2) + 1 = 4"
    (row,) = report_of("28x28x1 | conv 4 3x3 padding 1 dilation 2").layers
    assert row.shape_formula == "(28 + 2*1 - 2*(3 - 1) - 1)/1 + 1 = 26"
    (row,) = report_of("9x12x1 | conv 1 3x5").layers
    assert row.shape_formula == "H: (9 - 3)/1 + 1 = 7; W: (12 - 5)/1 + 1 = 8"


def test_formulas_of_grouped_transposed_and_recurrent_layers() -> None:
    rows = report_of("8x8x32 | conv 64 3x3 groups 4 | convt 16 2x2 stride 2").layers
    assert rows[0].formula == "3*3*(32/4)*64 + 64 = 4,672"
    assert rows[1].formula == "2*2*64*16 + 16 = 4,112"
    assert rows[1].shape_formula == "(6 - 1)*2 - 2*0 + 2 = 12"
    (row,) = report_of("5x100 | lstm 256 layers 3 bidirectional").layers
    assert row.formula.startswith("2*4*(100*256 + 256*256 + 2*256) + 2*2*4*(512*256")
    assert row.params == 2 * 4 * (100 * 256 + 256 * 256 + 512) + 4 * 4 * (512 * 256 + 256 * 256
                                                                            + 512)


def test_frozen_layers_count_apart() -> None:
    report = report_of("28x28x3 | conv 8 5x5 frozen | maxpool 4 stride 2 | flatten | linear 10")
    assert (report.total, report.trainable, report.frozen) == (10_298, 9_690, 608)
    assert not report.rows[1].trainable
    table = format_report(report)
    assert "frozen 608" in table
    assert table.splitlines()[2].rstrip().endswith("frozen")


def test_memory_per_dtype() -> None:
    report = report_of(Q1_CNN)
    activations = 28 * 28 * 3 + 24 * 24 * 8 + 11 * 11 * 8 + 968 + 10 + 10
    assert report.activations == activations
    assert [(m.dtype, m.parameters_bytes, m.activations_bytes) for m in report.memory] == [
        ("fp32", 4 * 10_298, 4 * activations), ("fp16/bf16", 2 * 10_298, 2 * activations),
        ("int8", 10_298, activations)]
    assert human_bytes(41_192) == "40.2 KiB"
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 1024 ** 3) == "3.0 GiB"


def test_batchnorm_statistics_are_buffers_not_parameters() -> None:
    report = report_of("8x8x16 | batchnorm")
    assert (report.total, report.buffers) == (32, 32)
    assert "buffers (not parameters): 32" in format_report(report)


# -- formats -----------------------------------------------------------------------------


def test_table_is_plain_aligned_text() -> None:
    table = format_report(report_of(Q1_CNN), fmt="table")
    lines = table.splitlines()
    assert lines[0] == Q1_CNN
    header = lines[2]
    assert header.split() == ["#", "layer", "output", "params", "formula", "output", "size"]
    conv = lines[4]
    assert conv.index("608") + 3 == header.index("params") + len("params")  # right-aligned
    assert "\x1b" not in table and "fp32" in table


def test_json_has_rows_totals_and_memory() -> None:
    data = json.loads(format_report(report_of(Q1_CNN), fmt="json"))
    assert data["total"] == 10_298 and data["layers"] == 5
    assert data["rows"][1]["formula"] == "5*5*3*8 + 8 = 608"
    assert data["rows"][1]["shape"] == [24, 24, 8]
    assert data["memory"][0]["dtype"] == "fp32"


def test_markdown_table_escapes_pipes() -> None:
    md = format_report(report_of("enc: 10 | linear 5 ; dec: 5 | linear 10"), fmt="md")
    assert md.startswith("`enc: 10 \\| linear 5 ; dec: 5 \\| linear 10`")
    assert "| # | layer | output | params | formula | output size | trainable |" in md
    assert "| 1 | enc: linear 5 | 5 | 55 | 10*5 + 5 = 55 |" in md
    assert "**total parameters: 115 (trainable 115, frozen 0)**" in md


def test_unknown_format() -> None:
    with pytest.raises(UserError, match="unknown format"):
        format_report(report_of(Q1_MLP), fmt="html")


# -- built-in tasks ----------------------------------------------------------------------


def test_builtin_cnn() -> None:
    spec = spec_for_task("cnn", {"data": "fashion-mnist"})
    assert spec is not None and spec.startswith("28x28x1 |")
    assert report_of(spec).total == 769_930
    assert report_of(spec_for_task("cnn", {}) or "").total == 770_218
    assert report_of(spec_for_task("cnn", {"lr": 0.1}) or "").outputs == ["10"]


def test_builtin_caption_with_and_without_attention() -> None:
    plain = report_of(spec_for_task("caption", {"attention": False, "vocab_size": 500}) or "")
    att = report_of(spec_for_task("caption", {"attention": True, "vocab_size": 500}) or "")
    cell = 4 * (100 * 256 + 256 * 256 + 2 * 256)
    assert plain.total == 500 * 100 + cell + 256 * 500 + 500
    extra_in = 4 * 512 * 256
    additive = (512 * 100 + 100) + (256 * 100 + 100) + 101
    assert att.total == plain.total + extra_in + additive
    assert spec_for_task("caption", {"attention": "false"}) == \
        spec_for_task("caption", {"attention": False})


def test_builtin_segmentation_heads() -> None:
    dino = {"backbone": "dino-vits16", "data": "voc"}
    linear = report_of(spec_for_task("seg-heads", {"head": "linear", **dino}) or "")
    assert linear.total == 384 * 21 + 21 and linear.outputs == ["14x14x21"]
    assert report_of(spec_for_task("seg-heads", {}) or "").outputs == ["8x8x5"]
    assert report_of(spec_for_task("seg-heads", {"head": "conv", **dino}) or "").outputs == \
        ["28x28x21"]
    full = report_of(spec_for_task("seg-heads", {"head": "transformer", **dino}) or "").total
    shared = report_of(spec_for_task("seg-heads", {"head": "transformer-shared-qk", **dino})
                       or "").total
    assert full - shared == 384 * 384 + 384  # one projection fewer
    assert spec_for_task("seg-heads", {"head": "nonsense"}) is None


@pytest.mark.parametrize("head", ["linear", "conv", "transformer", "transformer-shared-qk"])
@pytest.mark.parametrize(("dim", "classes"), [(96, 5), (384, 21)])
def test_builtin_segmentation_heads_match_the_task(head: str, dim: int, classes: int) -> None:
    heads = pytest.importorskip("dltui.tasks.heads")
    module = heads.make_head(head, dim, classes)
    spec = spec_for_task("seg-heads", {"head": head, "dim": dim, "classes": classes})
    assert report_of(spec or "").total == sum(p.numel() for p in module.parameters())


def test_unknown_task_has_no_spec() -> None:
    assert spec_for_task("retrieval", {}) is None
    assert spec_for_task("no-such-task", {}) is None


# -- limits ------------------------------------------------------------------------------


def test_fifty_layers_parse_and_count_in_well_under_10_ms() -> None:
    spec = "64x64x3 | " + " | ".join(
        ["conv 16 3x3 padding 1", "batchnorm", "relu", "dropout 0.1", "resblock 16"] * 10)
    assert len(parse_spec(spec).layers) == 50
    best = min(_timed(spec) for _ in range(20))
    assert best < 0.010, f"{best * 1000:.1f} ms"


def _timed(spec: str) -> float:
    start = time.perf_counter()
    count_parameters(parse_spec(spec))
    return time.perf_counter() - start


def test_params_package_never_imports_torch_or_ui() -> None:
    code = ("import sys, dltui.params as p; "
            "p.format_report(p.count_parameters(p.parse_spec('3 | linear 2')), fmt='md'); "
            "print(sorted(m for m in ('torch', 'textual', 'rich', 'typer', 'numpy') "
            "if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
