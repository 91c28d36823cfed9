"""Metrics from the output of scripts that know nothing of dltui."""

from __future__ import annotations

import pytest

from dltui.tracking.stdout_metrics import parse_line


@pytest.mark.parametrize(("line", "step", "total", "values"), [
    ("INFO: epoch 3 loss=0.21 acc: 0.9", 3, None, {"loss": 0.21, "acc": 0.9}),
    ("loss: 0.5", None, None, {"loss": 0.5}),
    ("Epoch 2/15 - train_loss=1.5e-3, val_acc=91.5%", 2, 15,
     {"train_loss": 1.5e-3, "val_acc": 0.915}),
    ("\x1b[32mINFO\x1b[0m:root:step: 120 lr=3e-4", 120, None, {"lr": 3e-4}),
    ("2024-01-01 12:00:00,123 - INFO - val/bleu4 = 23.4", None, None, {"val/bleu4": 23.4}),
    ("Epoch 1:  40%|████      | 4/10 [00:01<00:02, 3.2it/s, loss=0.731]\r"
     "Epoch 1:  50%|█████     | 5/10 [00:01<00:01, 3.3it/s, loss=0.702]", 1, None,
     {"loss": 0.702}),
    ("[12:30:01] loss=nan grad_norm=inf", None, None, None),
    ("nothing to see here: yes", None, None, {}),
    ("time 12:00:01", None, None, {}),
    ("model.layer-1/weight_norm: -0.25", None, None, {"model.layer-1/weight_norm": -0.25}),
])
def test_parse_line(line: str, step: int | None, total: int | None,
                    values: dict[str, float] | None) -> None:
    parsed = parse_line(line)
    assert parsed.step == step
    assert parsed.total == total
    if values is None:  # nan and inf are kept as such
        assert set(parsed.values) == {"loss", "grad_norm"}
        assert parsed.values["loss"] != parsed.values["loss"]
        assert parsed.values["grad_norm"] == float("inf")
    else:
        assert parsed.values == pytest.approx(values)
