"""Grading a class: the sample class gets the grades its recipes call for, resumably, with clean feedback.

One course is built per module (copied from the session's built course), the
sample class written into it and graded with ``grade_class``; a second copy is
graded by ``python -m autograder grade`` in a child process that is killed
with SIGKILL mid-run and then resumed.
"""

import csv
import html.parser
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
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult
from autograder.grading.records import read_record, record_path, result_to_record
from autograder.qa import sample_class
from autograder.reports.export import write_csv
from autograder.reports.feedback import write_feedback


@pytest.fixture(scope="module")
def graded(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "class")
    sample_class.write_class(course)
    summary = grade_class(course, workers=2, quiet=True)
    return course, summary


def points(course, student, stem, function=None):
    record = read_record(course, student, stem)
    if function is None:
        return record["points"]
    return next(f["points"] for f in record["functions"] if f["function"] == function)


def full(course, stem):
    return read_record(course, "alice", stem)["max_points"]


def diagnosis(course, student, stem, function):
    record = read_record(course, student, stem)
    return next(f["diagnosis"] for f in record["functions"] if f["function"] == function)


@pytest.mark.slow
def test_every_student_has_a_record_for_every_assignment(graded):
    course, summary = graded
    assert summary["students"] == len(sample_class.CLASS)
    for student in sample_class.CLASS:
        for stem in STEMS:
            assert read_record(course, student.name, stem) is not None, (student.name, stem)


@pytest.mark.slow
def test_full_marks_and_zero(graded):
    course, _ = graded
    for stem in STEMS:
        assert points(course, "alice", stem) == full(course, stem) > 0
        assert points(course, "bob", stem) == 0
        assert points(course, "heidi", stem) == full(course, stem), "warnings must not cost points"
        assert points(course, "ivan", stem) == full(course, stem), "correct variants must pass"
        assert points(course, "oscar", stem) == full(course, stem), "edited check cells are restored"


@pytest.mark.slow
def test_typical_mistakes_lose_points_and_are_named(graded):
    course, _ = graded
    assert points(course, "carol", "01_initialization", "initialize_parameters_he") < 3
    assert "current layer" in diagnosis(course, "carol", "01_initialization", "initialize_parameters_he")
    assert points(course, "carol", "02_regularization", "compute_cost_with_regularization") < 2
    assert points(course, "dave", "02_regularization", "forward_propagation_with_dropout") < 3
    assert "keep_prob" in diagnosis(course, "dave", "02_regularization", "forward_propagation_with_dropout")
    assert points(course, "erin", "03_gradient_checking", "gradient_check") < 2
    assert points(course, "peggy", "03_gradient_checking", "gradient_check") < 2


@pytest.mark.slow
def test_a_hang_or_crash_costs_only_what_it_broke(graded):
    course, _ = graded
    assert points(course, "frank", "02_regularization", "forward_propagation_with_dropout") == 0
    assert "did not finish" in diagnosis(course, "frank", "02_regularization", "forward_propagation_with_dropout")
    assert points(course, "frank", "02_regularization") == full(course, "02_regularization") - 3
    assert points(course, "grace", "01_initialization", "initialize_parameters_zeros") == 0
    assert "not_a_real_module" in diagnosis(course, "grace", "01_initialization", "initialize_parameters_zeros")
    assert points(course, "grace", "03_gradient_checking", "backward_propagation") == 0
    assert points(course, "grace", "03_gradient_checking", "gradient_check_n") == 4


@pytest.mark.slow
def test_tricks_earn_nothing(graded):
    course, _ = graded
    assert points(course, "mallory", "01_initialization", "initialize_parameters_he") == 0


@pytest.mark.slow
def test_unreadable_and_missing_notebooks_are_flagged(graded):
    course, summary = graded
    for stem in ("02_regularization", "03_gradient_checking"):
        record = read_record(course, "niaj", stem)
        assert not record["graded"] and record["points"] == 0
    assert ("niaj", "02_regularization") in summary["failures"]
    assert read_record(course, "niaj", "01_initialization")["graded"]


@pytest.mark.slow
def test_gradebook_holds_the_same_scores(graded):
    from nbgrader.api import Gradebook

    course, _ = graded
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in sample_class.CLASS:
            for stem in STEMS:
                assert gb.find_submission(stem, student.name).score == pytest.approx(points(course, student.name, stem))


@pytest.mark.slow
def test_csv_has_per_function_points_and_flags(graded):
    course, _ = graded
    out = write_csv(course, course / "grades.csv")
    rows = list(csv.DictReader(open(out)))
    assert {"student_id", "assignment", "score", "max_score", "not_graded", "initialize_parameters_he"} <= set(rows[0])
    assert len(rows) == len(sample_class.CLASS) * len(STEMS)
    by_key = {(r["student_id"], r["assignment"]): r for r in rows}
    assert by_key[("niaj", "03_gradient_checking")]["not_graded"] == "1"
    assert by_key[("alice", "01_initialization")]["not_graded"] == "0"
    assert float(by_key[("carol", "01_initialization")]["score"]) == points(course, "carol", "01_initialization")


