"""The segmentation heads and the backbone they sit on: formulas, attention, real smoke runs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from task_runs import metrics, only_run_dir, run_by_hand, run_dirs, run_launched, tiny_backbone

from dltui.tasks.heads import HEADS, count_parameters, head_parameter_formula, make_head
from dltui.tasks.vit import Attention, SharedQKAttention


def tb_scalars(run_dir: Path) -> dict[str, list[float]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(run_dir / "tb"))
    acc.Reload()
    return {tag: [e.value for e in acc.Scalars(tag)] for tag in acc.Tags()["scalars"]}


@pytest.fixture(scope="module")
def backbone_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_backbone(tmp_path_factory.mktemp("seg") / "runs")


# --- heads: formulas and attention ------------------------------------------------------

@pytest.mark.parametrize("dim,classes", [(96, 5), (384, 21), (32, 3)])
@pytest.mark.parametrize("name", HEADS)
def test_parameter_count_formula_matches_the_module(name: str, dim: int, classes: int) -> None:
    expected, formula = head_parameter_formula(name, dim, classes, hidden=64)
    assert count_parameters(make_head(name, dim, classes, hidden=64)) == expected
    assert formula


def test_parameter_counts_by_hand() -> None:
    c, k, h = 96, 5, 64
    assert head_parameter_formula("linear", c, k)[0] == 96 * 5 + 5 == 485
    assert head_parameter_formula("conv", c, k, hidden=h)[0] == (
        9 * 96 * 64 + 64 + 9 * 64 * 64 + 64 + 64 * 5 + 5) == 92_613
    # One block: 4C^2 + 4C attention, 8C^2 + 5C MLP, 3 LayerNorms 6C, 2C^2 projections,
    # K*C class embeddings, 2K mask norm: 14C^2 + 15C + KC + 2K.
    assert head_parameter_formula("transformer", c, k)[0] == (
        14 * c * c + 15 * c + k * c + 2 * k) == 130_954
    # Shared Q/K saves one C x C weight and its C biases.
    assert head_parameter_formula("transformer-shared-qk", c, k)[0] == 130_954 - c * c - c


def test_shared_qk_attention_equals_standard_attention_when_wq_equals_wk() -> None:
    torch.manual_seed(0)
    dim, heads = 16, 4
    standard = Attention(dim, heads)
    shared = SharedQKAttention(dim, heads)
    w_q, w_k, w_v = standard.qkv.weight.detach().clone().chunk(3)
    b_q, b_k, b_v = standard.qkv.bias.detach().clone().chunk(3)
    with torch.no_grad():
        standard.qkv.weight.copy_(torch.cat([w_q, w_q, w_v]))  # W_K := W_Q
        standard.qkv.bias.copy_(torch.cat([b_q, b_q, b_v]))
        shared.qkv.weight.copy_(torch.cat([w_q, w_v]))
        shared.qkv.bias.copy_(torch.cat([b_q, b_v]))
        shared.proj.load_state_dict(standard.proj.state_dict())
    x = torch.randn(3, 7, dim)
    assert torch.allclose(standard(x), shared(x), atol=1e-6)
    with torch.no_grad():  # and a different W_K makes them differ
        standard.qkv.weight[dim:2 * dim] = w_k
    assert not torch.allclose(standard(x), shared(x), atol=1e-4)


def test_shared_qk_attention_map_is_symmetric_before_softmax() -> None:
    torch.manual_seed(1)
    attn = SharedQKAttention(8, 1)
    x = torch.randn(1, 5, 8)
    q, k, _ = attn.split(x)
    scores = q @ k.transpose(-1, -2)
    assert torch.allclose(scores, scores.transpose(-1, -2))


@pytest.mark.parametrize("name", HEADS)
def test_heads_give_class_maps(name: str) -> None:
    head = make_head(name, 32, 5, hidden=16)
    out = head(torch.randn(2, 32, 4, 4))
    assert out.shape[:2] == (2, 5)
    assert out.shape[2] in (4, 8)  # the conv head upsamples once


# --- real runs --------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("head", ["linear", "transformer-shared-qk"])
def test_seg_heads_run_as_launched(backbone_run: Path, tmp_path: Path, head: str) -> None:
    runs = tmp_path / "runs"
    params = {"head": head, "epochs": 2, "train_count": 64, "val_count": 32}
    done, run_dir = run_launched("seg_heads", "seg-heads", runs, params,
                                 {"pretrain-vit": str(backbone_run)})
    assert done.returncode == 0, done.stderr

    rows = metrics(run_dir)
    per_epoch = [r for r in rows if "val_miou" in r]
    assert [r["step"] for r in per_epoch] == [1, 2]
    assert all(0 <= float(r["val_miou"]) <= 1 and float(r["train_loss"]) > 0  # type: ignore[arg-type]
               for r in per_epoch)
    ious = {k for r in rows for k in r if k.startswith("iou/")}
    assert ious == {"iou/background", "iou/circle", "iou/square", "iou/triangle", "iou/cross"}

    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["num_params"] == head_parameter_formula(head, 32, 5)[0]
    assert summary["val_miou"] == pytest.approx(per_epoch[-1]["val_miou"])
    table = json.loads((run_dir / "artifacts" / "per_class_iou.json").read_text())
    assert set(table["classes"]) == {"background", "circle", "square", "triangle", "cross"}
    assert "| background |" in (run_dir / "artifacts" / "per_class_iou.md").read_text()
    assert (run_dir / "artifacts" / "predictions.png").read_bytes()[:4] == b"\x89PNG"
    assert (run_dir / "artifacts" / "head.pt").exists()

    scalars = tb_scalars(run_dir)
    assert len(scalars["val_miou"]) == 2 and len(scalars["train_loss"]) == 2
    assert "iou/background" in scalars


@pytest.mark.slow
def test_seg_heads_by_hand_with_backbone_run(backbone_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_by_hand("seg_heads", runs, "head=conv", "epochs=1", "train_count=32",
                       "val_count=16", f"backbone_run={backbone_run}")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(runs, "seg-heads")
    status = json.loads((run_dir / "status.json").read_text())
    assert status["state"] == "succeeded"
    spec = json.loads((run_dir / "run.json").read_text())
    assert spec["params"]["head"] == "conv"  # the whole config, for compare tables
    assert json.loads((run_dir / "summary.json").read_text())["num_params"] == (
        head_parameter_formula("conv", 32, 5)[0])


@pytest.mark.slow
def test_dino_backbone_from_a_local_directory(tmp_path: Path) -> None:
    """The transformers path, with a tiny randomly initialised ViT saved where DINO would be."""
    from transformers import ViTConfig, ViTModel

    saved = tmp_path / "vit"
    ViTModel(ViTConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                       intermediate_size=64, image_size=32, patch_size=8),
             add_pooling_layer=False).save_pretrained(saved)
    done = run_by_hand("seg_heads", tmp_path / "runs", "backbone=dino-vits16",
                       f"backbone_path={saved}", "image_size=32", "head=transformer",
                       "epochs=1", "train_count=32", "val_count=16")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "seg-heads")
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["backbone"] == str(saved)
    assert summary["num_params"] == head_parameter_formula("transformer", 32, 5)[0]


def test_missing_weights_and_runs_say_what_to_do(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_by_hand("seg_heads", runs, "backbone=dino-vits16",
                       f"backbone_path={tmp_path / 'nowhere'}")
    assert done.returncode == 2
    assert "DINO ViT-S/16" in done.stderr and "backbone_path" in done.stderr
    assert "Traceback" not in done.stderr
    done = run_by_hand("seg_heads", runs)
    assert done.returncode == 2
    assert "needs a finished 'pretrain-vit' run" in done.stderr and "Traceback" not in done.stderr
    states = {json.loads((d / "status.json").read_text())["state"]
              for d in run_dirs(runs, "seg-heads")}
    assert states == {"failed"}


@pytest.mark.slow
def test_voc_not_on_disk(tmp_path: Path, backbone_run: Path) -> None:
    done = run_by_hand("seg_heads", tmp_path / "runs", "data=voc",
                       f"data_root={tmp_path / 'voc'}", f"backbone_run={backbone_run}")
    assert done.returncode == 2
    assert "PASCAL VOC 2012" in done.stderr and "VOCdevkit" in done.stderr
    assert "Traceback" not in done.stderr
