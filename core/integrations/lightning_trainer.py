"""Lightning: what `self.log` sends to the loggers, at the step the loggers get it
(validation values at the step of the epoch they close), and progress from the
trainer's estimated steps.

Attached by patching the trainer's logger connector (`log_metrics`), so it sees the
values whatever loggers the script has, none included, and changes no path the
script's checkpoints or loggers use.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

from dltui.integrations import hooks, sink

SUPPORTED = ((2, 0), (3,))
CONNECTOR = "trainer.connectors.logger_connector.logger_connector"
MODULES = {"lightning": f"lightning.pytorch.{CONNECTOR}",
           "pytorch_lightning": f"pytorch_lightning.{CONNECTOR}"}


def _record(framework: str, module: ModuleType, connector: Any, metrics: Any,
            step: int | None) -> None:
    if not metrics:
        return
    trainer = connector.trainer
    values = dict(module.convert_tensors_to_scalars(metrics))
    # The step as the connector works it out for its loggers.
    if step is None:
        step_metric = values.pop("step", None)
        if step_metric is not None:
            step = int(step_metric)
        else:
            values.setdefault("epoch", trainer.current_epoch)
            step = trainer.fit_loop.epoch_loop._batches_that_stepped
    numbers = sink.numbers(values)
    run = sink.current_run()
    if numbers:
        run.log(numbers, step=step)
    if trainer.state.fn == "fit":
        total = sink.finite_total(trainer.estimated_stepping_batches)
        if total is not None and _totals.get(id(trainer)) != total:
            _totals[id(trainer)] = total
            run.progress(trainer.global_step, total)


_totals: dict[int, int] = {}  # the total steps last said, by trainer


def patcher(framework: str) -> Any:
    def patch(module: ModuleType) -> None:
        """Patch `_LoggerConnector.log_metrics` of `framework` (the module just imported)."""
        if not hooks.known_version(framework, framework, *SUPPORTED):
            return
        def wrap(original: Any) -> Any:
            def log_metrics(self: Any, metrics: Any, step: int | None = None) -> None:
                hooks.guarded(framework, _record, framework, module, self, metrics, step)
                original(self, metrics, step)

            return log_metrics

        hooks.patch_method(module._LoggerConnector, "log_metrics", wrap)
        # Attached: the wrapper reads no more metrics from the output.
        sink.current_run()
        sink.framework_loops.add(framework)

    return patch
