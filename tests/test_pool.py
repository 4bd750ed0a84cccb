"""The crash-proof pool: whatever a task does to its worker costs that task only."""

from __future__ import annotations

import ctypes
import functools
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.scoring.engine.pool import PoolError, run_isolated

HARD_S = 1.0
_STATE: dict[str, object] = {}


def task(spec: tuple[str, int]) -> tuple[int, int]:
    """Module-level so workers can unpickle it; the kind says how to misbehave."""
    kind, value = spec
    if kind == "segv":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif kind == "null_deref":
        ctypes.string_at(0)
    elif kind == "exit":
        os._exit(3)
    elif kind == "hang":
        time.sleep(1000)
    elif kind == "memory":
        bytearray(2**62)  # raises MemoryError without touching memory
    elif kind == "raise":
        raise ValueError(f"bad task {value}")
    elif kind == "sys_exit":
        sys.exit(5)
    elif kind == "unpicklable":
        return lambda: value  # type: ignore[return-value]
    return value * value, os.getpid()


def failed(spec: tuple[str, int], reason: str) -> tuple[str, str]:
    return ("FAILED", reason)


def set_state(value: str) -> None:
    _STATE["init"] = value
    _STATE["calls"] = 0


def read_state(_: int) -> tuple[object, object]:
    _STATE["calls"] = int(_STATE.get("calls", 0)) + 1  # type: ignore[call-overload]
    return _STATE.get("init"), _STATE["calls"]


def broken_initializer() -> None:
    raise RuntimeError("no database here")


def process_gone(pid: int, within_s: float = 10.0) -> bool:
    """True once `pid` no longer runs (gone, or a zombie its parent has yet to reap)."""
    deadline = time.monotonic() + within_s
    while time.monotonic() < deadline:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (FileNotFoundError, ProcessLookupError):
            return True
        if state in {"Z", "X"}:
            return True
        time.sleep(0.05)
    return False


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")


def test_all_results_arrive_with_their_indices() -> None:
    tasks = [("ok", i) for i in range(50)]
    results = dict(run_isolated(task, tasks, jobs=2, hard_timeout_s=30, on_failure=failed))
    assert sorted(results) == list(range(50))
    assert all(results[i][0] == i * i for i in range(50))
    assert len({pid for _, pid in results.values()}) == 2  # both workers did work
    assert os.getpid() not in {pid for _, pid in results.values()}


def test_no_tasks_starts_nothing() -> None:
    assert list(run_isolated(task, [], jobs=2, hard_timeout_s=1, on_failure=failed)) == []


BAD = {
    3: ("segv", "crash: worker process was killed by SIGSEGV"),
    6: ("null_deref", "crash: worker process was killed by SIGSEGV"),
    9: ("exit", "crash: worker process exited with code 3"),
    12: ("hang", f"timeout: no result within the hard limit of {HARD_S:g} s"),
    15: ("memory", "crash: MemoryError"),
    18: ("raise", "crash: ValueError: bad task 18"),
    21: ("sys_exit", "crash: SystemExit: 5"),
    24: ("unpicklable", "crash: unpicklable result"),
}


@needs_proc
@pytest.mark.parametrize("jobs", [1, 2])
def test_each_failure_costs_exactly_its_task(jobs: int) -> None:
    tasks = [(BAD[i][0] if i in BAD else "ok", i) for i in range(30)]
    # Chunks of 4 put every bad task next to good ones that must be re-queued, not lost.
    results = list(
        run_isolated(task, tasks, jobs=jobs, hard_timeout_s=HARD_S, on_failure=failed, chunk_size=4)
    )
    indices = [i for i, _ in results]
    assert sorted(indices) == list(range(30))  # every task once, none twice
    by_index = dict(results)
    for i in range(30):
        if i in BAD:
            status, reason = by_index[i]
            assert status == "FAILED" and reason.startswith(BAD[i][1]), (i, reason)
        else:
            assert by_index[i][0] == i * i, (i, by_index[i])
    worker_pids = {pid for i, (_, pid) in by_index.items() if i not in BAD}
    assert len(worker_pids) > jobs  # dead workers were replaced
    assert all(process_gone(pid) for pid in worker_pids)


def test_initializer_runs_in_each_worker() -> None:
    results = dict(
        run_isolated(
            read_state,
            list(range(20)),
            jobs=2,
            hard_timeout_s=30,
            on_failure=failed,
            initializer=functools.partial(set_state, "ready"),
        )
    )
    assert {init for init, _ in results.values()} == {"ready"}
    assert "init" not in _STATE  # it ran in the workers, not here


def test_failing_initializer_is_a_pool_error() -> None:
    with pytest.raises(PoolError, match="no database here"):
        list(
            run_isolated(
                task,
                [("ok", 1)] * 3,
                jobs=2,
                hard_timeout_s=30,
                on_failure=failed,
                initializer=broken_initializer,
            )
        )


@needs_proc
def test_closing_early_kills_busy_workers() -> None:
    # Chunks of two: each worker gets [ok, hang] and starts its hang right after answering.
    tasks = [("ok", 0), ("hang", 1), ("ok", 2), ("hang", 3)]
    results = run_isolated(task, tasks, jobs=2, hard_timeout_s=600, on_failure=failed, chunk_size=2)
    pids = {next(results)[1][1], next(results)[1][1]}
    assert len(pids) == 2
    results.close()  # both workers are busy with their hang task
    assert all(process_gone(pid) for pid in pids)


@needs_proc
def test_ctrl_c_leaves_no_worker_behind(tmp_path: Path) -> None:
    script = tmp_path / "interrupted.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, sys, time
            from harness.scoring.engine.pool import run_isolated

            def work(kind):
                if kind == "hang":
                    time.sleep(1000)
                return os.getpid()

            def failed(kind, reason):
                return reason

            if __name__ == "__main__":
                tasks = ["pid", "pid", "hang", "hang"]
                results = run_isolated(work, tasks, jobs=2, hard_timeout_s=600,
                                       on_failure=failed, chunk_size=1)
                for _ in range(2):
                    print(next(results)[1], flush=True)
                try:
                    # Printed inside the try, so a SIGINT sent as soon as it is read
                    # cannot land outside the handler.
                    print("waiting", flush=True)
                    for _ in results:
                        pass
                except KeyboardInterrupt:
                    print("interrupted", flush=True)
                    sys.exit(130)
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = {int(proc.stdout.readline()), int(proc.stdout.readline())}
        assert proc.stdout.readline().strip() == "waiting"
        # The parent only; a terminal Ctrl-C would also reach the workers, which ignore it.
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 130 and "interrupted" in out
    assert all(process_gone(pid) for pid in pids)


@needs_proc
def test_killed_run_leaves_no_worker_behind(tmp_path: Path) -> None:
    script = tmp_path / "killed.py"
    script.write_text(
        textwrap.dedent(
            """
            import os, time
            from harness.scoring.engine.pool import run_isolated

            def work(kind):
                if kind == "hang":
                    time.sleep(1000)
                return os.getpid()

            def failed(kind, reason):
                return reason

            if __name__ == "__main__":
                results = run_isolated(work, ["pid", "pid", "hang", "hang"], jobs=2,
                                       hard_timeout_s=600, on_failure=failed, chunk_size=1)
                for _ in range(2):
                    print(next(results)[1], flush=True)
                for _ in results:
                    pass
            """
        )
    )
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        pids = {int(proc.stdout.readline()), int(proc.stdout.readline())}
    finally:
        proc.kill()  # no finally block runs in the parent: the workers must go by themselves
        proc.wait()
    assert all(process_gone(pid) for pid in pids)
