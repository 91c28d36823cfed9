"""The manifest's `search` and `space` tables, checked into dataclasses.

    search = { method = "tpe", trials = 12, parallel = 1, pruner = "median" }
    space = { lr = { log_uniform = [1e-4, 0.3] }, batch_size = { choice = [8, 32, 64] } }

Nothing here imports Optuna: a manifest with a search validates without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

METHODS = ("tpe", "random", "grid")
PRUNERS = ("none", "median", "asha", "hyperband")
SPACE_KINDS = ("uniform", "log_uniform", "int", "choice")
SEARCH_KEYS = ("method", "trials", "parallel", "pruner", "seed", "startup_trials",
               "warmup_steps")


class SpaceProblem(ValueError):
    """One problem in a search or space table: what is wrong and how to fix it."""

    def __init__(self, problem: str, fix: str, key: str = "search") -> None:
        super().__init__(problem)
        self.problem, self.fix, self.key = problem, fix, key


@dataclass
class ParamSpace:
    """Where one param's values come from."""

    kind: str  # uniform | log_uniform | int | choice
    low: float = 0.0
    high: float = 0.0
    choices: list[Any] = field(default_factory=list)

    @property
    def log(self) -> bool:
        return self.kind == "log_uniform"

    def grid_values(self) -> list[Any]:
        if self.kind == "choice":
            return list(self.choices)
        return list(range(int(self.low), int(self.high) + 1))


@dataclass
class SearchSpec:
    method: str = "tpe"
    trials: int = 10
    parallel: int = 1
    pruner: str = "none"
    seed: int | None = None  # the sampler's seed: the same trials again
    startup_trials: int = 5  # random trials before TPE models, finished ones before pruning
    warmup_steps: int = 0  # steps of a trial never pruned
    space: dict[str, ParamSpace] = field(default_factory=dict)

    def grid_size(self) -> int:
        return math.prod(len(p.grid_values()) for p in self.space.values())


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def parse_space(raw: Any) -> dict[str, ParamSpace]:
    if not isinstance(raw, dict) or not raw:
        raise SpaceProblem("space must be a table of params",
                           "write space = { lr = { log_uniform = [1e-4, 0.3] } }", "space")
    return {key: _param_space(key, body) for key, body in raw.items()}


def _param_space(key: str, body: Any) -> ParamSpace:
    example = f"write space.{key} = {{ uniform = [0.0, 1.0] }}, or {{ choice = [8, 32] }}"
    if not isinstance(body, dict) or len(body) != 1:
        raise SpaceProblem(f"space.{key} must name one of {', '.join(SPACE_KINDS)} with its "
                           "bounds or choices", example, "space")
    kind, value = next(iter(body.items()))
    if kind not in SPACE_KINDS:
        raise SpaceProblem(f"space.{key}: unknown kind {kind!r}",
                           f"kinds are {', '.join(SPACE_KINDS)}", "space")
    if kind == "choice":
        if not isinstance(value, list) or not value or not all(
                isinstance(v, (str, int, float, bool)) for v in value):
            raise SpaceProblem(f"space.{key}: choice needs a non-empty list of values",
                               f"write space.{key} = {{ choice = [8, 32, 64] }}", "space")
        return ParamSpace(kind, choices=list(value))
    if not (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)):
        raise SpaceProblem(f"space.{key}: {kind} needs bounds [low, high]",
                           f"write space.{key} = {{ {kind} = [low, high] }}", "space")
    low, high = value
    if kind == "int" and not (_is_int(low) and _is_int(high)):
        raise SpaceProblem(f"space.{key}: int bounds must be integers, not {value!r}",
                           f"write space.{key} = {{ int = [1, 8] }}", "space")
    if not low < high:
        raise SpaceProblem(f"space.{key}: low {low!r} is not below high {high!r}",
                           f"write space.{key} = {{ {kind} = [{high!r}, {low!r}] }}"
                           if low > high else "give two different bounds", "space")
    if kind == "log_uniform" and low <= 0:
        raise SpaceProblem(f"space.{key}: log_uniform bounds must be > 0, not {low!r}",
                           f"write space.{key} = {{ log_uniform = [1e-5, {high!r}] }}, or "
                           "use uniform for a range that includes 0", "space")
    return ParamSpace(kind, low=low, high=high)


def parse_search(raw: Any, space_raw: Any, *, metric: str | None) -> SearchSpec:
    """The search of an experiment; SpaceProblem names the first thing wrong."""
    if not isinstance(raw, dict):
        raise SpaceProblem("search must be a table",
                           'write search = { method = "tpe", trials = 12 }')
    for key in raw:
        if key not in SEARCH_KEYS:
            raise SpaceProblem(f"search: unknown key {key!r}",
                               f"search keys are {', '.join(SEARCH_KEYS)}")
    if space_raw is None:
        raise SpaceProblem("search has no space to search",
                           "add space = { lr = { log_uniform = [1e-4, 0.3] } }")
    spec = SearchSpec(space=parse_space(space_raw))
    method = raw.get("method", "tpe")
    if method not in METHODS:
        raise SpaceProblem(f"search.method {method!r} is not known",
                           f"methods are {', '.join(METHODS)}")
    spec.method = method
    pruner = raw.get("pruner", "none")
    if pruner not in PRUNERS:
        raise SpaceProblem(f"search.pruner {pruner!r} is not known",
                           f"pruners are {', '.join(PRUNERS)}")
    spec.pruner = pruner
    if not metric:
        raise SpaceProblem("a search needs the metric it optimises" + (
            f" (and pruner {pruner!r} reads it)" if pruner != "none" else ""),
            'add metric = "val_acc" and mode = "max" (or "min") to the experiment')
    for key, minimum in (("trials", 1), ("parallel", 1), ("startup_trials", 0),
                         ("warmup_steps", 0)):
        if key in raw:
            if not _is_int(raw[key]) or raw[key] < minimum:
                raise SpaceProblem(f"search.{key} must be an integer >= {minimum}, not "
                                   f"{raw[key]!r}", f"write {key} = {max(minimum, 1)}")
            setattr(spec, key, raw[key])
    if "seed" in raw:
        if not _is_int(raw["seed"]):
            raise SpaceProblem(f"search.seed must be an integer, not {raw['seed']!r}",
                               "write seed = 0")
        spec.seed = raw["seed"]
    if method == "grid":
        continuous = [k for k, p in spec.space.items() if p.kind in ("uniform", "log_uniform")]
        if continuous:
            raise SpaceProblem(f"a grid search cannot enumerate space.{continuous[0]} "
                               f"({spec.space[continuous[0]].kind})",
                               "give it as { choice = [...] } or { int = [low, high] }, or use "
                               'method = "tpe"')
        spec.trials = min(raw.get("trials", spec.grid_size()), spec.grid_size())
    return spec
