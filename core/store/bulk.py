"""Reading thousands of runs at once, with the cyclic garbage collector paused.

Listing 10,000 runs makes some hundreds of thousands of small dicts, lists and
records, none of which forms a reference cycle; each time the collector's
thresholds pass meanwhile it walks all of them again, which cost a third of the
time of `dltui ps --all`. Reference counting still frees everything dropped.

At the end of the pause, what survives is moved to the oldest generation, as if it
had lived through the young collections already: otherwise the first young
collection after the pause walks all of it at once (30 ms after 10,000 runs). Only
a full collection, as rare as ever, looks at it again.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def collector_paused() -> Iterator[None]:
    """The block runs without cyclic collections (nested uses are fine)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.freeze()  # everything tracked leaves the young generations...
            gc.unfreeze()  # ...for the oldest
            gc.enable()
