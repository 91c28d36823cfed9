"""An untouched Lightning script: a tiny classifier on synthetic data, `self.log` with the
progress bar, validation every epoch; Lightning's CSVLogger keeps its own record
(lightning_logs/csv/version_0/metrics.csv). `tqdm` as the first argument: the TQDM bar
(Lightning picks the Rich bar when rich is installed)."""

import sys

import lightning as L
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset


class Classifier(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.cross_entropy(self.net(x), y)
        self.log("train_loss", loss, prog_bar=True)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        logits = self.net(x)
        self.log("val_loss", nn.functional.cross_entropy(logits, y), prog_bar=True)
        self.log("val_acc", (logits.argmax(1) == y).float().mean(), prog_bar=True)

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def loader(count: int, seed: int) -> DataLoader:
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, 4, generator=generator)
    return DataLoader(TensorDataset(x, (x[:, 0] > 0).long()), batch_size=8)


L.seed_everything(0)
callbacks = []
if len(sys.argv) > 1 and sys.argv[1] == "tqdm":
    from lightning.pytorch.callbacks import TQDMProgressBar

    callbacks.append(TQDMProgressBar())
trainer = L.Trainer(max_epochs=3, log_every_n_steps=2, accelerator="cpu", devices=1,
                    logger=CSVLogger("lightning_logs", name="csv"), callbacks=callbacks,
                    enable_checkpointing=False, enable_model_summary=False)
trainer.fit(Classifier(), loader(64, 1), loader(16, 2))
