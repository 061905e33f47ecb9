"""Grading on a real Dask cluster on loopback: the same grades as the local pool, and nothing lost or counted twice.

Each test starts ``dask scheduler`` and ``dask worker`` processes (one thread
each, no nanny: killing a worker's process loses the worker), all with this
checkout on PYTHONPATH, as the README ("Grading on a cluster") tells an instructor to. Part of the
sample class is graded by ``python -m autograder grade --scheduler`` in a child
process and compared with the same class graded by the local pool: every
record (its timings aside) and the gradebook.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from autograder.course.registry import REPO, STEMS
from autograder.grading.classroom import grade_class
from autograder.qa import sample_class
from autograder.qa.loopback_cluster import LoopbackCluster

pytestmark = pytest.mark.slow

# Full marks, a mix of mistakes, a cheat, a corrupt and a missing notebook, deleted and edited check cells.
NAMES = ("alice", "carol", "mallory", "niaj", "oscar")
STUDENTS = [s for s in sample_class.CLASS if s.name in NAMES]
TOTAL = len(STUDENTS) * len(STEMS)


@pytest.fixture
def cluster(tmp_path):
    with LoopbackCluster(tmp_path / "dask", workers=2) as started:
        yield started


def class_course(built_course, tmp_path_factory, name: str) -> Path:
    course = built_course.fresh_copy(tmp_path_factory, name)
    sample_class.write_class(course, STUDENTS)
    return course


@pytest.fixture(scope="module")
def local(built_course, tmp_path_factory) -> Path:
    """The reference: the same students graded by the local pool."""
    course = class_course(built_course, tmp_path_factory, "local")
    summary = grade_class(course, workers=2, quiet=True)
    assert summary["graded_now"] == TOTAL and summary["faults"] == 0
    return course


def grade(course: Path, address: str, *flags: str, wait: bool = True, timeout: float = 600):
    argv = [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--scheduler", address, *flags]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(REPO / "notebooks")])}
    if not wait:
        return subprocess.Popen(argv, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)


def without_timings(value):
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if "seconds" not in k}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value


def records(course: Path) -> dict:
    return {
        (path.parent.name, path.stem): without_timings(json.loads(path.read_text())) for path in sorted((course / "grades").rglob("*.json"))
    }


def gradebook_rows(course: Path) -> list[tuple]:
    """Every submitted grade cell as (student, assignment, cell, auto score, needs manual grade); no submission twice."""
    from nbgrader.api import Gradebook

    rows = []
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for stem in STEMS:
            submissions = gb.assignment_submissions(stem)
            students = [s.student.id for s in submissions]
            assert len(students) == len(set(students)), f"{stem}: a submission is in the gradebook twice"
            for submission in submissions:
                for grade in gb.find_submission_notebook(stem, stem, submission.student.id).grades:
                    rows.append((submission.student.id, stem, grade.name, grade.auto_score, grade.needs_manual_grade))
    return sorted(rows)


def assert_same_as_local(course: Path, local: Path) -> None:
    got, want = records(course), records(local)
    assert set(got) == set(want), f"records: {sorted(set(got) ^ set(want))}"
    for key in want:
        assert got[key] == want[key], f"{key}: the cluster's record differs from the local pool's"
    assert gradebook_rows(course) == gradebook_rows(local)
    for student, stem in want:
        assert (course / "autograded" / student / stem / f"{stem}.ipynb").is_file(), f"no autograded notebook for {student}/{stem}"


def test_the_cluster_grades_exactly_as_the_local_pool(cluster, local, built_course, tmp_path_factory):
    course = class_course(built_course, tmp_path_factory, "cluster")
    done = grade(course, cluster.address)
    assert done.returncode == 1, done.stderr  # the corrupt and missing notebooks are not graded, locally too
    assert_same_as_local(course, local)
    per_worker = next(line for line in done.stdout.splitlines() if line.startswith("graded per worker:"))
    counts = [int(part.rsplit(" ", 1)[1]) for part in per_worker.split(":", 1)[1].split(", ")]
    assert sum(counts) == TOTAL and all("tcp://127.0.0.1:" in part for part in per_worker.split(":", 1)[1].split(", "))
    assert f"of {cluster.address}" in done.stdout
    again = grade(course, cluster.address)
    assert "graded now: 0" in again.stdout and f"skipped (unchanged): {TOTAL}" in again.stdout, again.stdout


def wait_for_records(course: Path, at_least: int, process: subprocess.Popen, timeout: float = 300) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = len(list((course / "grades").rglob("*.json"))) if (course / "grades").is_dir() else 0
        if found >= at_least:
            return found
        assert process.poll() is None, f"grade ended early: {process.communicate()}"
        time.sleep(0.05)
    raise AssertionError(f"fewer than {at_least} records after {timeout} s")


def test_a_worker_lost_mid_run_loses_nothing_and_counts_nothing_twice(cluster, local, built_course, tmp_path_factory):
    course = class_course(built_course, tmp_path_factory, "lost-worker")
    running = grade(course, cluster.address, wait=False)
    wait_for_records(course, 2, running)
    cluster.workers[0].kill()  # mid-run: the worker's tasks go to the other worker
    stdout, stderr = running.communicate(timeout=600)
    assert running.returncode == 1, stderr
    assert f"graded now: {TOTAL}" in stdout, stdout
    assert_same_as_local(course, local)


def test_a_killed_client_resumes_with_what_has_no_record(cluster, local, built_course, tmp_path_factory):
    course = class_course(built_course, tmp_path_factory, "killed-client")
    running = grade(course, cluster.address, wait=False)
    wait_for_records(course, 3, running)
    os.killpg(running.pid, signal.SIGKILL)
    running.communicate(timeout=60)
    kept = len(list((course / "grades").rglob("*.json")))
    assert 3 <= kept < TOTAL, f"{kept} records: the client was not killed mid-run"
    done = grade(course, cluster.address)
    assert f"graded now: {TOTAL - kept}" in done.stdout and f"skipped (unchanged): {kept}" in done.stdout, done.stdout
    assert_same_as_local(course, local)


def test_workers_that_must_not_grade_refuse_and_nothing_is_graded(cluster, built_course, tmp_path_factory, tmp_path):
    """A worker without isolation (user namespaces forbidden) and one with another checkout: one line, exit 2, no record."""
    course = class_course(built_course, tmp_path_factory, "refused")
    no_namespaces = (
        "/usr/bin/unshare",
        "--user",
        "--map-root-user",
        "/bin/sh",
        "-c",
        'echo 0 > /proc/sys/user/max_user_namespaces && exec "$0" "$@"',
    )
    if not Path(no_namespaces[0]).exists():
        pytest.skip("no unshare to start a worker without user namespaces")
    cluster.add_worker(prefix=no_namespaces)
    other = tmp_path / "other-checkout"
    from conftest import copy_repository

    copy_repository(other)
    with open(other / "autograder" / "__init__.py", "a") as handle:
        handle.write("# another version of the grader\n")
    cluster.add_worker(env={**cluster.env, "PYTHONPATH": os.pathsep.join([str(other), str(other / "notebooks")])})
    cluster.wait_for_workers(4)
    done = grade(course, cluster.address)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: 2 worker(s)"), done.stderr
    assert "max_user_namespaces" in lines[0] and "another version of the grader" in lines[0]
    assert not (course / "grades").exists(), "a record was written although the cluster refused"


def test_no_sandbox_is_refused_on_a_cluster(built_course, tmp_path_factory):
    course = class_course(built_course, tmp_path_factory, "no-sandbox")
    done = grade(course, "tcp://127.0.0.1:9", "--no-sandbox", timeout=60)
    assert done.returncode == 2 and "needs the sandbox" in done.stderr, done.stderr
    assert not (course / "grades").exists()


def test_the_scheduler_comes_from_the_course_config_and_the_flag_overrides(built_course, tmp_path_factory):
    from autograder.cli import parser
    from autograder.course.builder import write_config
    from autograder.options import course_settings

    course = class_course(built_course, tmp_path_factory, "config")
    config = course / "nbgrader_config.py"
    assert "c.WorkbookGrader.scheduler = ''" in config.read_text()
    config.write_text(config.read_text().replace("c.WorkbookGrader.scheduler = ''", "c.WorkbookGrader.scheduler = 'tcp://10.0.0.5:8786'"))
    assert course_settings(parser().parse_args(["grade", "--course", str(course)])).scheduler == "tcp://10.0.0.5:8786"
    write_config(course)  # a rebuild keeps it
    assert "c.WorkbookGrader.scheduler = 'tcp://10.0.0.5:8786'" in config.read_text()
    refused = grade(course, "tcp://127.0.0.1:9", "--no-sandbox", timeout=60)  # the flag wins over the setting
    assert refused.returncode == 2 and "needs the sandbox" in refused.stderr, refused.stderr
    config.write_text(config.read_text().replace("'tcp://10.0.0.5:8786'", "'10.0.0.5'"))
    bad = grade(course, "", timeout=60)
    assert bad.returncode == 2 and "scheduler must be '' or a scheduler address" in bad.stderr, bad.stderr
    bad_flag = subprocess.run(
        [sys.executable, "-m", "autograder", "grade", "--course", str(built_course.root), "--scheduler", "10.0.0.5:8786"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert bad_flag.returncode == 2 and "expected a Dask scheduler address" in bad_flag.stderr, bad_flag.stderr


STUCK_ONCE = """
import os, time
from pathlib import Path
from autograder.grading import classroom

