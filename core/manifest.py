"""experiments.toml: loading, validation with messages that say where and how to fix.

    [settings]                  # optional: runs_dir, max_parallel, runs_per_gpu, notify
    [defaults]                  # any experiment key, applied to every experiment
    [experiments.cnn-lr]
    task = "cnn"                # a built-in task, or command = ["python", "train.py", "--lr={lr}"]
    params = { epochs = 15 }
    sweep = { lr = [0.1, 0.01, 0.001] }    # a grid: each list multiplies the runs
    metric = "val_acc"
    mode = "max"
    needs = ["pretrain"]        # experiments whose finished run this one consumes
    seeds = 3                   # each configuration with seed = 0, 1, 2 (mean ± std)
    search = { method = "tpe", trials = 12, pruner = "median" }    # see dltui.search
    space = { lr = { log_uniform = [1e-4, 0.3] } }
"""

from __future__ import annotations

import itertools
import math
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltui.backends import backend_names
from dltui.errors import ManifestError, UserError
from dltui.literals import parse_value
from dltui.search.spaces import SearchSpec, SpaceProblem, parse_search
from dltui.store.names import check_experiment_name
from dltui.tasks import BUILTIN_TASKS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

TOP_KEYS = ("settings", "defaults", "experiments", "backends", "models")
SETTING_KEYS = ("runs_dir", "max_parallel", "runs_per_gpu", "stop_grace", "notify",
                "snapshot_limit_mb", "snapshot_file_limit_mb")
EXPERIMENT_KEYS = ("task", "command", "params", "sweep", "group", "tags", "description",
                   "metric", "mode", "needs", "gpus", "labels", "env", "backend", "snapshot",
                   "autolog", "seeds", "search", "space")
BACKENDS = backend_names()
_HEADER_KEY = re.compile(r'"((?:[^"\\]|\\.)*)"|\'([^\']*)\'|([A-Za-z0-9_-]+)')
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.\-]*)\}")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Runs one launch of one experiment may make: a grid past it is a typo, not a plan.
MAX_RUNS_PER_LAUNCH = 10_000


@dataclass
class Settings:
    runs_dir: str = "runs"
    max_parallel: int = 1
    runs_per_gpu: int = 1
    stop_grace: float = 10.0
    notify: list[str] = field(default_factory=list)  # apprise URLs told when runs end
    snapshot_limit_mb: int = 50  # a run's code snapshot larger than this is refused
    snapshot_file_limit_mb: int = 1  # files larger than this are left out of it


@dataclass
class Experiment:
    name: str
    task: str | None = None
    command: list[str] = field(default_factory=list)
    params: dict[str, Any] = field(default_factory=dict)
    sweep: dict[str, list[Any]] = field(default_factory=dict)
    group: str | None = None
    tags: list[str] = field(default_factory=list)
    description: str = ""
    metric: str | None = None
    mode: str = "min"
    needs: list[str] = field(default_factory=list)
    gpus: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    backend: str = "local"
    snapshot: bool = True  # copy the code at queue time and run the copy
    autolog: bool = True  # framework integrations attach under `dltui run`
    seeds: int | None = None
    search: SearchSpec | None = None
    line: int | None = None

    def run_count(self, overrides: Mapping[str, list[Any]] | None = None, *,
                  seeds: int | None = None) -> int:
        """How many runs a launch makes, counted without making the grid."""
        grid: dict[str, list[Any]] = {**self.sweep, **(overrides or {})}
        count = seeds or self.seeds
        if count and "seed" not in (overrides or {}):
            grid["seed"] = list(range(count))
        return math.prod(len(values) for values in grid.values())

    def check_run_count(self, overrides: Mapping[str, list[Any]] | None = None, *,
                        seeds: int | None = None) -> None:
        """UserError when a launch would make more than MAX_RUNS_PER_LAUNCH runs."""
        total = self.run_count(overrides, seeds=seeds)
        if total > MAX_RUNS_PER_LAUNCH:
            raise UserError(f"experiment {self.name!r} would make {total:,} runs, more than "
                            f"{MAX_RUNS_PER_LAUNCH:,} in one launch",
                            fix="sweep fewer values (each list multiplies the runs), or split "
                            "it into experiments")

    def param_sets(self, overrides: Mapping[str, list[Any]] | None = None, *,
                   seeds: int | None = None) -> list[dict[str, Any]]:
        """One params dict per run: params, then the sweep's grid, then overrides; with
        seeds (given here or in the manifest), each of those once per seed 0..n-1.

        UserError when that is more than MAX_RUNS_PER_LAUNCH runs."""
        self.check_run_count(overrides, seeds=seeds)
        grid: dict[str, list[Any]] = dict(self.sweep)
        for key, values in (overrides or {}).items():
            grid[key] = list(values)
        count = seeds or self.seeds
        if count and "seed" not in (overrides or {}):  # a run's own seed, given, wins
            grid["seed"] = list(range(count))
        base = {k: v for k, v in self.params.items() if k not in grid}
        keys = list(grid)
        return [{**base, **dict(zip(keys, combo, strict=True))}
                for combo in itertools.product(*(grid[k] for k in keys))]

    def argv(self, params: Mapping[str, Any]) -> list[str]:
        """The command of one run; `{name}` placeholders filled, never through a shell."""
        if self.task:
            return [sys.executable, "-m", BUILTIN_TASKS[self.task]]
        return [_fill(arg, params) for arg in self.command]


