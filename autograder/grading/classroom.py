"""``python -m autograder grade``: grade a whole class, in parallel, resumably.

Every ``course/submitted/<student>/<assignment>/`` is judged by the sandboxed
grader (:func:`autograder.grading.notebook.grade_notebook`: student code in its own
limited process, the checks in ours), several submissions at a time, and the
results go into nbgrader's gradebook so that ``nbgrader generate_feedback`` and
``nbgrader export`` work afterwards.

Resumable by construction: the parent process is the only writer. For each
submission it commits the gradebook, writes the autograded notebook, and only
then writes ``grades/<student>/<assignment>.json`` with a fingerprint of the
submission and of the grader. A rerun skips submissions whose record matches
(``--force`` regrades all); a grader killed at any point leaves at most the
submissions in flight without a record, and those are graded again.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import socket
import sys
import tempfile
import time
import traceback
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from autograder import options
from autograder.course.registry import STEMS
from autograder.grading import pool
from autograder.grading.gradebook import (
    autograded_notebook,
    check_gradebook,
    default_db_url,
    flag_for_manual_grading,
    write_autograded_text,
    write_gradebook_many,
)
from autograder.grading.judge import Verdict, grader_fault
from autograder.grading.notebook import NotebookResult, grade_notebook
from autograder.grading.records import grader_digest, read_record, record_path, result_to_record, submission_fingerprint, write_atomic
from autograder.grading.submissions import discover, read_timestamp, unsafe_submission
from autograder.sandbox import Limits, verify_isolation

log = logging.getLogger("autograder")

SCRATCH = ".scratch"  # the run's temporary files, inside the course: removed at the end, swept by the next run
LOCK = ".grade.lock"


def worker_init() -> None:
    """Workers die with the grader (so a killed run leaves no stray graders)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: workers still exit when the pool's pipe closes
        pass


def worker_deadline(limits: Limits) -> float:
    """Seconds one submission may hold a worker before it counts as stuck.

    The student's code has ``notebook_timeout`` in all; the grader's own work
    (starting processes, the checks) is given twice that again, and two minutes.
    """
    return 3 * limits.notebook_timeout + 120


@dataclass(frozen=True)
class Job:
    """One submission to grade, with everything the worker that grades it needs.

    A worker of this machine reads the notebook at ``path``. A worker of a
    cluster has no course folder: the client ships the notebook's bytes
    (``shipped``; ``notebook`` is None when the file is missing) and the
    digest of the grader it runs, which the worker's own must equal.
    """

    student: str
    stem: str
    path: str
    limits: Limits
    fingerprint: str
    unsafe: str | None = None  # why the submission must not be opened
    shipped: bool = False
    notebook: bytes | None = None
    digest: str = ""
    deadline: float = 0.0  # seconds a cluster worker may spend on it before it ends itself (0: no limit)


@dataclass
class Outcome:
    """What a worker hands back: the record, the autograded notebook's text, the grader's faults, and who graded it."""

    record: dict
    autograded: str | None  # None: it could not be made (a fault says why)
    faults: list[str] = field(default_factory=list)
    worker: str = ""


def ship(job: Job) -> Job:
    """``job`` with its notebook's bytes, for a worker without the course folder (read only when it is sent)."""
    notebook = None
    if not job.unsafe:
        with contextlib.suppress(FileNotFoundError):
            notebook = Path(job.path).read_bytes()
    return replace(job, shipped=True, notebook=notebook)


def worker_name() -> str:
    """The Dask worker's address on a cluster, else this machine and process."""
    dask = sys.modules.get("distributed")
    if dask is not None:
        with contextlib.suppress(ValueError):
            return dask.get_worker().address
    return f"{socket.gethostname()} pid {os.getpid()}"


STUCK_EXIT = 70  # a cluster worker's exit status when it ended itself over a stuck grading


@contextlib.contextmanager
def _deadline(job: Job):
    """On a cluster worker: if grading ``job`` outlasts its deadline, the worker process ends itself.

    A stuck grading cannot be stopped from the client, and a thread cannot be
    killed; ending the process is what the local pool does to a stuck worker.
    The scheduler then gives the task to another worker, and after
    ``allowed-failures`` such deaths it comes back to the client as not graded.
    (The sandbox's own limits end student code long before this.)
    """
    if not (job.shipped and job.deadline):
        yield
        return
    import threading

    def stuck() -> None:
        log.error("grading %s/%s took more than %g s: this worker ends itself", job.student, job.stem, job.deadline)
        os._exit(STUCK_EXIT)

    timer = threading.Timer(job.deadline, stuck)
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()


