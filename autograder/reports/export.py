"""``export``: the class's grades as CSV, one row per student and assignment.

Scores come from nbgrader's gradebook, so grades changed by hand in the
formgrader count; the not-graded flag and its reason come from what ``grade``
recorded.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from autograder import options
from autograder.course.registry import STEMS
from autograder.grading.gradebook import default_db_url
from autograder.grading.records import read_record
from autograder.reports.feedback import students


def export_rows(course: Path, db_url: str | None = None, assignments: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """One row per student and assignment; scores from the gradebook (manual grades count)."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.course.contract import exercises
    from autograder.grading.notebook import release_notebook

    course = Path(course).resolve()
    assignments = assignments or list(STEMS)
    functions = {stem: [e.function for e in exercises(release_notebook(stem), stem)] for stem in assignments}
    all_functions = [f for stem in assignments for f in functions[stem]]
    columns = ["student_id", "assignment", "score", "max_score", "not_graded", "reason", *all_functions]
    rows = []
    with Gradebook(db_url or default_db_url(course)) as gb:
        for student in students(course):
            for stem in assignments:
                record = read_record(course, student, stem)
                try:
                    notebook = gb.find_submission_notebook(stem, stem, student)
                except MissingEntry:
                    notebook = None
                if record is None and notebook is None:
                    continue
                row = {c: "" for c in columns}
                row.update(student_id=student, assignment=stem)
                scores = {}
                if notebook is not None:
                    for grade in notebook.grades:
                        if grade.name.startswith("check_"):
                            scores[grade.name[len("check_") :]] = float(grade.score)
                    row["score"] = f"{sum(scores.values()):g}"
                    row["max_score"] = f"{sum(g.max_score for g in notebook.grades):g}"
                for f in functions[stem]:
                    if f in scores:
                        row[f] = f"{scores[f]:g}"
                graded = bool(record and record["graded"])
                row["not_graded"] = "0" if graded else "1"
                if not graded:
                    row["reason"] = "; ".join(record["problems"]) if record else "no grading record"
                rows.append(row)
    return columns, rows


def write_csv(course: Path, out: Path, db_url: str | None = None) -> Path:
    """Writes :func:`export_rows` to ``out``; returns ``out``."""
    columns, rows = export_rows(course, db_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


# ------------------------------------------------------------------ command line


def add_arguments(parser) -> None:
    options.add_course(parser)
    parser.add_argument("--csv", type=Path, default=None, help="output file (default: <course>/grades.csv)")
    options.add_db_url(parser)


def run(args) -> int:
    out = args.csv or Path(args.course) / "grades.csv"
    write_csv(args.course, out, args.db_url)
    print(f"wrote {out}", file=sys.stderr)
    return 0
