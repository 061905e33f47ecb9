"""The course registry agrees with the notebooks, the reference, the hidden checks and the datasets it names."""

from __future__ import annotations

import re

import nbformat
import pytest

from autograder.course.contract import exercises, nbgrader_meta
from autograder.course.registry import NOTEBOOKS, STEMS, graded_functions, notebook, notebook_of, reference_module
from autograder.grading.judge import parts_for


def code_of(entry) -> str:
    nb = nbformat.read(entry.path, as_version=4)
    return "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")


@pytest.mark.parametrize("entry", NOTEBOOKS, ids=STEMS)
def test_the_notebook_declares_exactly_the_registered_functions_in_order(entry):
    nb = nbformat.read(entry.path, as_version=4)
    assert tuple(e.function for e in exercises(nb, entry.stem)) == entry.functions
    checks = {nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade")}
    assert checks == {f"check_{f}" for f in entry.functions}


@pytest.mark.parametrize("entry", NOTEBOOKS, ids=STEMS)
def test_every_function_has_a_reference_and_hidden_checks(entry):
    module = reference_module(entry.stem)
    for function in entry.functions:
        assert callable(getattr(module, function, None)), f"{entry.reference} has no {function}"
        assert parts_for(function), f"{entry.hidden_checks} registers no hidden check for {function}"
        assert notebook_of(function) is entry


@pytest.mark.parametrize("entry", NOTEBOOKS, ids=STEMS)
def test_datasets_and_earlier_notebooks_are_the_ones_the_notebook_uses(entry):
    code = code_of(entry)
    from test_datasets import SPECS

    loaded = set(re.findall(r"""load_dataset\(\s*['"]([\w-]+)['"]""", code))
    assert set(entry.datasets) == loaded, f"{entry.stem} loads {sorted(loaded)}; the registry says {entry.datasets}"
    assert set(entry.datasets) <= set(SPECS), "a declared dataset has no generator"
    borrowed = set(re.findall(r"""functions_from_notebook\(\s*['"](\w+)['"]""", code))
    assert set(entry.builds_on) == borrowed
    assert all(STEMS.index(earlier) < STEMS.index(entry.stem) for earlier in entry.builds_on)


def test_lookups():
    assert graded_functions()[0] == "initialize_parameters_zeros" and len(set(graded_functions())) == len(graded_functions())
    assert notebook("02_regularization").stem == "02_regularization"
    with pytest.raises(KeyError, match="01_initialization"):
        notebook("04_nothing")
