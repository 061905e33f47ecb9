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
    """He keeps the spread steady layer to layer, forwards and backwards; LeCun and small random let it shrink; zeros kill it."""
    r = executed["01_initialization"][0]
    spread, grad = r["activation_std"], r["gradient_std"]
    for s in (spread["he"], grad["he"][::-1]):  # first to last layer the signal passes
        assert 0.5 < s[-1] / s[0] < 2
    assert spread["lecun"][-1] < spread["he"][-1] and grad["lecun"][0] < grad["he"][0]
    assert spread["small random"][-1] / spread["small random"][0] < 1e-6 and grad["small random"][0] < 1e-6
    assert max(spread["zeros"]) == 0
    # "below the prediction at every layer from layer 2 on" (this draw)
    assert all(ratio < 1 for ratio in r["he_measured_over_predicted"]["forward"][1:])


def test_silent_units_die_for_good_only_in_the_first_layer(executed):
    silent = executed["01_initialization"][0]["silent_units"]
    assert silent["zeros"]["start"] == [10, 5]
    random = silent["random"]
    assert random["start"][0] == 0 and random["one_step"][0] > 0 and random["back_to_life"][0] == 0
    assert random["back_to_life"][1] > 0  # the text: a second-layer unit comes back in this run
    assert all(count == 0 for when in ("start", "one_step", "end") for count in silent["he"][when])


def test_large_random_ends_costlier_than_he_on_every_seed_never_ahead_in_accuracy(executed):
    seeds = executed["01_initialization"][0]["seeds"]
    assert min(seeds["end_ratio"]) > 2 and min(seeds["test_acc_gap"]) >= 0


def test_unregularized_network_overfits_and_both_regularizers_help(executed):
    r = executed["02_regularization"][0]
    gap = {k: r[k]["train_acc"] - r[k]["test_acc"] for k in ("baseline", "l2", "dropout")}
    assert gap["baseline"] >= 0.03
    for method in ("l2", "dropout"):
        assert gap[method] < gap["baseline"], method
        assert r[method]["test_acc"] > r["baseline"]["test_acc"], method


def test_regularization_only_the_baseline_memorizes_flipped_labels(executed):
    """Section 4's text: the baseline gives 4 of the 6 flipped training points their flipped label,
    the regularized networks none (and get the other 54 right: 90% exactly), the line none."""
    r = executed["02_regularization"][0]
    assert r["baseline"]["flipped_memorized"] == 4 and r["baseline"]["train_acc"] > 0.9
    for name in ("l2", "dropout", "logistic"):
        assert r[name]["flipped_memorized"] == 0, name
    for name in ("l2", "dropout"):
        assert r[name]["train_acc"] == 54 / 60, name


def test_regularization_dropout_also_shrinks_the_weights_less_than_l2(executed):
    r = executed["02_regularization"][0]
    assert 0 < r["l2"]["weight_norm_ratio"] < r["dropout"]["weight_norm_ratio"] < 1


def test_regularization_a_straight_line_does_about_as_well_but_fits_worse_than_l2(executed):
    r = executed["02_regularization"][0]
    line = r["logistic"]
    assert line["cost_change_last_1000"] < 1e-4, "logistic regression has not converged"
    for method in ("l2", "dropout"):
        # "about as well": within 2 points (10 of the 500 test points); "same class almost everywhere": 95%
        assert abs(r[method]["test_acc"] - line["test_acc"]) <= 0.02, method
        assert r[method]["agrees_with_logistic"] >= 0.95, method
    assert r["l2"]["train_cross_entropy"] < line["train_cross_entropy"]


def test_regularization_a_3_unit_layer_vanishes_as_often_as_predicted(executed):
    d = executed["02_regularization"][0]["layer2_all_dropped"]
    sd = math.sqrt(d["predicted"] * (1 - d["predicted"]) / d["draws"])  # 0.003 for 12,000 draws at 1/8
    assert abs(d["measured"] - d["predicted"]) < 4 * sd, d


def test_regularization_whole_network_predicts_like_the_mask_average(executed):
    e = executed["02_regularization"][0]["dropout_ensemble"]
    assert e["same_class"] >= 0.98 and abs(e["test_acc_whole"] - e["test_acc_average"]) <= 0.01, e
    assert e["test_acc_single"] < e["test_acc_average"], e
    assert e["mean_abs_difference"] > 3 * e["mean_sampling_error"], e


def test_regularization_validation_split_picks_the_values_used_and_flags_the_baseline(executed):
    v = executed["02_regularization"][0]["validation"]
    assert (v["chosen_lambd"], v["chosen_keep_prob"]) == (v["used_lambd"], v["used_keep_prob"]), v
    baseline = [row["val_acc"] for row in v["rows"] if row["kind"] == "none"]
    regularized = [row["val_acc"] for row in v["rows"] if row["kind"] != "none"]
    assert len(baseline) == 1 and baseline[0] < min(regularized), v["rows"]


def test_regularization_claims_hold_on_every_seed_of_the_seeds_table(executed):
    """Notebook 02's seeds section says every claim holds on both seeds it trains."""
    seeds = executed["02_regularization"][0]["seeds"]
    assert len(seeds["rows"]) == 2
    assert all(count == 2 for count in seeds["held"].values()), seeds["held"]
    gaps = [row["baseline"]["gap"] for row in seeds["rows"].values()]
    assert 0.105 <= min(gaps) and max(gaps) <= 0.125, gaps  # "overfits by 11 to 12 points"
    for row in seeds["rows"].values():
        assert max(row["l2"]["gap"], row["dropout"]["gap"]) <= 0.015, row  # "a point or less"


def test_gradient_checking_finds_the_planted_bugs(executed):
    r = executed["03_gradient_checking"][0]
    assert r["planted_bug_difference"] > 1e-2
    assert r["fixed_difference"] < 1e-7
    # The instructor's source shows the practice cell finished: the planted mistakes fixed.
    assert r["student_fix_difference"] is not None and r["student_fix_difference"] < 1e-7


def test_notebook_03_checks_the_notebook_02_backprops(executed):
    """Run next to a solved notebook 02, notebook 03 gradient-checks its L2 and dropout backprop."""
    r = executed["03_gradient_checking"][0]
    assert r["l2_difference"] is not None and r["l2_difference"] < 1e-7
    assert r["dropout_difference"] is not None and r["dropout_difference"] < 1e-7


def test_notebook_03_start_float32_burn_in_and_sampling(executed):
    """What notebook 03 says of its start (outputs near 1/2, He's not), float32's step, the burn-in, a sampled check."""
    r = executed["03_gradient_checking"][0]
    small, he = r["initial_outputs"]["small"], r["initial_outputs"]["he"]
    assert 0.45 < small[0] <= small[1] < 0.55 and he[1] - he[0] > 0.1
    assert r["initial_gradient_norm"]["he"] > 3 * r["initial_gradient_norm"]["small"]
    assert 1e-4 <= r["float32_best_epsilon"] <= 1e-2
    float32 = {float(epsilon): value for epsilon, value in r["float32_sweep"].items()}
    assert float32[1e-7] > 0.5 and min(float32.values()) > 1e-5
    burn_in = r["burn_in"]
    assert burn_in["gradient_norm"][1] > 3 * burn_in["gradient_norm"][0]
    assert burn_in["difference_at_1e-7"][1] < burn_in["difference_at_1e-7"][0] / 3
    assert r["dead_layer_alive_after_burn_in"] == 0
    assert r["sampled_check"]["correct"] < 1e-7 and r["sampled_check"]["planted"] > 1e-2
