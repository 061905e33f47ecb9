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

import json
import os
import sys
import time
from pathlib import Path

from autograder import options
from autograder.course.registry import STEMS
from autograder.grading.gradebook import check_gradebook, default_db_url, write_autograded_notebook, write_gradebook
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult, grade_notebook
from autograder.grading.records import grader_digest, read_record, record_path, result_to_record, submission_fingerprint, write_atomic
from autograder.grading.submissions import discover, read_timestamp, unsafe_submission
from autograder.sandbox import Limits, verify_isolation


def worker_init() -> None:
    """Workers die with the grader (so a killed run leaves no stray graders)."""
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux: workers still exit when the pool's pipe closes
        pass


def _grade_task(task: tuple) -> tuple:
    """In a worker: judge one notebook and write its autograded copy; the parent records it."""
    student, stem, path, limits, course, fingerprint = task
    unsafe = unsafe_submission(Path(course), student, stem)
    try:
        if unsafe:
            result = _not_graded(stem, path, unsafe)
        else:
            result = grade_notebook(Path(path), limits, stem=stem)
    except Exception as exc:  # noqa: BLE001 - the grader itself failed on this submission: say so, go on
        result = _not_graded(stem, path, f"the grader failed ({type(exc).__name__}: {exc})")
    record = result_to_record(result, student, fingerprint)
    record["sandbox"] = limits.sandbox
    write_autograded_notebook(Path(course), student, record, unsafe=bool(unsafe))
    return record


def _not_graded(stem: str, path: str, reason: str) -> NotebookResult:
    from autograder.course.contract import exercises
    from autograder.grading.notebook import release_notebook

    verdicts = [
        Verdict(stem, e.function, 0.0, e.points, diagnosis=f"Not graded: {reason}.", graded=False)
        for e in exercises(release_notebook(stem), stem)
    ]
    return NotebookResult(stem, str(path), verdicts, [reason])


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
) -> dict:
    """Grade every submission; returns a summary dict (also printed by the CLI)."""
    import multiprocessing

    course = Path(course).resolve()
    limits = limits or Limits()
    db_url = db_url or default_db_url(course)
    assignments = assignments or list(STEMS)
    digest = grader_digest()
    started = time.monotonic()

    pending, skipped = [], 0
    for student, stem in discover(course, assignments):
        folder = course / "submitted" / student / stem
        fingerprint = submission_fingerprint(folder, stem, digest, limits, unsafe_submission(course, student, stem))
        record = read_record(course, student, stem)
        if not force and record and record.get("fingerprint") == fingerprint:
            skipped += 1
            continue
        pending.append((student, stem, str(folder / f"{stem}.ipynb"), limits, str(course), fingerprint))

    if pending:
        verify_isolation(limits, hidden=[course])  # before any student code runs; raises IsolationError
    workers = max(1, min(workers or os.cpu_count() or 1, len(pending) or 1))
    progress = Progress(len(pending), stream=open(os.devnull, "w") if quiet else sys.stderr)
    graded = []
    if pending:
        from nbgrader.api import Gradebook

        context = multiprocessing.get_context("fork")
        with Gradebook(db_url) as gb, context.Pool(workers, initializer=worker_init, maxtasksperchild=500) as pool:
            check_gradebook(gb, db_url, assignments)
            for record in pool.imap_unordered(_grade_task, pending):
                student, stem = record["student"], record["assignment"]
                write_gradebook(gb, record, read_timestamp(course, student, stem))
                write_atomic(record_path(course, student, stem), json.dumps(record, indent=1))
                graded.append(record)
                progress.step(f"{student}/{stem} {record['points']:g}/{record['max_points']:g}")
    summary = summarize(course, assignments, graded, skipped, time.monotonic() - started, workers)
    summary["sandbox"] = limits.sandbox
    return summary


def summarize(course: Path, assignments: list[str], graded: list[dict], skipped: int, seconds: float, workers: int) -> dict:
    """Totals over every record on disk (this run's and earlier ones)."""
    students: dict[str, dict[str, dict]] = {}
    for student_dir in sorted((course / "grades").glob("*")) if (course / "grades").is_dir() else []:
        for stem in assignments:
            record = read_record(course, student_dir.name, stem)
            if record:
                students.setdefault(student_dir.name, {})[stem] = record
    totals = [sum(r["points"] for r in recs.values()) for recs in students.values()]
    failures = sorted({(s, stem) for s, recs in students.items() for stem, r in recs.items() if not r["graded"]})
    return {
        "students": len(students),
        "graded_now": len(graded),
        "skipped": skipped,
        "mean": round(sum(totals) / len(totals), 2) if totals else 0.0,
        "failures": failures,
        "seconds": round(seconds, 2),
        "workers": workers,
        "table": {s: {stem: (r["points"], r["max_points"], r["graded"]) for stem, r in recs.items()} for s, recs in students.items()},
    }


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
        f"  skipped (unchanged): {summary['skipped']}  could not be graded: {len(summary['failures'])}"
        f"  time: {summary['seconds']:.1f} s on {summary['workers']} worker(s)"
    )
    if summary["failures"]:
        lines.append("  ! = not graded: " + ", ".join(f"{s}/{a}" for s, a in summary["failures"]))
    if not summary.get("sandbox", True):
        lines.append(NO_SANDBOX_WARNING)
    return "\n".join(lines)


def add_arguments(parser) -> None:
    options.add_course(parser)
    options.add_workers(parser)
    parser.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    options.add_db_url(parser)
    parser.add_argument("--assignment", action="append", choices=list(STEMS), help="only this assignment (repeatable)")
    options.add_limits(parser, sandbox_note="only for code you trust; stored in every record")


NO_SANDBOX_WARNING = "sandbox: OFF (--no-sandbox): student code ran with your user's access to files, processes and the network"


def run(args) -> int:
    from autograder.sandbox import IsolationError

    limits = options.limits_from(args)
    assignments = args.assignment or list(STEMS)
    try:
        summary = grade_class(args.course, args.workers, args.force, limits, args.db_url, assignments)
    except IsolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, assignments))
    return 0
