"""Notebook 01's learning outcomes on the circles data hold for several initialization seeds.

The reference initializers are trained with :func:`dlwork.network.model` directly
(the notebook is not executed), using the hyperparameters of the notebook's
``hyperparameters`` cell, read from the committed ``.ipynb`` so that the two
cannot drift apart. The outcomes the notebook teaches:

* zeros: the cost stays at ln 2 and the accuracy at chance;
* large random (10 x N(0, 1)): a huge initial cost, then slower and worse than He;
* He: at least 95% test accuracy.

Everything here is deterministic given the seeds; the bounds are the outcomes'
definitions, not numbers typed from a run. Margins seen over seeds 0-29 are noted
beside each bound.
"""

from __future__ import annotations

import ast
import functools
import inspect
import math

import nbformat
import numpy as np
import pytest
from conftest import require_notebook

from dlwork.data import load_dataset
from dlwork.network import accuracy, model
from source_solutions import initialization as reference

STEM = "01_initialization"
SEEDS = (0, 1, 2, 3, 4)  # 0 is the seed of the notebook's main runs
HYPERPARAMETERS = ("LAYERS_DIMS", "LEARNING_RATE", "NUM_ITERATIONS", "RECORD_EVERY")
LN2 = math.log(2)


@functools.cache
def notebook_hyperparameters() -> dict:
    """The literal assignments of the notebook's cell with id ``hyperparameters``."""
    nb = nbformat.read(require_notebook(STEM), as_version=4)
    cells = [cell for cell in nb.cells if cell.get("id") == "hyperparameters"]
    assert len(cells) == 1, f"{STEM}: expected one code cell with id 'hyperparameters', found {len(cells)}"
    values = {}
    for node in ast.parse(cells[0].source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
            values[node.targets[0].id] = ast.literal_eval(node.value)
    missing = [name for name in HYPERPARAMETERS if name not in values]
    assert not missing, f"{STEM}: the 'hyperparameters' cell no longer assigns {missing} as literals"
    return values


@functools.cache
def circles():
    return load_dataset("circles")


@functools.cache
def run(initializer: str, seed: int) -> dict:
    """Train on circles with one reference initializer and a generator seeded ``seed``."""
    hp = notebook_hyperparameters()
    X_train, Y_train, X_test, Y_test = circles()
    parameters, costs = model(
        X_train,
        Y_train,
        hp["LAYERS_DIMS"],
        getattr(reference, f"initialize_parameters_{initializer}"),
        np.random.default_rng(seed),
        learning_rate=hp["LEARNING_RATE"],
        num_iterations=hp["NUM_ITERATIONS"],
        record_every=hp["RECORD_EVERY"],
    )
    return {
        "costs": np.asarray(costs),
        "train_acc": accuracy(X_train, Y_train, parameters),
        "test_acc": accuracy(X_test, Y_test, parameters),
    }


def test_zeros_cost_stays_at_ln2_and_accuracy_at_chance():
    """All-zero parameters never move: cost ln 2 throughout, accuracy 50% on balanced data."""
    # The zeros initializer takes no generator, so no seed can change this run:
    # one run covers every seed (the check on its signature keeps that true).
    assert list(inspect.signature(reference.initialize_parameters_zeros).parameters) == ["layers_dims"]
    X_train, Y_train, X_test, Y_test = circles()
    # ln 2 and the zero output-bias gradient both rely on balanced classes.
    assert Y_train.mean() == 0.5 and Y_test.mean() == 0.5, "circles is no longer balanced; the ln 2 argument needs 50/50"
    result = run("zeros", SEEDS[0])
    gap = float(np.max(np.abs(result["costs"] - LN2)))
    assert gap < 1e-6, (
        f"outcome 'zeros: cost flat at ln 2' failed: a recorded cost is {gap:.2e} away from ln 2 = {LN2:.6f} "
        f"(first costs {np.round(result['costs'][:3], 6)}). Likely cause: a parameter moved, i.e. the zeros "
        "initializer or the network's backward pass changed."
    )
    for split in ("train_acc", "test_acc"):
        assert abs(result[split] - 0.5) <= 0.05, (
            f"outcome 'zeros: accuracy at chance' failed: {split} is {result[split]:.1%}, expected 50% +- 5%."
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_large_random_starts_with_a_huge_cost(seed):
    """A saturated sigmoid, certain and wrong on many examples: the first cost is over 10 x ln 2."""
    initial = run("random", seed)["costs"][0]
    # Seeds 0-29 start between 12.2 and 18.9 (half the examples wrong at the clip cost 34.5 gives 17).
    assert initial > 10 * LN2, (
        f"seed {seed}, outcome 'large random: huge initial cost' failed: expected more than "
        f"10 x ln 2 = {10 * LN2:.2f}, got {initial:.3f}. Likely cause: the weights are not 10 x N(0, 1)."
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_large_random_ends_worse_than_he(seed):
    """Same draws, same steps: large random ends at more than twice He's cost and below its train accuracy."""
    random_run, he_run = run("random", seed), run("he", seed)
    final_random, final_he = random_run["costs"][-1], he_run["costs"][-1]
    # Seeds 0-29: the ratio ranges from 2.2 to 28.8; for seeds 0-4 it is at least 5.4.
    assert final_random > 2 * final_he, (
        f"seed {seed}, outcome 'large random: worse than He' failed: expected a final cost above "
        f"2 x He's {final_he:.4f}, got {final_random:.4f} (test accuracy {random_run['test_acc']:.0%} "
        f"against He's {he_run['test_acc']:.0%})."
    )
    assert random_run["train_acc"] < he_run["train_acc"], (
        f"seed {seed}, outcome 'large random: worse than He' failed: train accuracy {random_run['train_acc']:.1%} "
        f"is not below He's {he_run['train_acc']:.1%}."
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_large_random_is_slow(seed):
    """He gets below large random's final cost within the first third of the run."""
    hp = notebook_hyperparameters()
    final_random = run("random", seed)["costs"][-1]
    he_costs = run("he", seed)["costs"]
    below = np.flatnonzero(he_costs <= final_random)
    step = int(below[0]) * hp["RECORD_EVERY"] if below.size else None
    # Seeds 0-29: He gets there by step 410 at the latest (of 1500); seeds 0-4 by step 200.
    assert step is not None and step <= hp["NUM_ITERATIONS"] / 3, (
        f"seed {seed}, outcome 'large random: slow' failed: expected He's cost to drop below large random's "
        f"final {final_random:.4f} within the first {hp['NUM_ITERATIONS'] // 3} steps, but that happened "
        f"{'never' if step is None else f'at step {step}'}."
    )


@pytest.mark.parametrize("seed", SEEDS)
def test_he_reaches_95_percent_test_accuracy(seed):
    """He initialization learns the rings: at least 95% of the test set right."""
    result = run("he", seed)
    # Seeds 0-29 all end at 99% or 100%.
    assert result["test_acc"] >= 0.95, (
        f"seed {seed}, outcome 'He: >= 95% test accuracy' failed: got {result['test_acc']:.0%} "
        f"(train {result['train_acc']:.0%}, final cost {result['costs'][-1]:.4f}). Likely cause: the scale is not "
        "sqrt(2 / fan_in), or the notebook's learning rate / iterations changed."
    )
