"""The grader holds against broken and hostile submissions, graded in one class run with honest ones.

Every case of tests/hostile_corpus.py is one student; two honest students
(full marks, typical mistakes) share the run. For each case: the functions it
attacked earn 0, the others keep full marks, the reason is shown, nothing is
lost; and after the run no student process is left, the gradebook is sound
and the repository untouched. The table of cases is printed (pytest -s).
"""

import hashlib
import os
import sqlite3
import subprocess

import nbformat
import pytest

from autograder import sample_class
from autograder.classgrade import grade_class, read_record
from autograder.sandbox import UID_BASE, Limits
from autograder.solutions import REFERENCE_MODULES, REPO
from hostile_corpus import CASES

HONEST = [s for s in sample_class.CLASS if s.name in ("alice", "carol")]
LIMITS = Limits(call_timeout=3.0, notebook_timeout=30.0, memory_mb=1024)


def repo_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted((REPO / p) for p in ("README.md", "source_solutions/initialization.py", "autograder/hidden/initialization.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def run(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "hostile")
    sample_class.write_class(course, HONEST)
    for case in CASES:
        student = sample_class.Student(case.name, case.attack, dict(case.functions))
        folder = course / "submitted" / case.name / case.stem
        folder.mkdir(parents=True)
        release = nbformat.read(course / "release" / case.stem / f"{case.stem}.ipynb", as_version=4)
        path = folder / f"{case.stem}.ipynb"
        nbformat.write(sample_class.make_notebook(release, case.stem, student), path)
        if case.file_hook:
            case.file_hook(path)
    before = repo_fingerprint()
    summary = grade_class(course, workers=2, limits=LIMITS, quiet=True)
    return course, summary, before


def shown(record: dict) -> str:
    """Everything the student is told: diagnoses, notes, notebook-level problems."""
    return " ".join([*record["problems"], *(f["diagnosis"] for f in record["functions"])])


def test_every_case_is_graded_honestly(run):
    course, _, _ = run
    rows, failures = [("case", "expected", "got", "reason shown")], []
    for case in CASES:
        record = read_record(course, case.name, case.stem)
        if record is None:
            failures.append(f"{case.name}: no record")
            continue
        got = {f["function"]: f["points"] for f in record["functions"]}
        full = {f["function"]: f["max_points"] for f in record["functions"]}
        if case.ungraded:
            expected = "not graded, flagged"
            ok = not record["graded"] and record["points"] == 0
        elif case.root_only and os.geteuid() != 0:
            expected, ok = "(needs root: not asserted)", True
        else:
            expected_points = {f: 0.0 if f in case.zero else full[f] for f in full}
            expected = ", ".join(f"{f}={'0' if f in case.zero else 'full'}" for f in full if f in case.zero) or "full marks"
            ok = got == expected_points and record["graded"]
        if case.reason and case.reason.lower() not in shown(record).lower():
            ok = False
        total = f"{record['points']:g}/{record['max_points']:g}" + ("" if record["graded"] else " (not graded)")
        rows.append((case.name, expected, total, (shown(record)[:90] or "-").replace("\n", " ")))
        if not ok:
            failures.append(f"{case.name}: expected {expected}, got {got}, shown: {shown(record)[:300]}")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print("\n" + "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows))
    assert len(CASES) >= 25
    assert not failures, "\n".join(failures)


def test_honest_students_get_their_grades(run):
    course, _, _ = run
    for stem in REFERENCE_MODULES:
        alice = read_record(course, "alice", stem)
        assert alice["points"] == alice["max_points"]
    carol = read_record(course, "carol", "01_initialization")
    he = next(f for f in carol["functions"] if f["function"] == "initialize_parameters_he")
    assert 0 <= he["points"] < he["max_points"] and "current layer" in he["diagnosis"]


def test_every_submission_has_a_gradebook_record_and_the_gradebook_is_sound(run):
    from nbgrader.api import Gradebook

    course, _, _ = run
    assert sqlite3.connect(course / "gradebook.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for case in CASES:
            submission = gb.find_submission(case.stem, case.name)
            assert submission.score == pytest.approx(read_record(course, case.name, case.stem)["points"])


def test_no_student_process_is_left_and_the_repository_is_untouched(run):
    _, _, before = run
    listing = subprocess.run(["ps", "-eo", "uid=,stat=,pid=,args="], capture_output=True, text=True).stdout.splitlines()
    alive = [line for line in listing if int(line.split()[0]) >= UID_BASE and not line.split()[1].startswith("Z")]
    assert not alive, alive
    assert repo_fingerprint() == before
