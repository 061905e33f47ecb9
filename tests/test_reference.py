"""The reference answers hold the properties their docstrings promise.

Nothing here compares with numbers typed from a run: shapes, distributions
(with bounds sized by their standard deviations), closed forms on hand-made
cases, and numerical gradients.
"""

import numpy as np
import pytest

from autograder.hidden.common import gradient_error, numerical_gradient
from dlwork import network
from dlwork.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from source_solutions import gradient_checking as G
from source_solutions import initialization as I
from source_solutions import regularization as R


def small_net(seed, dims=(3, 5, 4, 1), m=7):
    rng = np.random.default_rng(seed)
    parameters = I.initialize_parameters_he(list(dims), rng)
    parameters = {k: v + (0.1 * rng.standard_normal(v.shape) if k.startswith("b") else 0) for k, v in parameters.items()}
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(float)
    return parameters, X, Y


@pytest.mark.parametrize("dims", [[2, 1], [3, 5, 1], [7, 4, 6, 2], [5, 3, 3, 4, 1]])
def test_initializers_shapes_and_zero_biases(dims):
    """Every initializer returns W1..WL of shape (n_l, n_{l-1}) and zero biases (n_l, 1)."""
    for params in (
        I.initialize_parameters_zeros(dims),
        I.initialize_parameters_random(dims, np.random.default_rng(0)),
        I.initialize_parameters_he(dims, np.random.default_rng(0)),
    ):
        assert set(params) == {f"{p}{l}" for l in range(1, len(dims)) for p in "Wb"}
        for l in range(1, len(dims)):
            assert params[f"W{l}"].shape == (dims[l], dims[l - 1])
            assert params[f"b{l}"].shape == (dims[l], 1)
            assert not params[f"b{l}"].any()


def test_he_and_random_spread_per_layer():
    """He: std sqrt(2/fan_in) per layer; random: std 10. 60k+ draws a layer: sample std within 0.3% (1 sd)."""
    dims = [500, 400, 300, 200]
    he = I.initialize_parameters_he(dims, np.random.default_rng(1))
    big = I.initialize_parameters_random(dims, np.random.default_rng(1))
    for l in range(1, 4):
        assert he[f"W{l}"].std() == pytest.approx(np.sqrt(2 / dims[l - 1]), rel=0.02)
        assert big[f"W{l}"].std() == pytest.approx(10, rel=0.02)


