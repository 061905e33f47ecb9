"""A fault of the grader is never a student's zero.

Faults are injected into a small class run (three students, the first
notebook): the student process cannot be spawned (no file descriptors left), a
hidden check fails on its own, a worker is killed or hangs, the disk is full
when the record is written. Each time: the run finishes, the affected
functions are "not graded" with a reason that says it is not the student's
mistake, nbgrader's gradebook flags them for manual grading, the log has the
traceback, and the other students are graded exactly as in a run without the
fault. The faults are injected in this process before the workers fork, and
only for the student ``carol``.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

from autograder.course.registry import REPO
from autograder.grading import classroom, judge
from autograder.grading.records import read_record
from autograder.qa import sample_class
from autograder.sandbox import process

STEM = "01_initialization"
VICTIM = "carol"
STUDENTS = [s for s in sample_class.CLASS if s.name in ("alice", "carol", "dave")]


def verdicts(course: Path, student: str) -> list[dict]:
    """What decides a student's grade (no timings)."""
    record = read_record(course, student, STEM)
    return [{k: f[k] for k in ("function", "points", "graded", "diagnosis")} for f in record["functions"]]


def needs_manual_grade(course: Path, student: str) -> dict[str, bool]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        notebook = gb.find_submission_notebook(STEM, STEM, student)
        return {g.name[len("check_") :]: g.needs_manual_grade for g in notebook.grades}


@pytest.fixture(scope="module")
def clean(built_course, tmp_path_factory):
    """The class graded without any fault: what every faulty run must give the others."""
    course = built_course.fresh_copy(tmp_path_factory, "clean")
    sample_class.write_class(course, STUDENTS)
    summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert summary["faults"] == 0
    return {s.name: verdicts(course, s.name) for s in STUDENTS}


@pytest.fixture
def course(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "faulty")
    sample_class.write_class(course, STUDENTS)
    return course


def for_victim(monkeypatch, fault):
    """Run ``fault(real_grade_notebook, path, limits, stem)`` instead of grading carol's notebook."""
    real = classroom.grade_notebook

    def grade_notebook(path, limits=None, stem=None, only=None):
        if f"/{VICTIM}/" in str(path):
            return fault(real, path, limits, stem)
        return real(path, limits, stem=stem, only=only)

    monkeypatch.setattr(classroom, "grade_notebook", grade_notebook)


def assert_others_unchanged(course: Path, clean: dict) -> None:
    for student in clean:
        if student != VICTIM:
            assert verdicts(course, student) == clean[student], student


def assert_not_graded_by_fault(course: Path, functions: set[str]) -> None:
    record = read_record(course, VICTIM, STEM)
    by_name = {f["function"]: f for f in record["functions"]}
    for name in functions:
        f = by_name[name]
        assert not f["graded"] and f["fault"] and f["reason"], f
        assert "not your mistake" in f["diagnosis"], f["diagnosis"]
    assert {n for n, flag in needs_manual_grade(course, VICTIM).items() if flag} == functions
    assert record["fingerprint"] == "", "a grader fault must be graded again by the next run"


def test_no_file_descriptors_for_the_student_process_is_the_graders_fault(course, clean, monkeypatch, caplog):
    def no_pipes(*_):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    exhausted = types.SimpleNamespace(**{name: getattr(os, name) for name in dir(os) if not name.startswith("__")})
    exhausted.pipe = no_pipes

    def fault(real, path, limits, stem):
        monkeypatch.setattr(process, "os", exhausted)
        try:
            return real(path, limits, stem=stem)
        finally:
            monkeypatch.setattr(process, "os", os)

    for_victim(monkeypatch, fault)
    with caplog.at_level(logging.ERROR, logger="autograder"):
        summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    everything = {f["function"] for f in read_record(course, VICTIM, STEM)["functions"]}
    assert_not_graded_by_fault(course, everything)
    assert read_record(course, VICTIM, STEM)["points"] == 0
    assert "Too many open files" in read_record(course, VICTIM, STEM)["functions"][0]["reason"]
    assert summary["faults"] == len(everything) and (VICTIM, STEM) in summary["failures"]
    assert "Traceback" in caplog.text and "EMFILE" in caplog.text or "Too many open files" in caplog.text
    assert_others_unchanged(course, clean)
    # the next run grades carol again, and only carol
    monkeypatch.undo()
    again = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert again["graded_now"] == 1 and again["faults"] == 0
    assert verdicts(course, VICTIM) == clean[VICTIM]