def _hidden_source_lines() -> set[str]:
    lines = set()
    for path in (REPO / "autograder" / "hidden").glob("*.py"):
        for line in path.read_text().splitlines():
            line = line.strip()
            # code lines only: the diagnoses themselves are meant to be shown
            if len(line) > 30 and not line.startswith(("#", '"', "'", 'f"', '(f"', "raise Mistake", '"""')) and '"' not in line:
                lines.add(line)
    return lines


@pytest.mark.slow
def test_feedback_shows_diagnoses_but_no_hidden_source(graded):
    course, _ = graded
    reports = write_feedback(course)
    assert len(reports) == len(sample_class.CLASS)
    hidden = _hidden_source_lines()
    assert len(hidden) > 50
    for report in reports:
        text = report.read_text()
        for marker in ("BEGIN HIDDEN", "grade_in_kernel", "source_solutions", "Traceback"):
            assert marker not in text, (report.name, marker)
        leaked = [line for line in hidden if line in text]
        assert not leaked, (report.name, leaked[:3])
    carol = (course / "reports" / "carol.html").read_text()
    assert "current layer" in carol
    niaj = (course / "reports" / "niaj.html").read_text()
    assert "could not be graded" in niaj


class _Page(html.parser.HTMLParser):
    """The tags of an HTML page and the text of each element, as a browser would read them."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.text: dict[str, list[str]] = {}
        self._open: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        if tag not in ("br", "meta"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if self._open and self._open[-1] == tag:
            self._open.pop()

    def handle_data(self, data):
        if self._open and data.strip():
            self.text.setdefault(self._open[-1], []).append(data.strip())


def test_feedback_escapes_student_names_and_diagnoses(tmp_path):
    """A student folder's name and a diagnosis (both from students) are shown as text, never as markup."""
    course = tmp_path / "course"
    name = "odd name; $(touch pwned) <b>x &amp; 'quoted'"
    script = "<script>alert('graded')</script>"
    (course / "submitted" / name).mkdir(parents=True)
    stem = STEMS[0]
    verdicts = [
        Verdict(
            stem, "initialize_parameters_zeros", 0.0, 1.0, diagnosis=f"W1 is {script}", hint=f"hint {script}", notes=[f"note {script}"]
        ),
        Verdict(stem, "initialize_parameters_he", 3.0, 3.0),
    ]
    result = NotebookResult(stem, "unused.ipynb", verdicts, problems=[f"cell failed: {script}"])
    record_path(course, name, stem).parent.mkdir(parents=True)
    record_path(course, name, stem).write_text(json.dumps(result_to_record(result, name, "fingerprint")))

    (report,) = write_feedback(course)
    text = report.read_text()
    assert report.name == f"{name}.html"
    assert "<script" not in text and "<b>x" not in text, "student text reached the page as markup"
    page = _Page()
    page.feed(text)
    assert page.tags <= {
        "html",
        "head",
        "meta",
        "title",
        "style",
        "body",
        "h1",
        "h2",
        "p",
        "table",
        "tr",
        "th",
        "td",
        "code",
        "br",
        "span",
        "b",
    }
    assert page.text["title"] == [f"Feedback for {name}"]
    assert page.text["h1"] == [f"Feedback for {name}"]
    shown = " ".join(page.text["td"] + page.text["span"] + page.text["p"])
    for expected in (f"W1 is {script}", f"Hint: hint {script}", f"note {script}", f"cell failed: {script}"):
        assert expected in shown, (expected, shown)


@pytest.mark.slow
def test_stock_generate_feedback_works_after_our_grading(graded):
    from autograder.course.builder import nbgrader_env

    course, _ = graded
    nbgrader = Path(sys.executable).with_name("nbgrader")
    subprocess.run(
        [str(nbgrader), "generate_feedback", "01_initialization", "--force"],
        cwd=course,
        env=nbgrader_env(),
        check=True,
        capture_output=True,
    )
    html = (course / "feedback" / "carol" / "01_initialization" / "01_initialization.html").read_text()
    assert "current layer" in html
    assert "grade_in_kernel" not in html and "BEGIN HIDDEN" not in html


@pytest.mark.slow
def test_a_killed_run_resumes_without_losing_anything(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "resume")
    sample_class.write_class(course)
    command = [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--workers", "2"]
    child = subprocess.Popen(command, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and len(list((course / "grades").rglob("*.json"))) < 5:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    done_before = len(list((course / "grades").rglob("*.json")))
    total = len(sample_class.CLASS) * len(STEMS)
    assert 0 < done_before < total, "the kill should land mid-run"
    time.sleep(0.5)
    # nothing of the killed run is left running (workers and student processes die with it)
    leftovers = subprocess.run(["pgrep", "-f", f"autograder grade --course {course}"], capture_output=True, text=True).stdout.split()
    assert not leftovers

    summary = grade_class(course, workers=2, quiet=True)
    assert summary["graded_now"] <= total - done_before + 2  # in-flight ones at most are redone
    assert summary["students"] == len(sample_class.CLASS)
    again = grade_class(course, workers=2, quiet=True)
    assert again["graded_now"] == 0 and again["skipped"] == total
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in sample_class.CLASS:
            for stem in STEMS:
                assert gb.find_submission(stem, student.name).score == pytest.approx(read_record(course, student.name, stem)["points"])
