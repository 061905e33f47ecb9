"""``insight``: what a class got wrong, as one self-contained page (issue 15).

:func:`build_insight` writes ``insight.html``, ``insight.json`` and
``insight.csv`` into ``<course>/reports/`` (or ``out``):

* per assignment and function, the distribution of points (a PNG drawn with
  matplotlib's Agg backend, embedded as base64) and the share of the class with
  full, partial, zero points and not graded;
* per function, the catalogue's named mistakes (:mod:`autograder.qa.catalogue`)
  ranked by how many students made them, with the hint the students saw; the
  failures no catalogue mistake explains ("other") and the functions that were
  not graded, each as a row of their own;
* stuck students: zero points on a function that a later notebook borrows
  (``functions_from_notebook("<stem>", [...])`` in its code cells);
* the submissions and functions that could not be graded, with the reason;
* similar submissions (:func:`autograder.insight.similarity.similar_pairs`),
  side by side: flagged for a look, never a change of grade.

Scores come from nbgrader's gradebook, read as ``export`` reads them
(:func:`autograder.reports.export.export_rows`), so grades changed by hand in
the formgrader count; the diagnoses come from the grading records. A failing
function is the catalogue mistake of that function whose keywords all appear in
its diagnosis (as ``mutants`` matches them: case, spaces and backticks
ignored); several: the one with the most keywords, then the catalogue's order.

The page is rendered by Jinja2 with autoescaping on, so student ids, diagnoses
and reasons are text, never markup; the only HTML inserted as-is is the
similarity module's highlighted code, which it escapes itself. The page loads
nothing from outside itself.
"""

from __future__ import annotations

import base64
import csv
import datetime
import functools
import io
import json
import re
import sys
from collections import Counter
from pathlib import Path

from autograder import options
from autograder.course.registry import NOTEBOOK_DIR, STEMS
from autograder.course.registry import notebook as registry_notebook
from autograder.grading.records import read_record

TEMPLATES = Path(__file__).resolve().parent / "templates"
DEFAULT_THRESHOLD = 0.5  # the similarity module's recommended threshold (autograder.insight.similarity.DEFAULT_THRESHOLD)
FULL, PARTIAL, ZERO, NOT_GRADED = "full", "partial", "zero", "not graded"
STATUSES = (FULL, PARTIAL, ZERO, NOT_GRADED)
OTHER = "other"  # a failure no catalogue mistake explains
PASSED = "passed"  # the category of a function with full points
NOTE = "Similarity flags submissions for a closer look; it never changes a grade."
CSV_COLUMNS = ["student", "assignment", "function", "points", "max_points", "status", "category", "what", "reason"]


# ------------------------------------------------------------------ what the course says


def _normalize(text: str) -> str:
    from autograder.qa.mutants import normalize

    return normalize(text)


@functools.cache
def catalogue_mistakes() -> dict[str, list[tuple[str, str, tuple[str, ...]]]]:
    """function -> [(id, what, normalized keywords)] of its WRONG catalogue variants, in catalogue order."""
    from autograder.qa.catalogue import CATALOGUE, WRONG

    found: dict[str, list] = {}
    for v in CATALOGUE:
        if v.verdict == WRONG and v.keywords:
            found.setdefault(v.function, []).append((v.id, v.what or v.id, tuple(_normalize(k) for k in v.keywords)))
    return found


def classify(function: str, diagnosis: str) -> str:
    """The catalogue mistake (its id) of ``function`` whose keywords all appear in ``diagnosis``; :data:`OTHER` when none does."""
    return _classify(function, diagnosis or "")


@functools.lru_cache(maxsize=65536)
def _classify(function: str, diagnosis: str) -> str:
    text = _normalize(diagnosis)
    best, most = OTHER, 0
    for mistake, _what, keywords in catalogue_mistakes().get(function, []):
        if len(keywords) > most and all(k in text for k in keywords):
            best, most = mistake, len(keywords)
    return best


