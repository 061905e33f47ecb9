"""``export``: the class's grades as CSV, one row per student and assignment.

Scores come from nbgrader's gradebook, so grades changed by hand in the
formgrader count. Per function: its points, and ``<function>_graded`` (0 while
the gradebook says it needs a manual grade); ``not_graded`` and ``reason`` sum
them up per row, the reasons from what ``grade`` recorded.
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
    columns = ["student_id", "assignment", "score", "max_score", "not_graded", "reason"]
    columns += [column for f in all_functions for column in (f, f"{f}_graded")]
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
                scores, waiting = {}, set()
                if notebook is not None:
                    for grade in notebook.grades:
                        if grade.name.startswith("check_"):
                            scores[grade.name[len("check_") :]] = float(grade.score)
                            if grade.needs_manual_grade:
                                waiting.add(grade.name[len("check_") :])
                    row["score"] = f"{sum(scores.values()):g}"
                    row["max_score"] = f"{sum(g.max_score for g in notebook.grades):g}"
                why = (
                    {f["function"]: f.get("reason") or "not graded" for f in record["functions"] if not f.get("graded", True)}
                    if record
                    else {}
                )
                if notebook is None:
                    waiting = set(why)
                for f in functions[stem]:
                    if f in scores:
                        row[f] = f"{scores[f]:g}"
                    row[f"{f}_graded"] = "0" if f in waiting or record is None else "1"
                if record is None:
                    row["not_graded"], row["reason"] = "1", "no grading record"
                else:
                    row["not_graded"] = "1" if waiting else "0"
                    row["reason"] = "; ".join(f"{f}: {why.get(f, 'waits for a manual grade')}" for f in functions[stem] if f in waiting)
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
    course = options.require_course(args.course)
    out = args.csv or course / "grades.csv"
    write_csv(course, out, args.db_url)
    print(f"wrote {out}", file=sys.stderr)
    return 0
