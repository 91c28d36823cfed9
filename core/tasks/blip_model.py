"""A BLIP captioner: the pretrained one from local files, or a small one built offline.

Both are transformers' `BlipForConditionalGeneration`. The small one has a
two-layer vision and text transformer and a word-level tokenizer over the
training captions' words (built with `tokenizers`, BERT's special tokens:
[CLS] text [SEP], [DEC] starts decoding, [SEP] ends it, [PAD] pads), so it
needs no download at all; it is trained in the run that uses it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from dltui.tasks.vit import to_input, weights_missing

BLIP_BASE = "Salesforce/blip-image-captioning-base"
SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[DEC]"]
PAD, UNK, CLS, SEP, DEC = range(len(SPECIAL_TOKENS))


@dataclass
class Captioner:
    """A model with what it takes to feed it: its tokenizer and image normalisation."""

    model: Any  # BlipForConditionalGeneration
    tokenizer: Any
    image_size: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    name: str

    def pixels(self, images: np.ndarray, device: torch.device) -> torch.Tensor:
        return to_input(images, self.mean, self.std, self.image_size).to(device)

    def prompt_ids(self, prompt: str, n: int, device: torch.device) -> torch.Tensor:
        """[CLS] prompt [SEP] for n images; BLIP's generate swaps [CLS] for [DEC], drops [SEP]."""
        ids = self.tokenizer([prompt] * n, return_tensors="pt").input_ids
        return ids.to(device)

    def decode(self, ids: torch.Tensor) -> list[str]:
        texts = self.tokenizer.batch_decode(ids, skip_special_tokens=True)
        return [" ".join(t.lower().split()) for t in texts]


def quiet_transformers() -> None:
    """No progress bars from transformers: they would clutter the run's log."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()


def word_tokenizer(words: list[str]) -> Any:
    """A word-level fast tokenizer with BERT's special tokens over `words`."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate([*SPECIAL_TOKENS, *sorted(set(words))])}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", CLS), ("[SEP]", SEP)])
    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="[PAD]", unk_token="[UNK]",
                                   cls_token="[CLS]", sep_token="[SEP]", bos_token="[DEC]")


def small_blip(words: list[str], *, image_size: int = 32, patch_size: int = 4,
               hidden: int = 96, layers: int = 2, heads: int = 4,
               max_positions: int = 48) -> Captioner:
    """A freshly initialised small BLIP and its word-level tokenizer."""
    from transformers import BlipConfig, BlipForConditionalGeneration

    tokenizer = word_tokenizer(words)
    config = BlipConfig(
        vision_config={"hidden_size": hidden, "intermediate_size": 2 * hidden,
                       "num_hidden_layers": layers, "num_attention_heads": heads,
                       "image_size": image_size, "patch_size": patch_size,
                       "initializer_range": 0.02},
        text_config={"vocab_size": len(tokenizer), "hidden_size": hidden,
                     "intermediate_size": 2 * hidden, "num_hidden_layers": layers,
                     "num_attention_heads": heads, "max_position_embeddings": max_positions,
                     "bos_token_id": DEC, "eos_token_id": SEP, "sep_token_id": SEP,
                     "pad_token_id": PAD},
    )
    model = BlipForConditionalGeneration(config)
    return Captioner(model, tokenizer, image_size, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5),
                     "small-blip")


def pretrained_blip(path: str = "") -> Captioner:
    """BLIP from `path` (a save_pretrained directory) or the local Hugging Face cache."""
    from transformers import AutoImageProcessor, AutoTokenizer, BlipForConditionalGeneration

    quiet_transformers()
    source = path or BLIP_BASE
    try:
        model = BlipForConditionalGeneration.from_pretrained(source, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    except (OSError, ValueError) as err:
        raise weights_missing("BLIP", BLIP_BASE, path, err,
                              "pass model_path=/dir/from/save_pretrained; model=small trains "
                              "a small BLIP") from None
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.5, 0.5, 0.5)
    try:
        processor = AutoImageProcessor.from_pretrained(source, local_files_only=True)
        mean, std = tuple(processor.image_mean), tuple(processor.image_std)
    except (OSError, ValueError):
        pass  # a saved small BLIP without a processor uses its training normalisation
    size = int(getattr(model.config.vision_config, "image_size", 384))
    return Captioner(model, tokenizer, size, mean, std, str(source))


def pretrained_available(path: str = "") -> bool:
    """Whether `pretrained_blip(path)` would find weights, without loading them."""
    if path:
        return (Path(path) / "config.json").exists()
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return False
    found = try_to_load_from_cache(BLIP_BASE, "config.json")
    return isinstance(found, str)


def save_captioner(captioner: Captioner, directory: Path) -> None:
    """save_pretrained the model and tokenizer, plus the image normalisation."""
    from transformers import BlipImageProcessor

    quiet_transformers()
    directory.mkdir(parents=True, exist_ok=True)
    captioner.model.save_pretrained(directory)
    captioner.tokenizer.save_pretrained(directory)
    BlipImageProcessor(size={"height": captioner.image_size, "width": captioner.image_size},
                       image_mean=list(captioner.mean), image_std=list(captioner.std)
                       ).save_pretrained(directory)
    (directory / "dltui.json").write_text(json.dumps({"name": captioner.name}) + "\n",
                                          encoding="utf-8")


def strip_prompt(text: str, prompt: str) -> str:
    """`text` without a leading `prompt` (compared word by word, case-insensitively)."""
    words, head = text.lower().split(), prompt.lower().split()
    if head and words[:len(head)] == head:
        words = words[len(head):]
    return " ".join(words)