@functools.cache
def borrowers() -> dict[str, tuple[str, ...]]:
    """function -> the notebooks whose code cells borrow it with ``functions_from_notebook("<stem>", [...])``."""
    found: dict[str, list[str]] = {}
    for stem in STEMS:
        path = NOTEBOOK_DIR / f"{stem}.ipynb"
        try:
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        except (OSError, ValueError, KeyError):
            continue
        for cell in cells:
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            source = "".join(source) if isinstance(source, list) else source
            for lender in re.findall(r'functions_from_notebook\(\s*["\']([^"\']+)["\']', source):
                try:
                    lent = registry_notebook(lender).functions
                except KeyError:
                    continue
                for function in lent:
                    if re.search(rf"[\"']{re.escape(function)}[\"']", source) and stem not in found.get(function, []):
                        found.setdefault(function, []).append(stem)
    return {f: tuple(stems) for f, stems in found.items()}


@functools.cache
def function_points(stem: str) -> tuple[tuple[str, float], ...]:
    """(function, max points) of the notebook's graded functions, in order, from its check cells."""
    from autograder.course.contract import exercises
    from autograder.grading.notebook import release_notebook

    return tuple((e.function, e.points) for e in exercises(release_notebook(stem), stem))


# ------------------------------------------------------------------ reading the class


def _students(course: Path) -> list[str]:
    """Students with a submission folder or a grading record."""
    from autograder.reports.feedback import students

    found = set(students(course))
    grades = course / "grades"
    if grades.is_dir():
        found.update(p.name for p in grades.iterdir() if p.is_dir())
    return sorted(found)


def _gradebook_rows(course: Path, db_url: str | None, assignments: list[str]) -> dict[tuple[str, str], dict] | None:
    """(student, assignment) -> the ``export`` row (scores from the gradebook); None without a gradebook."""
    if db_url is None and not (course / "gradebook.db").is_file():
        return None  # never create an empty gradebook in the course
    from autograder.reports.export import export_rows

    _columns, rows = export_rows(course, db_url, assignments)
    return {(row["student_id"], row["assignment"]): row for row in rows}


def _not_graded_reason(f: dict, record: dict) -> str:
    reason = f.get("reason") or (f.get("diagnosis_only") or "").removeprefix("Not graded: ") or "; ".join(record.get("problems") or [])
    return reason.strip().rstrip(".").strip() or "the grader could not judge it"


def _cells(course: Path, db_url: str | None, assignments: list[str]) -> tuple[list[dict], list[dict], dict[str, int], str]:
    """Per student and function one cell (points, status, category); what was not graded; submissions per assignment; where the scores came from."""
    rows = _gradebook_rows(course, db_url, assignments)
    cells, ungraded, submissions = [], [], Counter()
    for student in _students(course):
        for stem in assignments:
            record = read_record(course, student, stem)
            row = rows.get((student, stem)) if rows is not None else None
            if record is None and row is None:
                continue
            submissions[stem] += 1
            verdicts = {f["function"]: f for f in (record or {}).get("functions", []) if isinstance(f, dict) and "function" in f}
            if record is None:
                ungraded.append({"student": student, "assignment": stem, "function": None, "reason": "no grading record", "fault": False})
            elif not record.get("graded", True):
                reason = "; ".join(str(p) for p in record.get("problems") or []) or "the notebook could not be graded"
                ungraded.append({"student": student, "assignment": stem, "function": None, "reason": reason, "fault": False})
            for function, max_points in function_points(stem):
                f = verdicts.get(function, {})
                points = float(f.get("points", 0.0))
                max_points = float(f.get("max_points", max_points))
                graded = bool(f) and f.get("graded", record.get("graded", True) if record else False)
                reason = _not_graded_reason(f, record) if record is not None and not graded else ""
                if record is None:
                    reason = "no grading record"
                if row is not None:  # the gradebook's word: manual grades count
                    if row.get(function, "") != "":
                        points = float(row[function])
                    graded = row.get(f"{function}_graded") == "1"
                    if not graded and not reason:
                        reason = "waits for a manual grade"
                    if graded:
                        reason = ""
                if not graded:
                    status, category = NOT_GRADED, NOT_GRADED
                    if record is not None and record.get("graded", True) and f:
                        ungraded.append(
                            {"student": student, "assignment": stem, "function": function, "reason": reason, "fault": bool(f.get("fault"))}
                        )
                elif points >= max_points:
                    status, category = FULL, PASSED
                else:
                    status = ZERO if points <= 0 else PARTIAL
                    category = classify(function, f.get("diagnosis") or f.get("diagnosis_only") or "")
                cells.append(
                    {
                        "student": student,
                        "assignment": stem,
                        "function": function,
                        "points": points,
                        "max_points": max_points,
                        "status": status,
                        "category": category,
                        "reason": reason,
                        "hint": (f.get("hint") or f.get("diagnosis") or "") if status in (PARTIAL, ZERO) else "",
                    }
                )
    return cells, ungraded, dict(submissions), "records" if rows is None else "gradebook"


