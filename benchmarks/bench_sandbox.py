"""What isolation costs: per-notebook grading time of this tree against a baseline commit, in one run.

    .venv/bin/python benchmarks/bench_sandbox.py                      # against the commit before the sandbox
    .venv/bin/python benchmarks/bench_sandbox.py --baseline HEAD~3 --students 40 --rounds 3

The baseline is checked out into a temporary git worktree and run with the
same virtual environment. Each round grades the same class (the sample
class's honest students, cycled) with ``python -m autograder grade --force``,
alternating baseline and this tree so that load on the machine falls on both
alike. Prints seconds per notebook for each, the ratio, and a per-process
figure: how long one isolated student process takes to start and answer a
call. Nothing is asserted: these are figures to report.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BEFORE_THE_SANDBOX = "93e3ed9"  # the last commit whose student processes were not namespaced


def grade_seconds(tree: Path, course: Path) -> float:
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--force"], cwd=tree, check=True, capture_output=True
    )
    return time.monotonic() - started


def build(tree: Path, course: Path, students: int) -> int:
    """Build the course with ``tree``'s builder and write the class; returns the number of notebooks."""
    script = (
        "import dataclasses, sys\n"
        "from pathlib import Path\n"
        "try:\n"
        "    from autograder.qa import sample_class\n"
        "    from autograder.course.builder import build_course\n"
        "    from autograder.course.registry import STEMS\n"
        "except ImportError:  # a baseline from before autograder/ had folders\n"
        "    from autograder import sample_class\n"
        "    from autograder.build import build_course\n"
        "    from autograder.solutions import REFERENCE_MODULES as STEMS\n"
        f"course = Path({str(course)!r})\n"
        "build_course(course)\n"
        "honest = [s for s in sample_class.CLASS if s.name in sample_class.HONEST]\n"
        f"students = [dataclasses.replace(honest[i % len(honest)], name=f's{{i:04d}}') for i in range({students})]\n"
        "sample_class.write_class(course, students)\n"
        "print(len(students) * len(STEMS))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=tree,
        check=True,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{tree}:{tree / 'notebooks'}", "PATH": "/usr/bin:/bin"},
    )
    return int(done.stdout.strip().splitlines()[-1])


def process_start_seconds(repeats: int = 30) -> float:
    """Median time for one isolated student process of this tree to start and answer a call (zygote warm)."""
    sys.path[:0] = [str(REPO), str(REPO / "notebooks")]
    from autograder.sandbox import Cell, Limits, Session

    times = []
    session = Session(
        [Cell("setup", "import numpy as np", "setup"), Cell("f", "def f(x):\n    return x + 1\n", "solution")],
        Path(tempfile.mkdtemp()),
        Limits(),
    )
    session.function("f")(1)  # the zygote starts here
    for _ in range(repeats):
        session.close()
        session._process = None
        started = time.perf_counter()
        session.function("f")(1)
        times.append(time.perf_counter() - started)
    session.close()
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--baseline", default=BEFORE_THE_SANDBOX, help="git commit to compare with (default %(default)s)")
    parser.add_argument("--students", type=int, default=40, help="class size (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds (default %(default)s)")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="bench-sandbox-"))
    baseline = root / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", str(baseline), args.baseline], cwd=REPO, check=True, capture_output=True)
    try:
        trees = {"baseline": baseline, "this tree": REPO}
        courses = {name: root / f"course-{name.replace(' ', '-')}" for name in trees}
        notebooks = {name: build(tree, courses[name], args.students) for name, tree in trees.items()}
        seconds: dict[str, list[float]] = {name: [] for name in trees}
        for _ in range(args.rounds):
            for name, tree in trees.items():
                seconds[name].append(grade_seconds(tree, courses[name]))
        per = {name: min(s) / notebooks[name] for name, s in seconds.items()}
        print(f"{args.students} students x 3 notebooks, {args.rounds} alternating rounds (best of each), baseline {args.baseline}")
        for name in trees:
            runs = ", ".join(f"{s:.1f}" for s in seconds[name])
            print(f"  {name:<10} {per[name] * 1000:6.0f} ms per notebook  (whole runs: {runs} s)")
        print(f"  ratio this tree / baseline: {per['this tree'] / per['baseline']:.2f}")
        print(f"  one isolated student process, started and called (warm zygote, median of 30): {process_start_seconds() * 1000:.0f} ms")
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(baseline)], cwd=REPO, capture_output=True)


if __name__ == "__main__":
    main()
