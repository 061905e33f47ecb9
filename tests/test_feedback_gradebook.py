"""The feedback reports show the gradebook's final grades: hand-set scores and comments, and functions not graded yet.

A small class (alice, carol) is graded on the first notebook (slow: a dozen
seconds); the other tests write records by hand and put them in the gradebook
as ``grade`` does. An instructor's changes are made with nbgrader's API, as the
formgrader makes them.
"""

import argparse
import json
import re
import shutil

import pytest

from autograder import options
from autograder.grading.classroom import grade_class
from autograder.grading.gradebook import write_gradebook
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult
from autograder.grading.records import read_record, record_path, result_to_record
from autograder.qa import sample_class
from autograder.reports import feedback
from autograder.reports.feedback import write_feedback

STEM = "01_initialization"
HE = "initialize_parameters_he"
ZEROS = "initialize_parameters_zeros"


@pytest.fixture(scope="module")
def graded(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "feedback_gradebook")
    shutil.copy(course / "gradebook.db", course.parent / "ungraded.db")  # the gradebook before any submission
    sample_class.write_class(course, [s for s in sample_class.CLASS if s.name in ("alice", "carol")])
    grade_class(course, workers=2, quiet=True, assignments=[STEM])
    return course


def write_record(course, student, verdicts, **first) -> dict:
    """A record of ``verdicts`` for ``student`` on STEM, as ``grade`` writes it; ``first`` updates the first function."""
    (course / "submitted" / student / STEM).mkdir(parents=True, exist_ok=True)
    record = result_to_record(NotebookResult(STEM, "unused.ipynb", verdicts), student, "fingerprint")
    record["functions"][0].update(first)
    record_path(course, student, STEM).parent.mkdir(parents=True, exist_ok=True)
    record_path(course, student, STEM).write_text(json.dumps(record))
    return record


@pytest.fixture
def recorded(built_course, tmp_path_factory):
    """A course whose student ann has a hand-written record (ZEROS not graded: "X", a grader fault), also in the gradebook."""
    course = built_course.fresh_copy(tmp_path_factory, "feedback_recorded")
    verdicts = [
        Verdict(STEM, ZEROS, 0.0, 1.0, diagnosis="Not graded: X.", graded=False),
        Verdict(STEM, "initialize_parameters_random", 2.0, 2.0),
        Verdict(STEM, HE, 3.0, 3.0),
    ]
    record = write_record(course, "ann", verdicts, reason="X", fault=True)
    with gradebook(course) as gb:
        write_gradebook(gb, record, None)
    return course


def gradebook(course):
    from nbgrader.api import Gradebook

    return Gradebook(f"sqlite:///{course / 'gradebook.db'}")


def report(course, student, **kwargs) -> str:
    write_feedback(course, assignments=[STEM], **kwargs)
    return (course / "reports" / f"{student}.html").read_text()


def row(text: str, function: str) -> str:
    """The table row of ``function`` in a report."""
    match = re.search(rf"<tr>\s*<td><code>{function}</code></td>.*?</tr>", text, re.S)
    assert match, f"no row for {function}"
    return match.group(0)


@pytest.mark.slow
def test_manual_score_and_comment_reach_the_report(graded):
    course = graded
    record = read_record(course, "carol", STEM)
    auto = {f["function"]: f["points"] for f in record["functions"]}
    manual = 2.5 if auto[HE] != 2.5 else 1.5
    alice_before = report(course, "alice")
    carol_before = report(course, "carol")
    assert "changed by your instructor" not in carol_before and "Comment from your instructor" not in carol_before

    comment = "Close: mind <b>the fan-in</b> & the layer"
    with gradebook(course) as gb:
        gb.find_grade(f"check_{HE}", STEM, STEM, "carol").manual_score = manual
        gb.find_comment(HE, STEM, STEM, "carol").manual_comment = comment
        gb.db.commit()

    carol = report(course, "carol")
    he = row(carol, HE)
    assert f"{manual:g} / 3" in he and "changed by your instructor" in he
    assert "Comment from your instructor: Close: mind &lt;b&gt;the fan-in&lt;/b&gt; &amp; the layer" in he
    assert "<b>the fan-in" not in carol, "the comment reached the page as markup"
    assert "changed by your instructor" not in row(carol, ZEROS)
    total = sum(points for function, points in auto.items() if function != HE) + manual
    assert f"Total for {STEM}: <b>{total:g} / 6</b>" in carol
    assert f"Overall: {total:g} / 6" in carol
    assert report(course, "alice") == alice_before, "another student's report changed"

    # without a gradebook entry for the submission, the record stands alone
    ungraded = f"sqlite:///{course.parent / 'ungraded.db'}"
    assert report(course, "carol", db_url=ungraded) == carol_before