# ------------------------------------------------------------------ summing up


def _share(count: int, total: int) -> float:
    return round(count / total, 4) if total else 0.0


def _summaries(cells: list[dict], assignments: list[str], submissions: dict[str, int]) -> list[dict]:
    whats = _whats()
    order = {f: [m for m, _, _ in entries] for f, entries in catalogue_mistakes().items()}
    by_function: dict[tuple[str, str], list[dict]] = {}
    for cell in cells:
        by_function.setdefault((cell["assignment"], cell["function"]), []).append(cell)
    out = []
    for stem in assignments:
        total = submissions.get(stem, 0)
        functions, totals = [], {}
        for function, max_points in function_points(stem):
            mine = by_function.get((stem, function), [])
            for cell in mine:
                totals[cell["student"]] = totals.get(cell["student"], 0.0) + cell["points"]
            counts = Counter(cell["status"] for cell in mine)
            mistakes = Counter(cell["category"] for cell in mine if cell["status"] in (PARTIAL, ZERO))
            hints: dict[str, Counter] = {}
            for cell in mine:
                if cell["status"] in (PARTIAL, ZERO):
                    hints.setdefault(cell["category"], Counter())[cell["hint"]] += 1
            rank = order.get(function, [])
            named = sorted((m for m in mistakes if m != OTHER), key=lambda m: (-mistakes[m], rank.index(m) if m in rank else len(rank)))
            reasons = Counter(cell["reason"] for cell in mine if cell["status"] == NOT_GRADED)
            functions.append(
                {
                    "function": function,
                    "max_points": max((c["max_points"] for c in mine), default=max_points),
                    "students": total,
                    "mean_points": round(sum(c["points"] for c in mine) / len(mine), 4) if mine else 0.0,
                    "counts": {s: counts.get(s, 0) for s in STATUSES},
                    "shares": {s: _share(counts.get(s, 0), total) for s in STATUSES},
                    "points": sorted(c["points"] for c in mine if c["status"] != NOT_GRADED),  # the histogram's
                    "mistakes": [
                        {
                            "id": m,
                            "what": whats.get(m, m),
                            "count": mistakes[m],
                            "share": _share(mistakes[m], total),
                            "hint": hints[m].most_common(1)[0][0],
                        }
                        for m in named
                    ],
                    "other": {
                        "count": mistakes.get(OTHER, 0),
                        "share": _share(mistakes.get(OTHER, 0), total),
                        "hints": [{"hint": h, "count": n} for h, n in hints.get(OTHER, Counter()).most_common(5)],
                    },
                    "not_graded": {
                        "count": counts.get(NOT_GRADED, 0),
                        "share": _share(counts.get(NOT_GRADED, 0), total),
                        "reasons": [{"reason": r, "count": n} for r, n in reasons.most_common()],
                    },
                }
            )
        out.append(
            {
                "assignment": stem,
                "submissions": total,
                "max_points": sum(p for _, p in function_points(stem)),
                "totals": sorted(totals.values()),
                "functions": functions,
            }
        )
    return out


