"""Stock ``nbgrader autograde`` (serial) against ``python -m autograder grade``, on the same class.

    .venv/bin/python benchmarks/bench_grade.py                 # 12 students, both engines
    .venv/bin/python benchmarks/bench_grade.py --scale 1000    # and 1,000 students with ours only

Submissions cycle through the honest students of the sample class (full
marks, typical mistakes, correct variants, stubs). Prints seconds per student
for each engine, the ratio, and whether every (student, assignment) score
agrees. Nothing is asserted: these are figures to report.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "notebooks")]

from autograder.course.builder import build_course, nbgrader_env  # noqa: E402
from autograder.course.registry import STEMS  # noqa: E402
from autograder.qa import sample_class  # noqa: E402


def make_class(course: Path, n: int) -> list[str]:
    honest = [s for s in sample_class.CLASS if s.name in sample_class.HONEST]
    students = [dataclasses.replace(honest[i % len(honest)], name=f"s{i:04d}") for i in range(n)]
    return sample_class.write_class(course, students)


def scores(course: Path) -> dict[tuple[str, str], float]:
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for stem in STEMS:
            for submission in gb.assignment_submissions(stem):
                out[(submission.student_id, stem)] = round(submission.score, 2)
    return out


def run_stock(course: Path) -> float:
    nbgrader = Path(sys.executable).with_name("nbgrader")
    started = time.monotonic()
    for stem in STEMS:
        subprocess.run([str(nbgrader), "autograde", stem, "--force"], cwd=course, env=nbgrader_env(), check=True, capture_output=True)
    return time.monotonic() - started


def run_ours(course: Path, workers: int | None, force: bool = True) -> float:
    command = [sys.executable, "-m", "autograder", "grade", "--course", str(course)] + (["--force"] if force else [])
    if workers:
        command += ["--workers", str(workers)]
    started = time.monotonic()
    subprocess.run(command, cwd=REPO, check=True, capture_output=True)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=12, help="class size for the comparison (default 12)")
    parser.add_argument("--scale", type=int, default=0, help="also grade this many students with ours only")
    parser.add_argument("--workers", type=int, default=None, help="our workers (default: all cores)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-grade-"))
    course = root / "course"
    t = time.monotonic()
    build_course(course)
    print(f"built the course in {time.monotonic() - t:.1f} s; {os.cpu_count()} cores")
    n = make_class(course, args.students)

    stock_seconds = run_stock(course)
    stock = scores(course)
    ours_seconds = run_ours(course, args.workers)
    ours = scores(course)
    disagree = {k: (stock.get(k), ours.get(k)) for k in set(stock) | set(ours) if stock.get(k) != ours.get(k)}
    per_stock, per_ours = stock_seconds / len(n), ours_seconds / len(n)
    print(f"{len(n)} students x {len(STEMS)} notebooks")
    print(f"  stock nbgrader autograde (serial): {stock_seconds:7.1f} s  = {per_stock:.2f} s per student")
    print(f"  python -m autograder grade:        {ours_seconds:7.1f} s  = {per_ours:.3f} s per student")
    print(f"  throughput ratio: {per_stock / per_ours:.1f}x")
    print(f"  scores agree on all {len(stock)} (student, assignment) pairs: {not disagree}")
    for key, pair in sorted(disagree.items()):
        print(f"    differ: {key}: stock {pair[0]} ours {pair[1]}")

    if args.scale:
        big = root / "scale"
        build_course(big)
        make_class(big, args.scale)
        seconds = run_ours(big, args.workers)
        print(f"{args.scale} students x {len(STEMS)} notebooks with ours: {seconds:.1f} s = {seconds / args.scale:.3f} s per student")
        t = time.monotonic()
        run_ours(big, args.workers, force=False)
        print(f"  rerun with nothing changed (resume): {time.monotonic() - t:.1f} s")
    print(f"(course folders left in {root})")


if __name__ == "__main__":
    main()
