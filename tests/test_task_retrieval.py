"""Retrieval: recall@k and median rank by hand, InfoNCE, and real scratch and fine-tune runs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from task_runs import metrics, only_run_dir, run_by_hand, run_dirs, run_launched, tiny_backbone

from dltui.tasks.rank_metrics import (
    image_to_text_ranks,
    recall_at,
    retrieval_scores,
    text_to_image_ranks,
)
from dltui.tasks.retrieval import BagOfNgrams, info_nce

SMALL = {"epochs": 2, "train_count": 96, "val_count": 40, "batch_size": 32}

# Three images with two captions each: texts 0, 1 show image 0; 2, 3 image 1; 4, 5 image 2.
OWNER = np.array([0, 0, 1, 1, 2, 2])
SIM = np.array([
    [0.9, 0.1, 0.8, 0.2, 0.3, 0.0],  # own best 0.9, nothing higher: rank 1
    [0.7, 0.6, 0.5, 0.4, 0.9, 0.1],  # own best 0.5; 0.7, 0.6, 0.9 higher: rank 4
    [0.2, 0.3, 0.1, 0.6, 0.5, 0.4],  # own best 0.5; 0.6 higher: rank 2
])


def test_image_to_text_ranks_by_hand() -> None:
    ranks = image_to_text_ranks(SIM, OWNER)
    assert ranks.tolist() == [1, 4, 2]
    assert recall_at(ranks, 1) == pytest.approx(1 / 3)
    assert recall_at(ranks, 2) == pytest.approx(2 / 3)
    assert recall_at(ranks, 4) == 1.0


def test_text_to_image_ranks_by_hand() -> None:
    # Columns: t0 [.9 .7 .2] own .9 -> 1; t1 [.1 .6 .3] own .1 -> 3; t2 [.8 .5 .1] own .5 -> 2;
    # t3 [.2 .4 .6] own .4 -> 2; t4 [.3 .9 .5] own .5 -> 2; t5 [0 .1 .4] own .4 -> 1.
    assert text_to_image_ranks(SIM, OWNER).tolist() == [1, 3, 2, 2, 2, 1]


def test_retrieval_scores_by_hand() -> None:
    scores = retrieval_scores(SIM, OWNER)
    assert scores == pytest.approx({
        "i_r1": 1 / 3, "i_r5": 1.0, "i_r10": 1.0, "i_medr": 2.0,
        "t_r1": 2 / 6, "t_r5": 1.0, "t_r10": 1.0, "t_medr": 2.0,
    })


def test_perfect_retrieval_and_ties() -> None:
    eye = np.eye(4)
    assert retrieval_scores(eye, np.arange(4))["i_r1"] == 1.0
    # A tie with a wrong candidate does not push the right one down.
    assert image_to_text_ranks(np.ones((2, 2)), np.arange(2)).tolist() == [1, 1]
    # Even-length rank lists have a median between two ranks.
    assert retrieval_scores(np.array([[1.0, 0.7], [0.0, 0.5]]), np.arange(2))["t_medr"] == 1.5


def test_info_nce_is_symmetric_and_falls_with_temperature_on_aligned_pairs() -> None:
    torch.manual_seed(0)
    img = torch.nn.functional.normalize(torch.randn(8, 16), dim=1)
    txt = torch.nn.functional.normalize(img + 0.1 * torch.randn(8, 16), dim=1)
    assert info_nce(img, txt, 0.1) == pytest.approx(info_nce(txt, img, 0.1).item())
    assert info_nce(img, txt, 0.1) < info_nce(img, txt, 0.5)
    # Uniform logits: loss log(batch) in both directions.
    same = torch.nn.functional.normalize(torch.ones(4, 3), dim=1)
    assert info_nce(same, same, 1.0).item() == pytest.approx(math.log(4))


def test_bag_of_ngrams_text_encoder() -> None:
    enc = BagOfNgrams.fit(["a red circle", "a blue square"])
    assert "red circle" in enc.vocabulary and "a" in enc.vocabulary
    out = enc.encode(["a red circle", "a green circle"])
    assert torch.allclose(out.norm(dim=1), torch.ones(2))
    assert out[0, enc.index["red circle"]] > 0
    assert out[1].count_nonzero() == 2  # "a" and "circle": the unseen words are dropped


# --- real runs --------------------------------------------------------------------------









@pytest.fixture(scope="module")
def backbone_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tiny_backbone(tmp_path_factory.mktemp("retrieval") / "runs")


KEYS = {"i_r1", "i_r5", "i_r10", "i_medr", "t_r1", "t_r5", "t_r10", "t_medr"}


@pytest.mark.slow
def test_scratch_then_finetune_as_launched(backbone_run: Path, tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    done, scratch = run_launched("retrieval", "retrieval", runs, {**SMALL, "temperature": 0.2},
                                 {"pretrain-vit": str(backbone_run)})
    assert done.returncode == 0, done.stderr
    rows = [r for r in metrics(scratch) if "i_r1" in r]
    assert [r["step"] for r in rows] == [1, 2]
    assert set(rows[-1]) >= KEYS and "train_loss" in rows[-1]
    assert all(0 <= r[k] <= 1 for r in rows for k in KEYS if "medr" not in k)
    assert all(1 <= r["i_medr"] <= 5 * 40 and 1 <= r["t_medr"] <= 40 for r in rows)
    assert (scratch / "artifacts" / "projections.pt").exists()
    assert "**image 0**" in (scratch / "artifacts" / "examples.md").read_text()
    acc = EventAccumulator(str(scratch / "tb"))
    acc.Reload()
    assert set(acc.Tags()["scalars"]) >= KEYS
    assert len(acc.Scalars("i_r1")) == 2

    # Fine-tune with a zero learning rate: the loaded projections alone give the same scores,
    # which proves they were loaded. The backbone comes from the saved head's record.
    done, tuned = run_launched("retrieval", "retrieval-finetune", runs,
                               {**SMALL, "temperature": 0.2, "init_from": "retrieval", "lr": 0.0,
                                "weight_decay": 0.0}, {"retrieval": str(scratch)})
    assert done.returncode == 0, done.stderr
    tuned_rows = [r for r in metrics(tuned) if "i_r1" in r]
    for key in KEYS:
        assert tuned_rows[-1][key] == pytest.approx(rows[-1][key])
    summary = json.loads((tuned / "summary.json").read_text())
    assert summary["init_from"] == str(scratch)
    assert summary["backbone_run"] == str(backbone_run)


@pytest.mark.slow
def test_finetune_by_hand_from_a_run_directory(backbone_run: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    done = run_by_hand("retrieval", runs, "epochs=1", "train_count=64", "val_count=20",
                       f"backbone_run={backbone_run}")
    assert done.returncode == 0, done.stderr
    scratch = only_run_dir(runs, "retrieval")
    done = run_by_hand("retrieval", runs, "epochs=1", "train_count=64", "val_count=20",
                       f"init_from={scratch}", "temperature=0.5")
    assert done.returncode == 0, done.stderr
    assert len(run_dirs(runs, "retrieval")) == 2


def test_init_from_nothing_is_a_clear_error(tmp_path: Path) -> None:
    done = run_by_hand("retrieval", tmp_path / "runs", "init_from=retrieval")
    assert done.returncode == 2
    assert "init_from='retrieval'" in done.stderr and "Traceback" not in done.stderr