MARK = Path(os.environ["DLWORK_STUCK_MARK"])

def stuck_once(real):
    def grade_notebook(path, limits=None, stem=None, only=None):
        # the first worker to grade carol gets stuck; the one that grades it next does not
        if "/carol/" in str(path) and not MARK.exists():
            MARK.write_text(str(os.getpid()))
            time.sleep(3600)
        return real(path, limits, stem=stem, only=only)
    grade_notebook.stuck_once = True
    return grade_notebook

if not getattr(classroom.grade_notebook, "stuck_once", False):  # Dask may run a preload file more than once
    classroom.grade_notebook = stuck_once(classroom.grade_notebook)
"""


def test_a_stuck_grading_ends_its_worker_and_runs_elsewhere(local, built_course, tmp_path_factory, tmp_path):
    """A worker whose grading outlasts the deadline ends itself; the scheduler gives the task to another worker."""
    from autograder.grading.classroom import STUCK_EXIT

    preload = tmp_path / "stuck_once.py"
    preload.write_text(STUCK_ONCE)
    mark = tmp_path / "stuck.mark"
    with LoopbackCluster(tmp_path / "dask") as cluster:
        env = {**cluster.env, "DLWORK_STUCK_MARK": str(mark)}
        for _ in range(2):
            cluster.add_worker(env=env, extra=("--preload", str(preload)))
        cluster.wait_for_workers(2)
        course = class_course(built_course, tmp_path_factory, "stuck")
        summary = grade_class(course, quiet=True, assignments=[STEMS[0]], scheduler=cluster.address, deadline=20)
        assert mark.exists(), "no worker got stuck: the test proved nothing"
        codes = [w.poll() for w in cluster.workers]
    assert codes.count(STUCK_EXIT) == 1 and codes.count(None) == 1, f"exit codes of the workers: {codes}"
    assert summary["graded_now"] == len(STUDENTS) and summary["faults"] == 0, summary
    want = records(local)
    for (student, stem), record in records(course).items():
        assert record == want[(student, stem)], f"{student}/{stem}"
