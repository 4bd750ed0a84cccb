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
into a fork, and once the server runs a fresh worker costs a fork rather than a new
interpreter. Workers inherit the server's working directory and environment, i.e. the
parent's at the first `run_isolated` call of the process: pass absolute paths.

Failure reasons start with ``"crash: "`` (the worker died or ``fn`` raised) or
``"timeout: "`` (killed at the hard limit).
"""

from __future__ import annotations

import math
import multiprocessing
import os
import select
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from typing import Any, Generic, TypeVar

from harness.errors import HarnessError

T = TypeVar("T")
R = TypeVar("R")

# See the module docstring; bench/pool_overhead.py compares it with "spawn".
START_METHOD = "forkserver"
# A worker whose initializer has not finished in this long is considered hung.
INIT_TIMEOUT_S = 120.0
# Workers in a row that die before their initializer finishes, before we give up.
_MAX_INIT_DEATHS = 3
# A worker that announced a fatal error gets this long to exit before it is killed.
_RETIRE_GRACE_S = 5.0
_MAX_CHUNK = 16
_CHUNKS_PER_WORKER = 8


class PoolError(HarnessError):
    """The pool itself cannot run (a worker initializer fails or never finishes)."""


def run_isolated(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    jobs: int,
    hard_timeout_s: float,
    on_failure: Callable[[T, str], R],
    initializer: Callable[[], None] | None = None,
    chunk_size: int | None = None,
    preload: Sequence[str] = (),
) -> Iterator[tuple[int, R]]:
    """Run ``fn(task)`` for every task in worker processes; yield ``(index, result)``.

    Results arrive in completion order. ``fn`` and ``initializer`` must be picklable
    (module-level functions, or `functools.partial` of one), and so must tasks and
    results. ``jobs`` < 1 means one worker per CPU; jobs=1 still uses a subprocess.
    ``on_failure`` runs in this process. Closing the iterator early, or an exception
    such as KeyboardInterrupt while it runs, kills every worker before returning.
    ``preload`` names modules the forkserver imports once when it starts (the first call
    in a process), so each worker is forked with them loaded instead of importing them.
    """
    if not tasks:
        return
    if hard_timeout_s <= 0:
        raise ValueError("hard_timeout_s must be positive")
    if jobs < 1:
        jobs = os.cpu_count() or 1
    jobs = min(jobs, len(tasks))
    if chunk_size is None:
        chunk_size = max(1, min(_MAX_CHUNK, math.ceil(len(tasks) / (jobs * _CHUNKS_PER_WORKER))))
    if preload:
        multiprocessing.get_context(START_METHOD).set_forkserver_preload(list(preload))
    pool = _Pool(fn, tasks, jobs, hard_timeout_s, on_failure, initializer, chunk_size)
    finished = False
    try:
        while pool.remaining:
            yield from pool.step()
        finished = True
    finally:
        pool.shutdown(graceful=finished)


@dataclass
class _Worker:
    process: BaseProcess
    conn: Connection
    started_at: float
    outstanding: deque[int] = field(default_factory=deque)  # sent, unanswered, in order
    ready: bool = False  # initializer finished
    head_since: float | None = None  # when outstanding[0] started running
    retire_by: float | None = None  # set once it announced it is exiting

    def deadline(self, hard_timeout_s: float) -> float:
        if not self.ready:
            return self.started_at + INIT_TIMEOUT_S
        if self.retire_by is not None:
            return self.retire_by
        if self.head_since is not None:
            return self.head_since + hard_timeout_s
        return math.inf


class _Pool(Generic[T, R]):
    def __init__(
        self,
        fn: Callable[[T], R],
        tasks: Sequence[T],
        jobs: int,
        hard_timeout_s: float,
        on_failure: Callable[[T, str], R],
        initializer: Callable[[], None] | None,
        chunk_size: int,
    ) -> None:
        self.fn, self.tasks, self.jobs = fn, tasks, jobs
        self.hard_timeout_s, self.on_failure = hard_timeout_s, on_failure
        self.initializer, self.chunk_size = initializer, chunk_size
        self.ctx = multiprocessing.get_context(START_METHOD)
        self.pending: deque[int] = deque(range(len(tasks)))
        self.workers: list[_Worker] = []
        self.remaining = len(tasks)
        self.init_deaths = 0

    def step(self) -> list[tuple[int, R]]:
        """Start and feed workers, wait for something to happen, return finished tasks."""
        while len(self.workers) < self.jobs and self.pending:
            self._spawn()
        for w in self.workers:
            if not w.outstanding and self.pending and w.retire_by is None:
                self._feed(w)
        deadline = min((w.deadline(self.hard_timeout_s) for w in self.workers), default=math.inf)
        timeout = None if deadline == math.inf else max(0.0, deadline - time.monotonic())
        ready = set(
            wait(
                [w.conn for w in self.workers] + [w.process.sentinel for w in self.workers], timeout
            )
        )
        out: list[tuple[int, R]] = []
        for w in list(self.workers):
            gone = w.process.sentinel in ready
            if w.conn in ready or gone:
                try:
                    self._drain(w, out)
                except (EOFError, OSError):
                    gone = True
            self._police(w, gone, out)
        return out

    def shutdown(self, graceful: bool) -> None:
        for w in self.workers:
            if graceful:
                w.conn.close()  # an idle worker reads EOF and exits on its own
            elif w.process.is_alive():
                w.process.kill()
        for w in self.workers:
            w.process.join(5)
            if w.process.is_alive():
                w.process.kill()
                w.process.join(5)
            w.conn.close()
        self.workers.clear()

    def _spawn(self) -> None:
        parent_end, child_end = self.ctx.Pipe(duplex=True)
        proc = self.ctx.Process(
            target=_worker_main,
            args=(child_end, self.fn, self.initializer),
            daemon=True,
            name="harness-worker",
        )
        proc.start()
        child_end.close()  # so the parent reads EOF as soon as the worker is gone
        self.workers.append(_Worker(proc, parent_end, time.monotonic()))

    def _feed(self, w: _Worker) -> None:
        batch = [self.pending.popleft() for _ in range(min(self.chunk_size, len(self.pending)))]
        try:
            w.conn.send([(i, self.tasks[i]) for i in batch])
        except OSError:  # the worker is already gone: its sentinel will say so
            self.pending.extendleft(reversed(batch))
            return
        w.outstanding.extend(batch)
        if w.ready:
            w.head_since = time.monotonic()

    def _drain(self, w: _Worker, out: list[tuple[int, R]]) -> None:
        while w.conn.poll():
            msg = w.conn.recv()
            if msg[0] == "init_error":
                raise PoolError(f"worker initializer failed: {msg[1]}")
            if msg[0] == "ready":
                w.ready = True
                self.init_deaths = 0
                if w.outstanding:
                    w.head_since = time.monotonic()
                continue
            _, index, ok, payload, fatal = msg
            w.outstanding.remove(index)
            self.remaining -= 1
            out.append((index, payload if ok else self.on_failure(self.tasks[index], payload)))
            w.head_since = time.monotonic() if w.outstanding else None
            if fatal:  # it exits now; its other tasks go to other workers
                w.retire_by = time.monotonic() + _RETIRE_GRACE_S
                w.head_since = None
                self._requeue(w)

    def _police(self, w: _Worker, gone: bool, out: list[tuple[int, R]]) -> None:
        """Replace a worker that died, hung in its initializer or overran its task."""
        now = time.monotonic()
        if gone or (w.retire_by is not None and not w.process.is_alive()):
            w.process.join(5)
            if not w.ready:
                self.init_deaths += 1
                if self.init_deaths >= _MAX_INIT_DEATHS:
                    raise PoolError(
                        f"{self.init_deaths} workers died while starting "
                        f"({_describe_exit(w.process.exitcode)})"
                    )
            self._retire(w, f"crash: worker process {_describe_exit(w.process.exitcode)}", out)
        elif not w.ready and now - w.started_at > INIT_TIMEOUT_S:
            raise PoolError(f"a worker did not finish starting within {INIT_TIMEOUT_S:g} s")
        elif w.retire_by is not None and now > w.retire_by:
            self._retire(w, None, out)
        elif w.head_since is not None and now - w.head_since > self.hard_timeout_s:
            reason = (
                f"timeout: no result within the hard limit of {self.hard_timeout_s:g} s; "
                "worker killed"
            )
            self._retire(w, reason, out)

    def _retire(self, w: _Worker, reason: str | None, out: list[tuple[int, R]]) -> None:
        """Remove a worker; its running task fails with `reason`, the rest are re-queued."""
        if w.process.is_alive():
            w.process.kill()
        w.process.join(5)
        w.conn.close()
        self.workers.remove(w)
        if reason is not None and w.ready and w.outstanding:
            head = w.outstanding.popleft()
            self.remaining -= 1
            out.append((head, self.on_failure(self.tasks[head], reason)))
        self._requeue(w)

    def _requeue(self, w: _Worker) -> None:
        self.pending.extendleft(reversed(w.outstanding))
        w.outstanding.clear()


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "did not exit"
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    return f"exited with code {code}"


def _exit_with_parent(conn: Connection) -> None:
    """End this worker as soon as the parent's end of `conn` closes, even mid-task.

    If the run is killed outright (SIGKILL, the OOM killer) no finally block kills the
    workers, and the forkserver stays up while they live; a worker stuck in a long query
    would linger. Watching for the peer's hang-up needs no reads, so it cannot steal
    messages from the main thread.
    """
    rdhup = getattr(select, "POLLRDHUP", None)  # Linux only
    if rdhup is None:
        return
    hangup = rdhup | select.POLLHUP | select.POLLERR | select.POLLNVAL

    def watch() -> None:
        poller = select.poll()
        poller.register(conn.fileno(), rdhup)
        while True:
            for _, event in poller.poll():
                if event & hangup:
                    os._exit(0)

    threading.Thread(target=watch, name="harness-parent-watch", daemon=True).start()


def _worker_main(conn: Connection, fn: Callable[[Any], Any], initializer: Any) -> None:
    _exit_with_parent(conn)
    # Ctrl-C is the parent's to handle: it kills us. Workers that also died of SIGINT
    # would each print a traceback and look like crashes.
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
        for index, task in chunk:
            fatal = False
            try:
                msg = ("done", index, True, fn(task), False)
            except Exception as exc:
                # After a MemoryError the process may be in any state: answer, then exit.
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