def _fill(arg: str, params: Mapping[str, Any]) -> str:
    def value(match: re.Match[str]) -> str:
        key = match.group(1)
        if key.startswith("needs."):
            return match.group(0)  # filled by the run wrapper when the needed run is known
        found = params[key]
        if isinstance(found, bool):
            return "true" if found else "false"
        return str(found)

    return _PLACEHOLDER.sub(value, arg)


@dataclass
class Manifest:
    path: Path
    settings: Settings
    experiments: dict[str, Experiment]
    backends: dict[str, dict[str, Any]] = field(default_factory=dict)
    models: dict[str, Any] = field(default_factory=dict)

    @property
    def runs_dir(self) -> Path:
        return (self.path.parent / Path(self.settings.runs_dir).expanduser()).resolve()

    @property
    def groups(self) -> dict[str, list[str]]:
        groups: dict[str, list[str]] = {}
        for exp in self.experiments.values():
            if exp.group:
                groups.setdefault(exp.group, []).append(exp.name)
        return groups

    def experiment(self, name: str) -> Experiment:
        found = self.experiments.get(name)
        if found is None:
            raise UserError(f"no experiment named {name!r} in {self.path}",
                            fix=_did_you_mean(name, self.experiments)
                            or "`dltui list` shows the experiments")
        return found

    def closure(self, names: Iterable[str]) -> list[str]:
        """`names` and everything they need, needed ones first."""
        ordered: list[str] = []

        def visit(name: str) -> None:
            if name in ordered:
                return
            for need in self.experiments[name].needs:
                visit(need)
            ordered.append(name)

        for name in names:
            visit(name)
        return ordered


def _did_you_mean(word: str, choices: Iterable[str]) -> str:
    import difflib  # only a mistake pays for it

    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f"did you mean {close[0]!r}?" if close else ""


class _Locator:
    """Line numbers of sections and keys, which tomllib does not report."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def section(self, *parts: str) -> int | None:
        """The line of `[a.b]` for parts (a, b); failing that, of the first `[a.b.…]`."""
        prefixed = None
        for number, line in enumerate(self.lines, 1):
            stripped = line.strip()
            if not stripped.startswith("["):
                continue
            header = _HEADER_KEY.findall(stripped.strip("[]").split("#")[0])
            keys = [(double or single or bare).strip() for double, single, bare in header]
            if keys == list(parts):
                return number
            if prefixed is None and keys[:len(parts)] == list(parts):
                prefixed = number
        return prefixed

    def key(self, key: str, *section: str) -> int | None:
        start = self.section(*section) or 0
        pattern = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start + 1, len(self.lines) + 1):
            line = self.lines[number - 1]
            if number > start + 1 and line.strip().startswith("["):
                break
            if pattern.match(line):
                return number
        return start or None


class _Checker:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.where_line = _Locator(text)

    def fail(self, problem: str, fix: str, line: int | None) -> ManifestError:
        where = f"{self.path}:{line}" if line else str(self.path)
        return ManifestError(problem, fix=fix, where=where)

    def expect(self, ok: bool, problem: str, fix: str, line: int | None) -> None:
        if not ok:
            raise self.fail(problem, fix, line)


def load_manifest(path: Path | str) -> Manifest:
    """Read and validate a manifest; any problem raises ManifestError naming file, line, fix."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"no manifest at {path}",
                        fix="run from the folder holding experiments.toml, or pass "
                        "--manifest PATH") from None
    except (IsADirectoryError, UnicodeDecodeError) as err:
        raise UserError(f"cannot read the manifest {path}: {err}",
                        fix="point --manifest at a UTF-8 TOML file") from None
    return parse_manifest(text, path=path)