@contextlib.contextmanager
def _notebook_at(job: Job):
    """The path to grade: the course's file, or the shipped bytes written to a private folder (student/assignment kept)."""
    if not job.shipped:
        yield Path(job.path)
        return
    folder = Path(tempfile.mkdtemp(prefix="dlwork-job-"))
    try:
        path = folder / job.student / job.stem / f"{job.stem}.ipynb"
        path.parent.mkdir(parents=True)
        if job.notebook is not None:
            path.write_bytes(job.notebook)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_REFUSALS: dict[str, str | None] = {}  # limits and digest -> this worker process's answer


def worker_refusal(limits: Limits, digest: str) -> str | None:
    """Why this worker must not grade (another grader than the client's, or no isolation); None: it may.

    Run by the client on every worker before the first task, and by a worker
    before its own first task; answered once per process and settings.
    """
    from autograder.course.registry import use_repository_paths
    from autograder.sandbox import IsolationError

    key = json.dumps([asdict(limits), digest], sort_keys=True)
    if key not in _REFUSALS:
        use_repository_paths()
        mine = grader_digest()
        if digest and digest != mine:
            _REFUSALS[key] = (
                f"it runs another version of the grader than the client (digest {mine[:12]}, the client's {digest[:12]}): "
                "give every worker the same checkout"
            )
        else:
            try:
                verify_isolation(limits)
                _REFUSALS[key] = None
            except IsolationError as exc:
                _REFUSALS[key] = str(exc)
    return _REFUSALS[key]


def grade_job(job: Job) -> Outcome:
    """In a worker: judge one notebook and make its autograded copy; the client writes both.

    Returns the record and the grader's faults: texts with a traceback each,
    for the instructor's log. A cluster worker first proves it may grade
    (:func:`worker_refusal`) and raises ``WorkerRefused`` if not.
    """
    if job.shipped:
        reason = worker_refusal(job.limits, job.digest)
        if reason:
            from autograder.grading.cluster import WorkerRefused

            raise WorkerRefused(worker_name(), reason)
    with _deadline(job), _notebook_at(job) as path:
        try:
            result = _not_graded(job.stem, job.path, job.unsafe) if job.unsafe else grade_notebook(path, job.limits, stem=job.stem)
        except Exception as exc:  # noqa: BLE001 - the grader itself failed on this submission: say so, go on
            reason = f"the grader failed on this notebook ({type(exc).__name__}: {str(exc)[:200]})"
            result = _not_graded(job.stem, job.path, reason, fault=traceback.format_exc())
        faults = [f"{job.student}/{job.stem} {v.function}: {v.reason}\n{v.fault}" for v in result.verdicts if v.fault]
        record = result_to_record(result, job.student, job.fingerprint, job.limits)
        record["sandbox"] = job.limits.sandbox
        try:
            text = autograded_notebook(record, None if job.unsafe else path)
        except Exception:  # noqa: BLE001 - the grades stand; nbgrader's feedback for this notebook is missing
            text = None
            faults.append(f"{job.student}/{job.stem}: the autograded notebook could not be made\n{traceback.format_exc()}")
    return Outcome(record, text, faults, worker_name())


def _not_graded(stem: str, path: str, reason: str, fault: str = "") -> NotebookResult:
    """Every function of ``stem`` not graded, for ``reason``; ``fault``: the grader's traceback, if it is the grader's."""
    from autograder.course.contract import exercises
    from autograder.grading.notebook import release_notebook

    verdicts = [
        grader_fault(stem, e.function, e.points, reason, fault)
        if fault
        else Verdict(stem, e.function, 0.0, e.points, diagnosis=f"Not graded: {reason}.", graded=False)
        for e in exercises(release_notebook(stem), stem)
    ]
    return NotebookResult(stem, str(path), verdicts, [reason])


@contextlib.contextmanager
def course_lock(course: Path):
    """Holds ``course/.grade.lock`` for one ``grade`` run; a second run on the course is refused."""
    import fcntl

    path = course / LOCK
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise Busy(f"another `grade` is running on {course} ({holder}); wait for it, or stop it") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()


