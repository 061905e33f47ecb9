"""``feedback``: one self-contained HTML report per student.

It reads what ``grade`` recorded and is built only from the verdicts' fields —
points, the diagnosis, the hint, the reason a function or a notebook could not
be graded — so hidden check source, hidden expected values and tracebacks of the
checks cannot appear in it: the grader never records them (a grader fault's
traceback stays in the log; the report shows only that there was one). The
scores, the totals and the instructor's comments come from nbgrader's gradebook
when it holds the submission, so grades changed by hand in the formgrader reach
the student; without a gradebook entry the record stands alone.

The page is the Jinja2 template ``templates/feedback.html.j2``, rendered with
autoescaping on: student names, diagnoses, exception messages and the
instructor's comments are shown as text. It links nothing outside itself.
"""

from __future__ import annotations

import functools
from pathlib import Path

from autograder import options
from autograder.course.registry import STEMS
from autograder.grading.gradebook import default_db_url
from autograder.grading.records import read_record

TEMPLATES = Path(__file__).resolve().parent / "templates"


def students(course: Path) -> list[str]:
    """The student folders of ``<course>/submitted``, sorted."""
    submitted = course / "submitted"
    return sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []


@functools.cache
def _template():
    from autograder.reports.html import environment

    return environment(TEMPLATES).get_template("feedback.html.j2")


def _status(points: float, max_points: float) -> str:
    return "ok" if points >= max_points else "zero" if points == 0 else "partial"


# ------------------------------------------------------------------ the gradebook


def _gradebook_entry(gb, student: str, stem: str) -> dict | None:
    """The gradebook's side of one submission as plain data, or ``None`` when it has none.

    ``grades``: grade cell name -> score (manual when set, else auto), max score
    and whether an instructor set it; ``comments``: (cell name, text) of every
    non-empty comment an instructor wrote. Automatic comments are left out: they
    are not the instructor's (``grade`` writes the reason a function is not
    graded there, which the report already shows; stock ``autograde`` writes
    "No response.").
    """
    from nbgrader.api import MissingEntry

    try:
        notebook = gb.find_submission_notebook(stem, stem, student)
    except MissingEntry:
        return None
    grades = {
        grade.name: {"score": float(grade.score), "max_score": float(grade.max_score), "manual": grade.manual_score is not None}
        for grade in notebook.grades
    }
    comments = [(c.name, c.manual_comment.strip()) for c in notebook.comments if c.manual_comment and c.manual_comment.strip()]
    return {"grades": grades, "comments": comments, "score": float(notebook.score), "max_score": float(notebook.max_score)}


def _open_gradebook(course: Path, db_url: str | None):
    """nbgrader's ``Gradebook``, or ``None`` when the course's default SQLite file does not exist (never created here)."""
    if db_url is None:
        if not (course / "gradebook.db").is_file():
            return None
        db_url = default_db_url(course)
    from nbgrader.api import Gradebook

    return Gradebook(db_url)


# ------------------------------------------------------------------ the views the template shows


def _reason(f: dict, record: dict) -> str:
    """Why ``f`` is not graded, as one clause without a final full stop."""
    reason = f.get("reason") or (f.get("diagnosis_only") or "").removeprefix("Not graded: ") or "; ".join(record.get("problems") or [])
    return reason.strip().rstrip(".").strip() or "the grader could not judge it"


def _function_view(f: dict, record: dict, grade: dict | None, comment: str) -> dict:
    graded = f.get("graded", True) is not False
    manual = bool(grade and grade["manual"])
    points = grade["score"] if grade else f["points"]
    max_points = grade["max_score"] if grade else f["max_points"]
    pending = not graded and not manual
    reason = "" if graded else _reason(f, record)
    return {
        "function": f["function"],
        "points": points,
        "max_points": max_points,
        "status": "pending" if pending else _status(points, max_points),
        "manual": manual,
        "graded": graded,
        "pending": pending,
        "reason": reason,
        "fault": bool(f.get("fault")) and "not your mistake" not in reason,
        "passed": bool(f.get("passed")),
        "diagnosis_only": f.get("diagnosis_only") or "",
        "hint": f.get("hint") or "",
        "notes": f.get("notes") or [],
        "comment": comment,
    }


def _assignment_view(record: dict, entry: dict | None) -> dict:
    grades = entry["grades"] if entry else {}
    comments = dict(entry["comments"]) if entry else {}
    names = {f["function"] for f in record["functions"]}
    functions = [
        _function_view(f, record, grades.get(f"check_{f['function']}"), comments.get(f["function"], "")) for f in record["functions"]
    ]
    return {
        "graded": record["graded"],
        "problems": record["problems"],
        "points": entry["score"] if entry else record["points"],
        "max_points": entry["max_score"] if entry else record["max_points"],
        "functions": functions,
        "pending": sum(f["pending"] for f in functions),
        # comments on cells other than the functions' solution cells (task cells, if any)
        "comments": [text for name, text in (entry["comments"] if entry else []) if name not in names],
    }


def render_student(course: Path, student: str, assignments: list[str], gradebook=None) -> str:
    """The HTML report of ``student`` over ``assignments`` (a record missing is said so).

    ``gradebook``: an open nbgrader ``Gradebook`` whose scores and comments win
    over the record's, or ``None`` for the records alone.
    """
    views = []
    total = maximum = 0.0
    pending = 0
    for stem in assignments:
        record = read_record(course, student, stem)
        view = None
        if record is not None:
            entry = _gradebook_entry(gradebook, student, stem) if gradebook is not None else None
            view = _assignment_view(record, entry)
            total += view["points"]
            maximum += view["max_points"]
            pending += view["pending"]
        views.append({"stem": stem, "record": view})
    return _template().render(student=student, assignments=views, total=total, maximum=maximum, pending=pending)


def write_feedback(course: Path, assignments: list[str] | None = None, db_url: str | None = None) -> list[Path]:
    """Writes ``<course>/reports/<student>.html`` for every student; returns the paths.

    ``db_url``: nbgrader's gradebook (default: the course's ``gradebook.db``,
    when it exists); its scores and comments win over the records'.
    """
    course = Path(course).resolve()
    assignments = assignments or list(STEMS)
    out_dir = course / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    gradebook = _open_gradebook(course, db_url)
    try:
        for student in students(course):
            path = out_dir / f"{student}.html"
            path.write_text(render_student(course, student, assignments, gradebook), encoding="utf-8")
            written.append(path)
    finally:
        if gradebook is not None:
            gradebook.close()
    return written


# ------------------------------------------------------------------ command line


def add_arguments(parser) -> None:
    options.add_course(parser)
    options.add_db_url(parser)


def run(args) -> int:
    course = options.require_course(args.course)
    written = write_feedback(course, db_url=args.db_url)
    print(f"wrote {len(written)} report(s) to {course / 'reports'}")
    return 0
