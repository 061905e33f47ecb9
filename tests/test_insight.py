"""The class insight report (issue 15): counts and shares of known mistakes, stuck students, escaping, no external resource.

The class is synthetic: grading records written straight into ``grades/`` and
the gradebook (``write_gradebook_many``) of a copy of the session's built
course, so every count is known. Similarity is replaced by fake pairs: its own
tests are ``tests/test_similarity.py``.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import shutil

import pytest

from autograder import options
from autograder.grading.gradebook import default_db_url, write_gradebook_many
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult
from autograder.grading.records import record_path, result_to_record, write_atomic
from autograder.insight import report
from autograder.insight.report import build_insight, catalogue_mistakes, classify

STEM = "01_initialization"
F = "initialize_parameters_he"  # 3 points; notebook 02 borrows it
STAMP = "2026-11-20 12:00:00.000000 UTC"
EVIL_ID = "<img src=x onerror=alert(1)>"
EVIL_DIAGNOSIS = "Your function printed <script>alert('pwned')</script> and returned None."
X, Y = "he-current-layer", "he-xavier"


def keywords(mistake: str) -> tuple[str, ...]:
    from autograder.qa.catalogue import by_id

    return by_id()[mistake].keywords


def verdicts(points: float, diagnosis: str = "", hint: str = "", graded: bool = True) -> list[Verdict]:
    return [
        Verdict(STEM, "initialize_parameters_zeros", 1.0, 1.0),
        Verdict(STEM, "initialize_parameters_random", 2.0, 2.0),
        Verdict(STEM, F, points, 3.0, diagnosis=diagnosis, hint=hint, graded=graded),
    ]


# student -> the verdicts of F: 7 with X, 3 with Y, 2 unnamed failures, 1 not graded, 3 full
CLASS = {
    **{
        f"s{i:02d}": verdicts(0.0, f"Wrong: {' '.join(keywords(X))}. Hint: use the previous layer.", "use the previous layer")
        for i in range(7)
    },
    **{f"s{i:02d}": verdicts(1.0, f"Close: {' '.join(keywords(Y))}.", "He's variance is 2/n") for i in range(7, 10)},
    "s10": verdicts(0.0, EVIL_DIAGNOSIS),
    "s11": verdicts(0.0, "Something no catalogue entry names."),
    "s12": verdicts(0.0, "Not graded: the cell timed out.", graded=False),
    "s13": verdicts(3.0),
    "s14": verdicts(3.0),
    EVIL_ID: verdicts(3.0),
}


def write_class(course, students: dict) -> None:
    from nbgrader.api import Gradebook

    items = []
    for student, vs in students.items():
        record = result_to_record(NotebookResult(STEM, "x.ipynb", vs), student, "fingerprint")
        path = record_path(course, student, STEM)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record))
        (course / "submitted" / student / STEM).mkdir(parents=True, exist_ok=True)
        items.append((record, STAMP))
    with Gradebook(default_db_url(course)) as gb:
        assert write_gradebook_many(gb, items) == [None] * len(items)


@pytest.fixture
def fake_pairs(monkeypatch):
    from autograder.insight import similarity

    pairs = [
        similarity.Pair(
            "s13",
            EVIL_ID,
            STEM,
            0.97,
            (F,),
            "def f():\n    <mark>return 1 &lt; 2</mark>",
            "def g():\n    <mark>return 1 &lt; 2</mark>",
        )
    ]
    seen = []

    def similar_pairs(course, assignments, threshold):
        seen.append((assignments, threshold))
        return pairs

    monkeypatch.setattr(similarity, "similar_pairs", similar_pairs)
    return seen


@pytest.fixture(scope="module")
def synthetic(built_course, tmp_path_factory):
    course = built_course.fresh_copy(tmp_path_factory, "insight")
    write_class(course, CLASS)
    return course


@pytest.fixture
def built(synthetic, tmp_path, fake_pairs):
    data = build_insight(synthetic, out=tmp_path, threshold=0.6, assignments=[STEM])
    return data, tmp_path


def function_of(data: dict, function: str = F) -> dict:
    (assignment,) = data["assignments"]
    return next(f for f in assignment["functions"] if f["function"] == function)


def test_default_threshold_is_the_similarity_modules():
    from autograder.insight import similarity

    assert report.DEFAULT_THRESHOLD == similarity.DEFAULT_THRESHOLD


def test_classify_takes_the_mistake_with_most_keywords_then_catalogue_order():
    assert classify(F, "Your W is scaled by the `current layer`'s size.") == X
    assert classify(F, "nothing that the catalogue names") == report.OTHER
    assert classify(F, "") == report.OTHER
    uniform = [m for m, _, k in catalogue_mistakes()[F] if k == ("uniform",)]
    assert len(uniform) >= 1 and classify(F, "draws are Uniform") == uniform[0]
    # the dropout mistakes have several keywords: the most specific match wins over a subset
    for function, entries in catalogue_mistakes().items():
        for mistake, _what, kws in entries:
            wider = [m for m, _, k in entries if set(kws) < set(k)]
            if wider:
                text = " ".join(next(k for m, _, k in entries if m == wider[0]))
                assert classify(function, text) != mistake, (function, mistake)


def test_counts_and_shares_of_known_mistakes(built, fake_pairs):
    data, out = built
    f = function_of(data)
    n = len(CLASS)
    assert data["assignments"][0]["submissions"] == n == 16
    assert f["counts"] == {"full": 3, "partial": 3, "zero": 9, "not graded": 1}
    assert f["shares"]["zero"] == round(9 / n, 4)
    named = [(m["id"], m["count"], m["share"]) for m in f["mistakes"]]
    assert named == [(X, 7, round(7 / n, 4)), (Y, 3, round(3 / n, 4))]
    assert f["mistakes"][0]["hint"] == "use the previous layer"
    assert f["mistakes"][0]["what"]
    assert (f["other"]["count"], f["other"]["share"]) == (2, 0.125)
    assert (f["not_graded"]["count"], f["not_graded"]["share"]) == (1, 0.0625)
    assert f["not_graded"]["reasons"] == [{"reason": "the cell timed out", "count": 1}]
    zeros = function_of(data, "initialize_parameters_zeros")
    assert zeros["counts"]["full"] == n and zeros["mistakes"] == [] and zeros["other"]["count"] == 0
    assert data["ungraded"] == [{"student": "s12", "assignment": STEM, "function": F, "reason": "the cell timed out", "fault": False}]
    # the similarity step was asked with the chosen threshold, and its pairs are in the JSON as plain data
    assert fake_pairs == [([STEM], 0.6)]
    assert data["similar"]["pairs"][0]["score"] == 0.97 and "a_html" not in data["similar"]["pairs"][0]
    # the JSON on disk is what build_insight returned; the CSV has one row per student and function
    assert json.loads((out / "insight.json").read_text()) == data
    with open(out / "insight.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 3 * n
    categories = [r["category"] for r in rows if r["function"] == F]
    assert sorted(categories).count(X) == 7 and categories.count("other") == 2 and categories.count("not graded") == 1


def test_stuck_students_have_zero_on_a_borrowed_function(built):
    data, _ = built
    stuck = {(s["student"], s["function"]): s for s in data["stuck"]}
    expected = {f"s{i:02d}" for i in range(7)} | {"s10", "s11", "s12"}
    assert {student for student, function in stuck if function == F} == expected
    assert all(s["needed_by"] == ["02_regularization"] for s in stuck.values())
    assert ("s07", F) not in stuck  # partial points: not stuck
    page = (built[1] / "insight.html").read_text()
    assert "02_regularization" in page.split('id="stuck"')[1]


def test_student_text_is_escaped(built):
    page = (built[1] / "insight.html").read_text()
    assert "<script>" not in page and "alert('pwned')" not in page
    assert "&lt;script&gt;" in page
    assert EVIL_ID not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    # the similarity module's highlighted code goes in as it is (it escapes it itself)
    assert "<mark>return 1 &lt; 2</mark>" in page
    assert report.NOTE in page


def test_the_page_loads_nothing_from_outside(built):
    page = (built[1] / "insight.html").read_text()
    links = re.findall(r"""(?:src|href)\s*=\s*["']?([^"'\s>]+)""", page, flags=re.IGNORECASE)
    assert links, "the page has figures"
    outside = [link for link in links if re.match(r"(?i)(https?:|//|ftp:|file:)", link)]
    assert not outside
    assert not re.search(r"(?i)<link\b|<script\b|@import|url\(", page)
    figures = re.findall(r'<img class="figure"[^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(figures) == 1 + 3  # the assignment's total and each function


def test_a_manual_grade_wins_over_the_record(synthetic, tmp_path, monkeypatch):
    from nbgrader.api import Gradebook

    course = synthetic.parent / "manual"
    shutil.copytree(synthetic, course)
    with Gradebook(default_db_url(course)) as gb:  # as the formgrader saves a manual grade
        for student, score in (("s00", 3.0), ("s12", 2.0)):  # X regraded by hand to full points; not graded, graded by hand
            grade = gb.find_grade(f"check_{F}", STEM, STEM, student)
            grade.manual_score, grade.needs_manual_grade = score, False
        gb.db.commit()
    data = build_insight(course, out=tmp_path, assignments=[STEM], similarity=False)
    f = function_of(data)
    assert f["counts"] == {"full": 4, "partial": 4, "zero": 8, "not graded": 0}
    assert f["mistakes"][0]["count"] == 6
    cells = {(c["student"], c["function"]): c for c in data["cells"]}
    assert cells[("s00", F)]["points"] == 3.0 and cells[("s00", F)]["category"] == "passed"
    assert cells[("s12", F)]["points"] == 2.0
    assert "s00" not in {s["student"] for s in data["stuck"]}
    assert data["ungraded"] == []


def test_without_a_gradebook_the_records_stand_alone(tmp_path, fake_pairs):
    course = tmp_path / "course"
    for student, vs in list(CLASS.items())[:4]:
        record = result_to_record(NotebookResult(STEM, "x.ipynb", vs), student, "fingerprint")
        path = record_path(course, student, STEM)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, json.dumps(record))
    data = build_insight(course, assignments=[STEM])
    assert function_of(data)["mistakes"][0]["count"] == 4
    assert not (course / "gradebook.db").exists()
    assert (course / "reports" / "insight.html").is_file()


def test_command_line_rejects_bad_input(tmp_path):
    parser = argparse.ArgumentParser()
    report.add_arguments(parser)
    with pytest.raises(options.UsageError):
        report.run(parser.parse_args(["--course", str(tmp_path)]))
    (tmp_path / "nbgrader_config.py").write_text("")
    with pytest.raises(options.UsageError):
        report.run(parser.parse_args(["--course", str(tmp_path), "--threshold", "0"]))
    with pytest.raises(options.UsageError):
        report.run(parser.parse_args(["--course", str(tmp_path), "--assignment", "99_nothing"]))
