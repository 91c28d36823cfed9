"""Built-in training tasks, each run as `python -m dltui.tasks.NAME key=value ...`.

These modules import torch; only training subprocesses ever import them.
"""

BUILTIN_TASKS = {
    "cnn": "dltui.tasks.cnn",
    "caption": "dltui.tasks.caption",
    "pretrain-vit": "dltui.tasks.pretrain_vit",
    "seg-heads": "dltui.tasks.seg_heads",
    "blip-caption": "dltui.tasks.blip_caption",
    "retrieval": "dltui.tasks.retrieval",
    "demo": "dltui.tasks.demo",
}
