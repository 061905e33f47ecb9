"""How many records per second the gradebook writer stores, into SQLite and into PostgreSQL.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/gradebook_writer.py                 # 300 students x 3 assignments
    OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/gradebook_writer.py --students 600

The parent process of ``grade`` is the gradebook's only writer, so its rate
caps a cluster's. Records are synthetic but shaped as the grader shapes them
(every function of every assignment, some not graded). For each database:
nbgrader's own calls as the writer used them (on a slice: they are slow), one
commit per record (``write_gradebook``), and batches (``write_gradebook_many``);
first-time writes (new submissions) and rewrites (a regrade with other scores)
apart. PostgreSQL is a private server (``autograder.qa.postgres``) with fsync
on, as a real one has. Nothing is asserted: these are figures to report.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "notebooks")]

from autograder.course.builder import build_course, nbgrader_env  # noqa: E402
from autograder.course.registry import NOTEBOOKS  # noqa: E402
from autograder.grading.gradebook import write_gradebook, write_gradebook_many  # noqa: E402
from autograder.grading.judge import Verdict  # noqa: E402
from autograder.grading.notebook import NotebookResult  # noqa: E402
from autograder.grading.records import result_to_record  # noqa: E402
from autograder.qa import postgres  # noqa: E402
from autograder.qa.nbgrader_writer import write_with_nbgrader_calls  # noqa: E402

STAMP = "2026-11-20 12:00:00.000000 UTC"
BATCHES = (10, 50, 200)


def records(students: int, seed: int) -> list[tuple[dict, str]]:
    """One record per student and assignment, every function, about 1 in 10 not graded."""
    rng = random.Random(seed)
    out = []
    for i in range(students):
        for nb in NOTEBOOKS:
            verdicts = []
            for f in nb.functions:
                graded = rng.random() > 0.1
                points = rng.choice([0.0, 0.5, 1.0, 2.0]) if graded else 0.0
                verdicts.append(
                    Verdict(nb.stem, f, points, 2.0, diagnosis="" if graded else "Not graded: the cell timed out.", graded=graded)
                )
            out.append((result_to_record(NotebookResult(nb.stem, f"{nb.stem}.ipynb", verdicts, seconds=1.2), f"s{i:05d}", "f" * 64), STAMP))
    return out


def rate(gb, items: list, batch: int) -> float:
    """Records per second: batch 0 = nbgrader's calls, 1 = write_gradebook, else write_gradebook_many."""
    started = time.perf_counter()
    if batch <= 1:
        write = write_with_nbgrader_calls if batch == 0 else write_gradebook
        for record, stamp in items:
            write(gb, record, stamp)
    else:
        for i in range(0, len(items), batch):
            failed = [o for o in write_gradebook_many(gb, items[i : i + batch]) if o is not None]
            if failed:
                raise failed[0]
    return len(items) / (time.perf_counter() - started)


def measure(name: str, fresh, first: list, again: list, old_slice: int) -> None:
    """Print first-time and rewrite rates for each writer, each on a fresh gradebook from ``fresh()``."""
    from nbgrader.api import Gradebook

    print(f"\n{name}: records per second ({len(first)} records; nbgrader's calls on the first {old_slice})")
    print(f"  {'writer':34s} {'first-time':>11s} {'rewrite':>9s}")
    for batch in (0, 1, *BATCHES):
        n = old_slice if batch == 0 else len(first)
        with Gradebook(fresh()) as gb:
            new = rate(gb, first[:n], batch)
            regrade = rate(gb, again[:n], batch)
        label = {0: "nbgrader's calls, commit per record", 1: "write_gradebook, commit per record"}.get(
            batch, f"write_gradebook_many, batches of {batch}"
        )
        print(f"  {label:34s} {new:11.1f} {regrade:9.1f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=300, help="students; records = students x assignments (default 300)")
    parser.add_argument("--old", type=int, default=150, help="records written with nbgrader's own calls (default 150)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-gbwriter-"))
    try:
        course = root / "course"
        t = time.monotonic()
        build_course(course)
        print(f"built the course in {time.monotonic() - t:.1f} s")
        print(
            f"machine: {os.cpu_count()} cores, {platform.machine()}, Python {platform.python_version()}; nbgrader {version('nbgrader')}, "
            f"SQLAlchemy {version('sqlalchemy')}, psycopg {version('psycopg')}, SQLite {sqlite3.sqlite_version}"
        )
        first, again = records(args.students, 1), records(args.students, 2)
        functions = sum(len(r["functions"]) for r, _ in first) / len(first)
        print(f"{args.students} students x {len(NOTEBOOKS)} assignments = {len(first)} records, {functions:.1f} functions each")

        copies = iter(range(1_000))

        def fresh_sqlite() -> str:
            path = root / f"gradebook{next(copies)}.db"
            shutil.copy(course / "gradebook.db", path)
            return f"sqlite:///{path}"

        measure("SQLite (a file in the course folder)", fresh_sqlite, first, again, args.old)

        with postgres.temporary_server() as server:
            template = server.create_database("template_gradebook")
            cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force", "--db", template]
            subprocess.run(cmd, cwd=course, env=nbgrader_env(), check=True, capture_output=True)
            import psycopg

            with psycopg.connect(host=str(server.socket_dir), user="postgres", dbname="postgres") as conn:
                print(f"PostgreSQL: {conn.execute('SHOW server_version').fetchone()[0]}, unix socket, fsync on")

            def fresh_postgres() -> str:
                name = f"gradebook{next(copies)}"
                with psycopg.connect(host=str(server.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE template_gradebook')
                return server.url(name)

            measure("PostgreSQL (this machine, unix socket)", fresh_postgres, first, again, args.old)
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
