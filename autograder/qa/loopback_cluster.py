"""A Dask scheduler and workers as separate processes on 127.0.0.1, started as the README tells an instructor to.

For the tests and benchmarks of ``grade --scheduler``: each process gets this
checkout on PYTHONPATH, one BLAS thread, and its own temporary folder; the
scheduler picks a free port and writes its address to a scheduler file.
Workers run one task at a time and without a nanny, so killing a worker's
process loses the worker.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from autograder.course.registry import NOTEBOOK_DIR, REPO


def dask_env(tmp: Path) -> dict:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), str(NOTEBOOK_DIR)]),
        "OPENBLAS_NUM_THREADS": "1",
        "TMPDIR": str(tmp),
    }


class LoopbackCluster:
    """``with LoopbackCluster(folder, workers=2) as cluster: ... cluster.address``; every process is killed on exit."""

    def __init__(self, folder: Path, workers: int = 0):
        self.folder = Path(folder)
        (self.folder / "tmp").mkdir(parents=True, exist_ok=True)
        self.env = dask_env(self.folder / "tmp")
        self.file = self.folder / "scheduler.json"
        self.processes: list[subprocess.Popen] = []
        self.workers: list[subprocess.Popen] = []
        try:
            self._start(("scheduler", "--scheduler-file", str(self.file), "--host", "127.0.0.1", "--port", "0", "--no-dashboard"))
            deadline = time.monotonic() + 60
            while not self.file.exists():
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the Dask scheduler wrote no {self.file} in 60 s; see {self.folder}/scheduler-0.log")
                time.sleep(0.2)
            self.address = json.loads(self.file.read_text())["address"]
            for _ in range(workers):
                self.add_worker()
            if workers:
                self.wait_for_workers(workers)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> LoopbackCluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _start(self, argv: tuple[str, ...], prefix: tuple[str, ...] = (), env: dict | None = None) -> subprocess.Popen:
        log = open(self.folder / f"{argv[0]}-{len(self.processes)}.log", "w")
        command = [*prefix, str(Path(sys.executable).with_name("dask")), *argv]
        process = subprocess.Popen(
            command, env=env or self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=self.folder
        )
        log.close()
        self.processes.append(process)
        return process

    def add_worker(self, prefix: tuple[str, ...] = (), env: dict | None = None, extra: tuple[str, ...] = ()) -> subprocess.Popen:
        """One more worker (``prefix``: a command it runs under; ``env``: another environment; ``extra``: more flags)."""
        argv = ("worker", self.address, "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host", "127.0.0.1", *extra)
        worker = self._start(argv, prefix, env)
        self.workers.append(worker)
        return worker

    def wait_for_workers(self, n: int, timeout: float = 60) -> None:
        from distributed import Client

        with Client(self.address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(n, timeout=timeout)

    def close(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
