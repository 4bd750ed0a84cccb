"""A process pool that survives anything one task can do to its worker.

`concurrent.futures.ProcessPoolExecutor` marks the whole pool broken when one worker
dies; scoring untrusted SQL needs the opposite: a segfault, an ``os._exit``, a
MemoryError or a query that ignores its in-SQLite time limit must cost exactly the task
that caused it. So each worker is a plain `multiprocessing` process with its own pipe:

- the parent sends a worker a small chunk of tasks only when it has none outstanding
  (a worker reading its pipe can never deadlock against the parent's send);
- the worker runs them one at a time and answers after each, so the parent always knows
  which task is running and since when;
- a worker that dies, or whose current task runs past ``hard_timeout_s``, is killed and
  replaced; that one task gets ``on_failure(task, reason)`` and the rest of its chunk is
  queued again.

Workers come from the ``forkserver`` start method: a clean single-threaded server
process forks them, so threads in the parent (progress bars, HTTP clients) never leak
into a fork, and a fresh worker costs a fork rather than a new interpreter.

Failure reasons start with ``"crash: "`` (the worker died or ``fn`` raised) or
``"timeout: "`` (killed at the hard limit).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")
R = TypeVar("R")

# forkserver: see the module docstring. bench/pool_overhead.py compares it with "spawn".
START_METHOD = "forkserver"
# A worker whose initializer has not finished in this long is considered hung.
INIT_TIMEOUT_S = 120.0
# Workers that die before finishing their initializer, in a row, before we give up.
_MAX_INIT_DEATHS = 3
_MAX_CHUNK = 16
_CHUNKS_PER_WORKER = 8


class PoolError(HarnessError):
    """The pool itself cannot run (a worker initializer fails or never finishes)."""


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started_at: float
    outstanding: deque[int] = field(default_factory=deque)  # sent, not yet answered, in order
    ready: bool = False  # initializer finished
    head_since: float | None = None  # when outstanding[0] started running
    retiring: bool = False  # told us it is exiting after a fatal error
    retire_by: float = math.inf  # kill it if it has not exited by then


def run_isolated(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    jobs: int,
    hard_timeout_s: float,
    on_failure: Callable[[T, str], R],
    initializer: Callable[[], None] | None = None,
    chunk_size: int | None = None,
) -> Iterator[tuple[int, R]]:
    """Run ``fn(task)`` for every task in worker processes; yield ``(index, result)``.

    Results arrive in completion order. ``fn`` and ``initializer`` must be picklable
    (module-level functions, or `functools.partial` of one), and so must tasks and
    results. ``jobs`` < 1 means one worker per CPU; jobs=1 still uses a subprocess.
    ``on_failure`` runs in this process. Closing the iterator early, or an exception
    such as KeyboardInterrupt while it runs, kills every worker before returning.
    """
    n = len(tasks)
    if n == 0:
        return
    if hard_timeout_s <= 0:
        raise ValueError("hard_timeout_s must be positive")
    if jobs < 1:
        jobs = os.cpu_count() or 1
    jobs = min(jobs, n)
    chunk = chunk_size or max(1, min(_MAX_CHUNK, math.ceil(n / (jobs * _CHUNKS_PER_WORKER))))
    ctx = multiprocessing.get_context(START_METHOD)

    pending: deque[int] = deque(range(n))
    workers: list[_Worker] = []
    remaining = n
    init_deaths = 0
    finished = False

    def spawn() -> None:
        parent_end, child_end = ctx.Pipe(duplex=True)
        proc = ctx.Process(
            target=_worker_main, args=(child_end, fn, initializer), daemon=True,
            name="harness-worker",
        )
        proc.start()
        child_end.close()  # so the parent sees EOF as soon as the worker is gone
        workers.append(_Worker(proc, parent_end, time.monotonic()))

    def feed(w: _Worker) -> None:
        batch = [pending.popleft() for _ in range(min(chunk, len(pending)))]
        try:
            w.conn.send([(i, tasks[i]) for i in batch])
        except OSError:  # worker already gone: its sentinel will say so
            pending.extendleft(reversed(batch))
            return
        w.outstanding.extend(batch)
        if w.ready:
            w.head_since = time.monotonic()

    def retire(w: _Worker, reason: str | None) -> list[tuple[int, R]]:
        """Remove a dead or killed worker; fail its running task if `reason` is given."""
        out: list[tuple[int, R]] = []
        nonlocal remaining
        if w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        w.conn.close()
        workers.remove(w)
        if reason is not None and w.outstanding and w.ready:
            head = w.outstanding.popleft()
            remaining -= 1
            out.append((head, on_failure(tasks[head], reason)))
        pending.extendleft(reversed(w.outstanding))
        w.outstanding.clear()
        return out

    try:
        while remaining:
            while len(workers) < jobs and pending:
                spawn()
            for w in workers:
                if not w.outstanding and pending and not w.retiring:
                    feed(w)

            now = time.monotonic()
            deadlines = [_deadline(w, hard_timeout_s) for w in workers]
            deadlines = [d for d in deadlines if d < math.inf]
            timeout = max(0.0, min(deadlines) - now) if deadlines else None
            ready = set(wait([w.conn for w in workers] + [w.process.sentinel for w in workers],
                             timeout))

            out: list[tuple[int, R]] = []
            for w in list(workers):
                gone = w.process.sentinel in ready
                if w.conn in ready or gone:
                    try:
                        while w.conn.poll():
                            msg = w.conn.recv()
                            if msg[0] == "init_error":
                                raise PoolError(f"scoring worker initializer failed: {msg[1]}")
                            if msg[0] == "ready":
                                w.ready = True
                                init_deaths = 0
                                if w.outstanding:
                                    w.head_since = time.monotonic()
                                continue
                            _, index, ok, payload, fatal = msg
                            w.outstanding.remove(index)
                            remaining -= 1
                            out.append((index, payload if ok else on_failure(tasks[index], payload)))
                            w.head_since = time.monotonic() if w.outstanding else None
                            if fatal:  # the worker exits now; its other tasks go elsewhere
                                w.retiring = True
                                w.retire_by = time.monotonic() + 5.0
                                pending.extendleft(reversed(w.outstanding))
                                w.outstanding.clear()
                    except (EOFError, OSError):
                        gone = True
                if gone or (w.retiring and not w.process.is_alive()):
                    w.process.join(5)
                    if not w.ready and not w.retiring:
                        init_deaths += 1
                        if init_deaths >= _MAX_INIT_DEATHS:
                            raise PoolError(
                                f"{init_deaths} scoring workers died while starting "
                                f"({_describe_exit(w.process.exitcode)})"
                            )
                    reason = f"crash: worker process {_describe_exit(w.process.exitcode)}"
                    out.extend(retire(w, reason))
                    continue
                now = time.monotonic()
                if not w.ready and now - w.started_at > INIT_TIMEOUT_S:
                    raise PoolError(f"a scoring worker did not start within {INIT_TIMEOUT_S:g} s")
                if w.retiring and now > w.retire_by:
                    out.extend(retire(w, None))
                elif w.head_since is not None and now - w.head_since > hard_timeout_s:
                    out.extend(
                        retire(w, f"timeout: no result within the hard limit of "
                                  f"{hard_timeout_s:g} s; worker killed")
                    )
            yield from out
        finished = True
    finally:
        for w in workers:
            if finished:
                w.conn.close()  # an idle worker reads EOF and exits on its own
            elif w.process.is_alive():
                w.process.kill()
        for w in workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()


def _deadline(w: _Worker, hard_timeout_s: float) -> float:
    if not w.ready:
        return w.started_at + INIT_TIMEOUT_S
    if w.retiring:
        return w.retire_by
    if w.head_since is not None:
        return w.head_since + hard_timeout_s
    return math.inf


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _worker_main(conn: Connection, fn: Callable[[Any], Any], initializer: Any) -> None:
    # Ctrl-C is the parent's to handle: it kills us. A worker that also died of SIGINT
    # would print a traceback per process and look like a crash.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        if initializer is not None:
            initializer()
    except BaseException as exc:
        conn.send(("init_error", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("ready",))
    while True:
        try:
            chunk = conn.recv()
        except (EOFError, OSError):
            return  # the parent closed the pipe or is gone
        if chunk is None:
            return
        for index, task in chunk:
            fatal = False
            try:
                msg = ("done", index, True, fn(task), False)
            except Exception as exc:
                # A MemoryError can leave the process in any state: answer, then exit.
                fatal = isinstance(exc, MemoryError)
                msg = ("done", index, False, f"crash: {type(exc).__name__}: {exc}", fatal)
            except BaseException as exc:  # SystemExit and the like end the worker
                fatal = True
                msg = ("done", index, False, f"crash: {type(exc).__name__}: {exc}", fatal)
            try:
                conn.send(msg)
            except OSError:
                return
            except Exception as exc:  # the result could not be pickled
                conn.send(("done", index, False, f"crash: unpicklable result: {exc}", fatal))
            if fatal:
                return
