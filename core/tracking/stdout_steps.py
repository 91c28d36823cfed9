"""From parsed output lines to metric records, one per step, each value at its own step.

Where a value belongs:

- `step 120` (or `iter`, or a dict's `step`) is the step;
- a training bar's position counts steps: `Epoch 2: 40%| 4/10` is step 14 when
  epochs count from 1 (`(epoch - first epoch) * 10 + 4`); a bar without an epoch
  (the Hugging Face Trainer's `4/32`) is step 4. Bars with a smaller total than the
  training bar (an evaluation loop's `1/4`) and validation or test bars say nothing;
- `Epoch 3/10` without a bar is step 3 (of 10);
- a line that says nothing of where it is belongs to the current step, or to the end
  of the current epoch once bars have been seen (`Test set: ...` after an epoch's
  bar lines is that epoch's last step); under a bar without epochs it takes the
  position the bar shows next (a bar lags, and redraws below what was printed).

A bar's redraws (`\\r`) collapse: one record per step, with the latest values, and a
bar that shows the last validation value all through the next epoch does not record
it again. A value never lands on a step its metric already has: it takes the next
free step (a script printing `epoch 1 loss=...` twice gets two points), unless it is
the same value again (a Trainer prints the epoch on its train and its eval line).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from dltui.tracking.stdout_metrics import ParsedLine

# write(step, values, total): how records leave (a MetricsWriter's log, in the runner).
RecordSink = Callable[[int, dict[str, float], "int | None"], object]


@dataclass
class _Pending:
    step: int
    values: dict[str, float] = field(default_factory=dict)
    total: int | None = None
    awaits_bar: bool = False  # printed above a bar: takes the position the bar shows next


class StdoutSteps:
    """Feed `ParsedLine`s in output order; records go to `write` as steps complete."""

    def __init__(self, write: RecordSink) -> None:
        self._write = write
        self.step: int | None = None  # where the run is now
        self._epoch: int | None = None
        self._first_epoch: int | None = None
        self._epochs: int | None = None
        self._bar_total: int | None = None
        self._count = 0  # records so far: the step of a line that never says one
        self._pending: _Pending | None = None
        self._last_step: dict[str, int] = {}
        self._last_value: dict[str, float] = {}
        self._carried: set[str] = set()
        self._total_sent: int | None = None

    def feed(self, parsed: ParsedLine, *, redraw: bool = False) -> None:
        """One line; `redraw`: it ended in `\\r` (a progress bar's frame)."""
        step, total, from_bar = self._place(parsed)
        if step is not None:
            self.step = step
        at = step if step is not None else (self.step if self.step is not None
                                            else self._count)
        # A line with no place of its own under a bar without epochs (a Trainer's log
        # above its bar): the bar's next frame shows where it was printed.
        awaits = (step is None and not redraw and self._bar_total is not None
                  and self._epoch is None and bool(parsed.values))
        pending = self._pending
        if pending is not None and pending.awaits_bar:
            if from_bar and step is not None:
                pending.step = max(pending.step, step)
            self.flush()
        elif pending is not None and (pending.step != at or awaits):
            self.flush()
        values = parsed.values
        if redraw or parsed.position is not None:
            values = self._fresh(values, redraw)
        if total is not None and total == self._total_sent:
            total = None
        if values or total is not None:
            if self._pending is None:
                self._pending = _Pending(at, awaits_bar=awaits)
            self._pending.values.update(values)
            if total is not None:
                self._pending.total = total
        if not redraw and not (self._pending is not None and self._pending.awaits_bar):
            self.flush()

    def _fresh(self, values: dict[str, float], redraw: bool) -> dict[str, float]:
        """A bar's values without those it only carries along: a bar shows the last
        validation value all through the next epoch. A value equal to the last one
        recorded is carried when it is a redraw or was carried before."""
        held = self._pending.values if self._pending is not None else {}
        fresh = {}
        for name, value in values.items():
            if name in held or self._last_value.get(name) != value:
                fresh[name] = value
            elif redraw or name in self._carried:
                self._carried.add(name)
            else:
                fresh[name] = value  # the same value again at a new step (Keras' epochs)
        return fresh

    def _place(self, parsed: ParsedLine) -> tuple[int | None, int | None, bool]:
        """The step a line's values belong to, the run's total steps if the line says,
        and whether the step is a training bar's position."""
        if parsed.epoch is not None:
            if self._first_epoch is None:
                self._first_epoch = parsed.epoch
            self._epoch = parsed.epoch
            if parsed.epochs is not None:
                self._epochs = parsed.epochs
        if parsed.explicit_step is not None:
            return parsed.explicit_step, parsed.total if parsed.epoch is None else None, False
        position = parsed.position
        if position is not None and (self._bar_total is None or position[1] >= self._bar_total):
            done, per_epoch = position
            self._bar_total = per_epoch
            if self._epoch is None or self._first_epoch is None:
                return done, per_epoch, True
            epochs_done = self._epoch - self._first_epoch
            total = None
            if self._epochs is not None:
                # `Epoch 1/10` counts from 1 to 10; `Epoch 0/9` (rich) from 0 to 9.
                count = self._epochs if self._first_epoch >= 1 else self._epochs + 1
                total = count * per_epoch
            return epochs_done * per_epoch + done, total, True
        if self._bar_total is not None:
            if ((parsed.epoch is not None or parsed.position is None)
                    and self._epoch is not None and self._first_epoch is not None):
                # The end of the epoch the line is about (or the current one).
                return (self._epoch - self._first_epoch + 1) * self._bar_total, None, False
            return None, None, False
        if parsed.epoch is not None:
            return parsed.epoch, parsed.epochs, False
        return None, None, False

    def flush(self) -> None:
        """Write the record held for the current step (a bar's last frame)."""
        pending, self._pending = self._pending, None
        if pending is None:
            return
        step = pending.step
        # The same value again at the same step (a Trainer's epoch on its train and its
        # eval line) is not a second value.
        values = {k: v for k, v in pending.values.items()
                  if not (self._last_step.get(k) == step and self._last_value.get(k) == v)}
        if not values and pending.total is None:
            return
        pending.values = values
        taken = [self._last_step[k] for k in pending.values if k in self._last_step]
        if taken and max(taken) >= step:
            step = max(taken) + 1  # never two values of one metric at one step
        for name, value in pending.values.items():
            self._last_step[name] = step
            self._last_value[name] = value
            self._carried.discard(name)
        if pending.total is not None:
            self._total_sent = pending.total
        self._count += 1
        # Every record carries the total once it is known: a reader takes the step reached
        # from records that say how far along the run is (see MetricHistory).
        self._write(step, pending.values, self._total_sent)
