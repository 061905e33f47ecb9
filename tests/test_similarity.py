"""Similar submissions (issue 15): planted copies are flagged, honest students and the untouched release are not.

A small class of notebook 02 is written into a temporary course (the release is
the committed notebook, as ``nbgrader generate_assignment`` leaves it): one
student writes every function in her own way (catalogue variants), a second
copies her with the local names renamed, two independent lines swapped, the
spacing changed and comments added, a third copies her verbatim; honest
students write the same correct ideas their own way (other catalogue
variants), two submit the untouched release, and one submission is a symbolic
link and one is not JSON (both skipped).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from autograder.course.registry import NOTEBOOK_DIR
from autograder.insight import similarity
from autograder.qa import catalogue
from autograder.qa.mutants import cell_for
from autograder.qa.sample_class import REF, STUB, cell_source

STEM = "02_regularization"
THRESHOLD = similarity.DEFAULT_THRESHOLD
COST, L2_BACK, DROP_FWD, DROP_BACK = (
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
)

# Each honest student: function -> catalogue variant id (REF: the reference answer; STUB: not done), or the cell as written.
# (A catalogue variant that edits one expression of the reference is the reference's text, not the student's own
# words: two of those score like copies of each other, so each function has at most one reference-based answer here.)
KIM_COST = """def compute_cost_with_regularization(A3, Y, parameters, lambd):
    n = Y.shape[1]
    weights = [parameters[k] for k in sorted(parameters) if k.startswith("W")]
    l2 = 0.0
    for w in weights:
        l2 = l2 + float((w ** 2).sum())
    cross_entropy = compute_cost(A3, Y)
    return cross_entropy + lambd * l2 / (2 * n)
"""
KIM_L2_BACK = """def backward_propagation_with_regularization(X, Y, cache, lambd):
    m = X.shape[1]
    grads = dict(backward_propagation(X, Y, cache))
    for layer in range(1, 4):
        grads["dW%d" % layer] += (lambd / m) * cache["W%d" % layer]
    return grads
