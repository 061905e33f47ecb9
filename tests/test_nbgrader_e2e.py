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

and for ``01_initialization`` (they test the feedback, which must show no
traceback and no path of the grading machine):

* ``b-fails``: one function passes the visible check but fails the hidden ones,
  one raises inside itself, one fails the visible check; plus two cells of the
  student's own: one fails inside NumPy (a traceback through site-packages), one
  makes NumPy warn (naming its own file);
* ``b-breaks``: solved, plus a cell that breaks what the hidden block calls, so
  the hidden block itself raises in every check cell (frames of ``autograder/``).

These four also drop the experiment cells (code cells without nbgrader
metadata, which a student may delete freely): they cost most of a notebook's
grading time and play no part in what they test.

Every notebook is executed in full by nbgrader (experiments and plots too), so
this module's wall time is dominated by the solved notebooks' experiments.
"""

from __future__ import annotations

import csv
import dataclasses
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, BuiltCourse, without_experiments

from autograder.course import contract, registry
from autograder.qa.sample_class import Edit, Student, make_notebook

# One module fixture runs stock nbgrader (autograde, generate_feedback, export) on a class.
pytestmark = pytest.mark.slow

NBGRADER = next(
    (p for p in (REPO / ".venv" / "bin" / "nbgrader", Path(sys.executable).with_name("nbgrader")) if p.is_file()),
    None,
)
WARNING_TEXT = "e2e: a warning raised by correct code"
WARNING_BODY = (
    f"    import warnings\n    warnings.warn({WARNING_TEXT!r})\n    np.log(np.zeros(1))  # NumPy: RuntimeWarning, divide by zero\n"
)
# Student ids; the prefix picks the autograde worker.
SOLVED, STUB, WARNS, NOCHECK = "a-solved", "b-stub", "b-warns", "b-nocheck"
FAILS, BREAKS = "b-fails", "b-breaks"
FAILING_STEM = "01_initialization"
FAILING = {  # function -> its mistake in the FAILS submission
    # range capped at three layers: passes the visible check (at most three layers), not the hidden ones (four)
    "initialize_parameters_zeros": Edit("for l in range(1, len(layers_dims)):", "for l in range(1, min(len(layers_dims), 4)):"),
    # raises inside the function: biases added to an array of the wrong shape
    "initialize_parameters_random": Edit(
        'parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))', 'parameters[f"b{l}"] = np.zeros((layers_dims[l], 1)) + np.ones((2, 1))'
    ),
    # scaled by the current layer: the visible check fails
    "initialize_parameters_he": Edit("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / layers_dims[l])"),
}
STUDENT_CELLS = (  # cells a FAILS student added after the setup cell
    "np.linalg.inv(np.zeros((2, 2)))  # raises LinAlgError inside numpy/linalg",
    "np.mean(np.zeros(0))  # NumPy warns, naming its own file",
)
# Stands for any failure of the hidden block's own code: it reads the notebook with nbformat.
# The hidden block reads each function's points through contract.exercises (the visible checks never do).
BREAKING_CELL = "import autograder.course.contract as contract\ncontract.exercises = None"
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
        return pairs + [(WARNS, self.special_stem), (NOCHECK, self.special_stem), (FAILS, FAILING_STEM), (BREAKS, FAILING_STEM)]

    def feedback_html(self, student: str, stem: str) -> str:
        return (self.course.root / "feedback" / student / stem / f"{stem}.html").read_text()

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


def with_cells_after_setup(nb, sources):
    """``nb`` with new code cells (no nbgrader metadata: the student's own) right after the setup cell."""
    at = next(i for i, c in enumerate(nb.cells) if contract.nbgrader_meta(c).get("grade_id") == "setup") + 1
    nb.cells[at:at] = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def points_of(stem: str) -> dict[str, float]:
    """grade_id of each check cell -> points, from the committed notebook."""
    nb = nbformat.read(registry.NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    return {f"check_{e.function}": e.points for e in contract.exercises(nb, stem)}


@pytest.fixture(scope="module")
def graded(built_course: BuiltCourse, tmp_path_factory) -> Graded:
    assert NBGRADER is not None, "no nbgrader executable in .venv/bin or next to this Python"
    # A copy, so that the session's course stays as the build left it for other tests.
    # (The config's paths are relative to the config file, so the copy is a course of its own.)
    root = tmp_path_factory.mktemp("e2e") / "course"
    shutil.copytree(built_course.root, root)
    course = dataclasses.replace(built_course, root=root)
    release_before = {stem: (course.release(stem) / f"{stem}.ipynb").read_bytes() for stem in course.stems}
    seconds: dict[str, float] = {}
    nbgrader(course, ["generate_assignment", "*", "--force"], seconds=seconds)

    special = course.stems[0]
    for stem in course.stems:
        release = nbformat.read(course.release(stem) / f"{stem}.ipynb", as_version=4)
        write_submission(course, SOLVED, stem, contract.solve_notebook(release, stem))
        write_submission(course, STUB, stem, release)
        if stem != special:
            continue
        functions = [e.function for e in contract.exercises(release, stem)]
        warned, deleted = functions[0], f"check_{functions[-1]}"

        warns = without_experiments(contract.solve_notebook(release, stem))
        for cell in warns.cells:
            if contract.nbgrader_meta(cell).get("grade_id") == warned:
                cell.source = contract.inject(
                    contract.stub_source(stem, warned), WARNING_BODY + contract.reference_body(stem, warned), markers=False
                )
        write_submission(course, WARNS, stem, warns)

        nocheck = without_experiments(contract.solve_notebook(release, stem))
        kept = len(nocheck.cells)
        nocheck.cells = [c for c in nocheck.cells if contract.nbgrader_meta(c).get("grade_id") != deleted]
        assert len(nocheck.cells) == kept - 1
        write_submission(course, NOCHECK, stem, nocheck)

    assert FAILING_STEM in course.stems
    release = nbformat.read(course.release(FAILING_STEM) / f"{FAILING_STEM}.ipynb", as_version=4)
    fails = without_experiments(make_notebook(release, FAILING_STEM, Student(FAILS, "feedback test", dict(FAILING))))
    write_submission(course, FAILS, FAILING_STEM, with_cells_after_setup(fails, STUDENT_CELLS))
    breaks = without_experiments(contract.solve_notebook(release, FAILING_STEM))
    write_submission(course, BREAKS, FAILING_STEM, with_cells_after_setup(breaks, [BREAKING_CELL]))

    # Two workers, split by student: "a-" has the solved notebooks, "b-" the rest.
    nbgrader(course, ["autograde", "*", "--student=a-*"], ["autograde", "*", "--student=b-*"], seconds=seconds)
    nbgrader(course, ["generate_feedback", "*"], ["export"], seconds=seconds)
    print("\nnbgrader wall times: " + ", ".join(f"{k}: {v:.1f} s" for k, v in seconds.items()), file=sys.stderr)
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
        contract.nbgrader_meta(c)["grade_id"]: c
        for c in nb.cells
        if c.cell_type == "code" and contract.nbgrader_meta(c).get("grade") and contract.nbgrader_meta(c)["grade_id"].startswith("check_")
    }


def stems():
    return list(registry.STEMS)


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


# --------------------------------------------------------------------------- feedback after stock autograde


class OutputText(HTMLParser):
    """The text of the output areas of an nbconvert HTML page (classic and lab templates), one string per area."""

    AREA_CLASSES = ("output_subarea", "jp-OutputArea-output")

    def __init__(self):
        super().__init__()  # convert_charrefs: entities come back as text
        self.areas: list[str] = []
        self._depth = 0  # open tags since the current area began; 0 = outside any area

    def handle_starttag(self, tag, attrs):
        if self._depth:
            self._depth += 1
        elif any(name in (dict(attrs).get("class") or "").split() for name in self.AREA_CLASSES):
            self._depth = 1
            self.areas.append("")

    def handle_endtag(self, tag):
        if self._depth:
            self._depth -= 1

    def handle_data(self, data):
        if self._depth:
            self.areas[-1] += data


def output_text(page: str) -> str:
    parser = OutputText()
    parser.feed(page)
    assert parser.areas, "no output area found in the feedback HTML (has the template changed?)"
    return "\n".join(parser.areas)


def flat(text: str) -> str:
    return " ".join(text.split())


def machine_paths(course_root: Path) -> dict[str, str]:
    """Absolute paths of the grading machine that must not reach a student: where they are, by name."""
    venv = Path(NBGRADER).parent.parent
    named = {"repository": REPO, "course": course_root, "venv": venv, "site-packages": Path(sysconfig.get_paths()["purelib"])}
    return {f"{name} ({form})": form for name, path in named.items() for form in {str(path), str(path.resolve())}}


def absolute_paths(text: str) -> list[str]:
    """Absolute paths in ``text`` that start with a directory at / of this machine."""
    tops = "|".join(re.escape(n) for n in os.listdir("/") if os.path.isdir(os.path.join("/", n)))
    return re.findall(rf"(?<![\w.~/:-])/(?:{tops})/[^\s'\"<>:]+", text)


def source_lines() -> set[str]:
    """Lines (stripped, 16 characters or more) of the checks, hidden tests, grader and reference, minus any line of a student notebook."""
    files = [
        *(REPO / "autograder").rglob("*.py"),
        *(registry.NOTEBOOK_DIR / "dlwork").glob("*.py"),
        *(REPO / "source_solutions").glob("*.py"),
    ]
    lines = {line.strip() for path in files for line in path.read_text().splitlines()}
    for path in registry.notebook_paths():
        for cell in nbformat.read(path, as_version=4).cells:
            lines -= {line.strip() for line in cell.source.splitlines()}
    return {line for line in lines if len(line) >= 16 and not line.startswith("#")}


def autograded_text(graded: Graded, student: str, stem: str) -> str:
    return (graded.course.root / "autograded" / student / stem / f"{stem}.ipynb").read_text()


def error_outputs(nb) -> list[tuple[str, str]]:
    return [(o.ename, o.evalue) for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]


@pytest.mark.parametrize("student", [FAILS, BREAKS])
def test_feedback_shows_no_path_of_the_grading_machine(graded, student):
    """Paths of the repository, the course, the venv and site-packages are in the autograded notebook, not in the feedback."""
    graded_nb = autograded_text(graded, student, FAILING_STEM)
    paths = machine_paths(graded.course.root)
    # Without these in the autograded notebook the test would prove nothing.
    required = ("repository", "venv") if student == FAILS else ("repository",)
    for name in required:
        assert any(path in graded_nb for key, path in paths.items() if key.startswith(name)), f"{student}: no {name} path to hide"
    page = graded.feedback_html(student, FAILING_STEM)
    shown = [key for key, path in paths.items() if path in page]
    assert not shown, f"{student}: the feedback shows the absolute path of the {', '.join(shown)}"
    leaked = absolute_paths(output_text(page))
    assert not leaked, f"{student}: the feedback's outputs show absolute paths of this machine: {leaked[:5]}"


@pytest.mark.parametrize("student", [FAILS, BREAKS])
def test_feedback_shows_each_error_as_one_line_without_source(graded, student):
    """Every error output is `ename: evalue`; no traceback, no line of the checks or the hidden tests."""
    nb = graded.autograded(student, FAILING_STEM)
    errors = error_outputs(nb)
    assert errors, f"{student}: no cell raised under autograde; the test would prove nothing"
    text = output_text(graded.feedback_html(student, FAILING_STEM))
    assert "Traceback" not in text and "Cell In[" not in text, f"{student}: the feedback shows a traceback"
    for marker in ("grade_in_kernel", "HIDDEN TESTS", "autograder"):
        assert marker not in text, f"{student}: the feedback's outputs show {marker!r}"
    shown = sorted(set(line.strip() for line in text.splitlines()) & source_lines())
    assert not shown, f"{student}: the feedback shows source lines of the checks or hidden tests: {shown[:5]}"
    for ename, evalue in errors:
        assert flat(f"{ename}: {evalue}") in flat(text), f"{student}: the error {ename}: {evalue!r} is not shown as one line"


def test_feedback_keeps_the_students_diagnosis(graded):
    """The visible check's message and the hidden checks' diagnosis are shown word for word.

    Expected texts are computed here by the same checks, on the same functions,
    as the notebook's visible check and ``grade_in_kernel`` computed them.
    """
    from autograder.grading import judge
    from autograder.grading.stock_nbgrader import InProcessFunction

    stem = FAILING_STEM
    release = nbformat.read(graded.course.release(stem) / f"{stem}.ipynb", as_version=4)
    student_nb = make_notebook(release, stem, Student(FAILS, "feedback test", dict(FAILING)))
    setup = next(c.source for c in student_nb.cells if contract.nbgrader_meta(c).get("grade_id") == "setup")
    text = flat(output_text(graded.feedback_html(FAILS, stem)))
    kinds = []
    for function in FAILING:
        namespace: dict = {}
        exec(setup, namespace)
        exec(next(c.source for c in student_nb.cells if contract.nbgrader_meta(c).get("grade_id") == function), namespace)
        fn, points = namespace[function], points_of(stem)[f"check_{function}"]
        message = judge.run_visible_check(judge.visible_check(function), fn)
        if message is not None:
            # Where in the learner's code: here the function comes from exec, in the kernel from a cell,
            # so that part reads differently; the rest is word for word.
            head, where, after = message.partition(" (in your code: ")
            expected = [f"CheckFailure: {head}"] + ([f"(in your code: {function}, line ", after.partition("\n")[2]] if where else [])
            kinds.append("raised" if f"{function} raised" in message else "visible")
        else:
            verdict = judge.judge(function, InProcessFunction(fn, function), points, run_visible=False)
            assert verdict.points < points, f"{function}: the FAILS variant passes the hidden checks too; pick another mistake"
            expected = [f"{function}: {verdict.points:g} / {points:g}. {verdict.full_diagnosis()}"]
            kinds.append("hidden")
        for part in expected:
            assert flat(part) in text, f"{function}: the feedback lost the diagnosis {part!r}"
    assert sorted(kinds) == ["hidden", "raised", "visible"], f"the FAILS variants no longer cover the three kinds of failure: {kinds}"
