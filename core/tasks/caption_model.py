"""The captioning model of the report: frozen CNN grid features, an LSTMCell decoder,
optional additive attention; and the word vocabulary.

Encoders give features as B x P x D (P grid positions). Two coordinate
channels (x and y of each grid cell, in [-1, 1]) are appended to every
encoder's features: a grid cell's content alone does not say where it is, and
"left of" / "above" need it. The mean over positions (the decoder's initial
state) averages the coordinates away, so only attention can use them.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from dltui.errors import UserError

PAD, START, END, UNKNOWN = "<pad>", "<start>", "<end>", "<unk>"


class Vocabulary:
    """Words to indices and back; index 0 is padding."""

    def __init__(self, captions: Sequence[str], min_count: int = 1) -> None:
        counts = Counter(word for caption in captions for word in caption.split())
        words = sorted(w for w, c in counts.items() if c >= min_count)
        self.words = [PAD, START, END, UNKNOWN, *words]
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def encode(self, caption: str) -> list[int]:
        """<start> words <end> as indices; unknown words as <unk>."""
        unknown = self.index[UNKNOWN]
        return [self.index[START], *(self.index.get(w, unknown) for w in caption.split()),
                self.index[END]]

    def decode(self, indices: Sequence[int]) -> str:
        """Words up to the first <end>, without <start> and padding."""
        out = []
        for i in indices:
            word = self.words[int(i)]
            if word == END:
                break
            if word not in (PAD, START):
                out.append(word)
        return " ".join(out)


def with_coordinates(grid: torch.Tensor) -> torch.Tensor:
    """B x D x H x W conv features as B x (H*W) x (D + 2), with each cell's x and y appended."""
    b, _, h, w = grid.shape
    ys = torch.linspace(-1, 1, h, device=grid.device).view(1, 1, h, 1).expand(b, 1, h, w)
    xs = torch.linspace(-1, 1, w, device=grid.device).view(1, 1, 1, w).expand(b, 1, h, w)
    return torch.cat([grid, xs, ys], 1).flatten(2).transpose(1, 2)


class ShapesEncoder(nn.Module):
    """A small CNN for 28x28 scenes: a 7 x 7 grid of 64 features (66 with coordinates)."""

    def __init__(self, num_classes: int = 10, num_colours: int = 6) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(64, 64, 3, padding=1), nn.ReLU(),
        )
        # Used only to pretrain the body: the scene's label, and which colours it holds.
        self.head = nn.Linear(64, num_classes)
        self.colour_head = nn.Linear(64, num_colours)

    def grid(self, images: torch.Tensor) -> torch.Tensor:
        return self.body(images)

    def classify(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Label scores and colour-presence scores, from the grid's maximum over positions."""
        pooled = self.body(images).amax(dim=(2, 3))
        return self.head(pooled), self.colour_head(pooled)


def torchvision_encoder(name: str, weights: str) -> nn.Module:
    """A torchvision ResNet up to its last conv block, from a local state dict or untrained."""
    import torchvision

    if not hasattr(torchvision.models, name) or not name.startswith("resnet"):
        raise UserError(f"unknown backbone {name!r}", fix="use backbone = \"resnet18\", "
                        "\"resnet34\" or \"resnet50\"")
    model = getattr(torchvision.models, name)(weights=None)
    if weights:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise UserError(f"no weights file at {path}",
                            fix=f"put a torchvision {name} state dict (.pth) there, or leave "
                                "weights empty for an untrained backbone")
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state.get("state_dict", state) if isinstance(state, dict)
                              else state)
    return nn.Sequential(*list(model.children())[:-2])


class AdditiveAttention(nn.Module):
    """score = Linear(100, 1)(ReLU(W_f f + W_h h)); softmax over grid positions."""

    def __init__(self, feature_dim: int, hidden_dim: int, attention_dim: int = 100) -> None:
        super().__init__()
        self.features = nn.Linear(feature_dim, attention_dim)
        self.hidden = nn.Linear(hidden_dim, attention_dim)
        self.score = nn.Linear(attention_dim, 1)

    def forward(self, features: torch.Tensor, projected: torch.Tensor,
                h: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The context (B x D) and the weights (B x P); `projected` is `self.features(features)`."""
        scores = self.score(F.relu(projected + self.hidden(h).unsqueeze(1))).squeeze(2)
        alpha = scores.softmax(dim=1)
        return torch.bmm(alpha.unsqueeze(1), features).squeeze(1), alpha


class CaptionDecoder(nn.Module):
    """An LSTMCell over word embeddings (and the attention context); state from the mean feature."""

    def __init__(self, vocab_size: int, feature_dim: int, *, embed_dim: int = 100,
                 hidden_dim: int = 256, attention_dim: int = 100, dropout: float = 0.5,
                 attention: bool = False) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embed_dim)
        self.init_h = nn.Linear(feature_dim, hidden_dim)
        self.init_c = nn.Linear(feature_dim, hidden_dim)
        self.attention = (AdditiveAttention(feature_dim, hidden_dim, attention_dim)
                          if attention else None)
        self.lstm = nn.LSTMCell(embed_dim + (feature_dim if attention else 0), hidden_dim)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_dim, vocab_size)

    def _start(self, features: torch.Tensor) -> tuple[tuple[torch.Tensor, torch.Tensor],
                                                      torch.Tensor | None]:
        mean = features.mean(dim=1)
        projected = self.attention.features(features) if self.attention is not None else None
        return (self.init_h(mean), self.init_c(mean)), projected

    def _step(self, embedded: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor],
              features: torch.Tensor, projected: torch.Tensor | None
              ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor], torch.Tensor | None]:
        alpha = None
        if self.attention is not None and projected is not None:
            context, alpha = self.attention(features, projected, state[0])
            embedded = torch.cat([embedded, context], dim=1)
        h, c = self.lstm(embedded, state)
        return self.out(self.dropout(h)), (h, c), alpha

    def forward(self, features: torch.Tensor, captions: torch.Tensor) -> torch.Tensor:
        """Teacher forcing: logits B x (T-1) x V of captions[:, 1:] given captions[:, :-1]."""
        state, projected = self._start(features)
        embedded = self.embedding(captions)
        logits = []
        for t in range(captions.shape[1] - 1):
            scores, state, _ = self._step(embedded[:, t], state, features, projected)
            logits.append(scores)
        return torch.stack(logits, dim=1)

    @torch.inference_mode()
    def greedy(self, features: torch.Tensor, start: int, end: int,
               max_len: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Word indices B x L (the most likely word at each step), and the attention weights
        B x L x P when the decoder attends."""
        state, projected = self._start(features)
        word = torch.full((features.shape[0],), start, dtype=torch.long, device=features.device)
        words, alphas = [], []
        done = torch.zeros_like(word, dtype=torch.bool)
        for _ in range(max_len):
            scores, state, alpha = self._step(self.embedding(word), state, features, projected)
            word = scores.argmax(dim=1)
            words.append(word)
            if alpha is not None:
                alphas.append(alpha)
            done |= word == end
            if bool(done.all()):
                break
        return torch.stack(words, 1), (torch.stack(alphas, 1) if alphas else None)
