"""Checking the fields of a run's JSON files against the types their dataclasses declare.

run.json and status.json are read by every command and the dashboard; a file some
other program or a bad disk changed must become one `damaged` run with the reason,
never a TypeError in a reader far away.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import Any, TypeVar

# What a field may hold, by a short name used in the dataclasses' FIELD_TYPES tables.
Check = Callable[[Any], bool]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _list_of(check: Check) -> Check:
    return lambda value: isinstance(value, list) and all(map(check, value))


def _dict_of(check: Check) -> Check:
    return lambda value: isinstance(value, dict) and all(
        isinstance(k, str) and check(v) for k, v in value.items())


def _optional(check: Check) -> Check:
    return lambda value: value is None or check(value)


def _is_str(value: Any) -> bool:
    return isinstance(value, str)


def _anything(value: Any) -> bool:
    return True


KINDS: dict[str, tuple[Check, str]] = {
    "str": (_is_str, "text"),
    "str?": (_optional(_is_str), "text or null"),
    "int": (_is_int, "a whole number"),
    "int?": (_optional(_is_int), "a whole number or null"),
    "number": (_is_number, "a number"),
    "number?": (_optional(_is_number), "a number or null"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "bool?": (_optional(lambda v: isinstance(v, bool)), "true, false or null"),
    "list[str]": (_list_of(_is_str), "a list of texts"),
    "list[str]?": (_optional(_list_of(_is_str)), "a list of texts or null"),
    "list[int]?": (_optional(_list_of(_is_int)), "a list of whole numbers or null"),
    "dict": (_dict_of(_anything), "an object"),
    "dict[str]": (_dict_of(_is_str), "an object of texts"),
    "dict[dict]": (_dict_of(lambda v: isinstance(v, dict)), "an object of objects"),
}


# The exact types that pass a kind at once (a run's files hold little else); anything
# else, subclasses and containers included, is judged by the kind's check.
_PLAIN_TYPES: dict[str, frozenset[type]] = {
    "str": frozenset({str}), "str?": frozenset({str, type(None)}),
    "int": frozenset({int}), "int?": frozenset({int, type(None)}),
    "number": frozenset({int, float}), "number?": frozenset({int, float, type(None)}),
    "bool": frozenset({bool}), "bool?": frozenset({bool, type(None)}),
}
_NO_TYPES: frozenset[type] = frozenset()


def field_problem(data: Mapping[str, Any], kinds: Mapping[str, str]) -> str | None:
    """The first field of `data` whose value is not of its declared kind, in words."""
    for name, value in data.items():
        kind = kinds.get(name)
        if kind is None:
            continue  # a key of another version: kept, not judged
        if type(value) in _PLAIN_TYPES.get(kind, _NO_TYPES):
            continue
        check, words = KINDS[kind]
        if not check(value):
            shown = json.dumps(value, default=str)
            if len(shown) > 40:
                shown = shown[:37] + "..."
            return f"{name} is {shown}, not {words}"
    return None


def read_object(path: Path | str) -> tuple[dict[str, Any] | None, str | None]:
    """A JSON object from `path`: (data, None), (None, None) when the file is missing, or
    (None, what is wrong) when it cannot be read as one."""
    try:
        with open(path, "rb") as src:
            raw = src.read()
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    except OSError as err:
        return None, f"cannot be read ({err.strerror or err})"
    if not raw.strip():
        return None, "is empty"
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None, "is not text (binary bytes in it)"
    except ValueError as err:
        return None, f"is not valid JSON ({err.__class__.__name__}: {str(err)[:60]})"
    if not isinstance(data, dict):
        return None, f"holds {type(data).__name__}, not a JSON object"
    return data, None


_DEFAULTS: dict[type, tuple[dict[str, Any], dict[str, Any], dict[str, Any]]] = {}


def dataclass_defaults(cls: type) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A dataclass's plain default values, the factories of its mutable ones, and one
    value of each factory to compare with (never handed out)."""
    found = _DEFAULTS.get(cls)
    if found is None:
        fields = {f.name: f for f in dataclass_fields(cls)}  # ClassVars left out
        factories = {name: f.default_factory for name, f in fields.items()
                     if f.default_factory is not MISSING}
        found = _DEFAULTS[cls] = (
            {name: f.default for name, f in fields.items() if f.default is not MISSING},
            factories, {name: factory() for name, factory in factories.items()})
    return found


def non_default_fields(record: Any, names: Iterable[str]) -> dict[str, Any]:
    """The fields of a dataclass among `names` whose values are not their defaults."""
    defaults, _, empty = dataclass_defaults(type(record))
    values = record.__dict__
    kept = {}
    for name in names:
        value = values[name]
        if name in defaults:
            if value == defaults[name]:
                continue
        elif name in empty and value == empty[name]:
            continue
        kept[name] = value
    return kept


Record = TypeVar("Record")


def blank_record(cls: type[Record]) -> Record:
    """An instance of the dataclass `cls` at its defaults, made without `__init__`, which
    costs twice as much: an index of 10,000 runs makes 10,000 of each record."""
    record = object.__new__(cls)
    defaults, factories, _ = dataclass_defaults(cls)
    values = record.__dict__
    values.update(defaults)
    for name, factory in factories.items():
        values[name] = factory()
    return record
