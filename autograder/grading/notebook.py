"""``python -m autograder check NOTEBOOK... [--json]``: judge notebooks on the spot.

It judges the graded functions only: it runs the setup cell (as released), the
student's solution cells and any code cell the student added, in a separate
limited process, then runs the visible and hidden checks against them. It
never reruns the notebook's experiments, so it takes seconds.

:func:`grade_notebook` is the library entry point the class grader uses too.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder import options
from autograder.course.contract import exercises, nbgrader_meta
from autograder.course.registry import NOTEBOOK_DIR, STEMS
from autograder.grading.judge import Verdict, judge
from autograder.sandbox import Cell, Limits, Session


@dataclass
class NotebookResult:
    notebook: str  # stem
    path: str
    verdicts: list[Verdict]
    problems: list[str] = field(default_factory=list)  # notebook-level reasons (unreadable, cells that failed)
    seconds: float = 0.0

    @property
    def points(self) -> float:
        return round(sum(v.points for v in self.verdicts), 2)

    @property
    def max_points(self) -> float:
        return round(sum(v.max_points for v in self.verdicts), 2)

    @property
    def graded(self) -> bool:
        """False when nothing of the notebook could be judged (unreadable, crashed at start)."""
        return any(v.graded for v in self.verdicts)


@functools.cache
def release_notebook(stem: str):
    """The committed notebook (read once per process; callers must not modify it)."""
    import nbformat

    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


def identify(path: Path, nb=None) -> str | None:
    """Which of our notebooks ``path`` is: by file name, else by its solution cells."""
    if path.stem in STEMS:
        return path.stem
    if nb is not None:
        ids = {nbgrader_meta(c).get("grade_id") for c in nb.cells}
        for stem in STEMS:
            if (NOTEBOOK_DIR / f"{stem}.ipynb").is_file() and {e.function for e in exercises(release_notebook(stem), stem)} <= ids:
                return stem
    return None


def select_cells(student_nb, release_nb) -> tuple[list[Cell], list[str]]:
    """The cells to run, and notes about check cells that were edited or deleted."""
    release_ids = {c.get("id") for c in release_nb.cells if c.get("id")}
    release_sources = {c.source for c in release_nb.cells if c.cell_type == "code"}
    setup = next(c for c in release_nb.cells if nbgrader_meta(c).get("grade_id") == "setup")
    cells = [Cell("setup", setup.source, "setup")]
    notes: list[str] = []
    released_checks = {nbgrader_meta(c)["grade_id"]: c.source for c in release_nb.cells if nbgrader_meta(c).get("grade")}
    seen_checks = {}
    added = 0
    solution_ids = {nbgrader_meta(c).get("grade_id") for c in release_nb.cells if nbgrader_meta(c).get("solution")}
    for c in student_nb.cells:
        if c.cell_type != "code":
            continue
        meta = nbgrader_meta(c)
        grade_id = meta.get("grade_id")
        if meta.get("solution") and grade_id in solution_ids:
            cells.append(Cell(grade_id, c.source, "solution"))
        elif grade_id in released_checks:
            seen_checks[grade_id] = c.source
        elif c.get("id") in release_ids or c.source in release_sources or grade_id == "setup":
            continue  # ours: setup or an experiment; never run here
        else:
            added += 1
            cells.append(Cell(f"added {added}", c.source, "added"))
    for grade_id, source in released_checks.items():
        function = grade_id[len("check_") :]
        if grade_id not in seen_checks:
            notes.append(f"{function}: the check cell was deleted; the original check was used.")
        elif seen_checks[grade_id].strip() != source.strip():
            notes.append(f"{function}: the check cell was edited; the original check was used.")
    return cells, notes


def grade_notebook(path: Path, limits: Limits | None = None, stem: str | None = None, only: set[str] | None = None) -> NotebookResult:
    """Judge every graded function of one notebook file (or those in ``only``); never raises for a bad notebook."""
    import time

    import nbformat

    started = time.monotonic()
    limits = limits or Limits()
    path = Path(path)
    student_nb, problem = None, None
    try:
        student_nb = nbformat.read(path, as_version=4)
    except FileNotFoundError:
        problem = "the notebook file is missing"
    except Exception as exc:  # noqa: BLE001 - bad JSON, unknown nbformat, anything
        problem = f"the notebook could not be read ({type(exc).__name__}: {str(exc)[:200]})"
    stem = stem or identify(path, student_nb)
    if stem is None:
        raise ValueError(f"{path} is not one of the workbook's notebooks ({', '.join(STEMS)})")
    release = release_notebook(stem)
    graded = [e for e in exercises(release, stem) if only is None or e.function in only]
    if problem is not None:
        verdicts = [Verdict(stem, e.function, 0.0, e.points, diagnosis=f"Not graded: {problem}.", graded=False) for e in graded]
        return NotebookResult(stem, str(path), verdicts, [problem], time.monotonic() - started)

    cells, notes = select_cells(student_nb, release)
    workdir = Path(tempfile.mkdtemp(prefix="dlwork-grade-"))
    session = Session(cells, workdir, limits)
    verdicts: list[Verdict] = []
    problems: list[str] = []
    try:
        for exercise in graded:
            if session.remaining() <= 0:
                verdicts.append(
                    Verdict(
                        stem,
                        exercise.function,
                        0.0,
                        exercise.points,
                        diagnosis=f"Not graded: the notebook used up its {limits.notebook_timeout:g} s.",
                        graded=False,
                    )
                )
                continue
            verdict = judge(exercise.function, session.function(exercise.function), exercise.points, stem)
            load_error = session.load_errors.get(exercise.function)
            if load_error and not verdict.passed:
                verdict.notes.insert(0, f"When your notebook ran: {load_error}.")
            verdict.notes += [n.split(": ", 1)[1] for n in notes if n.startswith(exercise.function + ":")]
            verdicts.append(verdict)
        problems += [error for label, error in session.load_errors.items() if label not in {e.function for e in graded}]
    finally:
        session.close()
        shutil.rmtree(workdir, ignore_errors=True)
    return NotebookResult(stem, str(path), verdicts, problems, time.monotonic() - started)


def format_table(result: NotebookResult) -> str:
    rows = [("function", "points", "max", "diagnosis")]
    for v in result.verdicts:
        rows.append((v.function, f"{v.points:g}", f"{v.max_points:g}", "ok" if v.passed else v.full_diagnosis()))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = [f"{result.notebook}  ({result.path})"]
    for r in rows:
        lines.append(f"  {r[0]:<{width[0]}}  {r[1]:>{width[1]}}  {r[2]:>{width[2]}}  {r[3]}")
    lines.append(f"  {'total':<{width[0]}}  {result.points:>{width[1]}g}  {result.max_points:>{width[2]}g}  ({result.seconds:.1f} s)")
    for problem in result.problems:
        lines.append(f"  note: {problem}")
    return "\n".join(lines)


def add_arguments(parser) -> None:
    parser.add_argument("notebook", type=Path, nargs="+", help="the .ipynb files to judge (a student's, or any laid out like the release)")
    parser.add_argument("--json", action="store_true", help="print only a JSON list, one object per graded function")
    options.add_course(parser, what="the course whose nbgrader_config.py sets the limits, if it is built")
    options.add_limits(parser)


def run(args) -> int:
    """Exit 0 when every function is graded, 1 when one is not (or the grader failed), 2 for bad input."""
    import logging

    from autograder.sandbox import IsolationError, verify_isolation

    log = logging.getLogger("autograder")
    for notebook in args.notebook:
        if not notebook.is_file():
            raise options.UsageError(f"{notebook}: no such notebook file")
    limits = options.limits_from(args)
    try:
        verify_isolation(limits)
        results = [grade_notebook(notebook, limits) for notebook in args.notebook]
    except (ValueError, IsolationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not limits.sandbox:
        print("warning: --no-sandbox: the notebook's code ran with your user's access to files, processes and the network", file=sys.stderr)
    verdicts = [v for result in results for v in result.verdicts]
    if args.json:
        print(json.dumps([v.as_dict() | {"graded": v.graded, "reason": v.reason} for v in verdicts], indent=1))
    else:
        print("\n\n".join(format_table(result) for result in results))
    for v in verdicts:
        if v.fault:
            log.error("grader fault: %s: %s\n%s", v.function, v.reason, v.fault)
    return 0 if all(v.graded for v in verdicts) else 1
