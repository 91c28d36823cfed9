"""BLIP captioning: BLEU, prompts, the offline tokenizer and model, and real runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sacrebleu
import torch
from task_runs import metrics, only_run_dir, run_by_hand, run_dirs

from dltui.tasks.blip_caption import Config, caption, corpus_bleu4, training_batch
from dltui.tasks.blip_model import CLS, DEC, PAD, SEP, small_blip, strip_prompt, word_tokenizer

TINY = ["model=small", "train_count=48", "val_count=8", "test_count=8", "epochs=2",
        "batch_size=16", "max_new_tokens=8"]


def test_corpus_bleu4_lowercased_over_all_references() -> None:
    refs = [["a red circle left of a blue square", "a small red circle beside a square"],
            ["a green cross above a big yellow triangle", "the triangle is below the cross"]]
    assert corpus_bleu4(["A Red Circle left of a BLUE square",
                         "a green cross above a big yellow triangle"], refs) == pytest.approx(1.0)
    hyps = ["a red circle beside a blue square", "the cross is above a triangle"]
    expected = sacrebleu.corpus_bleu(hyps, [[r[0] for r in refs], [r[1] for r in refs]],
                                     lowercase=True).score / 100
    assert corpus_bleu4(hyps, refs) == pytest.approx(expected)
    assert 0 < corpus_bleu4(hyps, refs) < 1
    # Only one reference per image: a second one can only raise the score.
    assert corpus_bleu4(hyps, [[r[0]] for r in refs]) <= corpus_bleu4(hyps, refs)


def test_strip_prompt() -> None:
    assert strip_prompt("a picture of a red circle", "a picture of") == "a red circle"
    assert strip_prompt("A Picture  of a red circle", "a picture of") == "a red circle"
    assert strip_prompt("a red circle", "a picture of") == "a red circle"
    assert strip_prompt("a red circle", "") == "a red circle"


def test_word_tokenizer_has_berts_layout() -> None:
    tok = word_tokenizer(["a", "red", "circle"])
    ids = tok("a red circle").input_ids
    assert ids[0] == CLS and ids[-1] == SEP and len(ids) == 5
    assert tok("a blue circle").input_ids[2] == tok.unk_token_id
    assert tok.decode([DEC, *ids[1:4], SEP, PAD], skip_special_tokens=True) == "a red circle"
    assert tok.pad_token_id == PAD


def test_training_batch_scores_only_the_caption() -> None:
    cap = small_blip(["a", "picture", "of", "red", "circle", "big", "square"], hidden=32,
                     heads=2, layers=1)
    ids, mask, labels = training_batch(cap, ["a red circle", "a big red square"], "a picture of",
                                       torch.device("cpu"))
    assert ids[:, 0].tolist() == [DEC, DEC]
    # [DEC] a picture of | a red circle [SEP] [PAD] ; [DEC] a picture of | a big red square [SEP]
    assert labels[0].tolist()[:4] == [-100] * 4 and labels[0].tolist()[-1] == -100
    assert labels[1].tolist()[4:] == ids[1].tolist()[4:]
    assert mask[0].tolist() == [1] * 8 + [0]
    loss = cap.model(pixel_values=torch.zeros(2, 3, 32, 32), input_ids=ids,
                     attention_mask=mask, labels=labels).loss
    assert torch.isfinite(loss)


@pytest.mark.parametrize("decoding", ["greedy", "topk"])
def test_generation_keeps_the_prompt_first(decoding: str) -> None:
    torch.manual_seed(0)
    cap = small_blip(["a", "picture", "of", "red", "circle"], hidden=32, heads=2, layers=1)
    cfg = Config(decoding=decoding, temperature=0.7, prompt="a picture of", max_new_tokens=4)
    images = np.zeros((3, 32, 32, 3), np.uint8)
    captions, raw = caption(cap, images, cfg, torch.device("cpu"))
    assert len(captions) == len(raw) == 3
    assert all(r.startswith("a picture of") for r in raw)
    assert captions == [strip_prompt(r, "a picture of") for r in raw]


def test_greedy_is_deterministic_and_sampling_reproducible() -> None:
    torch.manual_seed(0)
    cap = small_blip(["a", "red", "blue", "circle", "square"], hidden=32, heads=2, layers=1)
    images = np.random.default_rng(0).integers(0, 255, (4, 32, 32, 3), dtype=np.uint8)
    for decoding in ("greedy", "topk"):
        cfg = Config(decoding=decoding, prompt="", max_new_tokens=6)
        assert caption(cap, images, cfg, torch.device("cpu")) == caption(
            cap, images, cfg, torch.device("cpu"))


# --- real runs --------------------------------------------------------------------------





@pytest.mark.slow
def test_small_blip_trains_then_a_saved_model_captions(tmp_path: Path) -> None:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    runs = tmp_path / "runs"
    done = run_by_hand("blip_caption", runs, *TINY, "prompt=a picture of")
    assert done.returncode == 0, done.stderr
    trained = only_run_dir(runs, "blip-caption")
    rows = metrics(trained)
    assert [r["step"] for r in rows if "val_bleu4" in r] == [1, 2]
    final = [r for r in rows if "bleu4" in r]
    assert len(final) == 1 and final[0]["bleu4"] == final[0]["test_bleu4"]
    summary = json.loads((trained / "summary.json").read_text())
    assert summary["model"] == "small-blip" and summary["num_params"] > 0
    assert 0 <= summary["bleu4"] <= 1
    preds = [json.loads(line) for line in
             (trained / "artifacts" / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 8 and len(preds[0]["references"]) == 5
    for p in preds:
        assert p["raw"].startswith("a picture of")
        assert p["prediction"] == strip_prompt(p["raw"], "a picture of")
    assert summary["bleu4"] == pytest.approx(
        corpus_bleu4([p["prediction"] for p in preds], [p["references"] for p in preds]))
    acc = EventAccumulator(str(trained / "tb"))
    acc.Reload()
    assert {"val_bleu4", "train_loss", "bleu4"} <= set(acc.Tags()["scalars"])

    # The saved model through the pretrained path: top-k sampling, no prompt, no training.
    model_dir = trained / "artifacts" / "model"
    done = run_by_hand("blip_caption", runs, "model=auto", f"model_path={model_dir}",
                       "decoding=topk", "temperature=0.7", "prompt=", "test_count=8",
                       "max_new_tokens=8")
    assert done.returncode == 0, done.stderr
    (second,) = [d for d in run_dirs(runs, "blip-caption") if d != trained]
    assert json.loads((second / "summary.json").read_text())["model"] == str(model_dir)
    assert not [r for r in metrics(second) if "val_bleu4" in r]


def test_missing_pretrained_blip_says_what_to_do(tmp_path: Path) -> None:
    done = run_by_hand("blip_caption", tmp_path / "runs", "model=pretrained",
                       f"model_path={tmp_path / 'no'}", "test_count=2")
    assert done.returncode == 2
    assert "BLIP weights are not in" in done.stderr and "model_path" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_karpathy_dataset_json(tmp_path: Path) -> None:
    from PIL import Image

    root = tmp_path / "ucm"
    (root / "imgs").mkdir(parents=True)
    entries = []
    for i in range(12):
        colour = (200, 30, 30) if i % 2 else (30, 30, 200)
        Image.new("RGB", (40, 40), colour).save(root / "imgs" / f"{i}.png")
        word = "red" if i % 2 else "blue"
        entries.append({"filename": f"{i}.png", "split": ["train", "val", "test"][i % 3],
                        "sentences": [{"tokens": ["a", word, "field"]},
                                      {"raw": f"A {word.upper()} square."}]})
    (root / "dataset.json").write_text(json.dumps({"images": entries}))
    done = run_by_hand("blip_caption", tmp_path / "runs", "model=small", "data=karpathy",
                       f"data_root={root}", "epochs=1", "batch_size=4", "max_new_tokens=4",
                       "prompt=")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "blip-caption")
    preds = (run_dir / "artifacts" / "predictions.jsonl").read_text().splitlines()
    assert len(preds) == 4
    assert json.loads(preds[0])["references"][1] == "a blue square"


@pytest.mark.slow
def test_captioning_uses_the_blip_a_needed_run_trained(tmp_path: Path) -> None:
    """`model_path = "blip-train"` names a needed experiment: dltui runs it first, and the
    captioning run loads the model it saved, as the bundled manifest does."""
    tiny = ", ".join(f"{k} = {v}" for k, v in (a.split("=") for a in TINY[1:]))
    (tmp_path / "experiments.toml").write_text(f"""
[experiments.blip-train]
task = "blip-caption"
params = {{ model = "small", {tiny} }}

[experiments.blip-caption]
task = "blip-caption"
needs = ["blip-train"]
params = {{ model = "pretrained", model_path = "blip-train", test_count = 8, max_new_tokens = 8 }}
sweep = {{ decoding = ["greedy", "topk"] }}
metric = "bleu4"
mode = "max"
""")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}
    env.pop("DLTUI_RUN_DIR", None)
    done = subprocess.run([sys.executable, "-m", "dltui.tui.program", "run", "blip-caption"],
                          cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    (trained,) = run_dirs(tmp_path / "runs", "blip-train")
    captioned = run_dirs(tmp_path / "runs", "blip-caption")
    assert len(captioned) == 2
    for run_dir in captioned:
        summary = json.loads((run_dir / "summary.json").read_text())
        assert summary["model"] == str(trained / "artifacts" / "model")
        assert not [r for r in metrics(run_dir) if "val_bleu4" in r]  # no training here
