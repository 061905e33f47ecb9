"""Grading on a Dask cluster: ``grade --scheduler tcp://HOST:PORT``.

The client (the ``grade`` process, on the machine that holds the course) stays
the only writer of the gradebook, the autograded notebooks and the records,
exactly as with the local pool; the cluster only computes. Each task carries
what its worker needs (the notebook's bytes, the assignment, the limits, the
digest of the client's grader) and returns the record and the autograded
notebook's text, so a worker needs the same checkout and environment but no
access to the course.

Trust:

* Before the first task, :meth:`Cluster.refusals` runs a check on every worker
  (``Client.run``): it must run the same grader as the client (digest of the
  checkout) and prove that student code there is isolated
  (:func:`autograder.sandbox.verify_isolation`). One refusal stops the run
  before any student code runs. A worker that joins later checks itself before
  its first task and raises :class:`WorkerRefused`; the run then stops, keeping
  what was stored.
* Dask's wire trusts its peers (a peer can run code on any worker and on this
  client): the scheduler's port must be reachable by the cluster's machines
  only, or use TLS. Student code never sees it: the sandbox allows no network.

Failures: a worker lost mid-task makes the scheduler run the task elsewhere;
a task that kills ``distributed.scheduler.allowed-failures`` workers comes back
as :class:`~autograder.grading.pool.Lost` (not graded, retried by the next
run). Each task's result is taken once, so nothing is counted twice.

Deployment (by hand, SLURM, Kubernetes) and security: README.md, "Grading on a cluster (Dask)".
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Iterable, Iterator

from autograder.grading.pool import Lost

log = logging.getLogger("autograder")

CONNECT_TIMEOUT = 20  # seconds to reach the scheduler
WAIT_FOR_WORKERS = 60  # seconds to wait for a first worker


class WorkerRefused(Exception):
    """A worker that must not grade: which one, and why."""

    def __init__(self, worker: str, reason: str):
        super().__init__(worker, reason)
        self.worker, self.reason = worker, reason

    def __str__(self) -> str:
        return f"the worker {self.worker} refuses to grade: {self.reason}"


class ClusterError(Exception):
    """The cluster cannot be used (unreachable, no workers, a worker refused): the message says why and what to do."""


def connect(address: str, check: Callable[[], str | None]) -> Cluster:
    """A client of the scheduler at ``address`` whose every worker passed ``check`` (None = may grade)."""
    from distributed import Client

    try:
        client = Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except OSError as exc:
        raise ClusterError(f"cannot reach the Dask scheduler at {address} ({exc}); is it running, and is this its address?") from None
    cluster = Cluster(client, address)
    try:
        try:
            client.wait_for_workers(1, timeout=WAIT_FOR_WORKERS)
        except TimeoutError:
            raise ClusterError(
                f"the Dask scheduler at {address} has no worker after {WAIT_FOR_WORKERS} s; start some (README: Grading on a cluster)"
            ) from None
        try:
            client.run_on_scheduler(_here)
        except Exception as exc:  # noqa: BLE001 - the scheduler unpickles every task: it needs the grader too
            raise ClusterError(
                f"the Dask scheduler at {address} cannot load the grader ({type(exc).__name__}); "
                "start it with this checkout on its PYTHONPATH, as the workers (README: Grading on a cluster)"
            ) from None
        refused = cluster.refusals(check)
        if refused:
            lines = "; ".join(f"{worker}: {reason}" for worker, reason in sorted(refused.items()))
            raise ClusterError(f"{len(refused)} worker(s) of {address} refuse to grade ({lines})")
    except BaseException:
        cluster.close()
        raise
    return cluster


def _here() -> bool:
    """Run on the scheduler: that it can load this module proves it can load the grader's tasks."""
    return True


class Cluster:
    """The client's side of a class run on Dask; a context manager that closes the client."""

    def __init__(self, client, address: str):
        self.client, self.address = client, address

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.client.close(timeout=10)
        except Exception:  # closing a client whose scheduler is gone: nothing left to do
            log.debug("closing the Dask client failed", exc_info=True)

    def threads(self) -> int:
        """Tasks the cluster runs at once (the sum of its workers' threads)."""
        return max(1, sum(self.client.nthreads().values()))

    def refusals(self, check: Callable[[], str | None]) -> dict[str, str]:
        """``check()`` on every worker: ``{worker: reason}`` for those that refuse, or cannot run it."""
        try:
            answers = self.client.run(check, on_error="return")
        except Exception as exc:  # noqa: BLE001 - the run itself failed: say so as a refusal of the cluster
            return {self.address: f"the check could not run ({type(exc).__name__}: {exc})"}
        refused = {}
        for worker, answer in answers.items():
            if isinstance(answer, BaseException):
                refused[worker] = (
                    f"the check failed ({type(answer).__name__}: {answer}); does the worker have the same checkout on its PYTHONPATH?"
                )
            elif answer:
                refused[worker] = answer
        return refused

    def run(self, fn: Callable, jobs: Iterable, prepare: Callable = lambda job: job, window: int | None = None) -> Iterator[list[tuple]]:
        """Yields batches ``[(job, fn(prepare(job))), ...]`` (or ``(job, Lost(...))`` where the cluster could not finish one).

        A batch is every task that finished since the last one, so the faster
        the results come, the larger the batches the gradebook writes in one
        transaction. At most ``window`` tasks (default: twice the cluster's
        threads, at least 4) are out at a time, so the notebooks' bytes are
        read and sent as they are needed, not all at once. A
        :class:`WorkerRefused` stops the run: the batch's other results are
        yielded, the tasks still out cancelled, and :class:`ClusterError` raised.
        """
        from distributed import as_completed

        jobs = iter(jobs)
        window = window or max(4, 2 * self.threads())
        running: dict = {}  # future -> job
        done = as_completed(loop=self.client.loop)

        def submit_next() -> bool:
            job = next(jobs, None)
            if job is None:
                return False
            future = self.client.submit(fn, prepare(job), pure=False)
            running[future] = job
            done.add(future)
            return True

        while len(running) < window and submit_next():
            pass
        try:
            for futures in done.batches():
                batch, refused = [], None
                for future in futures:
                    job = running.pop(future)
                    try:
                        batch.append((job, future.result()))
                    except WorkerRefused as exc:
                        refused = exc
                    except Exception as exc:  # noqa: BLE001 - KilledWorker, a lost connection: not graded, retried by the next run
                        batch.append((job, Lost(f"the cluster could not grade it ({type(exc).__name__}: {exc})", traceback.format_exc())))
                    finally:
                        future.release()
                if refused is None:
                    for _ in futures:
                        submit_next()
                yield batch
                if refused is not None:
                    raise ClusterError(f"{refused}; nothing more was sent, and what was graded is kept (a rerun grades the rest)")
        finally:
            for future in running:
                future.cancel()
