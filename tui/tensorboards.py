"""TensorBoard as a detached process on a free loopback port."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from dltui.bridges.tensorboard import free_port
from dltui.store.runs import RunInfo


@dataclass
class Board:
    url: str
    process: subprocess.Popen[bytes]

    @property
    def alive(self) -> bool:
        return self.process.poll() is None


def start_board(runs: list[RunInfo], argv_of: Callable[..., list[str]], log: Path) -> Board:
    """Start TensorBoard on `runs` in a session of its own (the dashboard stops it when it
    quits: `Boards.close`)."""
    port = free_port()
    argv = argv_of(runs, port=port)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                   start_new_session=True, close_fds=True)
    return Board(f"http://127.0.0.1:{port}/", process)


class Boards:
    """The TensorBoards this dashboard started, one per set of runs (reused while alive)."""

    def __init__(self, argv_of: Callable[..., list[str]], log: Path) -> None:
        self.argv_of = argv_of
        self.log = log
        self.started: dict[frozenset[str], Board] = {}

    def open(self, runs: list[RunInfo]) -> Board:
        key = frozenset(info.ref for info in runs)
        board = self.started.get(key)
        if board is None or not board.alive:
            board = self.started[key] = start_board(runs, self.argv_of, self.log)
        return board

    def values(self) -> list[Board]:
        return list(self.started.values())

    def close(self) -> None:
        """Stop every TensorBoard this dashboard started, so none holds its port after."""
        for board in self.started.values():
            if board.alive:
                try:
                    os.killpg(board.process.pid, signal.SIGTERM)
                except (ProcessLookupError, PermissionError):
                    continue
        for board in self.started.values():
            try:
                board.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                board.process.kill()
        self.started.clear()
