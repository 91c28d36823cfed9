"""TensorBoard's `SummaryWriter` (torch.utils.tensorboard and tensorboardX): what a
script sends with `add_scalar` and `add_scalars` also reaches the run's metrics, at
the same step (step 0 when the script gives none, as TensorBoard records it).

`add_scalars("loss", {"train": a, "val": b})` gives `loss/train` and `loss/val`.
When a Trainer or Keras' fit is watched, the writer it logs through records
nothing again.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dltui.integrations import hooks, sink

MODULES = {"torch": "torch.utils.tensorboard.writer", "tensorboardX": "tensorboardX.writer"}
SUPPORTED = {"torch": ((1, 8), (3,)), "tensorboardX": ((2, 0), (3,))}


def _record(values: dict[str, Any], step: Any) -> None:
    if sink.framework_loops:
        return
    found = sink.numbers(values)
    if found:
        at = 0 if step is None else int(step)
        sink.current_run().log(found, step=at)


def patcher(framework: str) -> Any:
    label = f"{framework} SummaryWriter"

    def patch(module: ModuleType) -> None:
        """Patch `SummaryWriter.add_scalar(s)` of `framework` (the module just imported)."""
        if not hooks.known_version(label, framework, *SUPPORTED[framework],
                                   values="its SummaryWriter values"):
            return

        def wrap_scalar(original: Any) -> Any:
            def add_scalar(self: Any, tag: Any, scalar_value: Any, global_step: Any = None,
                           *args: Any, **kwargs: Any) -> Any:
                result = original(self, tag, scalar_value, global_step, *args, **kwargs)
                hooks.guarded(label, _record, {str(tag): scalar_value}, global_step)
                return result

            return add_scalar

        def wrap_scalars(original: Any) -> Any:
            def add_scalars(self: Any, main_tag: Any, tag_scalar_dict: Any,
                            global_step: Any = None, *args: Any, **kwargs: Any) -> Any:
                result = original(self, main_tag, tag_scalar_dict, global_step, *args, **kwargs)
                hooks.guarded(label, _record, {f"{main_tag}/{k}": v
                                               for k, v in dict(tag_scalar_dict).items()},
                              global_step)
                return result

            return add_scalars

        hooks.patch_method(module.SummaryWriter, "add_scalar", wrap_scalar)
        hooks.patch_method(module.SummaryWriter, "add_scalars", wrap_scalars)

    return patch
