"""The caption task: vocabulary, decoder, Karpathy-style files, and real smoke runs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from task_runs import metrics, only_run_dir, run_by_hand

from dltui.data.karpathy import load_karpathy
from dltui.errors import UserError
from dltui.tasks.caption_model import CaptionDecoder, Vocabulary, with_coordinates


def make_karpathy(root: Path, *, tif: bool = True) -> None:
    """A tiny dataset.json with images in imgs/, five references each, all three splits."""
    from PIL import Image

    (root / "imgs").mkdir(parents=True)
    images = []
    rng = np.random.default_rng(0)
    for i, split in enumerate(["train"] * 6 + ["val"] * 2 + ["test"] * 2):
        name = f"{i}.tif" if tif and i % 2 else f"{i}.png"
        pixels = rng.integers(0, 255, size=(40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(root / "imgs" / name)
        what = "river" if i % 2 else "airport"
        sentences = [{"tokens": ["there", "is", "a", what, "near", "trees"], "raw": "x"},
                     {"tokens": ["a", what, "beside", "some", "green", "trees"]},
                     {"tokens": ["many", "trees", "around", "a", what]},
                     {"raw": f"A {what.upper()} with trees."},
                     {"tokens": ["a", what]}]
        images.append({"filename": name, "imgid": i, "split": split, "sentences": sentences})
    (root / "dataset.json").write_text(json.dumps({"images": images, "dataset": "tiny"}))


def test_vocabulary_round_trip() -> None:
    vocab = Vocabulary(["a red circle", "a blue square", "a red square"])
    assert vocab.words[:4] == ["<pad>", "<start>", "<end>", "<unk>"]
    encoded = vocab.encode("a red triangle")
    assert encoded[0] == vocab.index["<start>"] and encoded[-1] == vocab.index["<end>"]
    assert encoded[3] == vocab.index["<unk>"]
    assert vocab.decode(vocab.encode("a blue square") + [0, 0]) == "a blue square"
    assert len(Vocabulary(["a b", "a c"], min_count=2)) == 5


def test_coordinates_are_appended() -> None:
    grid = torch.zeros(2, 4, 3, 5)
    features = with_coordinates(grid)
    assert features.shape == (2, 15, 6)
    assert features[0, 0, 4:].tolist() == [-1.0, -1.0]  # top left: x, y
    assert features[0, -1, 4:].tolist() == [1.0, 1.0]  # bottom right
    assert torch.allclose(features.mean(1)[:, 4:], torch.zeros(2, 2), atol=1e-6)


@pytest.mark.parametrize("attention", [False, True])
def test_decoder_shapes(attention: bool) -> None:
    decoder = CaptionDecoder(12, 6, attention=attention)
    features = torch.rand(3, 15, 6)
    captions = torch.randint(1, 12, (3, 7))
    assert decoder(features, captions).shape == (3, 6, 12)
    words, alpha = decoder.greedy(features, start=1, end=2, max_len=5)
    assert words.shape[0] == 3 and words.shape[1] <= 5
    if attention:
        assert alpha is not None and alpha.shape == (3, words.shape[1], 15)
        assert torch.allclose(alpha.sum(-1), torch.ones(3, words.shape[1]))
    else:
        assert alpha is None
    # The report's sizes: embedding 100, LSTMCell hidden 256, attention projections 100.
    assert decoder.embedding.embedding_dim == 100 and decoder.lstm.hidden_size == 256
    assert decoder.lstm.input_size == 100 + (6 if attention else 0)
    if decoder.attention is not None:
        assert decoder.attention.features.out_features == 100
        assert decoder.attention.score.in_features == 100


def test_karpathy_files(tmp_path: Path) -> None:
    make_karpathy(tmp_path)
    train = load_karpathy(tmp_path, "train", image_size=32)
    assert train.images.shape == (6, 32, 32, 3) and train.images.dtype == np.uint8
    assert train.filenames[:2] == ["0.png", "1.tif"]
    assert train.captions[0][0] == "there is a airport near trees"
    assert train.captions[1][3] == "a river with trees"  # from "raw" when there are no tokens
    assert all(len(refs) == 5 for refs in train.captions)
    assert len(load_karpathy(tmp_path, "val")) == 2 and len(load_karpathy(tmp_path, "test")) == 2
    assert len(load_karpathy(tmp_path, "train", count=3)) == 3


def test_karpathy_missing_names_what_to_put_where(tmp_path: Path) -> None:
    with pytest.raises(UserError) as caught:
        load_karpathy(tmp_path, "train")
    assert "dataset.json" in caught.value.message and str(tmp_path) in caught.value.message
    make_karpathy(tmp_path / "d")
    (tmp_path / "d" / "imgs" / "0.png").unlink()
    with pytest.raises(UserError) as caught:
        load_karpathy(tmp_path / "d", "train")
    assert "0.png" in caught.value.message and "imgs" in caught.value.message


def test_missing_caption_data_exits_2(tmp_path: Path) -> None:
    done = run_by_hand("caption", tmp_path / "runs", "data=ucm",
                       f"data_root={tmp_path / 'nowhere'}")
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "dataset.json" in done.stderr


@pytest.mark.slow
def test_caption_smoke_run_on_shapes(tmp_path: Path) -> None:
    done = run_by_hand("caption", tmp_path / "runs", "attention=true", "epochs=1",
                       "train_count=160", "val_count=40", "test_count=40", "encoder_epochs=1",
                       "examples=3")
    assert done.returncode == 0, done.stderr
    run_dir = only_run_dir(tmp_path / "runs", "caption")
    rows = metrics(run_dir)
    epoch = next(r for r in rows if "train_loss" in r)
    assert epoch["step"] == 1 and epoch["train_loss"] > 0
    assert 0 <= epoch["val_bleu4"] <= 1 and 0 <= epoch["val_bleu4_sentence_mean"] <= 1
    summary = json.loads((run_dir / "summary.json").read_text())
    assert {"test_bleu4", "test_bleu4_sentence_mean", "num_params"} <= set(summary)
    artifacts = run_dir / "artifacts"
    examples = (artifacts / "examples.md").read_text()
    assert examples.count("**generated:**") == 3 and "example_0.png" in examples
    assert len((artifacts / "test_captions.tsv").read_text().splitlines()) == 41
    for name in ("example_0.png", "example_2.png", "attention_0.png"):
        assert (artifacts / name).read_bytes().startswith(b"\x89PNG")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"images": 0, "tensors": 0})
    events.Reload()
    tags = events.Tags()
    assert {"train_loss", "val_bleu4", "test_bleu4", "test_bleu4_sentence_mean"} <= set(
        tags["scalars"])
    assert "example_0" in tags["images"] and "attention_0" in tags["images"]
    assert "examples/0" in tags["tensors"]
    text = events.Tensors("examples/0")[0].tensor_proto.string_val[0].decode()
    assert "**generated:**" in text


@pytest.mark.slow
def test_caption_smoke_run_on_karpathy_files(tmp_path: Path) -> None:
    make_karpathy(tmp_path / "sydney")
    done = run_by_hand("caption", tmp_path / "runs", "data=sydney",
                       f"data_root={tmp_path / 'sydney'}", "epochs=1", "image_size=64")
    assert done.returncode == 0, done.stderr
    assert "resnet18 is untrained" in done.stdout
    run_dir = only_run_dir(tmp_path / "runs", "caption")
    assert "6 train, 2 val, 2 test images" in done.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert 0 <= summary["test_bleu4"] <= 1
