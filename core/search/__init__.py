"""Search beyond the grid: Optuna studies whose trials run as ordinary queued runs.

    spaces.py   the manifest's `search` and `space` tables, checked (no Optuna needed)
    study.py    the Optuna study of an experiment: journal file, sampler, pruner
    driver.py   the detached process that asks, queues, reports, prunes and tells
    view.py     a study as its trial runs show it (no Optuna needed): rows, best so far
    follow.py   `dltui run SEARCH` in the foreground: a line per trial until it is done
    plots.py    the best-so-far curve and a params-vs-metric scatter as plain text
"""
