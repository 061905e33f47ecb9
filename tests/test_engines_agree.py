"""Stock ``nbgrader autograde`` and our graders give the same points on honest submissions.

The honest students of the sample class (typical mistakes, correct variants,
warnings, partly done) are graded by stock nbgrader, which runs every cell of
every notebook in one kernel (the experiment cells are left out: they score
nothing in either engine and cost most of the time), then by ``python -m autograder grade`` and by
``python -m autograder check``; the points must agree for every graded
function. Stock nbgrader runs as two processes on different assignments, so
they never write the same (student, assignment).
"""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import without_experiments

from autograder.course.builder import nbgrader_env
from autograder.course.registry import REPO, STEMS, notebook_of
from autograder.grading.classroom import grade_class
from autograder.grading.records import read_record
from autograder.qa import sample_class

# Stock nbgrader autogrades part of the sample class: minutes.
pytestmark = pytest.mark.slow

STUDENTS = [s for s in sample_class.CLASS if s.name in ("carol", "dave", "erin", "heidi", "ivan", "judy", "peggy")]


def differs(student: sample_class.Student, stem: str) -> bool:
    """Whether ``student``'s ``stem`` is anything but the reference (only those are worth stock nbgrader's minutes)."""
    return student.default != sample_class.REF or stem in student.damage or any(notebook_of(f).stem == stem for f in student.functions)


SUBMISSIONS = [(student, stem) for student in STUDENTS for stem in STEMS if differs(student, stem)]


def stock_scores(course: Path) -> dict:
    """(student, assignment, function) -> points, from the gradebook."""
    from nbgrader.api import Gradebook

    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student, stem in SUBMISSIONS:
            notebook = gb.find_submission_notebook(stem, stem, student.name)
            for grade in notebook.grades:
                out[(student.name, stem, grade.name[len("check_") :])] = round(float(grade.score), 2)
    return out


@pytest.fixture(scope="module")
def both(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "engines")
    sample_class.write_class(course, STUDENTS)
    for student in STUDENTS:
        for stem in STEMS:
            folder = course / "submitted" / student.name / stem
            if not differs(student, stem):
                shutil.rmtree(folder)
            else:  # experiments score nothing, in either engine, and cost most of stock nbgrader's time
                path = folder / f"{stem}.ipynb"
                nbformat.write(without_experiments(nbformat.read(path, as_version=4)), path)
    nbgrader = str(Path(sys.executable).with_name("nbgrader"))
    first, rest = "02_regularization", [s for s in STEMS if s != "02_regularization"]
    jobs = [
        subprocess.Popen(
            ["sh", "-c", " && ".join(f"{nbgrader} autograde {stem} --force" for stem in stems)],
            cwd=course,
            env=nbgrader_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for stems in ([first], rest)
    ]
    for job in jobs:
        _, err = job.communicate(timeout=1200)
        assert job.returncode == 0, err.decode()[-2000:]
    stock = stock_scores(course)
    grade_class(course, workers=2, force=True, quiet=True)
    return course, stock


def test_grade_gives_stock_nbgraders_points_for_every_function(both):
    course, stock = both
    ours = {}
    for student, stem in SUBMISSIONS:
        for f in read_record(course, student.name, stem)["functions"]:
            ours[(student.name, stem, f["function"])] = round(f["points"], 2)
    assert ours.keys() == stock.keys()
    differ = {k: (stock[k], ours[k]) for k in stock if stock[k] != ours[k]}
    assert not differ, f"(stock, ours) differ: {differ}"
    assert len({v for v in stock.values()}) > 2, "the class should show full, partial and zero scores"


def test_check_command_gives_the_same_totals(both):
    course, stock = both
    chosen = SUBMISSIONS[:5]
    notebooks = [str(course / "submitted" / student.name / stem / f"{stem}.ipynb") for student, stem in chosen]
    out = subprocess.run(
        [sys.executable, "-m", "autograder", "check", *notebooks, "--json"], cwd=REPO, capture_output=True, text=True, check=True
    )
    rows = json.loads(out.stdout)  # the notebooks' rows, one after the other, in the order given
    assert all(set(r) == {"notebook", "function", "points", "max_points", "passed", "diagnosis", "graded", "reason"} for r in rows)
    for student, stem in chosen:
        expected = {k[2]: v for k, v in stock.items() if k[:2] == (student.name, stem)}
        mine, rows = rows[: len(expected)], rows[len(expected) :]
        assert {r["notebook"] for r in mine} == {stem}
        assert {r["function"]: r["points"] for r in mine} == expected, (student.name, stem)
    assert rows == []
