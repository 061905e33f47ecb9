"""The local pool against a Dask cluster of 1 and 2 workers on this machine, on the same class.

    .venv/bin/python benchmarks/bench_cluster.py                  # 24 students (72 notebooks), then the writer
    .venv/bin/python benchmarks/bench_cluster.py --students 60 --writer-students 0

The cluster is a scheduler and one-thread workers on 127.0.0.1
(``autograder.qa.loopback_cluster``), the way the README ("Grading on a cluster") starts them by
hand. Every run regrades the whole class (``--force``) with
``python -m autograder grade``; the time includes starting the command and, for
the cluster, connecting and the workers' isolation check. Prints students and
notebooks per second and whether every score agrees with the local run; then
runs ``benchmarks/gradebook_writer.py`` (records per second into SQLite and
PostgreSQL), the rate that caps any cluster. Nothing is asserted: these are
figures to report.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "notebooks")]

from autograder.course.builder import build_course  # noqa: E402
from autograder.course.registry import STEMS  # noqa: E402
from autograder.qa import sample_class  # noqa: E402
from autograder.qa.loopback_cluster import LoopbackCluster  # noqa: E402


def make_class(course: Path, n: int) -> None:
    honest = [s for s in sample_class.CLASS if s.name in sample_class.HONEST]
    sample_class.write_class(course, [dataclasses.replace(honest[i % len(honest)], name=f"s{i:04d}") for i in range(n)])


def grade(course: Path, *flags: str) -> float:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "notebooks")]), "OPENBLAS_NUM_THREADS": "1"}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--force", "-q", *flags], cwd=REPO, env=env
    )
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        raise SystemExit(f"grade {' '.join(flags)} failed with exit code {done.returncode}")
    return seconds


def points(course: Path) -> dict:
    return {(p.parent.name, p.stem): json.loads(p.read_text())["points"] for p in (course / "grades").rglob("*.json")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=24, help="class size (default 24)")
    parser.add_argument("--writer-students", type=int, default=300, help="students for the writer's benchmark (0: skip it)")
    args = parser.parse_args()

    import distributed

    root = Path(tempfile.mkdtemp(prefix="bench-cluster-"))
    course = root / "course"
    build_course(course)
    make_class(course, args.students)
    notebooks = args.students * len(STEMS)
    print(f"{os.cpu_count()} cores; distributed {distributed.__version__}; {args.students} students, {notebooks} notebooks")

    rows = [("local pool, 2 workers", grade(course, "--workers", "2"))]
    reference = points(course)
    agree = {}
    for n in (1, 2):
        with LoopbackCluster(root / f"dask-{n}", workers=n) as cluster:
            rows.append((f"cluster, {n} worker(s)", grade(course, "--scheduler", cluster.address)))
        agree[rows[-1][0]] = points(course) == reference
    print(f"{'engine':<24}{'seconds':>9}{'students/s':>12}{'notebooks/s':>13}  same scores as local")
    for name, seconds in rows:
        same = "" if name not in agree else ("yes" if agree[name] else "NO")
        print(f"{name:<24}{seconds:>9.1f}{args.students / seconds:>12.2f}{notebooks / seconds:>13.2f}  {same}")
    if args.writer_students:
        print(flush=True)
        writer = [sys.executable, str(REPO / "benchmarks" / "gradebook_writer.py"), "--students", str(args.writer_students)]
        subprocess.run(writer, check=True)


if __name__ == "__main__":
    main()