def test_a_function_not_graded_is_pending_until_the_instructor_grades_it(recorded):
    course = recorded
    ann = report(course, "ann")
    zeros = row(ann, ZEROS)
    assert "Not graded yet: X. Your instructor will grade it by hand." in zeros
    assert "not of your work" in zeros, "a grader fault is said to be the grader's"
    assert "0 / 1" not in zeros and "Some checks failed" not in zeros
    assert "Comment from your instructor" not in ann, "an automatic comment is not the instructor's"
    assert f"Total for {STEM}: <b>5 / 6</b> (not final" in ann and "Overall: 5 / 6 (not final)" in ann

    with gradebook(course) as gb:
        gb.find_grade(f"check_{ZEROS}", STEM, STEM, "ann").manual_score = 1.0
        gb.db.commit()
    ann = report(course, "ann")
    zeros = row(ann, ZEROS)
    assert "1 / 1" in zeros and "changed by your instructor" in zeros
    assert "Not graded yet" not in zeros and "not final" not in ann
    assert f"Total for {STEM}: <b>6 / 6</b>" in ann


def test_not_graded_without_a_gradebook(tmp_path):
    """No gradebook: the not-graded function says why, not 0 points; a record without the per-function flags still renders."""
    course = tmp_path / "course"
    verdicts = [Verdict(STEM, ZEROS, 0.0, 1.0, diagnosis="Not graded: X.", graded=False), Verdict(STEM, HE, 3.0, 3.0)]
    record = write_record(course, "sam", verdicts, reason="X", fault=False)
    del record["functions"][1]["graded"]  # as written before the per-function flags
    record_path(course, "sam", STEM).write_text(json.dumps(record))

    text = report(course, "sam")
    assert "Not graded yet: X. Your instructor will grade it by hand." in row(text, ZEROS)
    assert "0 / 1" not in row(text, ZEROS) and "not of your work" not in row(text, ZEROS)
    assert "3 / 3" in row(text, HE) and "All checks passed." in row(text, HE)
    assert not (course / "gradebook.db").exists(), "the report must not create a gradebook"


def test_command_requires_a_course_and_takes_a_db_url(recorded, tmp_path):
    parser = argparse.ArgumentParser()
    feedback.add_arguments(parser)
    with pytest.raises(options.UsageError):
        feedback.run(parser.parse_args(["--course", str(tmp_path)]))
    assert not list(tmp_path.iterdir())
    with gradebook(recorded) as gb:
        gb.find_grade(f"check_{HE}", STEM, STEM, "ann").manual_score = 2.0
        gb.db.commit()
    elsewhere = tmp_path.parent / "elsewhere.db"
    shutil.copy(recorded / "gradebook.db", elsewhere)
    with gradebook(recorded) as gb:
        gb.find_grade(f"check_{HE}", STEM, STEM, "ann").manual_score = 1.0
        gb.db.commit()
    assert feedback.run(parser.parse_args(["--course", str(recorded), "--db-url", f"sqlite:///{elsewhere}"])) == 0
    assert "2 / 3" in row((recorded / "reports" / "ann.html").read_text(), HE), "--db-url was not the gradebook read"


def test_the_sample_class_has_names_in_the_gradebook_and_grading_keeps_them(built_course, tmp_path_factory):
    """Issue 13: the formgrader listed the demo class as "None, None"."""
    course = built_course.fresh_copy(tmp_path_factory, "feedback_names")
    sample_class.write_class(course, [s for s in sample_class.CLASS if s.name in ("alice", "peggy")])
    record = write_record(course, "alice", [Verdict(STEM, ZEROS, 1.0, 1.0)])
    with gradebook(course) as gb:
        write_gradebook(gb, record, None)  # what grade does for each submission
    with gradebook(course) as gb:
        names = {s.id: (s.first_name, s.last_name) for s in gb.students}
    assert names == {"alice": ("Alice", sample_class.SURNAMES["alice"]), "peggy": ("Peggy", sample_class.SURNAMES["peggy"])}
