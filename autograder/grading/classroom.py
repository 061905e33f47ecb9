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

import copy
import dataclasses
import hashlib
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

from autograder.grading.notebook import NotebookResult, grade_notebook
from autograder.grading.judge import Verdict
from autograder.sandbox import Limits, verify_isolation
from autograder.course.registry import STEMS, REPO

DEFAULT_COURSE = REPO / "course"
RECORD_VERSION = 1


def default_db_url(course: Path) -> str:
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


def grader_digest() -> str:
    """Changes whenever anything that decides a grade changes (checks, reference, notebooks)."""
    h = hashlib.sha256(str(RECORD_VERSION).encode())
    roots = [REPO / "autograder", REPO / "source_solutions", REPO / "notebooks"]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in {".py", ".ipynb"} and "__pycache__" not in path.parts and "course" not in path.parts:
                h.update(str(path.relative_to(REPO)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def unsafe_submission(course: Path, student: str, stem: str) -> str | None:
    """Why the submitted notebook must not be opened, if it must not.

    A symbolic link (the notebook, its assignment folder or the student's
    folder) could point at the solutions in ``source/``, at another student's
    work or at any file the grader can read, which would then be graded or
    copied into feedback; a FIFO or device would hang or feed the reader.
    Such a submission is not graded, and nothing behind it is read.
    """
    import stat

    path = course / "submitted"
    for part in (student, stem, f"{stem}.ipynb"):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None  # missing: graded as missing
        if stat.S_ISLNK(mode):
            return f"the submission's {path.relative_to(course)} is a symbolic link; it was not opened"
    if not stat.S_ISREG(mode):
        return f"the submission's {path.relative_to(course)} is not a regular file; it was not opened"
    return None


def read_timestamp(course: Path, student: str, stem: str) -> str | None:
    """The submission's ``timestamp.txt`` as nbgrader wrote it, or None (missing, a link, not a date)."""
    from nbgrader import utils

    if unsafe_submission(course, student, stem):
        return None
    path = course / "submitted" / student / stem / "timestamp.txt"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, 200).decode("utf-8", errors="replace").strip()
    finally:
        os.close(fd)
    try:
        utils.parse_utc(text)
    except Exception:  # noqa: BLE001 - whatever nbgrader cannot read as a date
        return None
    return text


def submission_fingerprint(folder: Path, stem: str, digest: str, limits: Limits, unsafe: str | None = None) -> str:
    h = hashlib.sha256(digest.encode())
    h.update(json.dumps(asdict(limits), sort_keys=True).encode())
    notebook = folder / f"{stem}.ipynb"
    if unsafe:
        h.update(unsafe.encode())
    else:
        h.update(notebook.read_bytes() if notebook.is_file() else b"<missing>")
    return h.hexdigest()


def discover(course: Path, assignments: list[str]) -> list[tuple[str, str]]:
    """Every (student, assignment) present under submitted/ (an empty folder counts)."""
    submitted = course / "submitted"
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
        for stem in assignments:
            if (student_dir / stem).is_dir() or not any(student_dir.iterdir()):
                found.append((student_dir.name, stem))
    return found


def record_path(course: Path, student: str, stem: str) -> Path:
    return course / "grades" / student / f"{stem}.json"


def read_record(course: Path, student: str, stem: str) -> dict | None:
    try:
        return json.loads(record_path(course, student, stem).read_text())
    except (OSError, ValueError):
        return None


def result_to_record(result: NotebookResult, student: str, fingerprint: str) -> dict:
    return {
        "student": student,
        "assignment": result.notebook,
        "fingerprint": fingerprint,
        "graded": result.graded,
        "points": result.points,
        "max_points": result.max_points,
        "seconds": round(result.seconds, 3),
        "problems": result.problems,
        "functions": [
            {**v.as_dict(), "hint": v.hint, "diagnosis_only": v.diagnosis, "notes": v.notes, "graded": v.graded} for v in result.verdicts
        ],
    }


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)


# ------------------------------------------------------------- gradebook


def write_gradebook(gb, record: dict, timestamp: str | None) -> None:
    """Record one submission's scores in nbgrader's gradebook ``gb`` (one transaction)."""
    from nbgrader.api import MissingEntry

    student, stem = record["student"], record["assignment"]
    points = {f"check_{f['function']}": f["points"] for f in record["functions"]}
    gb.update_or_create_student(student)
    try:
        submission = gb.find_submission(stem, student)
    except MissingEntry:
        submission = gb.add_submission(stem, student)
    if timestamp:
        from nbgrader import utils

        submission.timestamp = utils.parse_utc(timestamp)
    notebook = gb.find_submission_notebook(stem, stem, student)
    for grade in notebook.grades:
        if grade.name in points:
            grade.auto_score = float(points[grade.name])
            grade.needs_manual_grade = not record["graded"]
    gb.db.commit()