class Busy(Exception):
    """Another grade run holds the course."""


class Progress:
    def __init__(self, total: int, stream=sys.stderr):
        self.total, self.done, self.stream = total, 0, stream
        self.started = time.monotonic()
        self.interactive = stream.isatty()

    def step(self, label: str) -> None:
        self.done += 1
        width = 30
        filled = int(width * self.done / max(self.total, 1))
        elapsed = time.monotonic() - self.started
        line = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total} {elapsed:5.1f}s {label}"
        if self.interactive:
            self.stream.write("\r" + line[:100].ljust(100))
            if self.done == self.total:
                self.stream.write("\n")
        elif self.done == self.total or self.done % max(1, self.total // 10) == 0:
            self.stream.write(line + "\n")
        self.stream.flush()


def grade_class(
    course: Path,
    workers: int | None = None,
    force: bool = False,
    limits: Limits | None = None,
    db_url: str | None = None,
    assignments: list[str] | None = None,
    quiet: bool = False,
    students: list[str] | None = None,
    deadline: float | None = None,
    scheduler: str | None = None,
) -> dict:
    """Grade every submission (of ``students``, when given: always regraded); returns a summary dict.

    Args:
        deadline: Seconds one submission may hold a worker (default :func:`worker_deadline`).
        scheduler: A Dask scheduler's address (``tcp://host:port``): grade on its
            workers instead of this machine's (:mod:`autograder.grading.cluster`).
    """
    course = Path(course).resolve()
    limits = limits or Limits()
    if scheduler and not limits.sandbox:
        from autograder.sandbox import IsolationError

        raise IsolationError(
            "grading on a cluster needs the sandbox: without it, student code could reach the Dask scheduler, "
            "whose wire trusts its peers; grade code you trust on this machine instead (no --scheduler)"
        )
    db_url = db_url or default_db_url(course)
    assignments = assignments or list(STEMS)
    with course_lock(course):
        scratch = course / SCRATCH
        shutil.rmtree(scratch, ignore_errors=True)  # what a killed run left
        scratch.mkdir()
        try:
            return _grade_class(course, workers, force, limits, db_url, assignments, quiet, students, deadline, scratch, scheduler)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


def _grade_class(course, workers, force, limits, db_url, assignments, quiet, students, deadline, scratch, scheduler) -> dict:
    digest = grader_digest()
    started = time.monotonic()
    pending, skipped, other_limits = [], 0, 0
    for student, stem in discover(course, assignments):
        if students is not None and student not in students:
            continue
        folder = course / "submitted" / student / stem
        unsafe = unsafe_submission(course, student, stem)
        fingerprint = submission_fingerprint(folder, stem, digest, limits, unsafe)
        record = read_record(course, student, stem)
        if not force and students is None and record and record.get("fingerprint") == fingerprint:
            skipped += 1
            continue
        if record and record.get("limits") not in (None, asdict(limits)):
            other_limits += 1
        pending.append(Job(student, stem, str(folder / f"{stem}.ipynb"), limits, fingerprint, unsafe, digest=digest))

    if other_limits:
        log.warning("%d submission(s) were graded under other limits than %s: they are graded again", other_limits, asdict(limits))
    cluster = None
    if pending and scheduler:
        from autograder.grading import cluster as dask_cluster

        # Every worker proves it runs this grader and isolates student code before any runs.
        cluster = dask_cluster.connect(scheduler, functools.partial(worker_refusal, limits, digest))
        workers = cluster.threads()
    elif pending:
        verify_isolation(limits, hidden=[course])  # before any student code runs; raises IsolationError
        workers = max(1, min(workers or os.cpu_count() or 1, len(pending)))
    else:
        workers = max(1, workers or os.cpu_count() or 1)
    progress = Progress(len(pending), stream=open(os.devnull, "w") if quiet else sys.stderr)
    graded, faults, by_worker = [], [], Counter()
    if pending:
        from nbgrader.api import Gradebook

        def init() -> None:
            worker_init()
            tempfile.tempdir = str(scratch)  # the workers' temporary folders are the run's

        with Gradebook(db_url) as gb, cluster or contextlib.nullcontext():
            check_gradebook(gb, db_url, assignments)
            deadline = deadline or worker_deadline(limits)
            if cluster is not None:
                batches = cluster.run(grade_job, (replace(job, deadline=deadline) for job in pending), prepare=ship)
            else:
                tasks = pool.run_tasks(grade_job, pending, workers, deadline, initializer=init)
                batches = ([task] for task in tasks)
            for batch in batches:
                done = [_take(course, job, outcome, limits, faults) for job, outcome in batch]
                graded += _store_batch(course, gb, [outcome.record for _, outcome in done], faults)
                for job, outcome in done:
                    by_worker[outcome.worker or "not graded"] += 1
                    progress.step(f"{job.student}/{job.stem} {outcome.record['points']:g}/{outcome.record['max_points']:g}")
    summary = summarize(course, assignments, graded, skipped, time.monotonic() - started, workers)
    summary["sandbox"] = limits.sandbox
    summary["faults"] = len(faults)
    summary["by_worker"] = dict(sorted(by_worker.items()))
    summary["scheduler"] = scheduler or ""
    return summary


def _take(course: Path, job: Job, outcome, limits: Limits, faults: list[str]) -> tuple[Job, Outcome]:
    """A worker's outcome (or a lost task's) made whole: its autograded notebook written, the grader's faults logged."""
    if isinstance(outcome, pool.Lost):
        reason = f"{outcome.reason}; the grader could not finish this notebook"
        record = result_to_record(_not_graded(job.stem, job.path, reason, fault=outcome.reason), job.student, "", limits)
        record["sandbox"] = limits.sandbox
        outcome = Outcome(record, None, [f"{job.student}/{job.stem}: {outcome.reason}\n{outcome.traceback}".rstrip()])
    found = list(outcome.faults)
    if outcome.autograded is not None:
        try:
            write_autograded_text(course, job.student, job.stem, outcome.autograded)
        except Exception:  # noqa: BLE001 - the grades stand; nbgrader's feedback for this notebook is missing
            found.append(f"{job.student}/{job.stem}: the autograded notebook could not be written\n{traceback.format_exc()}")
    if found:
        outcome.record["fingerprint"] = ""  # a grader fault is retried by the next run
    faults += found
    for text in found:
        log.error("grader fault: %s", text)
    return job, outcome


def _store_batch(course: Path, gb, records: list[dict], faults: list[str]) -> list[dict]:
    """The gradebook first (one transaction for the batch), then each record (its proof); returns the records kept.

    A failure of either is a grader fault for that submission alone, and the run goes on.
    """
    written = write_gradebook_many(gb, [(r, read_timestamp(course, r["student"], r["assignment"])) for r in records])
    kept = []
    for record, error in zip(records, written, strict=True):
        student, stem = record["student"], record["assignment"]
        if error is not None:  # the database refused: no record, so the next run grades it again
            trace = "".join(traceback.format_exception(error))
            faults.append(f"{student}/{stem}: the gradebook could not be written\n{trace}")
            log.error("grader fault: %s", faults[-1])
            continue
        try:
            write_atomic(record_path(course, student, stem), json.dumps(record, indent=1))
        except OSError:
            faults.append(f"{student}/{stem}: the grading record could not be written\n{traceback.format_exc()}")
            log.error("grader fault: %s", faults[-1])
            with contextlib.suppress(Exception):
                flag_for_manual_grading(gb, student, stem)
            continue
        kept.append(record)
    return kept


def summarize(course: Path, assignments: list[str], graded: list[dict], skipped: int, seconds: float, workers: int) -> dict:
    """Totals over every record on disk (this run's and earlier ones)."""
    students: dict[str, dict[str, dict]] = {}
    for student_dir in sorted((course / "grades").glob("*")) if (course / "grades").is_dir() else []:
        for stem in assignments:
            record = read_record(course, student_dir.name, stem)
            if record:
                students.setdefault(student_dir.name, {})[stem] = record
    totals = [sum(r["points"] for r in recs.values()) for recs in students.values()]
    incomplete = sorted({(s, stem) for s, recs in students.items() for stem, r in recs.items() if not_graded(r)})
    return {
        "students": len(students),
        "graded_now": len(graded),
        "skipped": skipped,
        "mean": round(sum(totals) / len(totals), 2) if totals else 0.0,
        "failures": incomplete,
        "seconds": round(seconds, 2),
        "workers": workers,
        "table": {s: {stem: (r["points"], r["max_points"], not not_graded(r)) for stem, r in recs.items()} for s, recs in students.items()},
    }


def not_graded(record: dict) -> list[str]:
    """The functions of ``record`` that are not graded."""
    return [f["function"] for f in record["functions"] if not f.get("graded", True)]


def format_summary(summary: dict, assignments: list[str]) -> str:
    lines = []
    header = ["student", *[a.split("_", 1)[0] for a in assignments], "total"]
    rows = [header]
    for student, recs in summary["table"].items():
        cells = []
        total = 0.0
        for stem in assignments:
            if stem in recs:
                points, max_points, ok = recs[stem]
                total += points
                cells.append(f"{points:g}/{max_points:g}" + ("" if ok else "!"))
            else:
                cells.append("-")
        rows.append([student, *cells, f"{total:g}"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    for r in rows:
        lines.append("  ".join(c.ljust(w) for c, w in zip(r, widths)))
    lines.append("")
    lines.append(
        f"students: {summary['students']}  mean: {summary['mean']:g}  graded now: {summary['graded_now']}"
        f"  skipped (unchanged): {summary['skipped']}  not fully graded: {len(summary['failures'])}"
        f"  time: {summary['seconds']:.1f} s on {summary['workers']} worker(s)"
        + (f" of {summary['scheduler']}" if summary.get("scheduler") else "")
    )
    if summary.get("scheduler") and summary.get("by_worker"):
        lines.append("graded per worker: " + ", ".join(f"{worker} {count}" for worker, count in summary["by_worker"].items()))
    if summary["failures"]:
        lines.append(
            "  ! = some functions not graded (see the records, the CSV of `export`): "
            + ", ".join(f"{s}/{a}" for s, a in summary["failures"])
        )
    if not summary.get("sandbox", True):
        lines.append(NO_SANDBOX_WARNING)
    return "\n".join(lines)


def add_arguments(parser) -> None:
    options.add_course(parser)
    options.add_workers(parser)
    parser.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    parser.add_argument(
        "--student", action="append", metavar="ID", help="(re)grade only this student's submissions, changed or not (repeatable)"
    )
    options.add_db_url(parser)
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="ADDRESS",
        help="grade on the workers of this Dask scheduler, tcp://HOST:PORT or tls://... (default: the course's setting; '' = this machine)",
    )
    parser.add_argument("--assignment", action="append", choices=list(STEMS), help="only this assignment (repeatable)")
    options.add_limits(parser, sandbox_note="only for code you trust; stored in every record")


NO_SANDBOX_WARNING = "sandbox: OFF (--no-sandbox): student code ran with your user's access to files, processes and the network"


def run(args) -> int:
    """Exit 0 when every submission is graded; 1 when something is not (or the grader failed); 2 for bad input."""
    from autograder.course import settings
    from autograder.grading.cluster import ClusterError
    from autograder.sandbox import IsolationError

    course = options.require_course(args.course)
    limits = options.limits_from(args)
    scheduler = options.course_settings(args).scheduler if args.scheduler is None else args.scheduler
    if scheduler and not settings.SCHEDULER.fullmatch(scheduler):
        raise options.UsageError(f"--scheduler {scheduler!r}: expected a Dask scheduler address such as tcp://10.0.0.5:8786")
    assignments = args.assignment or list(STEMS)
    if args.student:
        known = {p.name for p in (course / "submitted").iterdir() if p.is_dir()} if (course / "submitted").is_dir() else set()
        missing = sorted(set(args.student) - known)
        if missing:
            raise options.UsageError(f"no submissions of {', '.join(missing)} in {course / 'submitted'}")
    try:
        summary = grade_class(
            course,
            options.workers_from(args),
            args.force,
            limits,
            args.db_url,
            assignments,
            quiet=args.quiet,
            students=args.student,
            scheduler=scheduler,
        )
    except (IsolationError, ClusterError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Busy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(format_summary(summary, assignments))
    if summary["faults"]:
        print(
            f"error: the grader failed {summary['faults']} time(s): see {args.log_file} (tracebacks); those functions are not graded",
            file=sys.stderr,
        )
    return 1 if summary["faults"] or summary["failures"] else 0
