"""Progress for long batches: a rich bar on a terminal, plain periodic lines otherwise.

Everything goes to stderr (or the given stream), never stdout, so that the summary a batch
prints can be piped or redirected without progress noise in it. Whether the stream is a
terminal decides the form: a live bar with rate and ETA, or a line every ``every``
seconds that a log file or CI console can hold.
"""

from __future__ import annotations

import sys
import time
from typing import Any


def _eta(seconds: float) -> str:
    if seconds != seconds or seconds == float("inf"):  # nan or inf: no rate yet
        return "?"
    seconds = round(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


class Progress:
    """``with Progress(total, already): ... advance(n)``. Silent with ``quiet``."""

    def __init__(
        self,
        total: int,
        already: int = 0,
        quiet: bool = False,
        every: float = 5.0,
        stream=None,
        resuming: bool = True,  # False: a later round of an adaptive batch, not a resume
    ):
        self.total, self.done, self.quiet, self.every = total, already, quiet, every
        self.resuming = resuming
        self.stream = stream or sys.stderr
        self.start_done = already
        self._bar: Any = None  # a rich Progress on a terminal
        self._task = None
        self._t0 = 0.0
        self._last = 0.0

    def _is_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __enter__(self) -> Progress:
        self._t0 = self._last = time.perf_counter()
        if self.quiet:
            return self
        if self._is_terminal():
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )
            from rich.progress import Progress as Bar

            self._bar = Bar(
                TextColumn("runs"),
                BarColumn(),
                MofNCompleteColumn(),
                TaskProgressColumn(),
                TextColumn("{task.fields[rate]}"),
                TextColumn("ETA"),
                TimeRemainingColumn(),
                console=Console(file=self.stream),
                transient=False,
                # no refresh thread: the batch forks workers (and may fork fresh ones after
                # a worker dies) while the bar is up, and forking a process that runs
                # threads can deadlock the child; the bar redraws as runs come back
                auto_refresh=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("runs", total=self.total, completed=self.done, rate="")
            self._bar.refresh()
        else:
            todo = self.total - self.done
            resumed = f" ({self.done} already done{', resuming' if self.resuming else ''})"
            resumed = resumed if self.done else ""
            print(
                f"batch: {todo} of {self.total} runs to do{resumed}", file=self.stream, flush=True
            )
        return self

    def rate(self) -> float:
        elapsed = time.perf_counter() - self._t0
        return (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0

    def advance(self, n: int) -> None:
        self.done += n
        if self.quiet:
            return
        rate = self.rate()
        if self._bar is not None:
            self._bar.update(self._task, completed=self.done, rate=f"{rate:,.0f} runs/s")
            self._bar.refresh()
            return
        now = time.perf_counter()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            eta = (self.total - self.done) / rate if rate > 0 else float("nan")
            print(
                f"progress: {self.done}/{self.total} runs ({100 * self.done / self.total:.0f}%)"
                f", {rate:,.1f} runs/s, ETA {_eta(eta)}",
                file=self.stream,
                flush=True,
            )

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
            self._bar = None
