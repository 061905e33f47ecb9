"""Notebook 02's learning outcomes hold beyond the one run the notebook shows.

For several draws of the data (``make_moons_noisy`` with other seeds, same
parameters as the shipped ``moons_noisy``) and several seeds of the generator that
makes the initial weights and the dropout masks, the 2-20-3-1 network trained by
``dlwork.network.model`` with the reference answers must show:

* without regularization, train accuracy at least 3 points above test accuracy;
* with L2 and with dropout, each: a smaller gap than the baseline's AND a higher
  test accuracy;
* both leave smaller weights than the baseline (norm of all weights together),
  L2 more than dropout;
* logistic regression (the network with no hidden layer, same training) is within
  2 points of each regularized network's test accuracy ("about as well"), while
  the L2 network reaches a lower training cross-entropy than the line (so it still
  bends: the line's cross-entropy is the best any straight line gets). The dropout
  network does so in the notebook's run but not in every run (data 2, weights 1:
  0.335 against 0.332; it minimizes the cost of thinned networks, not this one),
  so the notebook claims it for L2 only.

The hyperparameters are read from the notebook's code (its single source), the
data parameters from ``datasets/generate.py``. Everything is deterministic, so
these are exact checks on fixed seeds, not statistical ones. The seeds are the
first ones (data 0, 1, 2; weights 0, 1), not picked; data seed 0 with weight
seed 0 is the notebook's own run.

How typical they are, measured once on a wider sample with the same settings
(data seeds 0-7 x weight seeds 0-4, 40 runs): every outcome held in 38 runs. In
one the baseline did not overfit (data 0, weights 4: gap 1.7 points); in one the
dropout network memorized a flipped point like the baseline did (data 3,
weights 3). The notebook claims nothing about other runs: it invites the student
to change SEED and see. (The weight-norm, logistic-regression and
cross-entropy outcomes were added later and are checked on the six pairs only.)
"""

import ast
import importlib.util
import multiprocessing
import re
import sys
from concurrent.futures import ProcessPoolExecutor

import nbformat
import numpy as np
import pytest

from autograder.course.registry import NOTEBOOK_DIR, REPO

DATA_SEEDS = (0, 1, 2)
WEIGHT_SEEDS = (0, 1)
MIN_BASELINE_GAP = 0.03
MODELS = ("baseline", "l2", "dropout", "logistic")
# "about as well": logistic regression's test accuracy within 2 points (10 of the 500 test points)
ABOUT_AS_WELL = 0.02