"""
ORIGINAL = {COST: "cost-loop-over-keys", L2_BACK: "l2-back-by-hand", DROP_FWD: "dropout-masks-drawn-first", DROP_BACK: "dropout-back-where"}
HONEST = {
    "hana": {COST: REF, L2_BACK: REF, DROP_FWD: REF, DROP_BACK: REF},
    "ines": {COST: "cost-written-out", L2_BACK: "l2-back-new-dict", DROP_FWD: STUB, DROP_BACK: STUB},
    "kim": {COST: KIM_COST, L2_BACK: KIM_L2_BACK, DROP_FWD: STUB, DROP_BACK: STUB},
}
SCRIPT = '    label = "</mark><script>alert(1)</script>"\n'


def _stubs() -> dict[str, str]:
    return dict(similarity.solution_cells(json.loads((NOTEBOOK_DIR / f"{STEM}.ipynb").read_text())))


def _cells(recipe: dict[str, str]) -> dict[str, str]:
    variants = catalogue_by_id()
    stubs = _stubs()
    cells = {}
    for function, stub in stubs.items():
        recipe_of = recipe[function]
        if recipe_of in (REF, STUB):
            cells[function] = cell_source(stub, STEM, function, recipe_of)
        elif recipe_of in variants:
            cells[function] = cell_for(variants[recipe_of], stub)
        else:
            cells[function] = recipe_of
    return cells


def catalogue_by_id() -> dict:
    return {v.id: v for v in catalogue.CATALOGUE}


def _disguise(cells: dict[str, str]) -> dict[str, str]:
    """A copy as a student hides one: names renamed, two independent lines swapped, spacing changed, comments added."""
    out = {}
    for function, text in cells.items():
        text = text.replace(
            "    dW3 = 1.0 / m * np.dot(dZ3, A2.T) + lambd * W3 / m\n    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)\n",
            "    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)\n    dW3 = 1.0 / m * np.dot(dZ3, A2.T) + lambd * W3 / m\n",
        )
        text = text.replace(
            '    D1 = rng.random((parameters["W1"].shape[0], m)) < keep_prob\n    D2 = rng.random((parameters["W2"].shape[0], m)) < keep_prob\n',
            '    D2 = rng.random((parameters["W2"].shape[0], m)) < keep_prob\n    D1 = rng.random((parameters["W1"].shape[0], m)) < keep_prob\n',
        )
        for old, new in (("m", "n_examples"), ("cache", "memo"), ("total", "penalty"), ("key", "name"), ("A1", "act1"), ("dZ2", "delta2")):
            text = re.sub(rf"\b{old}\b", new, text)
        text = text.replace(" / ", "/").replace(" * ", "*").replace("\n    return", "\n\n    # my own work\n    return")
        out[function] = text
    return out


def _write(course: Path, student: str, cells: dict[str, str] | None) -> None:
    """``cells`` in the release notebook's solution cells (None: the untouched release)."""
    nb = json.loads((course / "release" / STEM / f"{STEM}.ipynb").read_text())
    for cell in nb["cells"]:
        function = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if cells and cell["cell_type"] == "code" and function in cells and cell["metadata"]["nbgrader"].get("solution"):
            cell["source"] = cells[function]
    folder = course / "submitted" / student / STEM
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{STEM}.ipynb").write_text(json.dumps(nb))


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    course = tmp_path_factory.mktemp("similarity") / "course"
    (course / "release" / STEM).mkdir(parents=True)
    shutil.copy(NOTEBOOK_DIR / f"{STEM}.ipynb", course / "release" / STEM / f"{STEM}.ipynb")
    original = _cells(ORIGINAL)
    original[COST] = original[COST].replace("    m = Y.shape[1]\n", "    m = Y.shape[1]\n" + SCRIPT, 1)
    assert SCRIPT in original[COST]
    _write(course, "olga", original)
    _write(course, "pete", _disguise(original))
    _write(course, "quinn", original)  # verbatim
    for student, recipe in HONEST.items():
        _write(course, student, _cells(recipe))
    _write(course, "stub1", None)
    _write(course, "stub2", None)
    # Skipped, not errors: a link to olga's notebook and a file that is not JSON.
    (course / "submitted" / "linker" / STEM).mkdir(parents=True)
    (course / "submitted" / "linker" / STEM / f"{STEM}.ipynb").symlink_to(course / "submitted" / "olga" / STEM / f"{STEM}.ipynb")
    (course / "submitted" / "broken" / STEM).mkdir(parents=True)
    (course / "submitted" / "broken" / STEM / f"{STEM}.ipynb").write_text('{"cells": [ not json')
    (course / "submitted" / "absent" / STEM).mkdir(parents=True)
    return course


@pytest.fixture(scope="module")
def scores(course) -> dict[tuple[str, str], similarity.Pair]:
    """Every pair the detector compares exactly, at a threshold far below the recommended one."""
    return {(p.a, p.b): p for p in similarity.similar_pairs(course, [STEM], threshold=0.05)}


def test_copies_are_flagged_and_honest_students_are_not(course, scores):
    for pair, p in sorted(scores.items(), key=lambda kv: -kv[1].score):
        print(f"{pair[0]:6s} {pair[1]:6s} {p.score:.3f} ({p.a_share:.3f}, {p.b_share:.3f}) {', '.join(p.functions)}")
    flagged = {(p.a, p.b) for p in similarity.similar_pairs(course, [STEM], THRESHOLD)}
    assert flagged == {("olga", "pete"), ("olga", "quinn"), ("pete", "quinn")}
    assert scores[("olga", "quinn")].score == 1.0
    assert scores[("olga", "pete")].score >= 0.8  # renamed, reordered, reformatted: still nearly everything shared
    assert scores[("olga", "pete")].functions == (COST, L2_BACK, DROP_FWD, DROP_BACK)
    honest = [p.score for (a, b), p in scores.items() if {a, b} <= set(HONEST) | {"olga"} and {a, b} != {"olga", "quinn"}]
    assert max(honest, default=0) < THRESHOLD - 0.1, honest  # a margin below the threshold


