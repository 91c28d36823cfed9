"""A built-in task's settings and their defaults, read from its source without importing it.

The tasks import torch, which the launcher never does; yet a typo in `--set epoch=1`
or a `--set lr=abc` must end at launch, not in a queued run minutes later. Each task
declares its settings as a dataclass (`class Config:` with typed defaults); its
fields are read here from the module's syntax tree.
"""

from __future__ import annotations

import ast
import difflib
import importlib.util
from functools import cache
from typing import Any

from dltui.errors import UserError
from dltui.tasks import BUILTIN_TASKS
from dltui.tasks.config import typed_setting

# Params that reach the launcher, not the task: torchrun's process count, Slurm's options.
LAUNCHER_PARAMS = frozenset({"nproc"})
_NO_DEFAULT = object()


@cache
def _module_tree(module: str) -> ast.Module | None:
    found = importlib.util.find_spec(module)
    if found is None or found.origin is None:
        return None
    with open(found.origin, encoding="utf-8") as src:
        return ast.parse(src.read(), filename=found.origin)


def _dataclass_fields(module: str, name: str) -> dict[str, Any] | None:
    """The fields (name -> default) of dataclass `name` of `module`, bases included."""
    tree = _module_tree(module)
    if tree is None:
        return None
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name == name:
            fields: dict[str, Any] = {}
            for base in node.bases:
                if isinstance(base, ast.Name):
                    inherited = _imported_class(tree, module, base.id)
                    if inherited:
                        fields.update(inherited)
            for item in node.body:
                if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                    try:
                        default = (ast.literal_eval(item.value) if item.value is not None
                                   else _NO_DEFAULT)
                    except ValueError:
                        default = _NO_DEFAULT  # a factory or an expression: type unknown
                    fields[item.target.id] = default
            return fields
    return None


def _imported_class(tree: ast.Module, module: str, name: str) -> dict[str, Any] | None:
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and any(
                alias.name == name for alias in node.names):
            return _dataclass_fields(node.module, name)
    return _dataclass_fields(module, name)


@cache
def task_settings(task: str) -> dict[str, Any] | None:
    """{setting: default} of a built-in task; None when its settings cannot be read (the
    task then checks them itself when it starts)."""
    module = BUILTIN_TASKS.get(task)
    if module is None:
        return None
    tree = _module_tree(module)
    if tree is None:
        return None
    classes = [node.name for node in tree.body if isinstance(node, ast.ClassDef)
               and node.name.endswith("Config")]
    for node in tree.body:  # a task's own config class, else one it imports
        if isinstance(node, ast.ImportFrom):
            classes += [a.name for a in node.names if a.name.endswith("Config")
                        and a.name not in classes]
    for name in classes:
        fields = _imported_class(tree, module, name)
        if fields:
            return fields
    return None


def check_task_params(task: str, params: dict[str, Any], *, source: str) -> None:
    """UserError for a param the task has no setting for, or a value of the wrong type.

    `source` says where the params came from ("--set", "[experiments.x] params")."""
    settings = task_settings(task)
    if settings is None:
        return
    for key, value in params.items():
        if key in LAUNCHER_PARAMS or key.startswith("slurm."):
            continue
        if key not in settings:
            close = difflib.get_close_matches(key, settings, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            raise UserError(f"{source}: task {task!r} has no setting {key!r}",
                            fix=f"{hint}its settings are {', '.join(sorted(settings))}")
        default = settings[key]
        if default is not _NO_DEFAULT and default is not None:
            try:
                typed_setting(key, value, default)
            except UserError as err:
                raise UserError(f"{source}: {err.problem}", fix=err.fix) from None
