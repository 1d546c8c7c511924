"""A local worker pool that notices dead workers and ends quietly on signals.

``multiprocessing.Pool`` never notices a worker killed from outside (``kill -9``, the
out-of-memory killer): the chunk it held is lost and the batch waits forever.
``concurrent.futures.ProcessPoolExecutor`` watches every worker's sentinel and fails the
pending work at once with ``BrokenProcessPool``; this module builds on that:

- chunks are fed lazily through a bounded window (flat memory) and their results handed
  to ``consume`` in completion order;
- when a worker dies, the pool is replaced by a fresh one and every chunk that had not
  come back is sent again (runs are pure functions of their seeds, so a rerun gives the
  same rows); a chunk caught in ``MAX_ATTEMPTS`` broken pools stops the batch with
  ``WorkerLost`` (a chunk that kills its worker every time would otherwise loop forever);
- workers ignore SIGINT (Ctrl-C reaches the whole process group: only the parent should
  act on it), die with their parent (``PR_SET_PDEATHSIG`` on Linux, a parent-pid watch
  elsewhere), and are killed when the parent leaves for any reason, so no worker outlives
  a batch or prints a traceback.

What a chunk is and what it returns is opaque here: the pool moves objects around.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import os
import signal
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from typing import Any

MAX_ATTEMPTS = 3  # broken pools a chunk may be caught in before the batch stops
IN_FLIGHT_PER_WORKER = 2  # one running, one queued: no worker waits for the parent
_END = object()
_STOP_SIGNALS = {signal.SIGINT, signal.SIGTERM} | (
    {signal.SIGHUP} if hasattr(signal, "SIGHUP") else set()
)


class WorkerLost(Exception):
    """Workers kept dying on the same chunk: the batch stops (its finished parts stay)."""


class Interrupted(BaseException):
    """SIGTERM or SIGHUP, raised in the main thread like KeyboardInterrupt is for SIGINT."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


#: Stop signals received and not yet acted on. A handler's exception can be swallowed:
#: raised inside a finalizer (``__del__``, e.g. pyarrow's ParquetWriter) or a Cython check
#: that drops exceptions, Python only prints "Exception ignored" and goes on. The signal
#: stays here, and ``raise_pending_stop`` raises it again at the next safe point.
_PENDING: list[int] = []


def _stop_exception(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Interrupted(signum)


def _raise_interrupted(signum: int, frame: Any) -> None:
    _PENDING.append(signum)
    raise _stop_exception(signum)


def raise_pending_stop() -> None:
    """Raise a stop signal whose exception was swallowed where it landed (see _PENDING)."""
    if _PENDING:
        raise _stop_exception(_PENDING[0])


@contextlib.contextmanager
def stop_signals_raise() -> Iterator[None]:
    """While inside, SIGTERM and SIGHUP end the process like Ctrl-C does (the command line).

    Their default action would kill the process on the spot: no message, and its workers
    left to notice on their own. Raising instead unwinds the batch, which kills its
    workers and keeps every finished part. Only the main thread can set handlers; the
    previous ones are restored on the way out.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    # SIGINT too, if Python's own KeyboardInterrupt handler is in place (not if ignored)
    ours = _STOP_SIGNALS - {signal.SIGINT}
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        ours = _STOP_SIGNALS
    previous = {s: signal.signal(s, _raise_interrupted) for s in ours}
    _PENDING.clear()
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _PENDING.clear()  # acted on, or no longer ours to act on


# --------------------------------------------------------------------------- in a worker
def _die_with_parent(parent: int) -> None:
    """Have the kernel kill this process when its parent dies (Linux), else watch it.

    Otherwise a worker orphaned by ``kill -9`` of the parent would finish its chunk, fail
    to send it back and print a BrokenPipe traceback.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        if libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl")
    except (OSError, AttributeError):

        def watch() -> None:
            while os.getppid() == parent:
                threading.Event().wait(0.5)
            os._exit(1)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _worker_init(parent: int, initializer: Callable | None, initargs: tuple) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in _STOP_SIGNALS - {signal.SIGINT}:  # not the parent's raising handlers
        signal.signal(signum, signal.SIG_DFL)
    if hasattr(signal, "pthread_sigmask"):  # blocked by the parent while it forked us
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)
    _die_with_parent(parent)
    if initializer is not None:
        initializer(*initargs)