def test_a_hidden_check_that_fails_on_its_own_marks_only_its_function(course, clean, monkeypatch, caplog):
    target = next(f["function"] for f in clean[VICTIM] if f["graded"] and not f["diagnosis"])  # one carol got right

    def fault(real, path, limits, stem):
        judge.parts_for(target)
        broken = judge.Part(target, "broken", 1.0, lambda fn: open("/nonexistent/reference-data.npz"))
        judge.PARTS[target].append(broken)  # in the worker, for carol's notebook only
        try:
            return real(path, limits, stem=stem)
        finally:
            judge.PARTS[target].remove(broken)

    for_victim(monkeypatch, fault)
    with caplog.at_level(logging.ERROR, logger="autograder"):
        summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert_not_graded_by_fault(course, {target})
    assert "FileNotFoundError" in next(f["reason"] for f in read_record(course, VICTIM, STEM)["functions"] if f["function"] == target)
    others = [f for f in verdicts(course, VICTIM) if f["function"] != target]
    assert others == [f for f in clean[VICTIM] if f["function"] != target]
    assert summary["faults"] == 1 and "reference-data.npz" in caplog.text and "Traceback" in caplog.text
    assert_others_unchanged(course, clean)


@pytest.mark.parametrize("how", ["killed", "stuck"])
def test_a_worker_that_dies_or_hangs_is_retried_once_then_not_graded(course, clean, monkeypatch, caplog, how):
    def fault(real, path, limits, stem):
        if how == "killed":
            os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(3600)

    for_victim(monkeypatch, fault)
    if how == "stuck":  # carol alone: a deadline short enough for a quick test would be too short for the others
        for other in STUDENTS:
            if other.name != VICTIM:
                shutil.rmtree(course / "submitted" / other.name)
    started = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="autograder"):
        summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM], deadline=None if how == "killed" else 4)
    assert time.monotonic() - started < 120
    everything = {f["function"] for f in read_record(course, VICTIM, STEM)["functions"]}
    assert_not_graded_by_fault(course, everything)
    reason = read_record(course, VICTIM, STEM)["functions"][0]["reason"]
    assert ("died" if how == "killed" else "stuck") in reason and "2 times" in reason, reason
    assert summary["faults"] == 1 and VICTIM in caplog.text
    if how == "killed":
        assert_others_unchanged(course, clean)


def test_a_worker_killed_once_is_retried_and_the_student_graded(course, clean, monkeypatch, tmp_path):
    marker = tmp_path / "killed once"

    def fault(real, path, limits, stem):
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        return real(path, limits, stem=stem)

    for_victim(monkeypatch, fault)
    summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert marker.exists() and summary["faults"] == 0
    assert verdicts(course, VICTIM) == clean[VICTIM]
    assert_others_unchanged(course, clean)


def test_a_full_disk_for_the_records_loses_no_one_and_flags_the_submission(course, clean, monkeypatch, caplog):
    real = classroom.write_atomic

    def write_atomic(path, text):
        if VICTIM in Path(path).parts:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(path, text)

    monkeypatch.setattr(classroom, "write_atomic", write_atomic)
    with caplog.at_level(logging.ERROR, logger="autograder"):
        summary = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert summary["faults"] == 1 and "No space left on device" in caplog.text and "Traceback" in caplog.text
    assert read_record(course, VICTIM, STEM) is None
    assert all(needs_manual_grade(course, VICTIM).values())
    assert_others_unchanged(course, clean)
    monkeypatch.undo()
    again = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert again["graded_now"] == 1 and verdicts(course, VICTIM) == clean[VICTIM]


# ------------------------------------------------------------------ what the instructor sees on the command line


def run_cli(*args: str, prelude: str = "", cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    script = textwrap.dedent(prelude) + f"\nimport sys\nfrom autograder.cli import main\nsys.exit(main({list(args)!r}))\n"
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "PYTHONPATH": f"{REPO}:{REPO / 'notebooks'}", **(env or {})},
    )


def test_grade_says_what_happened_exits_1_and_logs_the_traceback(course, tmp_path):
    prelude = f"""
        import errno, os, types
        from autograder.grading import classroom
        from autograder.sandbox import process
        exhausted = types.SimpleNamespace(**{{n: getattr(os, n) for n in dir(os) if not n.startswith("__")}})
        def no_pipes(*_):
            raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
        exhausted.pipe = no_pipes
        real = classroom.grade_notebook
        def grade_notebook(path, limits=None, stem=None, only=None):
            if "/{VICTIM}/" in str(path):
                process.os = exhausted
            try:
                return real(path, limits, stem=stem, only=only)
            finally:
                process.os = os
        classroom.grade_notebook = grade_notebook
    """
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    done = run_cli("grade", "--course", str(course), "--assignment", STEM, "--workers", "2", prelude=prelude, env={"TMPDIR": str(scratch)})
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert f"grader fault: {VICTIM}/{STEM}" in done.stderr and "autograder.log" in done.stderr
    log = (course / "autograder.log").read_text()
    assert "Traceback" in log and "Too many open files" in log
    assert not list(scratch.iterdir()), f"left in the temporary folder: {list(scratch.iterdir())}"
    assert not (course / classroom.SCRATCH).exists()
    # the summary table marks carol's notebook, and the same command without the fault exits 0
    assert f"{VICTIM} " in done.stdout and "!" in done.stdout
    again = run_cli("grade", "--course", str(course), "--assignment", STEM, "-q")
    assert again.returncode == 0 and again.stdout == "", again.stdout + again.stderr


