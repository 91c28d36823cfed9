"""An untouched Hugging Face Trainer script: a tiny BERT from its config on synthetic
data; writes the Trainer's own record (state.log_history) to log_history.json."""

import json
import sys

import torch
from transformers import BertConfig, BertForSequenceClassification, Trainer, TrainingArguments

out = sys.argv[1] if len(sys.argv) > 1 else "log_history.json"
torch.manual_seed(0)
config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                    intermediate_size=32, max_position_embeddings=16, num_labels=2)
model = BertForSequenceClassification(config)


class Pairs(torch.utils.data.Dataset):
    def __init__(self, count: int) -> None:
        self.ids = torch.randint(0, 64, (count, 8))
        self.labels = (self.ids[:, 0] > 31).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


args = TrainingArguments(output_dir="hf_out", per_device_train_batch_size=8,
                         per_device_eval_batch_size=16, num_train_epochs=2, learning_rate=1e-3,
                         logging_steps=4, eval_strategy="epoch", save_strategy="no",
                         report_to="none", use_cpu=True, log_level="info", seed=0)
trainer = Trainer(model=model, args=args, train_dataset=Pairs(128), eval_dataset=Pairs(32))
trainer.train()
with open(out, "w") as dump:
    json.dump(trainer.state.log_history, dump)