# --------------------------------------------------------------------------- in the parent
@contextlib.contextmanager
def _forking() -> Iterator[None]:
    """Around the moment workers are forked.

    Stop signals are blocked, so a Ctrl-C cannot reach a child before it has chosen to
    ignore it (the parent gets it as soon as the fork is done); ``gc.freeze`` keeps the
    collector from touching, hence copying, the pages the workers share with the parent.
    (Forking while another thread holds a lock can deadlock the child: the progress bar
    therefore runs no thread of its own, and the previous executor's are joined first.)
    """
    blockable = hasattr(signal, "pthread_sigmask") and (
        threading.current_thread() is threading.main_thread()
    )
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS) if blockable else None
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        if old is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _context() -> multiprocessing.context.BaseContext:
    # ``import mesa`` sets the process-wide start method to spawn: always choose explicitly
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if "fork" in methods else "spawn")


def _stop(executor: ProcessPoolExecutor) -> None:
    """Kill the workers now (not after their chunks) and release the executor."""
    kill = getattr(executor, "kill_workers", None)  # Python 3.14+
    if kill is not None:
        kill()
    else:
        for process in list(getattr(executor, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                process.kill()
    executor.shutdown(wait=True, cancel_futures=True)


def run_pool(
    chunks: Iterable[Any],
    work: Callable[[Any], Any],
    consume: Callable[[Any], None],
    workers: int,
    initializer: Callable | None = None,
    initargs: tuple = (),
    warn: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> None:
    """``consume(work(chunk))`` for every chunk, on ``workers`` processes; see the module."""
    source: Iterator[Any] = iter(chunks)
    retry: deque[tuple[Any, int]] = deque()  # (chunk, broken pools it was caught in)
    pending: dict[Future, tuple[Any, int]] = {}
    executor: ProcessPoolExecutor | None = None
    try:
        while True:
            if executor is None:
                executor = ProcessPoolExecutor(
                    workers,
                    mp_context=_context(),
                    initializer=_worker_init,
                    initargs=(os.getpid(), initializer, initargs),
                )
                with _forking():  # workers are forked at the first submit
                    broken = _fill(executor, pending, retry, source, work, workers)
            else:
                broken = _fill(executor, pending, retry, source, work, workers)
            if not pending and not broken:
                return
            if not broken:
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk, attempts = pending.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool:
                        broken = True
                        retry.append((chunk, attempts + 1))
                    else:
                        consume(result)
            if broken:
                lost = _salvage(pending, retry, consume)
                _stop(executor)
                executor = None
                warn(
                    f"a worker process died; {lost} unfinished chunk(s) sent again to a fresh pool"
                )
    finally:
        if executor is not None:
            _stop(executor)


def _fill(executor, pending, retry, source, work, workers) -> bool:
    """Keep the window full; True if the pool turned out broken."""
    while len(pending) < workers * IN_FLIGHT_PER_WORKER:
        if retry:
            item = retry.popleft()
        else:
            chunk = next(source, _END)
            if chunk is _END:
                break
            item = (chunk, 0)
        try:
            pending[executor.submit(work, item[0])] = item
        except BrokenProcessPool:
            retry.appendleft(item)
            return True
    return False


def _salvage(pending: dict, retry: deque, consume: Callable[[Any], None]) -> int:
    """After a break: keep what finished, queue the rest once more (or give up)."""
    for future, (chunk, attempts) in list(pending.items()):
        del pending[future]
        if future.done() and not future.cancelled() and future.exception() is None:
            consume(future.result())
        else:
            retry.append((chunk, attempts + 1))
    worst = max((attempts for _, attempts in retry), default=0)
    if worst >= MAX_ATTEMPTS:
        raise WorkerLost(
            f"worker processes died {worst} times while running the same chunk; stopping "
            "(finished parts are kept: run the same command again to resume)"
        )
    return len(retry)
