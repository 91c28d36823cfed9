"""The `[backends.slurm]` table of a manifest, and `--set slurm.KEY=VALUE`, checked.

    [backends.slurm]
    partition = "gpu"
    time = "02:00:00"          # or minutes: 120
    gpus_per_node = 1          # default: the experiment's gpus
    cpus_per_task = 8
    mem = "32G"                # or gigabytes: 32
    sbatch = { qos = "normal", account = "lab" }    # any other sbatch option
    setup = ["module load cuda/12.1"]               # shell lines before the run starts
    array = true               # a sweep goes out as one job array (the default)
    array_parallelism = 8      # at most this many of its jobs at once

Every problem raises a UserError that names the file and line (or the --set) and the fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dltui.errors import UserError

SET_PREFIX = "slurm."
KEYS = ("partition", "time", "gpus_per_node", "cpus_per_task", "mem", "sbatch", "setup",
        "array", "array_parallelism", "job_name", "python")
# sbatch options dltui sets itself: a run's output goes to its own output.log.
MANAGED = ("output", "error", "array", "wrap", "open-mode", "signal", "parsable")
_TIME = re.compile(r"^(?:(\d+)-)?(\d+)(?::(\d+))?(?::(\d+))?$")
_MEMORY = re.compile(r"^\d+(?:\.\d+)?[KMGT]?B?$", re.IGNORECASE)


@dataclass
class SlurmOptions:
    partition: str | None = None
    time_min: int | None = None
    gpus_per_node: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    sbatch: dict[str, Any] = field(default_factory=dict)
    setup: list[str] = field(default_factory=list)
    array: bool = True
    array_parallelism: int | None = None
    job_name: str | None = None
    python: str | None = None

    def submitit_parameters(self, *, experiment: str, gpus: int) -> dict[str, Any]:
        """Keyword arguments for `submitit.SlurmExecutor.update_parameters`."""
        params: dict[str, Any] = {"job_name": self.job_name or f"dltui-{experiment}",
                                  "time": self.time_min, "stderr_to_stdout": True}
        gpus_per_node = self.gpus_per_node if self.gpus_per_node is not None else gpus
        for key, value in (("partition", self.partition), ("gpus_per_node", gpus_per_node or None),
                           ("cpus_per_task", self.cpus_per_task), ("mem", self.mem),
                           ("array_parallelism", self.array_parallelism)):
            if value is not None:
                params[key] = value
        if self.setup:
            params["setup"] = list(self.setup)
        extra = {k: v for k, v in self.sbatch.items() if v is not False}
        if extra:
            params["additional_parameters"] = extra
        return params


def time_minutes(value: Any) -> int | None:
    """Minutes of a Slurm time limit: 90, "90", "1:30:00", "2-00:00:00"; None if not one."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if not isinstance(value, str):
        return None
    match = _TIME.match(value.strip())
    if not match:
        return None
    days, first, second, third = match.groups()
    numbers = [int(x) for x in (first, second, third) if x is not None]
    if days is not None:  # D-HH, D-HH:MM, D-HH:MM:SS
        hours, minutes, seconds = (numbers + [0, 0])[:3]
        total = int(days) * 86400 + hours * 3600 + minutes * 60 + seconds
    elif len(numbers) == 1:  # MM
        total = numbers[0] * 60
    elif len(numbers) == 2:  # MM:SS
        total = numbers[0] * 60 + numbers[1]
    else:  # HH:MM:SS
        total = numbers[0] * 3600 + numbers[1] * 60 + numbers[2]
    return max(1, -(-total // 60)) if total > 0 else None


def _line_of(manifest: str | None, key: str) -> str:
    """`file:line` of `key` in the manifest's [backends.slurm] table, else the file."""
    if not manifest:
        return ""
    try:
        from dltui.manifest import _Locator

        line = _Locator(Path(manifest).read_text(encoding="utf-8")).key(key, "backends", "slurm")
    except OSError:
        return manifest
    return f"{manifest}:{line}" if line else manifest


def slurm_options(table: dict[str, Any], params: dict[str, Any] | None = None, *,
                  manifest: str | None = None) -> SlurmOptions:
    """Options from the manifest's table, then `slurm.KEY` params (from --set) over them."""
    merged: dict[str, tuple[Any, str]] = {}
    if not isinstance(table, dict):
        raise UserError("[backends.slurm] must be a table", where=_line_of(manifest, "slurm"),
                        fix='write [backends.slurm] with partition = "...", time = "1:00:00"')
    for key, value in table.items():
        merged[key] = (value, _line_of(manifest, key))
    for key, value in (params or {}).items():
        if key.startswith(SET_PREFIX):
            merged[key[len(SET_PREFIX):]] = (value, f"--set {key}")
    options = SlurmOptions()
    for key, (value, where) in merged.items():
        _apply(options, key, value, where)
    return options


def _apply(options: SlurmOptions, key: str, value: Any, where: str) -> None:
    def fail(problem: str, fix: str) -> UserError:
        return UserError(f"slurm option {key}: {problem}", fix=fix, where=where)

    if key not in KEYS:
        import difflib

        close = difflib.get_close_matches(key, KEYS, n=1, cutoff=0.6)
        raise UserError(f"unknown slurm option {key!r}", where=where,
                        fix=f"did you mean {close[0]!r}?" if close else
                        f"options are {', '.join(KEYS)}; any other sbatch option goes in "
                        f'sbatch = {{ {key} = "..." }}')
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if key in ("partition", "job_name", "python"):
        if not isinstance(value, str) or not value.strip():
            raise fail(f"must be text, not {value!r}", f'write {key} = "..."')
        setattr(options, key, value.strip())
    elif key == "time":
        minutes = time_minutes(value)
        if minutes is None:
            raise fail(f"{value!r} is not a time limit",
                       'write minutes (time = 90) or "HH:MM:SS" or "D-HH:MM:SS"')
        options.time_min = minutes
    elif key in ("gpus_per_node", "cpus_per_task", "array_parallelism"):
        low = 0 if key == "gpus_per_node" else 1
        if not is_int or value < low:
            raise fail(f"must be an integer >= {low}, not {value!r}", f"write {key} = 1")
        setattr(options, key, value)
    elif key == "mem":
        if is_int and value > 0:
            options.mem = f"{value}G"
        elif isinstance(value, str) and _MEMORY.match(value.strip()):
            options.mem = value.strip()
        else:
            raise fail(f"{value!r} is not an amount of memory", 'write mem = "16G" (or 16 for GB)')
    elif key == "array":
        if not isinstance(value, bool):
            raise fail(f"must be true or false, not {value!r}", "write array = false")
        options.array = value
    elif key == "setup":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise fail("must be a list of shell lines", 'write setup = ["module load cuda"]')
        options.setup = list(value)
    elif key == "sbatch":
        if not isinstance(value, dict):
            raise fail("must be a table of sbatch options", 'write sbatch = { qos = "high" }')
        for name, item in value.items():
            flag = str(name).replace("_", "-")
            if flag in MANAGED:
                raise fail(f"--{flag} is set by dltui", f"remove {name} from sbatch")
            if not isinstance(item, (str, int, float, bool)):
                raise fail(f"sbatch.{name} must be text, a number or true",
                           f'write sbatch = {{ {name} = "..." }}')
        options.sbatch = dict(value)
