"""The class insight page opens offline: from a ``file://`` URL, with the network blocked, every figure loads.

The class is synthetic (grading records only, no gradebook: the records'
points stand alone), on every notebook, with a fake similar pair; the page is
opened in headless Chromium (``conftest.chromium``) with every request that is
not for a ``file://`` URL aborted and remembered: none may be attempted.
"""

from __future__ import annotations

import json

import pytest

from autograder.course.registry import NOTEBOOKS
from autograder.grading.judge import Verdict
from autograder.grading.notebook import NotebookResult
from autograder.grading.records import record_path, result_to_record, write_atomic
from autograder.insight.report import build_insight


def write_records(course, students: int) -> None:
    for n in range(students):
        student = f"s{n:02d}" if n else "<em>bold & co"
        for entry in NOTEBOOKS:
            verdicts = []
            for i, function in enumerate(entry.functions):
                points = [0.0, 1.0, 2.0][(n + i) % 3]
                diagnosis = "" if points == 2.0 else "Wrong: scaled by the current layer's size. <script>alert(1)</script>"
                verdicts.append(Verdict(entry.stem, function, points, 2.0, diagnosis=diagnosis, graded=(n + i) % 7 != 3))
            record = result_to_record(NotebookResult(entry.stem, "x.ipynb", verdicts), student, "fingerprint")
            path = record_path(course, student, entry.stem)
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, json.dumps(record))


@pytest.fixture
def page_file(tmp_path, monkeypatch):
    from autograder.insight import similarity

    pair = similarity.Pair("s01", "s02", NOTEBOOKS[0].stem, 0.9, ("initialize_parameters_he",), "<mark>x = 1</mark>", "<mark>y = 1</mark>")
    monkeypatch.setattr(similarity, "similar_pairs", lambda course, assignments, threshold: [pair])
    course = tmp_path / "course"
    write_records(course, 12)
    build_insight(course)
    return course / "reports" / "insight.html"


def test_insight_page_loads_every_figure_offline(page_file, module_pages, report):
    page = module_pages.new("insight")
    attempted: list[str] = []

    def route(request_route):
        url = request_route.request.url
        if url.startswith(("file://", "data:")):
            request_route.continue_()
        else:
            attempted.append(url)
            request_route.abort()

    page.context.route("**/*", route)
    page.goto(page_file.as_uri(), wait_until="load")
    page.wait_for_function("Array.from(document.images).every(img => img.complete)")
    figures = page.eval_on_selector_all("img", "imgs => imgs.map(img => [img.alt, img.naturalWidth, img.currentSrc.slice(0, 22)])")
    report.screenshot(page, "insight")
    functions = sum(len(entry.functions) for entry in NOTEBOOKS)
    assert len(figures) == len(NOTEBOOKS) + functions
    assert all(width > 0 for _, width, _ in figures), figures
    assert all(src == "data:image/png;base64," for _, _, src in figures)
    assert attempted == []
    assert page.locator("script").count() == 0  # the student's <script> is text
    assert "<em>bold & co" in page.locator("#stuck + p + table").inner_text()
    assert page.locator("mark").count() == 2
