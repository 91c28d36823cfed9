"""Keras 3: each epoch's logs (training and validation) at the global batch step that
ends the epoch, and progress in batches.

Attached by patching `keras.Model.fit` when keras is imported: the callback is added
to the call's `callbacks`.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dltui.integrations import hooks, sink

FRAMEWORK = "keras"
SUPPORTED = ((3, 0), (4,))
_CALLBACKS_AT = 5  # fit(x, y, batch_size, epochs, verbose, callbacks, ...)


def callback_class() -> type:
    """The Keras callback that records a fit's epochs (for `callbacks=[...]` by hand)."""
    import keras

    class DltuiCallback(keras.callbacks.Callback):
        """Records every epoch's logs at the step (batches so far) that ends it."""

        def on_train_begin(self, logs: Any = None) -> None:
            hooks.guarded(FRAMEWORK, self._begin)

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            hooks.guarded(FRAMEWORK, self._epoch_end, epoch, logs or {})

        def _steps(self) -> int:
            steps = (self.params or {}).get("steps")
            return int(steps) if isinstance(steps, int) and steps > 0 else 1

        def _begin(self) -> None:
            epochs = (self.params or {}).get("epochs")
            if isinstance(epochs, int) and epochs > 0:
                sink.current_run().progress(0, epochs * self._steps())

        def _epoch_end(self, epoch: int, logs: dict[str, Any]) -> None:
            values = sink.numbers(logs)
            if values:
                sink.current_run().log(values, step=(epoch + 1) * self._steps())

    return DltuiCallback


def _with_callback(kwargs: dict[str, Any]) -> dict[str, Any]:
    given = kwargs.get("callbacks")
    callbacks = list(given) if given is not None else []
    if not any(type(cb).__name__ == "DltuiCallback" for cb in callbacks):
        callbacks.append(callback_class()())
        # Attached: the wrapper reads no more metrics from the output.
        sink.current_run()
        sink.framework_loops.add(FRAMEWORK)
    return {**kwargs, "callbacks": callbacks}


def patch(module: ModuleType) -> None:
    """Patch `keras.Model.fit` (keras just imported)."""
    if not hooks.known_version(FRAMEWORK, "keras", *SUPPORTED):
        return

    def wrap(original: Any) -> Any:
        def fit(self: Any, *args: Any, **kwargs: Any) -> Any:
            if len(args) < _CALLBACKS_AT:  # else the script gave `callbacks` positionally
                kwargs = hooks.guarded(FRAMEWORK, _with_callback, kwargs) or kwargs
            return original(self, *args, **kwargs)

        return fit

    hooks.patch_method(module.Model, "fit", wrap)