def _load_generator():
    spec = importlib.util.spec_from_file_location("dataset_generator", REPO / "datasets" / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def notebook_settings() -> dict:
    """The constants the notebook assigns at the top level of its code cells (literals only)."""
    nb = nbformat.read(NOTEBOOK_DIR / "02_regularization.ipynb", as_version=4)
    wanted = {"LAYERS_DIMS", "LEARNING_RATE", "NUM_ITERATIONS", "SEED", "LAMBD", "KEEP_PROB"}
    found = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            match = re.match(r"^([A-Z_]+)\s*=\s*([^#]+)", line)
            if match and match.group(1) in wanted:
                found[match.group(1)] = ast.literal_eval(match.group(2).strip())
    missing = wanted - set(found)
    assert not missing, f"notebook 02 no longer assigns {sorted(missing)} as literals at the top of a cell"
    return found


def train_three(data_seed: int, weight_seed: int, settings: dict, data_params: dict, models=MODELS) -> dict:
    """(train accuracy, test accuracy) of the baseline, L2, dropout and logistic-regression models for one
    pair of seeds; under "weight_norm" and "train_cross_entropy", those of each."""
    from dlwork.network import accuracy, compute_cost, forward_propagation, model
    from source_solutions import regularization as ref
    from source_solutions.initialization import initialize_parameters_he

    arrays = _load_generator().make_moons_noisy(data_seed, **data_params)
    X, Y = arrays["X_train"], arrays["Y_train"].astype(np.float64)
    X_test, Y_test = arrays["X_test"], arrays["Y_test"].astype(np.float64)
    variants = {
        "baseline": {},
        "l2": dict(
            lambd=settings["LAMBD"],
            cost_with_regularization=ref.compute_cost_with_regularization,
            backward_with_regularization=ref.backward_propagation_with_regularization,
        ),
        "dropout": dict(
            keep_prob=settings["KEEP_PROB"],
            forward_with_dropout=ref.forward_propagation_with_dropout,
            backward_with_dropout=ref.backward_propagation_with_dropout,
        ),
        "logistic": {},
    }
    out = {"weight_norm": {}, "train_cross_entropy": {}}
    for name, extra in ((name, variants[name]) for name in models):
        # logistic regression: the network with no hidden layer, trained the same way
        dims = [settings["LAYERS_DIMS"][0], 1] if name == "logistic" else settings["LAYERS_DIMS"]
        parameters, _ = model(
            X,
            Y,
            dims,
            initialize_parameters_he,
            np.random.default_rng(weight_seed),
            learning_rate=settings["LEARNING_RATE"],
            num_iterations=settings["NUM_ITERATIONS"],
            record_every=settings["NUM_ITERATIONS"],
            **extra,
        )
        out[name] = (accuracy(X, Y, parameters), accuracy(X_test, Y_test, parameters))
        weights = np.concatenate([value.ravel() for key, value in parameters.items() if key.startswith("W")])
        out["weight_norm"][name] = float(np.linalg.norm(weights))
        out["train_cross_entropy"][name] = compute_cost(forward_propagation(X, parameters)[0], Y)
    return out


PAIRS = [(d, s) for d in DATA_SEEDS for s in WEIGHT_SEEDS]


@pytest.fixture(scope="module")
def outcomes():
    """(data seed, weight seed) -> {"baseline"|"l2"|"dropout": (train acc, test acc)}.

    Two worker processes (the machine has 2 cores); each training is independent.
    """
    settings = notebook_settings()
    data_params = {s.name: s for s in _load_generator().SPECS}["moons_noisy"].params
    # fork: the workers inherit sys.path and this module as pytest imported it
    with ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork")) as pool:
        futures = {pair: pool.submit(train_three, *pair, settings, data_params) for pair in PAIRS}
        results = {pair: future.result() for pair, future in futures.items()}
    print("\ndata seed, weight seed: train / test / gap, weight norm, train cross-entropy, for each model")
    for (d, s), r in results.items():
        cells = " | ".join(
            f"{n} {r[n][0]:.3f} / {r[n][1]:.3f} / {r[n][0] - r[n][1]:+.3f}, {r['weight_norm'][n]:.2f}, {r['train_cross_entropy'][n]:.4f}"
            for n in MODELS
        )
        print(f"  {d}, {s}: {cells}")
    return results


def test_notebook_runs_on_the_shipped_data_with_the_first_seed():
    """Data seed 0 is the shipped file and SEED the notebook's generator seed, so pair (0, SEED) is its run."""
    generate = _load_generator()
    shipped = {s.name: s for s in generate.SPECS}["moons_noisy"]
    assert shipped.seed == DATA_SEEDS[0], f"moons_noisy is made with seed {shipped.seed}, the tests start at {DATA_SEEDS[0]}"
    assert notebook_settings()["SEED"] in WEIGHT_SEEDS


@pytest.mark.slow
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_unregularized_network_overfits(outcomes, data_seed, weight_seed):
    train, test = outcomes[(data_seed, weight_seed)]["baseline"]
    assert train - test >= MIN_BASELINE_GAP, (
        f"data seed {data_seed}, weight seed {weight_seed}: the baseline should overfit (train at least "
        f"{100 * MIN_BASELINE_GAP:.0f} points above test), but train {train:.3f} vs test {test:.3f}; "
        "too few iterations, too small a learning rate, or data that are too easy"
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["l2", "dropout"])
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_regularization_narrows_the_gap(outcomes, data_seed, weight_seed, method):
    base_train, base_test = outcomes[(data_seed, weight_seed)]["baseline"]
    train, test = outcomes[(data_seed, weight_seed)][method]
    assert train - test < base_train - base_test, (
        f"data seed {data_seed}, weight seed {weight_seed}: {method} should narrow the train-test gap; "
        f"gap {train - test:+.3f} vs baseline {base_train - base_test:+.3f}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["l2", "dropout"])
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_regularization_raises_test_accuracy(outcomes, data_seed, weight_seed, method):
    _, base_test = outcomes[(data_seed, weight_seed)]["baseline"]
    _, test = outcomes[(data_seed, weight_seed)][method]
    assert test > base_test, (
        f"data seed {data_seed}, weight seed {weight_seed}: {method} should raise test accuracy over the "
        f"baseline; {test:.3f} vs {base_test:.3f}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_both_regularizers_leave_smaller_weights_l2_more_than_dropout(outcomes, data_seed, weight_seed):
    """Dropout has no penalty term, yet its weights end up smaller than the baseline's (notebook 02, section 4)."""
    norm = outcomes[(data_seed, weight_seed)]["weight_norm"]
    assert norm["l2"] < norm["dropout"] < norm["baseline"], (
        f"data seed {data_seed}, weight seed {weight_seed}: expected ||W|| of l2 < dropout < baseline, got "
        f"{norm['l2']:.2f}, {norm['dropout']:.2f}, {norm['baseline']:.2f}"
    )


@pytest.mark.slow
@pytest.mark.parametrize("method", ["l2", "dropout"])
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_a_straight_line_does_about_as_well(outcomes, data_seed, weight_seed, method):
    _, line = outcomes[(data_seed, weight_seed)]["logistic"]
    _, test = outcomes[(data_seed, weight_seed)][method]
    assert abs(test - line) <= ABOUT_AS_WELL, (
        f"data seed {data_seed}, weight seed {weight_seed}: logistic regression's test accuracy {line:.3f} is "
        f"not within {ABOUT_AS_WELL} of {method}'s {test:.3f}; the notebook says a line does about as well"
    )


@pytest.mark.slow
@pytest.mark.parametrize("data_seed,weight_seed", PAIRS)
def test_l2_network_fits_the_training_set_better_than_any_line(outcomes, data_seed, weight_seed):
    ce = outcomes[(data_seed, weight_seed)]["train_cross_entropy"]
    assert ce["l2"] < ce["logistic"], (
        f"data seed {data_seed}, weight seed {weight_seed}: the L2 network's training cross-entropy "
        f"{ce['l2']:.4f} should be below logistic regression's {ce['logistic']:.4f} (the network should still bend)"
    )


@pytest.mark.slow
@pytest.mark.parametrize("weight_seed,low,high", [(2, 0.04, 0.06), (4, 0.0, MIN_BASELINE_GAP)])
def test_the_seeds_the_notebook_invites_the_reader_to_try(weight_seed, low, high):
    """Notebook 02's seeds section: "Try SEED = 2: the baseline's gap shrinks to about 5 points. Try SEED = 4: ... only about 2 points"."""
    settings = notebook_settings()
    data_params = {s.name: s for s in _load_generator().SPECS}["moons_noisy"].params
    train, test = train_three(DATA_SEEDS[0], weight_seed, settings, data_params, models=("baseline",))["baseline"]
    assert low < train - test < high, f"weight seed {weight_seed}: baseline train {train:.3f}, test {test:.3f}"
