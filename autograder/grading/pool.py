"""A pool of worker processes that always finishes.

``multiprocessing.Pool`` waits forever for the result of a worker that died
(killed by the kernel, a segfault in a library) and has no deadline for one
that hangs. Here the parent watches every busy worker's pipe, its process and
its clock: a worker that dies or overruns ``deadline`` is killed and replaced,
its task is tried once more, and a task that fails twice comes back as
:class:`Lost`, with the reason, instead of a result. Every task comes back
exactly once, in the order they finish.

Workers are forked, so the task function and everything it reads from the
parent are inherited, not pickled; tasks and results cross a pipe.
"""

from __future__ import annotations

import multiprocessing
import time
import traceback
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait


@dataclass(frozen=True)
class Lost:
    """A task no worker could finish: why, and the traceback if the task function raised."""

    reason: str
    traceback: str = ""


def _serve(conn, fn: Callable, initializer: Callable | None) -> None:
    if initializer is not None:
        initializer()
    while True:
        try:
            task = conn.recv()
        except EOFError:
            return
        if task is None:
            return
        try:
            result = (True, fn(task))
        except Exception as exc:  # noqa: BLE001 - the task function's own failure goes back as data
            result = (False, Lost(f"the grading code raised {type(exc).__name__}: {exc}", traceback.format_exc()))
        conn.send(result)


class _Worker:
    def __init__(self, context, fn: Callable, initializer: Callable | None):
        self.conn, theirs = context.Pipe()
        self.process = context.Process(target=_serve, args=(theirs, fn, initializer), daemon=True)
        self.process.start()
        theirs.close()
        self.task: tuple[int, object, int] | None = None  # (index, task, attempt)
        self.started = 0.0

    def give(self, index: int, task, attempt: int) -> None:
        self.task, self.started = (index, task, attempt), time.monotonic()
        self.conn.send(task)

    def stop(self, kill: bool = False) -> None:
        if not kill:
            try:
                self.conn.send(None)
            except OSError:
                kill = True
        if kill:
            self.process.kill()
        self.process.join(timeout=5)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self.conn.close()


def run_tasks(
    fn: Callable,
    tasks: Iterable,
    workers: int,
    deadline: float,
    initializer: Callable | None = None,
    attempts: int = 2,
) -> Iterator[tuple[object, object]]:
    """Yields ``(task, fn(task))`` for every task, or ``(task, Lost(...))`` when no worker could finish it.

    Args:
        fn: The task function, run in a forked worker.
        tasks: Picklable tasks.
        workers: How many workers run at once.
        deadline: Seconds one task may take before its worker is killed.
        initializer: Run once in every new worker.
        attempts: How many workers may try one task (a dead or stuck worker's task is retried).
    """
    context = multiprocessing.get_context("fork")
    queue = deque((index, task, 1) for index, task in enumerate(tasks))
    idle: list[_Worker] = []
    busy: list[_Worker] = []
    total_workers = max(1, min(workers, len(queue)))
    try:
        while queue or busy:
            while queue and len(idle) + len(busy) < total_workers:
                idle.append(_Worker(context, fn, initializer))
            while queue and idle:
                worker = idle.pop()
                worker.give(*queue.popleft())
                busy.append(worker)
            now = time.monotonic()
            timeout = max(0.0, min(w.started + deadline - now for w in busy))
            ready = set(wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=timeout))
            for worker in list(busy):
                index, task, attempt = worker.task
                failure = None
                if worker.conn in ready:
                    try:
                        ok, result = worker.conn.recv()
                    except (EOFError, OSError):
                        failure = "the grading worker died"
                    else:
                        busy.remove(worker)
                        idle.append(worker)
                        yield task, result
                        continue
                elif worker.process.sentinel in ready:
                    failure = "the grading worker died"
                elif time.monotonic() - worker.started > deadline:
                    failure = f"the grading worker was stuck for more than {deadline:g} s"
                if failure is None:
                    continue
                busy.remove(worker)
                worker.stop(kill=True)
                code = worker.process.exitcode
                if code is not None and code < 0:
                    failure += f" (signal {-code})"
                elif code not in (None, 0):
                    failure += f" (exit code {code})"
                if attempt < attempts:
                    queue.appendleft((index, task, attempt + 1))
                else:
                    yield task, Lost(f"{failure}, {attempt} times")
    finally:
        for worker in idle:
            worker.stop()
        for worker in busy:
            worker.stop(kill=True)
