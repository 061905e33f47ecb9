"""Each notebook runs top to bottom as the instructor's source notebook, and shows its learning outcomes.

The course's source notebooks are built (reference bodies between the solution
markers, hidden checks in the check cells) and run where the build puts them,
``source/<stem>/`` with ``dlwork/`` and ``datasets/`` beside each, in the default
Python 3 kernel with the environment ``make formgrader`` gives it (the
repository and ``notebooks/`` on PYTHONPATH). So one run shows both that an
instructor's Run All works and what the lessons claim. The outcomes are read
from the ``results`` dict each notebook computes, never typed in. Run times are
printed (``pytest -s``), not asserted.
"""

import json
import math
import os
import time

import nbformat
import pytest
from nbclient import NotebookClient

from autograder.course.builder import build_course
from autograder.course.registry import NOTEBOOK_DIR, REPO, STEMS

# Executes the three notebooks end to end, experiments included.
pytestmark = pytest.mark.slow

DUMP = (
    "import json as _json\n"
    "def _plain(o):\n"
    "    return o.tolist() if hasattr(o, 'tolist') else float(o) if hasattr(o, '__float__') else str(o)\n"
    "print('RESULTS=' + _json.dumps(results, default=_plain))"
)


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """stem -> (results dict, seconds)."""
    course = tmp_path_factory.mktemp("course")
    build_course(course, generate=False)
    assert (course / "exchange").is_dir(), "the formgrader expects the exchange the config names"
    formgrader_env = os.pathsep.join([str(REPO), str(NOTEBOOK_DIR)])  # as `make formgrader` sets it
    saved, os.environ["PYTHONPATH"] = os.environ.get("PYTHONPATH"), formgrader_env  # the kernel inherits it
    out = {}
    try:
        for stem in STEMS:
            folder = course / "source" / stem
            nb = nbformat.read(folder / f"{stem}.ipynb", as_version=4)
            assert nb.metadata.kernelspec.name == "python3"
            nb.cells.append(nbformat.v4.new_code_cell(DUMP))
            started = time.monotonic()
            NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
            seconds = time.monotonic() - started
            text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
            results = json.loads(text.split("RESULTS=", 1)[1])
            errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
            assert not errors, f"{stem}: a cell raised {errors[0].ename}: {errors[0].evalue}"
            out[stem] = (results, seconds)
            print(f"\n{stem}: the source notebook ran top to bottom in {seconds:.1f} s (budget 15 s)")
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved
    return out


def test_zeros_initialization_is_stuck_at_chance(executed):
    zeros = executed["01_initialization"][0]["zeros"]
    # Every unit stays identical and the output stays 0.5: the cost is ln 2 throughout.
    assert all(abs(c - math.log(2)) < 1e-3 for c in zeros["costs"]), zeros["costs"][:5]
    assert zeros["test_acc"] <= 0.6


def test_large_random_initialization_starts_huge_and_ends_worse_than_he(executed):
    r = executed["01_initialization"][0]
    assert r["random"]["initial_cost"] > 5 * math.log(2)
    assert r["random"]["test_acc"] < r["he"]["test_acc"]
    assert r["random"]["final_cost"] > r["he"]["final_cost"]


def test_he_initialization_reaches_95_percent(executed):
    assert executed["01_initialization"][0]["he"]["test_acc"] >= 0.95


def test_activation_spread_through_a_deep_relu_stack(executed):
    """He keeps the spread steady layer to layer; Xavier lets it shrink; zeros kill it."""
    spread = executed["01_initialization"][0]["activation_std"]
    he, xavier = spread["he"], spread["xavier"]
    assert he[-1] / he[0] > 0.2 and he[-1] / he[0] < 5
    assert xavier[-1] < he[-1]
    assert max(spread["zeros"]) == 0


def test_unregularized_network_overfits_and_both_regularizers_help(executed):
    r = executed["02_regularization"][0]
    gap = {k: r[k]["train_acc"] - r[k]["test_acc"] for k in ("baseline", "l2", "dropout")}
    assert gap["baseline"] >= 0.03
    for method in ("l2", "dropout"):
        assert gap[method] < gap["baseline"], method
        assert r[method]["test_acc"] > r["baseline"]["test_acc"], method


def test_gradient_checking_finds_the_planted_bugs(executed):
    r = executed["03_gradient_checking"][0]
    assert r["planted_bug_difference"] > 1e-2
    assert r["fixed_difference"] < 1e-7


def test_notebook_03_checks_the_notebook_02_backprops(executed):
    """Run next to a solved notebook 02, notebook 03 gradient-checks its L2 and dropout backprop."""
    r = executed["03_gradient_checking"][0]
    assert r["l2_difference"] is not None and r["l2_difference"] < 1e-7
    assert r["dropout_difference"] is not None and r["dropout_difference"] < 1e-7
