"""``feedback``: one self-contained HTML report per student.

It reads what ``grade`` recorded and is built only from the verdicts' fields —
points, the diagnosis, the hint, the reason a notebook could not be graded — so
hidden check source, hidden expected values and tracebacks of the checks cannot
appear in it: the grader never records them. The page is the Jinja2 template
``templates/feedback.html.j2``, rendered with autoescaping on: student names,
diagnoses and exception messages come from student code and are shown as text.
"""

from __future__ import annotations

import functools
from pathlib import Path

from autograder import options
from autograder.course.registry import STEMS
from autograder.grading.records import read_record

TEMPLATES = Path(__file__).resolve().parent / "templates"


def students(course: Path) -> list[str]:
    """The student folders of ``<course>/submitted``, sorted."""
    submitted = course / "submitted"
    return sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []


@functools.cache
def _template():
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["g"] = lambda number: f"{number:g}"
    return env.get_template("feedback.html.j2")


def _status(points: float, max_points: float) -> str:
    return "ok" if points >= max_points else "zero" if points == 0 else "partial"


def _function_view(f: dict) -> dict:
    return {
        "function": f["function"],
        "points": f["points"],
        "max_points": f["max_points"],
        "status": _status(f["points"], f["max_points"]),
        "passed": f["passed"],
        "diagnosis_only": f["diagnosis_only"],
        "hint": f.get("hint") or "",
        "notes": f.get("notes") or [],
    }


def render_student(course: Path, student: str, assignments: list[str]) -> str:
    """The HTML report of ``student`` over ``assignments`` (a record missing is said so)."""
    views = []
    total = maximum = 0.0
    for stem in assignments:
        record = read_record(course, student, stem)
        if record is not None:
            total += record["points"]
            maximum += record["max_points"]
            record = {
                "graded": record["graded"],
                "problems": record["problems"],
                "points": record["points"],
                "max_points": record["max_points"],
                "functions": [_function_view(f) for f in record["functions"]],
            }
        views.append({"stem": stem, "record": record})
    return _template().render(student=student, assignments=views, total=total, maximum=maximum)


def write_feedback(course: Path, assignments: list[str] | None = None) -> list[Path]:
    """Writes ``<course>/reports/<student>.html`` for every student; returns the paths."""
    course = Path(course).resolve()
    assignments = assignments or list(STEMS)
    out_dir = course / "reports"
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for student in students(course):
        path = out_dir / f"{student}.html"
        path.write_text(render_student(course, student, assignments), encoding="utf-8")
        written.append(path)
    return written


# ------------------------------------------------------------------ command line


def add_arguments(parser) -> None:
    options.add_course(parser)


def run(args) -> int:
    written = write_feedback(args.course)
    print(f"wrote {len(written)} report(s) to {Path(args.course).resolve() / 'reports'}")
    return 0