def test_the_release_alone_is_no_pair(scores):
    assert not any({"stub1", "stub2"} & {p.a, p.b} for p in scores.values())


def test_unsafe_and_unreadable_submissions_are_skipped(scores):
    assert not any({"linker", "broken", "absent"} & {p.a, p.b} for p in scores.values())


def test_html_is_escaped_and_marks_shared_regions(scores):
    p = scores[("olga", "pete")]
    for text in (p.a_html, p.b_html):
        assert "<script>" not in text and "&lt;script&gt;" in text
        assert text.count("<mark>") == text.count("</mark>") >= 1
        assert re.sub(r"</?mark>", "", text).count("<") == 0  # nothing but the marks is markup
    marked = " ".join(re.findall(r"<mark>(.*?)</mark>", p.a_html, flags=re.S))
    assert "np.sum(parameters[key] * parameters[key])" in marked.replace("&#34;", '"')


def test_pairs_are_sorted_and_csv_rows_are_plain(course):
    pairs = similarity.similar_pairs(course, [STEM], THRESHOLD)
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)
    assert all(p.a < p.b for p in pairs)
    rows = similarity.pairs_csv_rows(pairs)
    assert rows[0].keys() == {"assignment", "student_a", "student_b", "score", "a_share", "b_share", "functions"}
    assert all("<" not in str(value) for row in rows for value in row.values())
    assert similarity.similar_pairs(course, [STEM], THRESHOLD, students=["olga", "hana"]) == []


def _catalogue_cells() -> list[str]:
    """Every answer the catalogue holds for notebook 02 (and the reference and the stubs)."""
    stubs = _stubs()
    cells = [*stubs.values(), *(cell_source(stub, STEM, f, REF) for f, stub in stubs.items())]
    cells += [cell_for(v, stubs[v.function]) for v in catalogue.CATALOGUE if v.stem == STEM]
    return cells + [
        SCRIPT,
        "import numpy as np\nfrom os import path as p\nclass A:\n    def f(self, x=None):\n"
        "        return self.__class__, f'{x!r:>3}', '''doc''', np.sum(x), len(p), print, ValueError, 'a%sb\\n{0}'\n",
        "@decorated\ndef g():\n    pass\n",
    ]


def test_normalize_is_copydetects_filter_code():
    """The fast tokenizer writes exactly what copydetect's Pygments-based filter_code writes (or declines)."""
    for cell in _catalogue_cells():
        fast = similarity.normalize(cell)
        if fast is not None:
            assert fast[0] == similarity.copydetect_filter(cell)[0], cell
        else:
            assert cell.startswith("@")  # a decorator: left to filter_code
    assert similarity.normalize("def f(:\n    (") is None  # a tokenizer error: filter_code does it


def test_renaming_and_reformatting_leave_the_normalized_code_unchanged():
    original = _cells(ORIGINAL)[L2_BACK]
    renamed = re.sub(r"\bm\b", "n_examples", re.sub(r"\bcache\b", "memo", original)).replace(" * ", "*").replace("\n", "\n\n# note\n")
    assert similarity.normalize(renamed)[0] == similarity.normalize(original)[0]


def test_an_answer_many_students_wrote_is_an_idiom_not_a_pair(tmp_path):
    """Eleven students hand in the reference (names renamed): more than the cap, so no pair among them; the copy still is one."""
    course = tmp_path / "course"
    (course / "release" / STEM).mkdir(parents=True)
    shutil.copy(NOTEBOOK_DIR / f"{STEM}.ipynb", course / "release" / STEM / f"{STEM}.ipynb")
    reference = _cells(HONEST["hana"])
    for n in range(11):
        _write(course, f"ref{n:02d}", {f: re.sub(r"\bm\b", f"m{n}", text) for f, text in reference.items()})
    original = _cells(ORIGINAL)
    _write(course, "olga", original)
    _write(course, "pete", _disguise(original))
    pairs = similarity.similar_pairs(course, [STEM], THRESHOLD)
    assert [(p.a, p.b) for p in pairs] == [("olga", "pete")]
    assert similarity.common_cap(12) == 10 and similarity.common_cap(1000) == 20
