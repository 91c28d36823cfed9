"""Mean ± std over seeds of finished runs, as the Markdown rows of docs/results-part2.md.

    python docs/seed_table.py RUNS_DIR EXPERIMENT METRIC KEY [KEY ...]

Reads every finished run of EXPERIMENT under RUNS_DIR (its artifacts/config.json
for the settings, summary.json for METRIC), groups the runs by the KEYs'
values, and prints one row per group: the values, mean ± sample std of METRIC
and the seeds that went into it.
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
    runs, experiment, metric, keys = Path(argv[0]), argv[1], argv[2], argv[3:]
    groups: dict[tuple[str, ...], list[tuple[int, float]]] = defaultdict(list)
    for run in sorted((runs / experiment).iterdir()):
        config, summary = run / "artifacts" / "config.json", run / "summary.json"
        if not (config.is_file() and summary.is_file()):
            continue
        settings = json.loads(config.read_text())
        value = json.loads(summary.read_text()).get(metric)
        if value is None:
            continue
        groups[tuple(str(settings.get(k)) for k in keys)].append(
            (int(settings.get("seed", 0)), float(value)))
    print("| " + " | ".join(keys) + f" | {metric} (mean ± std) | seeds |")
    print("|" + "---|" * len(keys) + "---:|---|")
    for group, rows in sorted(groups.items()):
        values = [v for _, v in rows]
        std = statistics.stdev(values) if len(values) > 1 else 0.0
        seeds = ",".join(str(s) for s, _ in sorted(rows))
        print("| " + " | ".join(group) + f" | {statistics.mean(values):.3f} ± {std:.3f} "
              f"| {seeds} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
