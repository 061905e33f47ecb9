"""Every dropout forward pass the grader accepts also works in notebook 03's dropout experiment.

Notebook 03 holds the masks fixed while it gradient-checks the learner's
dropout backprop, by running the learner's own forward pass again with the same
random numbers. That must work however the masks are drawn: for each correct
variant of ``forward_propagation_with_dropout`` in the catalogue (``random <``,
``random >``, ``uniform``, ``binomial``, casts...), the notebook's own helper
cell is run and must rebuild exactly the masks of the recorded pass, on every
evaluation of the cost.
"""

from __future__ import annotations

import nbformat
import numpy as np
import pytest

from autograder.course.contract import nbgrader_meta
from autograder.course.registry import NOTEBOOK_DIR
from autograder.qa import catalogue
from autograder.qa.mutants import make_notebook

FUNCTION = "forward_propagation_with_dropout"
VARIANTS = [v for v in catalogue.by_id().values() if v.function == FUNCTION and v.verdict == catalogue.CORRECT]


def code_cell(nb, needle: str) -> str:
    return next(c.source for c in nb.cells if c.cell_type == "code" and needle in c.source)


def learners_function(variant):
    """The variant's function, defined as the learner's notebook 02 defines it (setup cell, then the solution cell)."""
    nb = make_notebook(variant, nbformat.read(NOTEBOOK_DIR / "02_regularization.ipynb", as_version=4))
    namespace: dict = {}
    for cell in nb.cells:
        if nbgrader_meta(cell).get("grade_id") in ("setup", FUNCTION):
            exec(cell.source, namespace)
    return namespace[FUNCTION]


@pytest.fixture(scope="module")
def helpers() -> dict:
    """Notebook 03's cell that builds the cost functions for gradient_check_n."""
    from dlwork import network

    namespace = {"np": np, "network": network}
    exec(code_cell(nbformat.read(NOTEBOOK_DIR / "03_gradient_checking.ipynb", as_version=4), "def fixed_mask_cost_function"), namespace)
    return namespace


def test_the_catalogue_has_variants_that_draw_masks_in_other_ways():
    ids = {v.id for v in VARIANTS}
    assert len(VARIANTS) >= 5 and any("binomial" in i for i in ids) and any("uniform" in i for i in ids), ids


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_the_masks_are_held_fixed_whatever_way_they_are_drawn(variant, helpers):
    forward = learners_function(variant)
    data = np.random.default_rng(0)
    parameters = {"W1": data.normal(size=(5, 4)), "b1": data.normal(size=(5, 1)), "W2": data.normal(size=(3, 5))}
    parameters |= {"b2": data.normal(size=(3, 1)), "W3": data.normal(size=(1, 3)), "b3": data.normal(size=(1, 1))}
    X, Y = data.normal(size=(4, 30)), (data.random((1, 30)) < 0.5).astype(float)
    recorded = helpers["RecordedDraws"](np.random.default_rng(7))
    _, cache = forward(X, parameters, 0.8, recorded)
    cost_function = helpers["fixed_mask_cost_function"](forward, recorded, 0.8)
    for _ in range(2):  # gradient_check_n evaluates the cost many times: each one must see the same masks
        _, replayed = cost_function(X, Y, parameters)
        for key in ("D1", "D2"):
            assert np.array_equal(np.asarray(replayed[key], dtype=bool), np.asarray(cache[key], dtype=bool)), key
    assert 0 < np.mean(np.asarray(cache["D1"], dtype=bool)) < 1, "the masks should drop some units and keep others"