@pytest.mark.parametrize(
    "args",
    [
        ("grade", "--course", "{missing}"),
        ("grade", "--assignment", "04_nothing"),
        ("grade", "--course", "{course}", "--student", "nobody"),
        ("check", "{missing}/01_initialization.ipynb"),
        ("feedback", "--course", "{missing}"),
        ("export", "--course", "{missing}"),
        ("build", "--notebook", "04_nothing"),
        ("no-such-command",),
    ],
    ids=lambda a: " ".join(a),
)
def test_bad_input_exits_2_with_one_line(args, course, tmp_path):
    filled = [a.format(missing=tmp_path / "missing", course=course) for a in args]
    done = subprocess.run([sys.executable, "-m", "autograder", *filled], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in done.stderr, done.stderr
    assert not (tmp_path / "missing").exists(), "a command made the folder it was told is missing"


def test_a_second_grade_on_the_same_course_refuses(course):
    with classroom.course_lock(course):
        done = run_cli("grade", "--course", str(course), "--assignment", STEM)
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: another `grade` is running on {course} (pid {os.getpid()}); wait for it, or stop it"
    ]
    assert not (course / "grades").exists()


def test_limits_come_from_the_course_config_and_flags_override(course):
    config = course / "nbgrader_config.py"
    config.write_text(config.read_text().replace("c.WorkbookGrader.call_timeout = 10.0", "c.WorkbookGrader.call_timeout = 7.5"))
    from autograder.cli import parser
    from autograder.options import limits_from

    assert limits_from(parser().parse_args(["grade", "--course", str(course)])).call_timeout == 7.5
    assert limits_from(parser().parse_args(["grade", "--course", str(course), "--call-timeout", "3"])).call_timeout == 3
    # grading stores them; a rebuild keeps the instructor's value
    run = classroom.grade_class(
        course, workers=1, quiet=True, assignments=[STEM], limits=limits_from(parser().parse_args(["grade", "--course", str(course)]))
    )
    assert run["faults"] == 0 and read_record(course, "alice", STEM)["limits"]["call_timeout"] == 7.5
    from autograder.course.builder import write_config

    write_config(course)
    assert "c.WorkbookGrader.call_timeout = 7.5" in config.read_text()
    config.write_text(config.read_text().replace("c.WorkbookGrader.call_timeout = 7.5", "c.WorkbookGrader.call_timeout = 'soon'"))
    done = run_cli("grade", "--course", str(course))
    assert done.returncode == 2 and done.stderr.count("\n") == 1 and "call_timeout must be a number" in done.stderr, done.stderr


def test_help_shows_examples(tmp_path):
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", "--help"], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0 and "examples:" in done.stdout and "python -m autograder grade --student" in done.stdout
    top = subprocess.run([sys.executable, "-m", "autograder", "--help"], cwd=REPO, capture_output=True, text=True)
    assert "exit codes" in top.stdout and "each subcommand lives" not in top.stdout
    version = subprocess.run([sys.executable, "-m", "autograder", "--version"], cwd=REPO, capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.split()[-1][0].isdigit()


def test_the_notebooks_time_counts_the_students_code_only(tmp_path):
    from autograder.sandbox import Cell, Limits, Session

    session = Session([Cell("f", "def f(x):\n    return x + 1\n", "solution")], tmp_path, Limits(notebook_timeout=1.5))
    try:
        f = session.function("f")
        for _ in range(4):
            time.sleep(0.5)  # the grader's own work between two calls: 2 s in all, more than the budget
            assert f(1) == 2
        assert session.remaining() > 1.0
    finally:
        session.close()


def test_grade_student_regrades_that_student_only(course, clean):
    first = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM])
    assert first["graded_now"] == len(STUDENTS)
    again = classroom.grade_class(course, workers=2, quiet=True, assignments=[STEM], students=[VICTIM])
    assert again["graded_now"] == 1 and again["skipped"] == 0
    assert verdicts(course, VICTIM) == clean[VICTIM]