def test_stochastic_functions_leave_global_state_alone():
    """Only the rng argument is drawn from: NumPy's global state is untouched, and a seed replays."""
    before = np.random.get_state()[1].copy()
    a = I.initialize_parameters_he([4, 3, 1], np.random.default_rng(5))
    b = I.initialize_parameters_he([4, 3, 1], np.random.default_rng(5))
    parameters, X, _ = small_net(0)
    R.forward_propagation_with_dropout(X, parameters, 0.5, np.random.default_rng(5))
    assert np.array_equal(np.random.get_state()[1], before)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_l2_cost_closed_form():
    """With lambd = 0 it is the cross-entropy; the penalty is lambd/(2m) * (number of unit weights)."""
    parameters = {f"W{l}": np.ones((2, 2)) for l in (1, 2, 3)} | {f"b{l}": np.full((2, 1), 9.0) for l in (1, 2, 3)}
    A3, Y = np.array([[0.2, 0.9, 0.6, 0.4]]), np.array([[0.0, 1.0, 1.0, 0.0]])
    base = network.compute_cost(A3, Y)
    assert R.compute_cost_with_regularization(A3, Y, parameters, 0.0) == pytest.approx(base)
    assert R.compute_cost_with_regularization(A3, Y, parameters, 0.8) == pytest.approx(base + 0.8 / (2 * 4) * 12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_l2_backward_matches_numerical_gradient(seed):
    """backward_propagation_with_regularization is the gradient of compute_cost_with_regularization."""
    parameters, X, Y = small_net(seed)
    lambd = 0.7
    _, cache = network.forward_propagation(X, parameters)
    grads = R.backward_propagation_with_regularization(X, Y, cache, lambd)
    numeric = numerical_gradient(
        lambda p: R.compute_cost_with_regularization(network.forward_propagation(X, p)[0], Y, p, lambd), parameters
    )
    # centred differences at eps = 1e-6 are good to ~1e-9 on this tiny net
    assert gradient_error(grads, numeric) < 1e-7


def test_dropout_keep_prob_one_is_plain_forward():
    parameters, X, _ = small_net(3)
    A3, _ = R.forward_propagation_with_dropout(X, parameters, 1.0, np.random.default_rng(0))
    assert np.allclose(A3, network.forward_propagation(X, parameters)[0])


def test_dropout_masks_and_expected_activation():
    """About keep_prob of the units survive, and inverted dropout keeps the mean activation.

    200 x 2000 = 400k mask entries: the kept fraction has sd 0.0007, the bound is 0.005.
    """
    rng = np.random.default_rng(4)
    dims, m, keep_prob = [5, 200, 200, 1], 2000, 0.7
    parameters = I.initialize_parameters_he(dims, rng)
    X = rng.standard_normal((5, m))
    _, cache = R.forward_propagation_with_dropout(X, parameters, keep_prob, rng)
    assert abs(cache["D1"].mean() - keep_prob) < 0.005
    plain_A1 = network.relu(cache["Z1"])
    # mean of A1 over 400k entries, each with relative sd ~ 1.5: the means agree within ~0.5% (3 sd)
    assert cache["A1"].mean() == pytest.approx(plain_A1.mean(), rel=0.02)
    assert np.array_equal(cache["A1"] != 0, (plain_A1 != 0) & cache["D1"])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_dropout_backward_matches_numerical_gradient_with_fixed_masks(seed):
    parameters, X, Y = small_net(seed)
    keep_prob = 0.6
    _, cache = R.forward_propagation_with_dropout(X, parameters, keep_prob, np.random.default_rng(seed))
    grads = R.backward_propagation_with_dropout(X, Y, cache, keep_prob)

    def cost(p):
        A1 = network.relu(p["W1"] @ X + p["b1"]) * cache["D1"] / keep_prob
        A2 = network.relu(p["W2"] @ A1 + p["b2"]) * cache["D2"] / keep_prob
        return network.compute_cost(network.sigmoid(p["W3"] @ A2 + p["b3"]), Y)

    assert gradient_error(grads, numerical_gradient(cost, parameters)) < 1e-7


def test_one_d_gradient_check():
    assert G.forward_propagation(2.0, 4.0) == 8.0
    assert G.backward_propagation(2.0, 4.0) == 2.0
    assert G.gradient_check(2.0, 4.0) < 1e-7


@pytest.mark.parametrize("dims", [[3, 5, 4, 1], [2, 3, 1], [4, 2, 2, 3, 1]])
def test_gradient_check_n_separates_right_from_wrong(dims):
    """Correct gradients give a tiny difference, a planted bug a large one; nothing is modified."""
    parameters, X, Y = small_net(7, tuple(dims), m=5)
    _, cache = network.forward_propagation(X, parameters)
    grads = network.backward_propagation(X, Y, cache)
    snapshot = {k: v.copy() for k, v in parameters.items()}
    assert G.gradient_check_n(parameters, grads, X, Y, 1e-6) < 1e-7
    assert all(np.array_equal(snapshot[k], parameters[k]) for k in parameters)
    wrong = dict(grads, dW1=grads["dW1"] * 2)
    assert G.gradient_check_n(parameters, wrong, X, Y, 1e-6) > 1e-2


@pytest.mark.parametrize("seed", range(5))
def test_the_finished_practice_backprop_matches_numerical_gradients(seed):
    """The fix of notebook 03's planted backprop (its practice cell) agrees with numerical gradients."""
    parameters, X, Y = small_net(seed, (3, 5, 4, 1), m=6)
    _, cache = network.forward_propagation(X, parameters)
    fixed = G.backward_propagation_fixed(X, Y, cache)
    numeric = numerical_gradient(lambda p: network.forward_propagation_n(X, Y, p)[0], parameters)
    assert gradient_error(fixed, numeric) < 1e-7


@pytest.mark.parametrize("dims", [[2, 1], [3, 5, 4, 1], [6, 2, 9, 3, 1]])
def test_vectorize_round_trip_any_sizes(dims):
    """dictionary_to_vector / vector_to_dictionary undo each other; gradients follow the same order."""
    params = I.initialize_parameters_he(dims, np.random.default_rng(0))
    theta, layout = dictionary_to_vector(params)
    assert theta.shape == (sum(v.size for v in params.values()), 1)
    back = vector_to_dictionary(theta, layout)
    assert all(np.array_equal(back[k], params[k]) for k in params)
    grads = {"d" + k: v * 3 for k, v in params.items()}
    assert np.array_equal(gradients_to_vector(grads, layout), 3 * theta)
