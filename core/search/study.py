"""The Optuna study of one search experiment, kept in a journal file in the runs dir.

    runs/.search/<experiment>.journal   Optuna's JournalStorage (append-only, file-locked)

Optuna is imported here only; without it, a search says so in one line.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from dltui.errors import UserError
from dltui.search.spaces import ParamSpace, SearchSpec

SEARCH_DIR = ".search"  # hidden: the run store skips it as an experiment


def study_dir(runs_dir: Path) -> Path:
    return runs_dir / SEARCH_DIR


def journal_path(runs_dir: Path, experiment: str) -> Path:
    return study_dir(runs_dir) / f"{experiment}.journal"


def optuna_module() -> Any:
    """Optuna, or the one-line UserError saying how to install it."""
    try:
        import optuna
    except ImportError:
        raise UserError("a search needs Optuna, which is not installed",
                        fix="pip install 'dltui[search]' (or pip install optuna)") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def distributions(search: SearchSpec) -> dict[str, Any]:
    """Optuna distributions of the space, one per param."""
    optuna = optuna_module()
    return {key: _distribution(optuna, space) for key, space in search.space.items()}


def _distribution(optuna: Any, space: ParamSpace) -> Any:
    dist = optuna.distributions
    if space.kind == "choice":
        return dist.CategoricalDistribution(space.choices)
    if space.kind == "int":
        return dist.IntDistribution(int(space.low), int(space.high))
    return dist.FloatDistribution(float(space.low), float(space.high), log=space.log)


def _sampler(optuna: Any, search: SearchSpec) -> Any:
    samplers = optuna.samplers
    if search.method == "random":
        return samplers.RandomSampler(seed=search.seed)
    if search.method == "grid":
        grid = {key: space.grid_values() for key, space in search.space.items()}
        return samplers.GridSampler(grid, seed=search.seed)
    # constant_liar: parallel trials are spread out instead of all asking the same point.
    return samplers.TPESampler(seed=search.seed, n_startup_trials=search.startup_trials,
                               constant_liar=search.parallel > 1)


def _pruner(optuna: Any, search: SearchSpec) -> Any:
    pruners = optuna.pruners
    if search.pruner == "median":
        return pruners.MedianPruner(n_startup_trials=search.startup_trials,
                                    n_warmup_steps=search.warmup_steps)
    if search.pruner == "asha":
        return pruners.SuccessiveHalvingPruner()
    if search.pruner == "hyperband":
        return pruners.HyperbandPruner()
    return pruners.NopPruner()


def open_study(runs_dir: Path, experiment: str, search: SearchSpec, mode: str) -> Any:
    """The study of `experiment`, made on first use and loaded after (by any process)."""
    optuna = optuna_module()
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = journal_path(runs_dir, experiment)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # experimental-API notes are not the user's concern
        storage = JournalStorage(JournalFileBackend(str(path)))
        return optuna.create_study(
            storage=storage, study_name=experiment, load_if_exists=True,
            direction="maximize" if mode == "max" else "minimize",
            sampler=_sampler(optuna, search), pruner=_pruner(optuna, search))
