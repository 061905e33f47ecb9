"""Stock nbgrader on the built course: the commands an instructor types, run from the venv's bin/.

One module fixture drives the whole flow on a copy of the session's course (conftest.py):
``nbgrader generate_assignment`` again (the plain CLI must reproduce the
build's release), submissions written from the release notebooks,
``nbgrader autograde``, ``generate_feedback`` and ``export``. The tests then
read the gradebook and the autograded notebooks.

Submissions, per notebook (built from the release, as a student receives it):

* ``a-solved``: every stub replaced by the reference body (no markers);
* ``b-stub``: the release untouched;

and for one notebook only (they test nbgrader settings, not the notebook):

* ``b-warns``: solved, but the first graded function also calls ``warnings.warn``
  and makes NumPy emit a RuntimeWarning;
* ``b-nocheck``: solved, with the check cell of the last graded function deleted.

These two also drop the experiment cells (code cells without nbgrader
metadata, which a student may delete freely): they cost most of a notebook's
grading time and play no part in what the two test.

Every notebook is executed in full by nbgrader (experiments and plots too), so
this module's wall time is dominated by the solved notebooks' experiments.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder import solutions
from conftest import REPO, BuiltCourse

NBGRADER = next(
    (p for p in (REPO / ".venv" / "bin" / "nbgrader", Path(sys.executable).with_name("nbgrader")) if p.is_file()),
    None,
)
WARNING_TEXT = "e2e: a warning raised by correct code"
WARNING_BODY = (
    "    import warnings\n"
    f"    warnings.warn({WARNING_TEXT!r})\n"
    "    np.log(np.zeros(1))  # NumPy: RuntimeWarning, divide by zero\n"
)
# Student ids; the prefix picks the autograde worker.
SOLVED, STUB, WARNS, NOCHECK = "a-solved", "b-stub", "b-warns", "b-nocheck"
NUMBER = re.compile(r"-?\d+(\.\d*)?([eE][-+]?\d+)?")


@dataclass
class Graded:
    course: BuiltCourse
    special_stem: str  # the notebook that also gets the WARNS / NOCHECK submissions
    warned_function: str
    deleted_check: str  # grade_id of the deleted check cell
    release_before: dict[str, bytes]  # release notebooks as the build wrote them
    seconds: dict[str, float] = field(default_factory=dict)  # nbgrader command -> wall time

    def submissions(self) -> list[tuple[str, str]]:
        pairs = [(student, stem) for stem in self.course.stems for student in (SOLVED, STUB)]
        return pairs + [(WARNS, self.special_stem), (NOCHECK, self.special_stem)]

    def autograded(self, student: str, stem: str):
        return nbformat.read(self.course.root / "autograded" / student / stem / f"{stem}.ipynb", as_version=4)


def nbgrader(course: BuiltCourse, *commands: list[str], seconds: dict) -> None:
    """Run plain ``nbgrader`` commands side by side in the course folder; fail with a command's log if it fails.

    Two at a time at most (the machine has 2 cores); each must touch different
    students, since nbgrader does no locking of its own.
    """
    start = time.perf_counter()
    procs = [
        (cmd, subprocess.Popen([str(NBGRADER), *cmd], cwd=course.root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
        for cmd in commands
    ]
    for cmd, proc in procs:
        log, _ = proc.communicate(timeout=1800)
        assert proc.returncode == 0, f"nbgrader {' '.join(cmd)} failed ({proc.returncode}):\n{log[-8000:]}"
    seconds[" | ".join(" ".join(cmd) for cmd in commands)] = time.perf_counter() - start


def write_submission(course: BuiltCourse, student: str, stem: str, nb) -> None:
    folder = course.root / "submitted" / student / stem
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{stem}.ipynb")


def without_experiments(nb):
    """``nb`` without its code cells that carry no nbgrader metadata."""
    nb.cells = [c for c in nb.cells if c.cell_type != "code" or solutions.nbgrader_meta(c)]
    return nb


def points_of(stem: str) -> dict[str, float]:
    """grade_id of each check cell -> points, from the committed notebook."""
    nb = nbformat.read(solutions.NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    return {f"check_{e.function}": e.points for e in solutions.exercises(nb, stem)}


@pytest.fixture(scope="module")
def graded(built_course: BuiltCourse, tmp_path_factory) -> Graded:
    assert NBGRADER is not None, "no nbgrader executable in .venv/bin or next to this Python"
    # A copy, so that the session's course stays as the build left it for other tests.
    # (The config's paths are relative to the config file, so the copy is a course of its own.)
    root = tmp_path_factory.mktemp("e2e") / "course"
    shutil.copytree(built_course.root, root)
    course = dataclasses.replace(built_course, root=root)
    release_before = {
        stem: (course.release(stem) / f"{stem}.ipynb").read_bytes() for stem in course.stems
    }
    seconds: dict[str, float] = {}
    nbgrader(course, ["generate_assignment", "*", "--force"], seconds=seconds)

    special = course.stems[0]
    for stem in course.stems:
        release = nbformat.read(course.release(stem) / f"{stem}.ipynb", as_version=4)
        write_submission(course, SOLVED, stem, solutions.solve_notebook(release, stem))
        write_submission(course, STUB, stem, release)
        if stem != special:
            continue
        functions = [e.function for e in solutions.exercises(release, stem)]
        warned, deleted = functions[0], f"check_{functions[-1]}"

        warns = without_experiments(solutions.solve_notebook(release, stem))
        for cell in warns.cells:
            if solutions.nbgrader_meta(cell).get("grade_id") == warned:
                cell.source = solutions.inject(
                    solutions.stub_source(stem, warned), WARNING_BODY + solutions.reference_body(stem, warned), markers=False
                )
        write_submission(course, WARNS, stem, warns)

        nocheck = without_experiments(solutions.solve_notebook(release, stem))
        kept = len(nocheck.cells)
        nocheck.cells = [c for c in nocheck.cells if solutions.nbgrader_meta(c).get("grade_id") != deleted]
        assert len(nocheck.cells) == kept - 1
        write_submission(course, NOCHECK, stem, nocheck)

    # Two workers, split by student: "a-" has the solved notebooks, "b-" the rest.
    nbgrader(course, ["autograde", "*", "--student=a-*"], ["autograde", "*", "--student=b-*"], seconds=seconds)
    nbgrader(course, ["generate_feedback", "*"], ["export"], seconds=seconds)
    print(f"\nnbgrader wall times: " + ", ".join(f"{k}: {v:.1f} s" for k, v in seconds.items()), file=sys.stderr)
    return Graded(course, special, warned, deleted, release_before, seconds)


def submission(graded: Graded, student: str, stem: str):
    from nbgrader.api import Gradebook

    with Gradebook(graded.course.db_url) as gb:
        sub = gb.find_submission(stem, student)
        return sub.score, sub.max_score, sub.needs_manual_grade


def grade_of(graded: Graded, student: str, stem: str, grade_id: str):
    from nbgrader.api import Gradebook

    with Gradebook(graded.course.db_url) as gb:
        grade = gb.find_grade(grade_id, stem, stem, student)
        return grade.auto_score, grade.max_score


def check_cells(nb) -> dict[str, object]:
    return {
        solutions.nbgrader_meta(c)["grade_id"]: c
        for c in nb.cells
        if c.cell_type == "code" and solutions.nbgrader_meta(c).get("grade") and solutions.nbgrader_meta(c)["grade_id"].startswith("check_")
    }


def stems():
    return list(solutions.REFERENCE_MODULES)


def test_plain_cli_regenerates_the_same_release(graded):
    """`nbgrader generate_assignment` typed in the course folder writes the release the build wrote."""
    for stem, before in graded.release_before.items():
        after = (graded.course.release(stem) / f"{stem}.ipynb").read_bytes()
        assert after == before, f"{stem}: the release differs between the build and the plain CLI"


@pytest.mark.parametrize("stem", stems())
def test_solved_notebook_earns_full_marks(graded, stem):
    total = sum(points_of(stem).values())
    score, max_score, manual = submission(graded, SOLVED, stem)
    assert max_score == total > 0
    assert score == total, f"{stem}: the reference solution scored {score} / {total} under nbgrader autograde"
    assert not manual, f"{stem}: the solved submission needs manual grading (a failed execution?)"


@pytest.mark.parametrize("stem", stems())
def test_solved_notebook_runs_every_cell_without_error(graded, stem):
    """The release is self-sufficient: data, support package and experiments all work when graded."""
    nb = graded.autograded(SOLVED, stem)
    errors = [
        (i, out.get("ename"), out.get("evalue"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.outputs
        if out.output_type == "error"
    ]
    assert not errors, f"{stem}: cells that raised under autograde (index, exception): {errors}"


@pytest.mark.parametrize("stem", stems())
def test_check_cells_report_their_points_as_partial_credit(graded, stem):
    """Each check cell ends in a plain number = its points, which nbgrader records.

    nbgrader reads the last expression's text as the score, and silently gives
    full marks when the text is not a plain number (e.g. NumPy 2's
    ``np.float64(2.0)``); so the text itself is checked, not only the total.
    """
    cells = check_cells(graded.autograded(SOLVED, stem))
    for grade_id, points in points_of(stem).items():
        results = [o for o in cells[grade_id].outputs if o.output_type == "execute_result"]
        assert len(results) == 1, f"{stem}: {grade_id} has {len(results)} execute results"
        text = results[0].data["text/plain"]
        assert NUMBER.fullmatch(text) and float(text) == points, f"{stem}: {grade_id} returned {text!r}, expected {points}"
        assert grade_of(graded, SOLVED, stem, grade_id) == (points, points)


@pytest.mark.parametrize("stem", stems())
def test_stub_notebook_earns_zero(graded, stem):
    score, max_score, _ = submission(graded, STUB, stem)
    assert max_score == sum(points_of(stem).values()) > 0
    assert score == 0, f"{stem}: the untouched release scored {score} / {max_score}"


def test_warnings_from_correct_code_cost_nothing(graded):
    """A correct function that warns (warnings.warn, NumPy RuntimeWarning) still earns full marks."""
    stem = graded.special_stem
    score, max_score, _ = submission(graded, WARNS, stem)
    cell = check_cells(graded.autograded(WARNS, stem))[f"check_{graded.warned_function}"]
    streams = {name: "".join(o.text for o in cell.outputs if o.output_type == "stream" and o.name == name) for name in ("stdout", "stderr")}
    # The warnings did fire while the check cell ran: without them this test would prove nothing.
    assert WARNING_TEXT in streams["stdout"] and "RuntimeWarning" in streams["stdout"], f"warnings not seen: {streams}"
    assert streams["stderr"] == "", f"the check cell wrote to stderr, which nbgrader scores 0: {streams['stderr']!r}"
    assert score == max_score > 0, f"a warning cost points: {score} / {max_score}"


def test_deleted_check_cell_is_put_back_and_graded(graded):
    stem = graded.special_stem
    points = points_of(stem)[graded.deleted_check]
    nb = graded.autograded(NOCHECK, stem)
    assert graded.deleted_check in check_cells(nb), "autograde did not put the deleted check cell back"
    assert grade_of(graded, NOCHECK, stem, graded.deleted_check) == (points, points)
    score, max_score, _ = submission(graded, NOCHECK, stem)
    assert score == max_score > 0


def test_feedback_for_every_submission_without_hidden_block(graded):
    """generate_feedback wrote every submission's HTML, showing the check cells without their hidden block."""
    for student, stem in graded.submissions():
        html = graded.course.root / "feedback" / student / stem / f"{stem}.html"
        assert html.is_file(), f"no feedback for {student}/{stem}"
        text = html.read_text()
        assert "check_" in text, f"{student}/{stem}: feedback shows no check cell"
        assert "grade_in_kernel" not in text and "HIDDEN TESTS" not in text, f"{student}/{stem}: feedback shows the hidden block"


def test_export_matches_gradebook(graded):
    with open(graded.course.root / "grades.csv", newline="") as f:
        rows = {(r["student_id"], r["assignment"]): float(r["score"]) for r in csv.DictReader(f)}
    for student, stem in graded.submissions():
        assert rows[(student, stem)] == submission(graded, student, stem)[0]
