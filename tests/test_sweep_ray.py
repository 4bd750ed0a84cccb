"""`harness sweep --executor ray` on a local Ray bound to loopback, on CPU: tiny hf cells
sharing one task, a loopback API cell, and a Ray worker killed mid-cell; the result must
equal plain uninterrupted runs of each cell's config.

Ray start-up costs seconds, so one sweep covers it all. The test ends the worker processes
it learns of by PID and never runs `ray stop` (which would end every Ray on the machine).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback_api import LoopbackAPI
from sweep_helpers import QUICK, SECRET, answers, rows, write_grid

from harness.generation.generate import generate
from harness.sweep.cells import WORKER_FILE
from harness.sweep.pipeline import run_sweep

# Not imported here: the sweep must be the first to import ray (it sets loopback mode first).
if importlib.util.find_spec("ray") is None:
    pytest.skip(
        "the ray extra is not installed (pip install 'harness[ray]')", allow_module_level=True
    )
pytest.importorskip("torch")
pytest.importorskip("openai")

API_CELL = "gpt-4o-mini"


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[LoopbackAPI]:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the Ray workers share 2 cores with the rest
    server = LoopbackAPI("openai")
    yield server
    server.close()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


class WorkerKiller(threading.Thread):
    """Kills the Ray worker running the API cell once it has written a few rows."""

    def __init__(self, cell_dir: Path, after_rows: int) -> None:
        super().__init__(daemon=True)
        self.cell_dir = cell_dir
        self.after_rows = after_rows
        self.killed: int | None = None
        self.rows_at_kill: list[dict] = []
        self.seen: set[int] = set()
        self.stop = threading.Event()

    def run(self) -> None:
        pred = self.cell_dir / "predictions.jsonl"
        while not self.stop.wait(0.01):
            with contextlib.suppress(FileNotFoundError, ValueError, IndexError):
                self.seen.add(int((self.cell_dir / WORKER_FILE).read_text().split()[1]))
                if self.killed is None and pred.read_bytes().count(b"\n") >= self.after_rows:
                    pid = int((self.cell_dir / WORKER_FILE).read_text().split()[1])
                    os.kill(pid, signal.SIGKILL)
                    self.killed = pid
                    self.rows_at_kill = rows(self.cell_dir)


def test_ray_sweep_survives_a_killed_worker_and_matches_local(
    tmp_path: Path, api: LoopbackAPI
) -> None:
    from conftest_models import tiny_model, tiny_spider_dir

    model, data = tiny_model(), tiny_spider_dir(repeat=3)
    grid = write_grid(
        tmp_path / "grid.toml",
        {
            "benchmark": {"name": "spider", "data_dir": str(data)},
            "model": {"base_url": api.base_url},
            "decoding": {"max_new_tokens": 8, "batch_size": 9},
            "run": {"cache": False, "concurrency": 1},
            "matrix": {"model.spec": [f"hf:{model.path}", "openai:gpt-4o-mini"]},
            "include": [
                {"model.spec": f"hf:{model.path}", "model.adapters": [str(model.adapter_a)]}
            ],
            "sweep": {"retries": 2, "baseline": "tiny-qwen2-instruct"},
        },
    )
    api.delay_s = 0.1
    out = tmp_path / "ray"
    killer = WorkerKiller(out / API_CELL, after_rows=4)
    killer.start()
    try:
        result = run_sweep(grid, out, QUICK, executor="ray")
    finally:
        killer.stop.set()
        killer.join()
        for pid in killer.seen:  # whatever this test's sweep started and left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert killer.killed is not None, "the API cell finished before the worker was killed"
    status = {o.name: o.status for o in result.outcomes}
    assert status == {
        "tiny-qwen2-instruct": "done",
        API_CELL: "resumed",  # Ray retried the task; the cell went on from its rows
        "tiny-qwen2-instruct_adapter-a": "done",
    }
    assert not _alive(killer.killed)
    # The sweep shut down the Ray it started: no worker it used is left running.
    deadline = time.monotonic() + 30
    while any(_alive(p) for p in killer.seen) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not any(_alive(p) for p in killer.seen)

    api.delay_s = 0.0
    n_total = 27
    for cell in result.grid.cells:
        # The reference: each cell as a plain uninterrupted run of its config.
        generate(cell.cfg, tmp_path / "plain" / cell.name, progress=False)
        got = answers(out / cell.name)
        assert got == answers(tmp_path / "plain" / cell.name)
        assert len(got) == len({a[0] for a in got}) == n_total  # nothing lost, nothing twice
    by_id = {r["id"]: r for r in rows(out / API_CELL)}
    assert all(by_id[r["id"]] == r for r in killer.rows_at_kill)
    assert (out / "leaderboard" / "COMPARISON.md").is_file()


def test_joining_a_running_cluster_leaves_it_running(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket
    import subprocess
    import sys

    from sweep_helpers import REPO

    monkeypatch.chdir(REPO)
    # A throwaway single-machine cluster: loopback only, no token (Ray 2.60 enables token
    # auth for `ray start`; the driver would otherwise need the cluster's token).
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    monkeypatch.setenv("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = tmp_path / "head.log"
    ray_cli = Path(sys.executable).parent / "ray"
    head = subprocess.Popen(
        [
            str(ray_cli),
            "start",
            "--head",
            "--block",
            "--node-ip-address",
            "127.0.0.1",
            "--port",
            str(port),
            "--include-dashboard=false",
            "--num-cpus",
            "1",
            "--disable-usage-stats",
        ],
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    started: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while b"block forever" not in log.read_bytes() and time.monotonic() < deadline:
            assert head.poll() is None, log.read_text()
            time.sleep(0.2)
        out = tmp_path / "sweep"
        demo = REPO / "evals" / "sweeps" / "fixture-demo.toml"
        result = run_sweep(demo, out, QUICK, executor="ray", ray_address=f"127.0.0.1:{port}")
        assert {o.status for o in result.outcomes} == {"done"}
        assert (out / "leaderboard" / "comparison.json").is_file()
        assert head.poll() is None  # a cluster the sweep joined is not the sweep's to stop
        started = [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-g", str(head.pid)], capture_output=True, text=True
            ).stdout.split()
        ]
    finally:
        head.send_signal(signal.SIGTERM)  # `ray start --block` ends what it started
        try:
            head.wait(60)
        except subprocess.TimeoutExpired:
            head.kill()
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def test_sigterm_of_the_driver_shuts_down_the_ray_it_started(
    tmp_path: Path, api: LoopbackAPI
) -> None:
    import subprocess
    import sys

    from conftest_models import tiny_spider_dir
    from sweep_helpers import REPO

    grid = write_grid(
        tmp_path / "grid.toml",
        {
            "benchmark": {"name": "spider", "data_dir": str(tiny_spider_dir(repeat=3))},
            "model": {"base_url": api.base_url},
            "run": {"cache": False, "concurrency": 1},
            "matrix": {"model.spec": ["openai:gpt-4o-mini"]},
        },
    )
    api.delay_s = 0.5  # slow enough that the cell is still running when the signal comes
    out = tmp_path / "out"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness.cli",
            "sweep",
            str(grid),
            "--out",
            str(out),
            "--executor",
            "ray",
            "--jobs",
            "1",
        ],
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    started: list[int] = []
    try:
        worker_file = out / API_CELL / WORKER_FILE
        deadline = time.monotonic() + 120
        while not worker_file.is_file() and time.monotonic() < deadline:
            assert proc.poll() is None, "the sweep ended before its cell started"
            time.sleep(0.05)
        started.append(int(worker_file.read_text().split()[1]))
        started += [
            int(p)
            for p in subprocess.run(
                ["pgrep", "-g", str(proc.pid)], capture_output=True, text=True
            ).stdout.split()
            if int(p) != proc.pid
        ]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 130  # unwound as for Ctrl-C: "harness: aborted"
        deadline = time.monotonic() + 30
        while any(_alive(p) for p in started) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(started) > 1 and not any(_alive(p) for p in started)
    finally:
        if proc.poll() is None:
            proc.kill()
        for pid in started:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    pred = out / API_CELL / "predictions.jsonl"
    assert not pred.is_file() or len(rows(out / API_CELL)) < 27  # stopped mid-cell
