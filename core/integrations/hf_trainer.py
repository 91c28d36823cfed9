"""The Hugging Face `Trainer`: every `on_log` (train and eval) at its global step, the
run's total steps for progress, the epoch as a value.

Attached by patching `Trainer.__init__` when `transformers.trainer` is imported: the
callback goes first in the Trainer's list, so it sees each log before a printing
callback rounds it.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dltui.integrations import hooks, sink

FRAMEWORK = "transformers"
SUPPORTED = ((4, 40), (6,))


def callback_class() -> type:
    """The `TrainerCallback` that records a Trainer's logs (for `callbacks=[...]` by hand)."""
    from transformers import TrainerCallback

    class DltuiCallback(TrainerCallback):
        """Records every log of the Trainer at its global step."""

        def __init__(self) -> None:
            self._total: int | None = None

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            hooks.guarded(FRAMEWORK, self._progress, state)

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None,
                   **kwargs: Any) -> None:
            hooks.guarded(FRAMEWORK, self._log, state, logs or {})

        def _progress(self, state: Any) -> None:
            total = sink.finite_total(state.max_steps)
            if total is not None and total != self._total:
                self._total = total
                sink.current_run().progress(state.global_step, total)

        def _log(self, state: Any, logs: dict[str, Any]) -> None:
            values = sink.numbers(logs)
            if values:
                sink.current_run().log(values, step=state.global_step)
            self._progress(state)

    return DltuiCallback


def _attach(trainer: Any) -> None:
    handler = trainer.callback_handler
    if any(type(cb).__name__ == "DltuiCallback" for cb in handler.callbacks):
        return  # added by hand
    handler.callbacks.insert(0, callback_class()())
    # Attached: the wrapper reads no more metrics from the output.
    sink.current_run()
    sink.framework_loops.add(FRAMEWORK)


def patch(module: ModuleType) -> None:
    """Patch `transformers.trainer.Trainer` (the module just imported)."""
    if not hooks.known_version(FRAMEWORK, "transformers", *SUPPORTED):
        return

    def wrap(original: Any) -> Any:
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            hooks.guarded(FRAMEWORK, _attach, self)

        return __init__

    hooks.patch_method(module.Trainer, "__init__", wrap)
