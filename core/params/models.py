"""Where `dltui params` finds an architecture: a typed spec, a [models.NAME] table, or a
built-in experiment's model with its params."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from dltui.errors import UserError
from dltui.params import ParamReport, count_parameters, load_models_toml, parse_spec
from dltui.params.builtin import spec_for_task


def architectures(*, spec: str | None, experiment: str | None, model: str | None,
                  models_file: Path | None, manifest_path: Path,
                  overrides: list[str]) -> Iterator[tuple[str, ParamReport]]:
    """(title, report) for each architecture asked for; a sweep that changes the model
    gives one per distinct model."""
    given = [x for x in (spec, experiment, model) if x]
    if len(given) != 1:
        raise UserError("say what to count: a spec, --experiment NAME or --model NAME",
                        fix="e.g. dltui params '28x28x3 | flatten | linear 100 | linear 10'")
    if spec:
        yield "", count_parameters(parse_spec(spec))
        return
    if model:
        source = models_file or manifest_path
        found = load_models_toml(source)
        if model not in found:
            raise UserError(f"no [models.{model}] in {source}",
                            fix=f"models there: {', '.join(found)}")
        yield model, count_parameters(found[model])
        return
    from dltui.manifest import load_manifest, parse_overrides

    exp = load_manifest(manifest_path).experiment(str(experiment))
    if not exp.task:
        raise UserError(f"experiment {exp.name!r} runs a command, not a built-in task",
                        fix="count its model with a spec: dltui params 'INPUT | LAYER | ...'")
    seen: set[str] = set()
    for params in exp.param_sets(parse_overrides(overrides)):
        text = spec_for_task(exp.task, params)
        if text is None:
            raise UserError(f"the {exp.task!r} task has no model spec to count",
                            fix="count its model with a spec: dltui params 'INPUT | ...'")
        if text in seen:
            continue
        seen.add(text)
        differing = {k: v for k, v in params.items() if k in exp.sweep}
        title = f"{exp.name} " + " ".join(f"{k}={json.dumps(v)}" for k, v in differing.items())
        yield title.strip(), count_parameters(parse_spec(text))
