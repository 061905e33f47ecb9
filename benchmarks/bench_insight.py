"""The class insight report on a synthetic class: seconds per step.

    .venv/bin/python benchmarks/bench_insight.py                 # 1,000 students x 3 notebooks
    .venv/bin/python benchmarks/bench_insight.py --students 200 --keep /tmp/insight-bench

A course is built (``build_course``: release and gradebook); the submitted
notebooks are ``bench_similarity.py``'s synthetic class (each student's
functions: the reference, a catalogue variant or the stub, with renamed names
and statements of their own; ten planted copies); the grading records are
synthetic, written straight into ``grades/`` and the gradebook
(``write_gradebook_many``): per function full points, a catalogue mistake (its
keywords in the diagnosis), an unnamed failure, or not graded. Then
:func:`autograder.insight.report.build_insight` runs, similarity included, and
the seconds of each of its steps are printed. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "notebooks")]

from bench_similarity import synthetic_class  # noqa: E402  (beside this script)

from autograder.course.builder import build_course  # noqa: E402
from autograder.course.registry import NOTEBOOKS  # noqa: E402
from autograder.grading.gradebook import default_db_url, write_gradebook_many  # noqa: E402
from autograder.grading.judge import Verdict  # noqa: E402
from autograder.grading.notebook import NotebookResult  # noqa: E402
from autograder.grading.records import record_path, result_to_record, write_atomic  # noqa: E402
from autograder.insight import similarity  # noqa: E402
from autograder.insight.report import build_insight, catalogue_mistakes, function_points  # noqa: E402

STAMP = "2026-11-20 12:00:00.000000 UTC"


def verdict(stem: str, function: str, max_points: float, rng: random.Random) -> Verdict:
    roll = rng.random()
    mistakes = catalogue_mistakes().get(function, [])
    if roll < 0.6:
        return Verdict(stem, function, max_points, max_points)
    if roll < 0.85 and mistakes:
        mistake, what, _ = mistakes[min(int(rng.expovariate(0.5)), len(mistakes) - 1)]  # a few common mistakes, a long tail
        from autograder.qa.catalogue import by_id

        words = " ".join(by_id()[mistake].keywords)
        hint = f"Check {what}."
        return Verdict(stem, function, rng.choice([0.0, max_points / 2]), max_points, diagnosis=f"Wrong: {words}. {hint}", hint=hint)
    if roll < 0.95:
        return Verdict(stem, function, 0.0, max_points, diagnosis=f"{function} raised ValueError: shapes do not match.")
    return Verdict(stem, function, 0.0, max_points, diagnosis="Not graded: the cell timed out.", graded=False)


def write_grades(course: Path, students: list[str], seed: int = 0) -> None:
    from nbgrader.api import Gradebook

    rng = random.Random(seed)
    items = []
    for student in students:
        for entry in NOTEBOOKS:
            verdicts = [verdict(entry.stem, f, p, rng) for f, p in function_points(entry.stem)]
            record = result_to_record(NotebookResult(entry.stem, f"{entry.stem}.ipynb", verdicts), student, "fingerprint")
            path = record_path(course, student, entry.stem)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(record))
            items.append((record, STAMP))
    with Gradebook(default_db_url(course)) as gb:
        for start in range(0, len(items), 600):
            failed = [e for e in write_gradebook_many(gb, items[start : start + 600]) if e is not None]
            if failed:
                raise RuntimeError(f"gradebook: {failed[0]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--threshold", type=float, default=similarity.DEFAULT_THRESHOLD)
    parser.add_argument("--keep", type=Path, default=None, help="build the class here and keep it (default: a temporary folder)")
    args = parser.parse_args()

    root = args.keep or Path(tempfile.mkdtemp(prefix="insight-bench-"))
    course = root / "course"
    try:
        steps = {}
        start = time.perf_counter()
        build_course(course)
        steps["setup: build the course"] = time.perf_counter() - start
        start = time.perf_counter()
        synthetic_class(course, args.students)
        steps["setup: write the submitted notebooks"] = time.perf_counter() - start
        start = time.perf_counter()
        students = sorted(p.name for p in (course / "submitted").iterdir() if p.is_dir())
        write_grades(course, students)
        steps["setup: write records and gradebook"] = time.perf_counter() - start

        timings = {}
        start = time.perf_counter()
        data = build_insight(course, threshold=args.threshold, timings=timings)
        total = time.perf_counter() - start
        for name, seconds in steps.items():
            print(f"{name:<40} {seconds:7.2f} s")
        for name, seconds in timings.items():
            print(f"insight: {name:<31} {seconds:7.2f} s")
        print(f"{'insight: total (build_insight)':<40} {total:7.2f} s")
        html = course / "reports" / "insight.html"
        print(
            f"{data['students']} students, {len(data['assignments'])} assignments, {len(data['stuck'])} stuck, "
            f"{len(data['ungraded'])} not graded, {len(data['similar']['pairs'])} similar pairs, "
            f"page {html.stat().st_size / 1e6:.1f} MB"
        )
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
