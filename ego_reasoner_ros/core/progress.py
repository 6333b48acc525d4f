# Copyright 2026 The ego_reasoner_ros Authors
# Licensed under the Apache License, Version 2.0
"""Progress of long jobs: a bar on a terminal, and log lines everywhere else.

Evaluation, data synthesis, harvesting and training run for minutes to hours, often with
their output in a log file. :class:`Progress` shows a tqdm bar when stderr is a terminal and,
when it is not, logs a line at most every ``every_s`` seconds (and at the end) on the
``ego_reasoner_ros.progress`` logger::

    eval: 120/563 (21.3%), success 71.7%, 0.85 task/s, ETA 8m41s
"""

from __future__ import annotations

import logging
import sys
import time
from typing import Any

LOGGER_NAME = 'ego_reasoner_ros.progress'
logger = logging.getLogger(LOGGER_NAME)


def format_duration(seconds: float) -> str:
    """``"1h02m"``, ``"8m41s"``, ``"12s"``."""
    seconds = max(0, int(round(seconds)))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f'{hours}h{minutes:02d}m'
    if minutes:
        return f'{minutes}m{secs:02d}s'
    return f'{secs}s'


class Progress:
    """Counts finished items (and their successes) and reports the rate and the ETA.

    Args:
        total: items to do in this run.
        desc: what is counted (``"eval"``, ``"datagen"``...), the line's first word.
        unit: the item's name in rates.
        done: items already done before this run (a resumed job); they count towards the
            total but not towards the rate.
        tty: draw a bar; None asks ``sys.stderr.isatty()``.
        enabled: False reports nothing at all.
        every_s: least seconds between two log lines when there is no bar.
        counts_success: the line gives the share of successes so far.
    """

    def __init__(self, total: int, desc: str, *, unit: str = 'task', done: int = 0,
                 successes: int = 0, tty: bool | None = None, enabled: bool = True,
                 every_s: float = 30.0, counts_success: bool = True) -> None:
        if total < 0 or done < 0:
            raise ValueError('total and done must be >= 0')
        self.total, self.desc, self.unit = total, desc, unit
        self.done, self.successes = done, successes
        self._start_done = done
        self.enabled = enabled
        self.every_s = every_s
        self.counts_success = counts_success
        self.note = ''  # extra text for the line (a training loss, say)
        self._started = time.monotonic()
        self._last_log = self._started
        self._bar: Any = None
        if enabled and (sys.stderr.isatty() if tty is None else tty):
            try:
                from tqdm import tqdm
            except ImportError:  # pragma: no cover - tqdm is a dependency
                tqdm = None
            if tqdm is not None:
                self._bar = tqdm(total=total, initial=done, desc=desc, unit=unit, leave=False)
        if enabled and self._bar is None and done:
            logger.info('%s: resuming, %d of %d %ss already done', desc, done, total, unit)

    @property
    def rate(self) -> float:
        """Items per second in this run."""
        elapsed = time.monotonic() - self._started
        return (self.done - self._start_done) / elapsed if elapsed > 0 else 0.0

    def line(self) -> str:
        """The progress line as logged."""
        pct = 100.0 * self.done / self.total if self.total else 100.0
        text = f'{self.desc}: {self.done}/{self.total} ({pct:.1f}%)'
        if self.done and self.counts_success:
            text += f', success {100.0 * self.successes / self.done:.1f}%'
        if self.note:
            text += f', {self.note}'
        rate = self.rate
        text += f', {rate:.2f} {self.unit}/s'
        left = self.total - self.done
        if left > 0 and rate > 0:
            text += f', ETA {format_duration(left / rate)}'
        elif left <= 0:
            text += f', took {format_duration(time.monotonic() - self._started)}'
        return text

    def update(self, n: int = 1, *, success: bool | int | None = None) -> None:
        """Count ``n`` finished items; ``success`` adds to the successes."""
        self.done += n
        if success:
            self.successes += int(success)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(n)
            if self.done and self.counts_success:
                self._bar.set_postfix(success=f'{100.0 * self.successes / self.done:.1f}%',
                                      refresh=False)
            return
        now = time.monotonic()
        if now - self._last_log >= self.every_s or self.done >= self.total:
            self._last_log = now
            logger.info('%s', self.line())

    def close(self) -> None:
        """Close the bar (a terminal) or log the last line (a log) if it was not logged."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None
            if self.enabled:
                logger.info('%s', self.line())

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