def _stuck(cells: list[dict]) -> list[dict]:
    needed = borrowers()
    return [
        {
            "student": c["student"],
            "assignment": c["assignment"],
            "function": c["function"],
            "points": c["points"],
            "status": c["status"],
            "needed_by": list(needed[c["function"]]),
        }
        for c in cells
        if c["function"] in needed and c["points"] <= 0
    ]


def _similar(course: Path, assignments: list[str], threshold: float) -> tuple[list, str | None]:
    """The similarity module's pairs, or none and why (the rest of the report stands without them)."""
    try:
        from autograder.insight import similarity

        return list(similarity.similar_pairs(course, assignments, threshold)), None
    except Exception as exc:  # noqa: BLE001 - shown on the page; the grades' part of the report does not depend on it
        return [], f"{type(exc).__name__}: {exc}"


# ------------------------------------------------------------------ figures


def _histogram(values: list[float], max_points: float, not_graded: int, title: str) -> str:
    """A bar chart of how many students got each score, as a base64 PNG (Agg, no pyplot state)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    fig = Figure(figsize=(4.2, 2.3), dpi=80)
    ax = fig.subplots()
    scores = Counter(round(v, 2) for v in values)
    xs = sorted(scores)
    width = max(max_points, 1.0) / 25
    if xs:
        colors = ["#1b7f3b" if x >= max_points else "#b00020" if x <= 0 else "#d08a00" for x in xs]
        ax.bar(xs, [scores[x] for x in xs], width=width, color=colors)
    ax.set_xlim(-max(max_points, 1.0) * 0.06, max(max_points, 1.0) * 1.06)
    ax.set_xlabel("points" + (f" ({not_graded} not graded, not shown)" if not_graded else ""), fontsize=8)
    ax.set_ylabel("students", fontsize=8)
    ax.set_title(title, fontsize=9)
    ax.tick_params(labelsize=7)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


# ------------------------------------------------------------------ writing


@functools.cache
def _template():
    from autograder.reports.html import environment

    env = environment(TEMPLATES)
    env.filters["pct"] = lambda share: f"{100 * share:.1f}%"
    return env.get_template("insight.html.j2")


def _render(data: dict, figures: dict, pairs: list, similarity_error: str | None) -> str:
    from markupsafe import Markup

    shown = [
        {
            "a": p.a,
            "b": p.b,
            "assignment": p.assignment,
            "score": p.score,
            "functions": list(p.functions),
            "a_html": Markup(p.a_html),  # escaped by the similarity module, <mark> around the shared regions
            "b_html": Markup(p.b_html),
        }
        for p in pairs
    ]
    return _template().render(data=data, figures=figures, pairs=shown, similarity_error=similarity_error, note=NOTE)


def _pair_data(p) -> dict:
    return {
        "assignment": p.assignment,
        "a": p.a,
        "b": p.b,
        "score": round(float(p.score), 4),
        "a_share": round(float(getattr(p, "a_share", 0.0)), 4),
        "b_share": round(float(getattr(p, "b_share", 0.0)), 4),
        "functions": list(p.functions),
    }


def build_insight(
    course: Path,
    db_url: str | None = None,
    out: Path | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    assignments: list[str] | None = None,
    similarity: bool = True,
    timings: dict | None = None,
) -> dict:
    """Write ``insight.html``, ``insight.json`` and ``insight.csv`` into ``out`` (default ``<course>/reports``); return the JSON's data.

    Args:
        course: The course folder (``grades/`` from ``grade``, ``submitted/``).
        db_url: nbgrader's gradebook (default: the course's ``gradebook.db``;
            when that file does not exist, the records' points alone).
        out: The folder to write to.
        threshold: The similarity score from which a pair is shown, in (0, 1].
        assignments: The notebooks to report on (default: every one).
        similarity: Whether to look for similar submissions.
        timings: If given, filled with the seconds of each step.
    """
    import time

    if not 0 < threshold <= 1:
        raise ValueError(f"the threshold must be in (0, 1], not {threshold:g}")
    course = Path(course).resolve()
    assignments = list(assignments or STEMS)
    out = Path(out) if out is not None else course / "reports"
    timings = timings if timings is not None else {}

    start = time.perf_counter()
    cells, ungraded, submissions, scores_from = _cells(course, db_url, assignments)
    timings["read"] = time.perf_counter() - start

    start = time.perf_counter()
    summaries = _summaries(cells, assignments, submissions)
    stuck = _stuck(cells)
    timings["summarize"] = time.perf_counter() - start

    start = time.perf_counter()
    pairs, similarity_error = _similar(course, assignments, threshold) if similarity else ([], "not run")
    timings["similarity"] = time.perf_counter() - start

    data = {
        "course": str(course),
        "generated": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "scores_from": scores_from,  # "gradebook" (manual grades count) or "records" (no gradebook)
        "students": len({c["student"] for c in cells} | {u["student"] for u in ungraded}),
        "assignments": summaries,
        "stuck": stuck,
        "ungraded": ungraded,
        "similar": {"threshold": threshold, "note": NOTE, "error": similarity_error, "pairs": [_pair_data(p) for p in pairs]},
        "cells": [{k: c[k] for k in CSV_COLUMNS if k in c} | {"what": _what(c["category"])} for c in cells],
    }

    start = time.perf_counter()
    figures = {}
    for a in summaries:
        figures[a["assignment"]] = _histogram(a["totals"], a["max_points"], 0, f"{a['assignment']}: total points")
        for f in a["functions"]:
            key = f"{a['assignment']}/{f['function']}"
            figures[key] = _histogram(f["points"], f["max_points"], f["counts"][NOT_GRADED], f["function"])
    timings["figures"] = time.perf_counter() - start

    start = time.perf_counter()
    out.mkdir(parents=True, exist_ok=True)
    (out / "insight.html").write_text(_render(data, figures, pairs, similarity_error), encoding="utf-8")
    (out / "insight.json").write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    with open(out / "insight.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for c in data["cells"]:
            writer.writerow({k: (f"{c[k]:g}" if isinstance(c[k], float) else c[k]) for k in CSV_COLUMNS})
    timings["write"] = time.perf_counter() - start
    return data


def _what(category: str) -> str:
    """A category in plain words."""
    return {PASSED: "", OTHER: "not a catalogue mistake", NOT_GRADED: "not graded"}.get(category) or _whats().get(category, category)


@functools.cache
def _whats() -> dict[str, str]:
    return {m: what for entries in catalogue_mistakes().values() for m, what, _ in entries}


# ------------------------------------------------------------------ command line


def add_arguments(parser) -> None:
    options.add_course(parser)
    options.add_db_url(parser)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help="output folder (default: <course>/reports)")
    parser.add_argument(
        "--threshold",
        type=float,
        default=DEFAULT_THRESHOLD,
        metavar="SCORE",
        help=f"similarity score from which a pair of submissions is shown, in (0, 1] (default {DEFAULT_THRESHOLD:g})",
    )
    parser.add_argument("--assignment", action="append", default=None, metavar="STEM", help="report on this notebook only (repeatable)")
    parser.add_argument("--no-similarity", action="store_true", help="leave out the search for similar submissions")


def run(args) -> int:
    course = options.require_course(args.course)
    if not 0 < args.threshold <= 1:
        raise options.UsageError(f"--threshold must be in (0, 1], not {args.threshold:g}")
    unknown = [a for a in args.assignment or [] if a not in STEMS]
    if unknown:
        raise options.UsageError(f"unknown assignment {', '.join(unknown)} (known: {', '.join(STEMS)})")
    out = args.out or course / "reports"
    build_insight(course, args.db_url, out, args.threshold, assignments=args.assignment, similarity=not args.no_similarity)
    print(f"wrote {out / 'insight.html'}, insight.json and insight.csv", file=sys.stderr)
    return 0
