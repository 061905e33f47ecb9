"""``python -m autograder demo``: the whole instructor workflow on a sample class.

Builds the course into ``demo/course`` (from scratch), writes the submissions of
the sample class (:mod:`autograder.qa.sample_class`: full marks, typical mistakes,
a crash, an infinite loop, warnings, tricks), grades them in parallel, writes
the HTML feedback and the CSV, and prints the grade table.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

from autograder import options
from autograder.course.registry import REPO, STEMS

DEFAULT_DIR = REPO / "demo"


def add_arguments(parser) -> None:
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="where to put the demo course (default: demo/)")
    options.add_workers(parser)
    options.add_limits(parser, timeouts=False, sandbox_note="the sample class is our own code")


def run(args) -> int:
    from autograder.course.builder import BuildError, build_course
    from autograder.grading.classroom import format_summary, grade_class
    from autograder.qa import sample_class
    from autograder.reports.export import write_csv
    from autograder.reports.feedback import write_feedback
    from autograder.sandbox import IsolationError

    course = Path(args.dir).resolve() / "course"
    started = time.monotonic()
    print(f"1. building the course in {course} ...", flush=True)
    staging = course.with_name(course.name + ".new")  # the last demo's course stays until the new one is built
    shutil.rmtree(staging, ignore_errors=True)
    try:
        build_course(staging)
    except BuildError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    if course.exists():
        shutil.rmtree(course)
    staging.rename(course)
    print(f"2. writing the sample class ({len(sample_class.CLASS)} students):")
    print(sample_class.describe())
    sample_class.write_class(course)
    print("3. grading (each student's code in an isolated, limited process of its own) ...", flush=True)
    try:
        summary = grade_class(course, workers=args.workers, limits=options.limits_from(args))
    except IsolationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    reports = write_feedback(course)
    csv_path = write_csv(course, course / "grades.csv")
    print()
    print(format_summary(summary, list(STEMS)))
    print()
    print(f"feedback: {len(reports)} HTML reports in {course / 'reports'}")
    print(f"grades:   {csv_path}")
    print(f"gradebook: {course / 'gradebook.db'} (nbgrader generate_feedback / export work in {course})")
    print(f"demo finished in {time.monotonic() - started:.1f} s")
    return 1 if summary["faults"] else 0  # the sample class's own not-graded submissions are part of the demo
