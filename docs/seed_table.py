"""Mean ± std over seeds of finished runs, as the Markdown rows of docs/results-part2.md.

    python docs/seed_table.py RUNS_DIR EXPERIMENT METRIC[,METRIC...] KEY [KEY ...]

Reads every finished run of EXPERIMENT under RUNS_DIR (its artifacts/config.json
for the settings; each METRIC from summary.json, else the last value logged,
from status.json), groups the runs by the KEYs' values, and prints one row per
group: the values, mean ± sample std of each METRIC and the seeds that went
into it.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path


def main(argv: list[str]) -> int:
    if len(argv) < 4:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    runs, metrics, keys = Path(argv[0]), argv[2].split(","), argv[3:]
    groups: dict[tuple[str, ...], list[tuple[int, list[float]]]] = defaultdict(list)
    for run in sorted((runs / argv[1]).iterdir()):
        config, summary = run / "artifacts" / "config.json", run / "summary.json"
        if not (config.is_file() and summary.is_file()):
            continue
        settings = json.loads(config.read_text())
        values = [final_value(run, json.loads(summary.read_text()), m) for m in metrics]
        if None in values:
            continue
        # A path given with or without its trailing "/" is the same setting.
        groups[tuple(str(settings.get(k)).rstrip("/") for k in keys)].append(
            (int(settings.get("seed", 0)), [float(v) for v in values if v is not None]))
    print("| " + " | ".join([*keys, *metrics]) + " | seeds |")
    print("|" + "---|" * len(keys) + "---:|" * len(metrics) + "---|")
    for group, rows in sorted(groups.items()):
        cells = []
        for j in range(len(metrics)):
            column = [values[j] for _, values in rows]
            std = statistics.stdev(column) if len(column) > 1 else 0.0
            cells.append(f"{statistics.mean(column):.3f} ± {std:.3f}")
        seeds = ",".join(str(s) for s, _ in sorted(rows))
        print("| " + " | ".join([*group, *cells]) + f" | {seeds} |")
    return 0


def final_value(run: Path, summary: dict[str, object], metric: str) -> float | None:
    """`metric` from the run's summary, else the last value it logged, else None."""
    if isinstance(summary.get(metric), (int, float)):
        return float(summary[metric])  # type: ignore[arg-type]
    status = run / "status.json"
    logged = json.loads(status.read_text()).get("metrics", {}) if status.is_file() else {}
    last = logged.get(metric, {}).get("last")
    return float(last) if isinstance(last, (int, float)) else None


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
