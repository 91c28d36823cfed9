"""The torchrun backend: one run spread over N processes of one node.

The run wrapper starts `python -m torch.distributed.run --standalone
--nproc_per_node=N ... COMMAND` in place of the command, N being the run's
`nproc` param or else its GPUs (at least 1). torchrun tees every rank's stdout
and stderr into the run's output.log, each line prefixed `[rankR]: `, and keeps
each rank's own files under the run's `ranks/`. The training code sees RANK,
LOCAL_RANK and WORLD_SIZE; `dltui.init()` on ranks other than 0 writes nothing,
so metrics are logged once; of the output, only rank 0's lines count as
`key: value` metrics of an uninstrumented script.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable
from pathlib import Path

from dltui.backends import LineSink
from dltui.backends.local import LocalBackend
from dltui.store.spec import RunSpec

RANKS_DIR = "ranks"  # torchrun's per-rank stdout/stderr files, inside the run directory
LINE_PREFIX = "[rank${rank}]: "
_PREFIXED = re.compile(r"^\[rank(\d+)\]: ?")
_PYTHON = re.compile(r"^python[0-9.]*$")


def process_count(spec: RunSpec) -> int:
    """N: the `nproc` param, else the run's GPUs, at least 1."""
    nproc = spec.params.get("nproc")
    if isinstance(nproc, int) and not isinstance(nproc, bool) and nproc >= 1:
        return nproc
    return max(1, spec.gpus)


def torchrun_argv(argv: list[str], spec: RunSpec, run_path: Path) -> list[str]:
    """The command of the run, started by torchrun on `process_count(spec)` processes.

    `python script.py ARGS` and `python -m module ARGS` run under that same Python;
    any other program is started as it is (`--no-python`)."""
    python, rest = sys.executable, list(argv)
    no_python = True
    if rest and _PYTHON.match(os.path.basename(rest[0])):
        python, rest, no_python = rest[0], rest[1:], False
        while rest and rest[0].startswith("-") and rest[0] != "-m":
            # Interpreter flags (-u, -X opt, -W arg): torchrun's workers run unbuffered anyway.
            rest = rest[2:] if rest[0] in ("-X", "-W") else rest[1:]
    launcher = [python, "-m", "torch.distributed.run", "--standalone",
                f"--nproc_per_node={process_count(spec)}", "--tee=3",
                f"--log-line-prefix-template={LINE_PREFIX}",
                f"--log-dir={run_path / RANKS_DIR}"]
    if no_python:
        launcher.append("--no-python")
    return [*launcher, *rest]


def rank_of(line: str) -> int | None:
    """The rank a line of torchrun's tee came from; None for torchrun's own lines."""
    match = _PREFIXED.match(line)
    return int(match.group(1)) if match else None


class RankZeroLines:
    """Feeds a metrics parser rank 0's lines only, without their prefix: a metric printed
    by every rank is still one metric."""

    def __init__(self, parser: LineSink) -> None:
        self.parser = parser
        self.feed_parser: Callable[[str], None] = parser.feed

    def feed(self, line: str) -> None:
        match = _PREFIXED.match(line)
        if match and match.group(1) == "0":
            self.feed_parser(line[match.end():])

    def close(self) -> None:
        self.parser.close()


class TorchrunBackend(LocalBackend):
    """A local run whose command torchrun starts on N processes."""

    name = "torchrun"

    def command(self, argv: list[str], spec: RunSpec, run_path: Path) -> list[str]:
        return torchrun_argv(argv, spec, run_path)

    def output_lines(self, sink: LineSink) -> LineSink:
        return RankZeroLines(sink)


TORCHRUN = TorchrunBackend()
