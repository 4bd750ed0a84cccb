"""Where tasks run: one after another here (`local`), or as Ray tasks (`ray`).

Ray is imported only by `RayExecutor.run`. With no address it starts a Ray instance on
this machine bound to loopback (and shuts it down again on success, failure, Ctrl-C or
SIGTERM); with an address it joins that cluster and cancels its own tasks on the way out.
Each task asks for the GPUs its cells' configs need (hf: 1, vLLM: tensor_parallel_size;
none on a cluster without GPUs, where hf runs on CPU); API and replay cells ask for
nothing, so they all run at once, each under its own rate limits (run.concurrency).
A worker that dies mid-task is a system failure Ray retries (up to [sweep] retries); the
retried task resumes each cell from its run folder.
"""

from __future__ import annotations

import os
import signal
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

from harness.errors import ConfigError
from harness.registry import Registry, subclass_of
from harness.sweep.cells import CellOutcome, CellRunner, Task, cell_state, summary_ex

OnOutcome = Callable[[CellOutcome], None]
# Ray resolves 127.0.0.1 to the machine's interface address unless it runs in its
# single-machine mode (the Windows/macOS default), which this variable turns on.
_LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
_MAX_REASON = 240


class Executor(ABC):
    """Runs a sweep's tasks, reporting each cell's outcome as it comes."""

    takes_address: ClassVar[bool] = False  # joins a cluster named by --ray-address

    @abstractmethod
    def run(self, tasks: list[Task], runner: CellRunner, on_outcome: OnOutcome) -> None: ...


class LocalExecutor(Executor):
    def run(self, tasks: list[Task], runner: CellRunner, on_outcome: OnOutcome) -> None:
        for task in tasks:
            for outcome in runner.run_task(task):
                on_outcome(outcome)


def _run_task(runner: CellRunner, task: Task) -> list[CellOutcome]:
    return runner.run_task(task)


def _lost_task(runner: CellRunner, task: Task, exc: BaseException) -> list[CellOutcome]:
    """A task Ray gave up on: its cells that finished before are done all the same."""
    first = (str(exc).strip().splitlines() or [""])[0]
    reason = f"{type(exc).__name__}: {first}"[:_MAX_REASON]
    out = []
    for cell in task.cells:
        if cell_state(runner.out_dir / cell.name) == "done":
            out.append(CellOutcome(cell.name, "done", ex=summary_ex(runner.out_dir / cell.name)))
        else:
            out.append(CellOutcome(cell.name, "failed", reason=reason))
    return out


@contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    # A batch scheduler stops a job with SIGTERM: unwind as for Ctrl-C, so Ray is shut down.
    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class RayExecutor(Executor):
    takes_address: ClassVar[bool] = True
    address: str | None = None
    num_cpus: int | None = None  # for a Ray this sweep starts (None: all of this machine's)

    def _init(self) -> Any:
        host = (self.address or "").rpartition(":")[0].removeprefix("ray://")
        if self.address is None or host in ("127.0.0.1", "localhost"):
            # This machine only: Ray must talk over loopback (set before ray is imported).
            os.environ.setdefault(_LOOPBACK_ENV, "0")
        try:
            import ray
        except ModuleNotFoundError:
            raise ConfigError(
                "--executor ray needs the Python package 'ray' (pip install 'harness[ray]')"
            ) from None
        if self.address is None:
            ray.init(
                # "local": a new instance, never one found through RAY_ADDRESS or /tmp/ray.
                address="local",
                _node_ip_address="127.0.0.1",
                include_dashboard=False,
                num_cpus=self.num_cpus,
                log_to_driver=False,
                configure_logging=False,
            )
            gcs = ray.get_runtime_context().gcs_address
            if not gcs.startswith("127."):
                # ray was imported before _LOOPBACK_ENV was set: it bound a public address.
                ray.shutdown()
                raise ConfigError(
                    f"the local Ray bound {gcs}, not loopback; set {_LOOPBACK_ENV}=0 "
                    "before anything imports ray"
                )
        else:
            try:
                ray.init(address=self.address, log_to_driver=False, configure_logging=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise ConfigError(
                    f"--ray-address {self.address}: cannot join the cluster: "
                    f"{' '.join(str(exc).split())[:_MAX_REASON]} (a cluster with token "
                    "auth needs its token in RAY_AUTH_TOKEN)"
                ) from None
        return ray

    def run(self, tasks: list[Task], runner: CellRunner, on_outcome: OnOutcome) -> None:
        ray = self._init()
        pending: dict[Any, Task] = {}
        # After ray.init, which installs a SIGTERM handler of its own that aborts the driver.
        with _sigterm_as_interrupt():
            try:
                has_gpus = bool(ray.cluster_resources().get("GPU", 0))
                remote = ray.remote(_run_task)
                for task in tasks:
                    gpus = task.gpus if has_gpus else 0
                    cpus = 1 if task.gpus else 0
                    ref = remote.options(
                        num_cpus=cpus,
                        num_gpus=gpus,
                        max_retries=runner.retries,
                        retry_exceptions=False,
                        name=f"harness-sweep:{task.label}",
                    ).remote(runner, task)
                    pending[ref] = task
                while pending:
                    ready, _ = ray.wait(list(pending), num_returns=1)
                    for ref in ready:
                        task = pending.pop(ref)
                        try:
                            outcomes = ray.get(ref)
                        except ray.exceptions.RayError as exc:
                            outcomes = _lost_task(runner, task, exc)
                        for outcome in outcomes:
                            on_outcome(outcome)
            finally:
                if self.address is None:
                    ray.shutdown()
                else:
                    for ref in pending:
                        ray.cancel(ref, force=True)
                    ray.shutdown()


EXECUTORS: Registry[type[Executor]] = Registry(
    "executor",
    {
        "local": "harness.sweep.executors:LocalExecutor",
        "ray": "harness.sweep.executors:RayExecutor",
    },
    subclass_of(Executor),
    "an Executor class",
)


def make_executor(name: str, address: str | None = None) -> Executor:
    cls = EXECUTORS.get(name)
    if not cls.takes_address:
        if address:
            raise ConfigError("--ray-address is only used with --executor ray")
        return cls()
    return cls(address)  # type: ignore[call-arg]
