"""Progress for long batches: a rich bar on a terminal, plain periodic lines otherwise."""

from __future__ import annotations

import sys
import time


class Progress:
    """``with Progress(total, already): ... advance(n)``. Silent with ``quiet``."""

    def __init__(
        self, total: int, already: int = 0, quiet: bool = False, every: float = 5.0, stream=None
    ):
        self.total, self.done, self.quiet, self.every = total, already, quiet, every
        self.stream = stream or sys.stderr
        self.start_done = already
        self._bar = None
        self._task = None
        self._t0 = 0.0
        self._last = 0.0

    def __enter__(self) -> Progress:
        self._t0 = self._last = time.perf_counter()
        if self.quiet:
            return self
        if self.stream.isatty():
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
                TimeRemainingColumn(),
                transient=False,
            )
            self._bar.__enter__()
            self._task = self._bar.add_task("runs", total=self.total, completed=self.done, rate="")
        elif self.done:
            print(
                f"resuming: {self.done}/{self.total} runs already done",
                file=self.stream,
                flush=True,
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
            return
        now = time.perf_counter()
        if now - self._last >= self.every or self.done >= self.total:
            self._last = now
            eta = (self.total - self.done) / rate if rate > 0 else float("nan")
            print(
                f"progress: {self.done}/{self.total} runs ({100 * self.done / self.total:.0f}%)"
                f", {rate:,.0f} runs/s, ETA {eta:.0f}s",
                file=self.stream,
                flush=True,
            )

    def __exit__(self, *exc) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc)
