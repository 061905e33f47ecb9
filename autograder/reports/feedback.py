"""``feedback`` (one HTML report per student) and ``export`` (a CSV of the class).

Both read what ``grade`` recorded. Feedback is built only from the verdicts'
fields — points, the diagnosis, the hint, the reason a notebook could not be
graded — so hidden check source, hidden expected values and tracebacks of the
checks cannot appear in it: the grader never records them. Everything shown
is HTML-escaped (exception messages come from student code).
"""

from __future__ import annotations

import csv
import html
import sys
from pathlib import Path

from autograder.grading.classroom import DEFAULT_COURSE, default_db_url, read_record
from autograder.course.registry import STEMS

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; color: #222; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; }
td, th { border-bottom: 1px solid #ddd; padding: .4rem .5rem; vertical-align: top; text-align: left; }
td.points { white-space: nowrap; text-align: right; }
.ok { color: #1b7f3b; } .partial { color: #a36400; } .zero { color: #b00020; }
.problem { background: #fff3f3; border-left: 4px solid #b00020; padding: .5rem 1rem; }
.hint { color: #555; }
"""


def students(course: Path) -> list[str]:
    submitted = course / "submitted"
    return sorted(p.name for p in submitted.iterdir() if p.is_dir()) if submitted.is_dir() else []


def _status(points: float, max_points: float) -> str:
    return "ok" if points >= max_points else "zero" if points == 0 else "partial"


def render_student(course: Path, student: str, assignments: list[str]) -> str:
    esc = html.escape
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>Feedback for {esc(student)}</title><style>{STYLE}</style></head><body>"]
    parts.append(f"<h1>Feedback for {esc(student)}</h1>")
    total = maximum = 0.0
    for stem in assignments:
        record = read_record(course, student, stem)
        parts.append(f"<h2>{esc(stem)}</h2>")
        if record is None:
            parts.append("<p class='problem'>No grade yet for this assignment (not submitted, or not graded yet).</p>")
            continue
        total += record["points"]
        maximum += record["max_points"]
        if not record["graded"]:
            reason = "; ".join(record["problems"]) or "it could not be run"
            parts.append(f"<p class='problem'>Your notebook could not be graded: {esc(reason)}.</p>")
        elif record["problems"]:
            parts.append("<p class='problem'>" + "<br>".join(esc(p) for p in record["problems"]) + "</p>")
        parts.append("<table><tr><th>function</th><th>points</th><th>feedback</th></tr>")
        for f in record["functions"]:
            status = _status(f["points"], f["max_points"])
            if f["passed"]:
                text = "All checks passed."
            else:
                text = esc(f["diagnosis_only"] or "Some checks failed.")
                if f.get("hint"):
                    text += f"<br><span class='hint'>Hint: {esc(f['hint'])}</span>"
            for note in f.get("notes") or []:
                text += f"<br><span class='hint'>{esc(note)}</span>"
            parts.append(
                f"<tr><td><code>{esc(f['function'])}</code></td><td class='points {status}'>{f['points']:g} / {f['max_points']:g}</td><td>{text}</td></tr>"
            )
        parts.append(f"</table><p>Total for {esc(stem)}: <b>{record['points']:g} / {record['max_points']:g}</b></p>")
    parts.append(f"<h2>Overall: {total:g} / {maximum:g}</h2></body></html>")
    return "\n".join(parts)


def write_feedback(course: Path, assignments: list[str] | None = None) -> list[Path]:
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


def export_rows(course: Path, db_url: str | None = None, assignments: list[str] | None = None) -> tuple[list[str], list[dict]]:
    """One row per student and assignment; scores from the gradebook (manual grades count)."""
    from nbgrader.api import Gradebook, MissingEntry

    from autograder.grading.notebook import release_notebook
    from autograder.course.contract import exercises

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
                            scores[grade.name[len("check_"):]] = float(grade.score)
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
    columns, rows = export_rows(course, db_url)
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return out


# ------------------------------------------------------------------ CLI


class FeedbackCommand:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="the course folder (default: course/)")

    @staticmethod
    def run(args) -> int:
        written = write_feedback(args.course)
        print(f"wrote {len(written)} report(s) to {Path(args.course).resolve() / 'reports'}")
        return 0


class ExportCommand:
    @staticmethod
    def add_arguments(parser) -> None:
        parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, help="the course folder (default: course/)")
        parser.add_argument("--csv", type=Path, default=None, help="output file (default: <course>/grades.csv)")
        parser.add_argument("--db-url", default=None, help="gradebook URL (default: sqlite in the course)")

    @staticmethod
    def run(args) -> int:
        out = args.csv or Path(args.course) / "grades.csv"
        write_csv(args.course, out, args.db_url)
        print(f"wrote {out}", file=sys.stderr)
        return 0