def check_gradebook(gb, db_url: str, assignments: list[str]) -> None:
    from nbgrader.api import MissingEntry

    for stem in assignments:
        try:
            gb.find_assignment(stem)
        except MissingEntry:
            raise RuntimeError(f"assignment {stem} is not in the gradebook {db_url}: build the course first (python -m autograder build)") from None


def write_autograded_notebook(course: Path, student: str, record: dict, unsafe: bool = False) -> None:
    """``autograded/<student>/<assignment>/<nb>.ipynb`` for nbgrader's own feedback.

    The student's notebook, with each check cell restored to the released source
    and given, as its only output, the points and our diagnosis: nothing hidden.
    Without a readable notebook, the released one stands in.
    """
    import nbformat

    from autograder.grading.notebook import release_notebook
    from autograder.course.contract import nbgrader_meta

    stem = record["assignment"]
    release = release_notebook(stem)
    source = course / "submitted" / student / stem / f"{stem}.ipynb"
    try:
        if unsafe:
            raise ValueError("not opened")
        nb = nbformat.read(source, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable or not to be opened: the release stands in
        nb = copy.deepcopy(release)
    released = {nbgrader_meta(c).get("grade_id"): c for c in release.cells if nbgrader_meta(c).get("grade")}
    by_function = {f"check_{f['function']}": f for f in record["functions"]}
    cells, seen = [], set()
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in released:
            seen.add(grade_id)
            cell = nbformat.from_dict(dict(released[grade_id]))
            f = by_function[grade_id]
            text = f"{f['points']:g} / {f['max_points']:g} points." + ("" if f["passed"] else f" {f['diagnosis']}")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    folder = course / "autograded" / student / stem
    folder.mkdir(parents=True, exist_ok=True)
    _write_atomic(folder / f"{stem}.ipynb", nbformat.writes(nb))
    stamp = read_timestamp(course, student, stem)
    if stamp is not None:
        _write_atomic(folder / "timestamp.txt", stamp + "\n")


# ---------------------------------------------------------------- workers


def _worker_init() -> None:
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
    from autograder.grading.notebook import release_notebook
    from autograder.course.contract import exercises

    verdicts = [Verdict(stem, e.function, 0.0, e.points, diagnosis=f"Not graded: {reason}.", graded=False) for e in exercises(release_notebook(stem), stem)]
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
        with Gradebook(db_url) as gb, context.Pool(workers, initializer=_worker_init, maxtasksperchild=500) as pool:
            check_gradebook(gb, db_url, assignments)
            for record in pool.imap_unordered(_grade_task, pending):
                student, stem = record["student"], record["assignment"]
                write_gradebook(gb, record, read_timestamp(course, student, stem))
                _write_atomic(record_path(course, student, stem), json.dumps(record, indent=1))
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
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="the course folder (default: course/)")
    parser.add_argument("--workers", type=int, default=None, help="parallel graders (default: all cores)")
    parser.add_argument("--force", action="store_true", help="regrade every submission, changed or not")
    parser.add_argument("--db-url", default=None, help="gradebook URL, as nbgrader's CourseDirectory.db_url (default: sqlite in the course)")
    parser.add_argument("--assignment", action="append", choices=list(STEMS), help="only this assignment (repeatable)")
    parser.add_argument("--timeout", type=float, default=Limits.notebook_timeout, help="seconds per notebook (default %(default)s)")
    parser.add_argument("--call-timeout", type=float, default=Limits.call_timeout, help="seconds per call or cell (default %(default)s)")
    parser.add_argument("--memory-mb", type=int, default=Limits.memory_mb, help="memory per notebook (default %(default)s)")
    parser.add_argument("--no-sandbox", action="store_true", help="run student code WITHOUT isolation (only for code you trust; stored in every record)")


NO_SANDBOX_WARNING = "sandbox: OFF (--no-sandbox): student code ran with your user's access to files, processes and the network"


def run(args) -> int:
    from autograder.sandbox import IsolationError

    limits = Limits(call_timeout=args.call_timeout, notebook_timeout=args.timeout, memory_mb=args.memory_mb, sandbox=not args.no_sandbox)
    assignments = args.assignment or list(STEMS)
    try:
        summary = grade_class(args.course, args.workers, args.force, limits, args.db_url, assignments)
    except IsolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(format_summary(summary, assignments))
    return 0
