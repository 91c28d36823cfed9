"""Framework integrations: a script's Trainer, Keras fit or SummaryWriter reports to dltui.

Under `dltui run` they attach by themselves (the run wrapper's bootstrap calls
`autolog()` in the script's interpreter; `autolog = false` on an experiment turns
that off). In a script of your own:

    from dltui.integrations import autolog
    autolog()  # before or after importing the framework

Nothing here imports a framework: each integration attaches when the script
imports its framework, and costs nothing otherwise.
"""

from __future__ import annotations

from dltui.integrations import hooks

__all__ = ["autolog"]


def autolog() -> None:
    """Watch for the frameworks dltui knows, in this process; idempotent."""
    from dltui.integrations import hf_trainer, keras_fit, lightning_trainer, summary_writer

    hooks.watch("transformers.trainer", hf_trainer.FRAMEWORK, hf_trainer.patch)
    for framework, module in lightning_trainer.MODULES.items():
        hooks.watch(module, framework, lightning_trainer.patcher(framework))
    hooks.watch("keras", keras_fit.FRAMEWORK, keras_fit.patch)
    for framework, module in summary_writer.MODULES.items():
        hooks.watch(module, f"{framework} SummaryWriter", summary_writer.patcher(framework))
