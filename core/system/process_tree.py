"""CPU, resident memory and disk I/O of one process and all its descendants (psutil)."""

from __future__ import annotations

from typing import Any

_MB = 1024 * 1024


class ProcessTreeUse:
    """Samples one process tree; call `sample()` every few seconds.

    CPU percent is measured between two calls (as `top` does), so a process seen
    for the first time counts 0 until the next sample. Bytes read and written add
    up every process ever seen, at its last sample, so a data loader worker that
    exits does not take its I/O with it.
    """

    def __init__(self, root_pid: int) -> None:
        import psutil

        self._psutil = psutil
        self.root_pid = root_pid
        self._procs: dict[int, Any] = {}
        self._io: dict[tuple[int, float], tuple[int, int]] = {}

    def pids(self) -> list[int]:
        """The tree's processes at the last sample."""
        return list(self._procs)

    def sample(self) -> dict[str, float]:
        """{"cpu_percent", "rss_mb", "read_mb", "write_mb", "procs"}; empty once the tree
        is gone."""
        psutil = self._psutil
        try:
            root = self._procs.get(self.root_pid) or psutil.Process(self.root_pid)
            tree = [root, *root.children(recursive=True)]
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            return {}
        # Keep the Process objects between samples: cpu_percent() measures from the last call.
        current = {proc.pid: self._procs.get(proc.pid, proc) for proc in tree}
        self._procs = current
        cpu = rss = 0.0
        alive = 0
        for proc in current.values():
            try:
                with proc.oneshot():
                    cpu += proc.cpu_percent()
                    rss += proc.memory_info().rss
                    try:
                        io = proc.io_counters()
                        self._io[(proc.pid, proc.create_time())] = (io.read_bytes, io.write_bytes)
                    except (psutil.AccessDenied, AttributeError):
                        pass  # no /proc/PID/io (hardened kernels, other users' processes)
                alive += 1
            except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                continue
        if not alive:
            return {}
        read = sum(r for r, _ in self._io.values())
        written = sum(w for _, w in self._io.values())
        return {"cpu_percent": round(cpu, 1), "rss_mb": round(rss / _MB, 1),
                "read_mb": round(read / _MB, 2), "write_mb": round(written / _MB, 2),
                "procs": alive}