def parse_manifest(text: str, *, path: Path) -> Manifest:
    check = _Checker(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        match = re.search(r"line (\d+)", str(err))
        raise check.fail(f"not valid TOML: {err}",
                         "correct the TOML syntax at that line (quote strings, one table "
                         "per name)", int(match.group(1)) if match else None) from None
    for key in data:
        check.expect(key in TOP_KEYS, f"unknown top-level key {key!r}",
                     _did_you_mean(key, TOP_KEYS) or f"top-level keys are {', '.join(TOP_KEYS)}",
                     check.where_line.section(key) or check.where_line.key(key))
    settings = _settings(check, data.get("settings", {}))
    defaults = data.get("defaults", {})
    check.expect(isinstance(defaults, dict), "[defaults] must be a table",
                 "write [defaults] with key = value lines", check.where_line.key("defaults"))
    raw = data.get("experiments", {})
    check.expect(isinstance(raw, dict) and bool(raw), "the manifest declares no experiments",
                 "add at least one [experiments.NAME] table with task or command", None)
    experiments = {name: _experiment(check, name, {**defaults, **body} if isinstance(body, dict)
                                     else body, defaults)
                   for name, body in raw.items()}
    for exp in experiments.values():
        for need in exp.needs:
            check.expect(need in experiments, f"experiment {exp.name!r} needs unknown {need!r}",
                         _did_you_mean(need, experiments) or "name an experiment of this file",
                         check.where_line.key("needs", "experiments", exp.name))
            check.expect(need != exp.name, f"experiment {exp.name!r} needs itself",
                         "remove it from its own needs", check.where_line.key(
                             "needs", "experiments", exp.name))
    _check_cycles(check, experiments)
    backends = data.get("backends", {})
    check.expect(isinstance(backends, dict), "[backends] must hold tables",
                 "write [backends.slurm] with its options", check.where_line.section("backends"))
    models = data.get("models", {})
    check.expect(isinstance(models, dict) and all(isinstance(m, (dict, str))
                                                  for m in models.values()),
                 "[models] must hold one table (or spec string) per model",
                 '[models.NAME] with its layers, or NAME = "28x28x1 | conv 8 3x3 | ..."',
                 check.where_line.section("models") or check.where_line.key("models"))
    return Manifest(path=path.resolve(), settings=settings, experiments=experiments,
                    backends=backends, models=models if isinstance(models, dict) else {})


def _settings(check: _Checker, raw: Any) -> Settings:
    line = check.where_line.section("settings")
    check.expect(isinstance(raw, dict), "[settings] must be a table", "write [settings]", line)
    for key, value in raw.items():
        at = check.where_line.key(key, "settings")
        check.expect(key in SETTING_KEYS, f"unknown setting {key!r}",
                     _did_you_mean(key, SETTING_KEYS) or f"settings are {', '.join(SETTING_KEYS)}",
                     at)
        if key == "runs_dir":
            check.expect(isinstance(value, str) and bool(value),
                         "settings.runs_dir must be a path string", 'write runs_dir = "runs"', at)
        elif key == "notify":
            check.expect(isinstance(value, list) and all(
                isinstance(url, str) and "://" in url for url in value),
                "settings.notify must be a list of notification URLs",
                'write notify = ["ntfy://TOPIC"] (apprise URLs)', at)
        elif key == "stop_grace":
            check.expect((_is_int(value) or isinstance(value, float)) and value >= 0
                         and math.isfinite(value),
                         "settings.stop_grace must be seconds >= 0", "write stop_grace = 10", at)
        else:
            check.expect(_is_int(value) and value >= 1, f"settings.{key} must be an integer >= 1",
                         f"write {key} = 1", at)
    return Settings(**raw)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _experiment(check: _Checker, name: str, body: Any, defaults: dict[str, Any]) -> Experiment:
    section = ("experiments", name)
    head = check.where_line.section(*section)

    def at(key: str) -> int | None:
        return check.where_line.key(key, *section) if key not in defaults else (
            check.where_line.key(key, *section) or check.where_line.key(key, "defaults"))

    try:
        check_experiment_name(name)
    except UserError as err:
        raise check.fail(err.problem, err.fix, head) from None
    check.expect(isinstance(body, dict), f"experiments.{name} must be a table",
                 f"write [experiments.{name}] with task or command", head)
    for key in body:
        check.expect(key in EXPERIMENT_KEYS, f"experiment {name!r}: unknown key {key!r}",
                     _did_you_mean(key, EXPERIMENT_KEYS)
                     or f"experiment keys are {', '.join(EXPERIMENT_KEYS)}", at(key))
        where = _nul_in(body[key])
        check.expect(where is None, f"experiment {name!r}: {key}{where or ''} holds a NUL "
                     "character", "remove it: no command line, environment or file name can "
                     "hold one", at(key))
    has_task, has_command = "task" in body, "command" in body
    check.expect(has_task != has_command,
                 f"experiment {name!r} needs exactly one of task or command",
                 'give task = "cnn" (a built-in task) or command = ["python", "train.py"]', head)
    exp = Experiment(name=name, line=head)
    if has_task:
        task = body["task"]
        check.expect(isinstance(task, str) and task in BUILTIN_TASKS,
                     f"experiment {name!r}: unknown task {task!r}",
                     _did_you_mean(str(task), BUILTIN_TASKS)
                     or f"built-in tasks are {', '.join(BUILTIN_TASKS)}", at("task"))
        exp.task = task
    else:
        command = body["command"]
        if isinstance(command, str):
            try:
                import shlex

                command = shlex.split(command)
            except ValueError as err:
                raise check.fail(f"experiment {name!r}: command does not split: {err}",
                                 "close the quotes, or give an argv list", at("command")) from None
        check.expect(isinstance(command, list) and bool(command)
                     and all(isinstance(a, str) for a in command),
                     f"experiment {name!r}: command must be a non-empty list of strings",
                     'write command = ["python", "train.py", "--lr={lr}"]', at("command"))
        exp.command = command
    params = body.get("params", {})
    check.expect(isinstance(params, dict), f"experiment {name!r}: params must be a table",
                 "write params = { lr = 0.1 }", at("params"))
    exp.params = dict(params)
    sweep = body.get("sweep", {})
    check.expect(isinstance(sweep, dict), f"experiment {name!r}: sweep must be a table of lists",
                 "write sweep = { lr = [0.1, 0.01] }", at("sweep"))
    for key, values in sweep.items():
        check.expect(isinstance(values, list), f"experiment {name!r}: sweep.{key} is not a list",
                     f"write sweep.{key} as a list, e.g. [{values!r}]", at("sweep"))
        check.expect(bool(values), f"experiment {name!r}: sweep.{key} is empty (no runs)",
                     f"give sweep.{key} at least one value, or remove it", at("sweep"))
    exp.sweep = {k: list(v) for k, v in sweep.items()}
    for key, kind, fix in (("group", str, 'group = "report-b"'),
                           ("description", str, 'description = "..."'),
                           ("metric", str, 'metric = "val_acc"')):
        if key in body:
            check.expect(isinstance(body[key], kind),
                         f"experiment {name!r}: {key} must be text", f"write {fix}", at(key))
            setattr(exp, key, body[key])
    for key in ("tags", "needs"):
        if key in body:
            value = body[key]
            check.expect(isinstance(value, list) and all(isinstance(v, str) for v in value),
                         f"experiment {name!r}: {key} must be a list of strings",
                         f'write {key} = ["..."]', at(key))
            setattr(exp, key, list(value))
    for key in ("labels", "env"):
        if key in body:
            value = body[key]
            check.expect(isinstance(value, dict) and all(isinstance(v, str)
                                                         for v in value.values()),
                         f"experiment {name!r}: {key} must be a table of strings",
                         f'write {key} = {{ name = "text" }}', at(key))
            setattr(exp, key, dict(value))
    bad_names = [k for k in exp.env if not _ENV_NAME.match(k)]
    check.expect(not bad_names, f"experiment {name!r}: env name {bad_names[:1]} is not a "
                 "variable name", "use letters, digits and _ (not starting with a digit)",
                 at("env"))
    count = exp.run_count()
    check.expect(count <= MAX_RUNS_PER_LAUNCH, f"experiment {name!r}: its sweep makes "
                 f"{count:,} runs, more than {MAX_RUNS_PER_LAUNCH:,} in one launch",
                 "sweep fewer values (each list multiplies the runs)", at("sweep"))
    if "mode" in body:
        check.expect(body["mode"] in ("min", "max"),
                     f"experiment {name!r}: mode must be \"min\" or \"max\", not {body['mode']!r}",
                     'write mode = "max" when larger is better', at("mode"))
        exp.mode = body["mode"]
    if "autolog" in body:
        check.expect(isinstance(body["autolog"], bool),
                     f"experiment {name!r}: autolog must be true or false, not {body['autolog']!r}",
                     "write autolog = false to watch the script's output only", at("autolog"))
        exp.autolog = body["autolog"]
    if "gpus" in body:
        check.expect(_is_int(body["gpus"]) and body["gpus"] >= 0,
                     f"experiment {name!r}: gpus must be an integer >= 0, not {body['gpus']!r}",
                     "write gpus = 1 (0 runs on the CPU)", at("gpus"))
        exp.gpus = body["gpus"]
    if "backend" in body:
        check.expect(body["backend"] in BACKENDS,
                     f"experiment {name!r}: unknown backend {body['backend']!r}",
                     _did_you_mean(str(body["backend"]), BACKENDS)
                     or f"backends are {', '.join(BACKENDS)}", at("backend"))
        exp.backend = body["backend"]
    if "snapshot" in body:
        check.expect(isinstance(body["snapshot"], bool), f"experiment {name!r}: snapshot must "
                     "be true or false", "write snapshot = false to run the live tree",
                     at("snapshot"))
        exp.snapshot = body["snapshot"]
    _seeds_and_search(check, exp, body, at)
    known = set(exp.params) | set(exp.sweep) | set(exp.search.space if exp.search else ())
    if exp.seeds:
        known.add("seed")
    for arg in exp.command:
        for key in _PLACEHOLDER.findall(arg):
            if key.startswith("needs."):
                check.expect(key[6:] in exp.needs,
                             f"experiment {name!r}: command uses {{{key}}} but does not need "
                             f"{key[6:]!r}", f'add needs = ["{key[6:]}"]', at("command"))
                continue
            check.expect(key in known, f"experiment {name!r}: command uses {{{key}}}, "
                         "which is neither a param nor a sweep key",
                         _did_you_mean(key, known) or f"add params = {{ {key} = ... }}",
                         at("command"))
    return exp




def _seeds_and_search(check: _Checker, exp: Experiment, body: dict[str, Any],
                      at: Any) -> None:
    name = exp.name
    if "seeds" in body:
        seeds = body["seeds"]
        check.expect(_is_int(seeds) and seeds >= 1,
                     f"experiment {name!r}: seeds must be an integer >= 1, not {seeds!r}",
                     "write seeds = 3 (runs each configuration with seed 0, 1, 2), or remove "
                     "it for one run", at("seeds"))
        check.expect("seed" not in exp.sweep, f"experiment {name!r}: seeds and sweep.seed "
                     "both choose the seed", "keep one of them", at("seeds"))
        exp.seeds = seeds
    if "space" in body and "search" not in body:
        raise check.fail(f"experiment {name!r}: a space with no search",
                         'add search = { method = "tpe", trials = 12 }', at("space"))
    if "search" not in body:
        return
    try:
        exp.search = parse_search(body["search"], body.get("space"), metric=exp.metric)
    except SpaceProblem as err:
        raise check.fail(f"experiment {name!r}: {err.problem}", err.fix, at(err.key)) from None
    both = sorted(set(exp.search.space) & set(exp.sweep))
    check.expect(not both, f"experiment {name!r}: {both[0] if both else ''!r} is both searched "
                 "and swept", f"remove {both[0] if both else ''!r} from sweep or from space",
                 at("sweep"))
    check.expect(exp.seeds is None, f"experiment {name!r}: seeds and search together are not "
                 "supported", "search first, then run the best params with seeds in an "
                 "experiment of its own", at("seeds"))


def _nul_in(value: Any, path: str = "") -> str | None:
    """Where in `value` a string holds a NUL character ("" for the value itself)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _nul_in(key, f"{path}.{key}") or _nul_in(item, f"{path}.{key}")
            if found is not None:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _nul_in(item, f"{path}[{index}]")
            if found is not None:
                return found
    return None


def _check_cycles(check: _Checker, experiments: dict[str, Experiment]) -> None:
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = trail[trail.index(name):] + [name]
            raise check.fail(f"needs form a cycle: {' -> '.join(cycle)}",
                             "remove one of these needs", experiments[name].line)
        state[name] = 1
        for need in experiments[name].needs:
            visit(need, [*trail, name])
        state[name] = 2

    for name in experiments:
        visit(name, [])


def parse_overrides(pairs: Iterable[str]) -> dict[str, list[Any]]:
    """`--set lr=0.1` and `--set lr=0.1,0.01` (a sweep) as {key: [values]}."""
    overrides: dict[str, list[Any]] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key = key.strip()
        if not sep or not re.fullmatch(r"[A-Za-z_][\w.\-]*", key):
            raise UserError(f"--set {pair!r} is not key=value",
                            fix="write --set lr=0.1, or --set lr=0.1,0.01 for a sweep")
        whole = parse_value(text)
        if isinstance(whole, list):
            values = whole
        elif isinstance(whole, str) and "," in text and not text.strip().startswith(('"', "'")):
            values = [parse_value(part.strip()) for part in text.split(",")]
        else:
            values = [whole]
        if not values:
            raise UserError(f"--set {pair!r} gives no values", fix="give at least one value")
        overrides[key] = values
    return overrides
