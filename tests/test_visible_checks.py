"""The visible checks (``dlwork.checks``) that students run from the notebooks.

Each check must pass on the reference and on correct variants written differently,
pass when the function emits warnings, fail with a diagnosis naming the mistake
on the common mistakes (small functions below), and report unimplemented stubs
and crashes in words. A wire proxy (the grader's plain-data format) shows the
checks only hand over plain data and ``dlwork`` fixtures. Run times are printed.
"""

from __future__ import annotations

import io
import json
import time
import warnings
from contextlib import redirect_stdout

import numpy as np
import pytest

from autograder.course import expected_values
from autograder.hidden.common import numerical_gradient
from autograder.hidden.regularization import MaskReplay
from autograder.sandbox import wire
from dlwork import checks, network
from dlwork.network import backward_propagation as network_backward
from dlwork.network import compute_cost, forward_propagation_n, relu, sigmoid
from dlwork.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary
from source_solutions import gradient_checking as gc_ref
from source_solutions import initialization as init_ref
from source_solutions import regularization as reg_ref

# The 1-D model of notebook 03, as the notebook defines it: the gradient_check variants
# below look these names up as globals, like the student's code does.
forward_propagation = gc_ref.forward_propagation
backward_propagation = gc_ref.backward_propagation

REFERENCE = {
    "initialize_parameters_zeros": init_ref.initialize_parameters_zeros,
    "initialize_parameters_random": init_ref.initialize_parameters_random,
    "initialize_parameters_he": init_ref.initialize_parameters_he,
    "compute_cost_with_regularization": reg_ref.compute_cost_with_regularization,
    "backward_propagation_with_regularization": reg_ref.backward_propagation_with_regularization,
    "forward_propagation_with_dropout": reg_ref.forward_propagation_with_dropout,
    "backward_propagation_with_dropout": reg_ref.backward_propagation_with_dropout,
    "forward_propagation": gc_ref.forward_propagation,
    "backward_propagation": gc_ref.backward_propagation,
    "gradient_check": gc_ref.gradient_check,
    "gradient_check_n": gc_ref.gradient_check_n,
}


def run_check(function: str, fn) -> str:
    """Run the visible check of ``function`` on ``fn``; return what it printed."""
    out = io.StringIO()
    with redirect_stdout(out):
        getattr(checks, f"check_{function}")(fn)
    return out.getvalue()


def failure(function: str, fn) -> str:
    """The message of the check's failure on ``fn`` (the test fails if it passes)."""
    with pytest.raises(checks.CheckFailure) as info:
        run_check(function, fn)
    return str(info.value)


# ------------------------------------------------------------------ the reference


@pytest.mark.parametrize("function", list(REFERENCE))
def test_reference_passes(function):
    printed = run_check(function, REFERENCE[function])
    assert printed.startswith(f"✓ {function}: ") and "checks passed" in printed


def test_every_graded_function_has_a_check():
    names = {name[len("check_"):] for name in dir(checks) if name.startswith("check_")}
    assert names == set(REFERENCE)


def test_run_times_on_the_reference(capsys):
    """Prints each check's run time (best of 3); speed is reported, not asserted."""
    lines = []
    for function, fn in REFERENCE.items():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run_check(function, fn)
            best = min(best, time.perf_counter() - start)
        lines.append(f"  {function:42s} {best * 1000:7.1f} ms")
    with capsys.disabled():
        print("\nvisible check run times (reference, best of 3):\n" + "\n".join(lines))


# ------------------------------------------------------------------ warnings, stubs, crashes


def noisy(fn):
    """``fn`` after emitting a UserWarning and a NumPy RuntimeWarning."""

    def wrapper(*args, **kwargs):
        warnings.warn("a student's own warning")
        np.log(np.zeros(1))  # RuntimeWarning: divide by zero encountered in log
        return fn(*args, **kwargs)

    return wrapper


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("function", [f for f in REFERENCE if f not in ("gradient_check", "gradient_check_n")])
def test_warnings_never_fail_a_check(function):
    printed = run_check(function, noisy(REFERENCE[function]))
    assert f"✓ {function}" in printed
    assert "UserWarning: a student's own warning" in printed and "RuntimeWarning" in printed
    assert printed.count("warnings do not count against you") == 2  # each distinct warning once


def gradient_check_noisy(x, theta, epsilon=1e-7):
    warnings.warn("a student's own warning")
    np.log(np.zeros(1))
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def gradient_check_n_noisy(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    warnings.warn("a student's own warning")
    np.log(np.zeros(1))
    return gc_ref.gradient_check_n(parameters, gradients, X, Y, epsilon, cost_function or forward_propagation_n)


@pytest.mark.filterwarnings("error")
def test_warnings_never_fail_the_gradient_checks():
    # These look up the notebook's globals (forward_propagation...), so they live in this module.
    assert "✓ gradient_check" in run_check("gradient_check", gradient_check_noisy)
    assert "✓ gradient_check_n" in run_check("gradient_check_n", gradient_check_n_noisy)


@pytest.mark.parametrize("function", list(REFERENCE))
def test_a_stub_is_reported_as_not_implemented(function):
    def stub(*args, **kwargs):
        # YOUR CODE HERE
        raise NotImplementedError()

    message = failure(function, stub)
    assert "not implemented yet" in message and function in message


def test_an_exception_is_named_with_the_call_that_raised_it():
    def crashes(layers_dims, rng):
        return {"W1": rng.standard_normal((layers_dims[1], layers_dims[0]))} | {"b1": layers_dims["oops"]}

    message = failure("initialize_parameters_he", crashes)
    assert "raised TypeError" in message
    assert "initialize_parameters_he([7, 5, 3, 1], rng)" in message


def test_a_missing_return_is_named():
    def forgets_return(layers_dims):
        {f"W{l}": np.zeros((layers_dims[l], layers_dims[l - 1])) for l in range(1, len(layers_dims))}

    assert "forget the `return`" in failure("initialize_parameters_zeros", forgets_return)


# ------------------------------------------------------------------ call_with_globals and the wire


def _plain(value) -> bool:
    """True when ``value`` crosses the grader's wire as itself (no opaque objects)."""
    header = wire.encode(value, allow_refs=True)
    return b"__opaque__" not in header


class WireProxy:
    """Stands for a function in another process, as the grader's proxy does.

    Arguments and overrides go through the grader's plain-data wire format
    (overrides as module:name references, resolved on the other side), the
    result comes back through it, and mutable arguments are written back.
    """

    def __init__(self, fn):
        self.fn = fn
        self.overrides_seen: list[dict] = []

    def __call__(self, *args, **kwargs):
        return self.call_with_globals({}, *args, **kwargs)

    def call_with_globals(self, overrides, *args, **kwargs):
        for name, value in overrides.items():
            assert callable(value) and value.__module__.startswith("dlwork."), f"{name}: {value!r} is not a dlwork function"
        self.overrides_seen.append(dict(overrides))
        request = {"args": list(args), "kwargs": kwargs, "overrides": overrides}
        assert _plain(request), "the check passed something that is not plain data"
        sent = wire.decode(wire.encode(request, allow_refs=True), refs="resolve")
        try:
            result = checks.call_with_globals(self.fn, sent["overrides"], *sent["args"], **sent["kwargs"])
        except Exception as exc:
            exc.student_type = type(exc).__name__  # as the grader's proxies mark the student's exceptions
            raise
        for before, after in zip(args, sent["args"]):
            if isinstance(before, dict):
                before.clear()
                before.update(after)
            elif isinstance(before, np.ndarray):
                before[...] = after
            elif isinstance(before, np.random.Generator):
                before.bit_generator.state = after.bit_generator.state
        return wire.decode(wire.encode(result))


@pytest.mark.parametrize("function", list(REFERENCE))
def test_checks_pass_the_reference_through_a_wire_proxy(function):
    assert f"✓ {function}" in run_check(function, WireProxy(REFERENCE[function]))


def test_gradient_checks_go_through_the_proxy_to_swap_globals():
    proxy = WireProxy(gc_ref.gradient_check)
    run_check("gradient_check", proxy)
    assert any("backward_propagation" in seen for seen in proxy.overrides_seen)
    proxy = WireProxy(gc_ref.gradient_check_n)
    run_check("gradient_check_n", proxy)
    assert any("forward_propagation_n" in seen for seen in proxy.overrides_seen)


def test_call_with_globals_restores_the_globals_even_on_error():
    def uses_global(x, theta):
        return forward_propagation(x, theta)

    assert checks.call_with_globals(uses_global, {"forward_propagation": checks._fixture_forward_cubic}, 2.0, 1.5) == 2.0 * 1.5**3
    assert globals()["forward_propagation"] is gc_ref.forward_propagation

    def raises(x, theta):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        checks.call_with_globals(raises, {"forward_propagation": checks._fixture_forward_cubic, "brand_new_name": len}, 1, 2)
    assert globals()["forward_propagation"] is gc_ref.forward_propagation
    assert "brand_new_name" not in globals()


def test_a_student_exception_through_a_proxy_is_described():
    def crashes(X, Y, cache, lambd):
        raise KeyError("dW4")

    assert "raised KeyError" in failure("backward_propagation_with_regularization", WireProxy(crashes))


def test_a_grader_exception_through_a_proxy_is_passed_on():
    class NotDefined(Exception):
        pass

    class Missing:
        def __call__(self, *args, **kwargs):
            raise NotDefined("initialize_parameters_zeros is not defined")

        def call_with_globals(self, overrides, *args, **kwargs):
            return self(*args, **kwargs)

    with pytest.raises(NotDefined):
        run_check("initialize_parameters_zeros", Missing())


# ================================================================== notebook 01: initialization


def zeros_one_layer_short(layers_dims):
    return {k: v for k, v in init_ref.initialize_parameters_zeros(layers_dims[:-1] if len(layers_dims) > 2 else layers_dims).items()}


def zeros_transposed(layers_dims):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = np.zeros((layers_dims[l - 1], layers_dims[l]))
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def zeros_flat_bias(layers_dims):
    parameters = init_ref.initialize_parameters_zeros(layers_dims)
    return {k: (np.zeros(v.shape[0]) if k.startswith("b") else v) for k, v in parameters.items()}


def zeros_layers_dims_1(layers_dims):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = np.zeros((layers_dims[1], layers_dims[l - 1]))
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def zeros_integer(layers_dims):
    return {k: v.astype(int) for k, v in init_ref.initialize_parameters_zeros(layers_dims).items()}


def zeros_starts_at_0(layers_dims):
    parameters = init_ref.initialize_parameters_zeros(layers_dims)
    parameters["W0"] = np.zeros((layers_dims[0], 1))
    return parameters


def zeros_with_ones(layers_dims):
    return {k: np.ones_like(v) for k, v in init_ref.initialize_parameters_zeros(layers_dims).items()}


@pytest.mark.parametrize("mistake, keyword", [
    (zeros_one_layer_short, "one layer early"),
    (zeros_transposed, "transposed"),
    (zeros_flat_bias, "1-D"),
    (zeros_layers_dims_1, "layers_dims[1]"),
    (zeros_integer, "floating point"),
    (zeros_starts_at_0, "numbered from 1"),
    (zeros_with_ones, "non-zero"),
])
def test_initialize_parameters_zeros_mistakes(mistake, keyword):
    assert keyword in failure("initialize_parameters_zeros", mistake)


def _init(layers_dims, rng, scale, draw=None, bias=0.0, transposed_draw=False):
    """Weights ``draw(rng, shape) * scale(fan_in, fan_out)`` layer by layer, biases ``bias``."""
    draw = draw or (lambda rng, shape: rng.standard_normal(shape))
    parameters = {}
    for l in range(1, len(layers_dims)):
        shape = (layers_dims[l], layers_dims[l - 1])
        W = draw(rng, shape[::-1]).T if transposed_draw else draw(rng, shape)
        parameters[f"W{l}"] = W * scale(layers_dims[l - 1], layers_dims[l])
        parameters[f"b{l}"] = np.full((layers_dims[l], 1), bias)
    return parameters


def random_without_10(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 1.0)


def random_uniform(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 10.0, draw=lambda rng, shape: rng.random(shape))


def random_uniform_centred(layers_dims, rng):
    # Same std as 10 * N(0, 1): a uniform on [-a, a] has std a / sqrt(3).
    return _init(layers_dims, rng, lambda n_in, n: 10.0 * np.sqrt(3), draw=lambda rng, shape: rng.uniform(-1, 1, shape))


def random_with_bias(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 10.0, bias=0.01)


def random_ignores_rng(layers_dims, rng):
    return _init(layers_dims, np.random.default_rng(), lambda n_in, n: 10.0)


def random_fixed_seed(layers_dims, rng):
    return _init(layers_dims, np.random.default_rng(0), lambda n_in, n: 10.0)


def random_constant_per_layer(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 10.0, draw=lambda rng, shape: np.full(shape, rng.standard_normal()))


@pytest.mark.parametrize("mistake, keyword", [
    (random_without_10, "multiply by 10"),
    (random_uniform, "centred on 0"),
    (random_uniform_centred, "uniform"),
    (random_with_bias, "biases start at zero"),
    (random_ignores_rng, "seeded alike"),
    (random_fixed_seed, "different seeds"),
    (random_constant_per_layer, "symmetry"),
    (zeros_transposed, "transposed"),
])
def test_initialize_parameters_random_mistakes(mistake, keyword):
    fn = mistake if mistake is not zeros_transposed else (lambda layers_dims, rng: zeros_transposed(layers_dims))
    assert keyword in failure("initialize_parameters_random", fn)


def random_with_normal(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 1.0, draw=lambda rng, shape: rng.normal(0, 10, shape))


def random_transposed_draw(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 10.0, transposed_draw=True)


def random_in_place(layers_dims, rng):
    parameters = {}
    for l in range(1, len(layers_dims)):
        W = rng.standard_normal((layers_dims[l], layers_dims[l - 1]))
        W *= 10
        parameters["W" + str(l)] = W
        parameters["b" + str(l)] = np.zeros((layers_dims[l], 1), dtype=np.float32)
    return parameters


@pytest.mark.parametrize("variant", [random_with_normal, random_transposed_draw, random_in_place])
def test_initialize_parameters_random_correct_variants(variant):
    assert "✓" in run_check("initialize_parameters_random", variant)


def he_current_layer(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(2 / n))


def he_xavier(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(1 / n_in))


def he_no_sqrt(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 2 / n_in)


def he_unscaled(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 1.0)


def he_uniform(layers_dims, rng):
    # Right std, wrong distribution: uniform on [-a, a] has std a / sqrt(3).
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(3 * 2 / n_in), draw=lambda rng, shape: rng.uniform(-1, 1, shape))


def he_uniform_01(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(2 / n_in), draw=lambda rng, shape: rng.random(shape))


def he_with_bias(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(2 / n_in), bias=0.1)


def he_one_layer_short(layers_dims, rng):
    return init_ref.initialize_parameters_he(layers_dims[:-1] if len(layers_dims) > 2 else layers_dims, rng)


def he_layers_dims_1(layers_dims, rng):
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = rng.standard_normal((layers_dims[1], layers_dims[l - 1])) * np.sqrt(2 / layers_dims[l - 1])
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def he_scaled_by_layers_dims_1(layers_dims, rng):
    # For layer 1 this is the current layer's size, for layer 2 the right one: only all layers together tell.
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(2 / layers_dims[1]))


def he_transposed(layers_dims, rng):
    return {k: (v.T if k.startswith("W") else v) for k, v in init_ref.initialize_parameters_he(layers_dims, rng).items()}


@pytest.mark.parametrize("mistake, keyword", [
    (he_current_layer, "current layer's size"),
    (he_xavier, "Xavier"),
    (he_no_sqrt, "square root"),
    (he_unscaled, "not scaled at all"),
    (he_uniform, "uniform"),
    (he_uniform_01, "centred on 0"),
    (he_with_bias, "biases start at zero"),
    (he_one_layer_short, "one layer early"),
    (he_layers_dims_1, "layers_dims[1]"),
    (he_scaled_by_layers_dims_1, "uses layers_dims[1] for every layer"),
    (he_transposed, "transposed"),
])
def test_initialize_parameters_he_mistakes(mistake, keyword):
    assert keyword in failure("initialize_parameters_he", mistake)


def he_with_normal(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: 1.0, draw=lambda rng, shape: rng.normal(0, np.sqrt(2 / shape[1]), shape))


def he_transposed_draw(layers_dims, rng):
    return _init(layers_dims, rng, lambda n_in, n: np.sqrt(2.0 / n_in), transposed_draw=True)


def he_in_place(layers_dims, rng):
    parameters = {}
    for l in range(1, len(layers_dims)):
        W = rng.standard_normal(size=(layers_dims[l], layers_dims[l - 1]))
        W *= (2 / layers_dims[l - 1]) ** 0.5
        parameters.update({f"W{l}": W, f"b{l}": np.zeros((layers_dims[l], 1))})
    return parameters


@pytest.mark.parametrize("variant", [he_with_normal, he_transposed_draw, he_in_place])
def test_initialize_parameters_he_correct_variants(variant):
    assert "✓" in run_check("initialize_parameters_he", variant)


# ================================================================== notebook 02: L2 regularization


def _l2_cost(A3, Y, parameters, lambd, factor=lambda lambd, m: lambd / (2 * m), square=lambda W: np.sum(np.square(W)),
             keys=("W1", "W2", "W3"), cross_entropy=True):
    m = Y.shape[1]
    penalty = factor(lambd, m) * sum(square(parameters[key]) for key in keys)
    return float((compute_cost(A3, Y) if cross_entropy else 0.0) + penalty)


def cost_lambd_over_m(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, factor=lambda lambd, m: lambd / m)


def cost_without_m(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, factor=lambda lambd, m: lambd / 2)


def cost_m_from_len(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, factor=lambda lambd, m: lambd / (2 * len(Y)))


def cost_norm_not_squared(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, square=np.linalg.norm)


def cost_with_biases(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, keys=("W1", "b1", "W2", "b2", "W3", "b3"))


def cost_without_W3(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, keys=("W1", "W2"))


def cost_penalty_only(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, cross_entropy=False)


def cost_square_of_sum(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, square=lambda W: np.sum(W) ** 2)


def cost_mean_of_squares(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, square=lambda W: np.mean(np.square(W)))


def cost_squares_in_place(A3, Y, parameters, lambd):
    for key in ("W1", "W2", "W3"):
        parameters[key] **= 2
    return _l2_cost(A3, Y, parameters, lambd, square=np.sum)


@pytest.mark.parametrize("mistake, keyword", [
    (cost_lambd_over_m, "not lambd / m"),
    (cost_without_m, "1/m factor is missing"),
    (cost_m_from_len, "len(Y)"),
    (cost_norm_not_squared, "not squared"),
    (cost_with_biases, "biases are not penalized"),
    (cost_without_W3, "W3 is left out"),
    (cost_penalty_only, "cross-entropy term is missing"),
    (cost_square_of_sum, "the square of the sum is not the sum of the squares"),
    (cost_mean_of_squares, "np.mean"),
    (cost_squares_in_place, "changed the parameters"),
])
def test_compute_cost_with_regularization_mistakes(mistake, keyword):
    assert keyword in failure("compute_cost_with_regularization", mistake)


def cost_sum_w_times_w(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, square=lambda W: np.sum(W * W))


def cost_norm_squared(A3, Y, parameters, lambd):
    return _l2_cost(A3, Y, parameters, lambd, square=lambda W: np.linalg.norm(W) ** 2)


def cost_loop_over_keys(A3, Y, parameters, lambd):
    m = A3.shape[1]
    total = 0.0
    for key, value in parameters.items():
        if key[0] == "W":
            total += np.sum(value**2)
    return compute_cost(A3, Y) + (lambd / m / 2) * total  # a NumPy float


@pytest.mark.parametrize("variant", [cost_sum_w_times_w, cost_norm_squared, cost_loop_over_keys])
def test_compute_cost_with_regularization_correct_variants(variant):
    assert "✓" in run_check("compute_cost_with_regularization", variant)


def _l2_backward(X, Y, cache, lambd, factor=lambda lambd, m: lambd / m, layers=(1, 2, 3), into_db=False):
    m = X.shape[1]
    gradients = network_backward(X, Y, cache)
    for l in layers:
        gradients[f"dW{l}"] = gradients[f"dW{l}"] + factor(lambd, m) * cache[f"W{l}"]
        if into_db:
            gradients[f"db{l}"] = gradients[f"db{l}"] + factor(lambd, m) * cache[f"b{l}"]
    return gradients


def backward_l2_half(X, Y, cache, lambd):
    return _l2_backward(X, Y, cache, lambd, factor=lambda lambd, m: lambd / (2 * m))


def backward_l2_without_m(X, Y, cache, lambd):
    return _l2_backward(X, Y, cache, lambd, factor=lambda lambd, m: lambd)


def backward_l2_missing_layer_3(X, Y, cache, lambd):
    return _l2_backward(X, Y, cache, lambd, layers=(1, 2))


def backward_l2_into_db(X, Y, cache, lambd):
    return _l2_backward(X, Y, cache, lambd, into_db=True)


def backward_l2_sign(X, Y, cache, lambd):
    gradients = _l2_backward(X, Y, cache, lambd)
    gradients["dW2"] = network_backward(X, Y, cache)["dW2"] + lambd / X.shape[1] * np.sign(cache["W2"])  # L1's term
    return gradients


def backward_l2_decays_cache(X, Y, cache, lambd):
    for l in (1, 2, 3):
        cache[f"W{l}"] *= 1 - lambd / X.shape[1]
    return _l2_backward(X, Y, cache, 0.0)


@pytest.mark.parametrize("mistake, keyword", [
    (backward_l2_half, "the 2 cancels"),
    (backward_l2_without_m, "1/m is missing"),
    (backward_l2_missing_layer_3, "dW3 has no extra term"),
    (backward_l2_into_db, "Biases are not penalized"),
    (backward_l2_sign, "not a multiple of W2"),
    (backward_l2_decays_cache, "changed the cache"),
])
def test_backward_propagation_with_regularization_mistakes(mistake, keyword):
    assert keyword in failure("backward_propagation_with_regularization", mistake)


def backward_l2_by_hand(X, Y, cache, lambd):
    m = X.shape[1]
    (Z1, A1, W1), (Z2, A2, W2), (A3, W3) = (cache["Z1"], cache["A1"], cache["W1"]), (cache["Z2"], cache["A2"], cache["W2"]), (cache["A3"], cache["W3"])
    dZ3 = A3 - Y
    dW3 = 1.0 / m * np.dot(dZ3, A2.T) + lambd / m * W3
    db3 = 1.0 / m * np.sum(dZ3, axis=1, keepdims=True)
    dZ2 = np.multiply(np.dot(W3.T, dZ3), np.int64(A2 > 0))
    dW2 = 1.0 / m * np.dot(dZ2, A1.T) + lambd / m * W2
    db2 = 1.0 / m * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.multiply(np.dot(W2.T, dZ2), np.int64(A1 > 0))
    dW1 = 1.0 / m * np.dot(dZ1, X.T) + lambd / m * W1
    db1 = 1.0 / m * np.sum(dZ1, axis=1, keepdims=True)
    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}


def backward_l2_in_place(X, Y, cache, lambd):
    gradients = network_backward(X, Y, cache)
    for l in (1, 2, 3):
        gradients[f"dW{l}"] += (lambd / X.shape[1]) * cache[f"W{l}"]
    return gradients


@pytest.mark.parametrize("variant", [backward_l2_by_hand, backward_l2_in_place])
def test_backward_propagation_with_regularization_correct_variants(variant):
    assert "✓" in run_check("backward_propagation_with_regularization", variant)


# ================================================================== notebook 02: dropout


def _dropout_forward(X, parameters, keep_prob, rng, draw=None, scale=None, keep_masks=True, same_mask=False,
                     drop_input=False, drop_output=False, cache_before_mask=False, mask_type=None):
    """The reference forward pass with one thing changed; ``draw(rng, shape, keep_prob)`` makes a mask."""
    draw = draw or (lambda rng, shape, keep_prob: rng.random(shape) < keep_prob)
    scale = scale or (lambda keep_prob: 1 / keep_prob)
    cache, A, masks = {}, X, {}
    if drop_input:
        A = X * draw(rng, X.shape, keep_prob) * scale(keep_prob)
    for l in (1, 2, 3):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = W @ A + b
        A = sigmoid(Z) if l == 3 else relu(Z)
        unmasked = A
        if l < 3:
            D = masks[1] if same_mask and l == 2 else draw(rng, A.shape, keep_prob)
            masks[l] = D = D.astype(mask_type) if mask_type else D
            A = A * D * scale(keep_prob)
            if keep_masks:
                cache[f"D{l}"] = D
        elif drop_output:
            A = A * draw(rng, A.shape, keep_prob) * scale(keep_prob)
        cache.update({f"Z{l}": Z, f"A{l}": unmasked if cache_before_mask and l < 3 else A, f"W{l}": W, f"b{l}": b})
    return A, cache


def dropout_unscaled(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, scale=lambda keep_prob: 1.0)


def dropout_times_keep_prob(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, scale=lambda keep_prob: keep_prob)


def dropout_inverted_mask(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, draw=lambda rng, shape, kp: rng.random(shape) > kp)


def dropout_normal_draws(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, draw=lambda rng, shape, kp: rng.standard_normal(shape) < kp)


def dropout_on_input(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, drop_input=True)


def dropout_on_output(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, drop_output=True)


def dropout_masks_not_cached(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, keep_masks=False)


def dropout_one_mask(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, same_mask=True)


def dropout_ignores_rng(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, np.random.default_rng())


def dropout_caches_unmasked(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, cache_before_mask=True)


def dropout_scaled_mask(X, parameters, keep_prob, rng):
    A3, cache = _dropout_forward(X, parameters, keep_prob, rng)
    return A3, cache | {"D1": cache["D1"] / keep_prob, "D2": cache["D2"] / keep_prob}


@pytest.mark.parametrize("mistake, keyword", [
    (dropout_unscaled, "not divided by keep_prob"),
    (dropout_times_keep_prob, "multiplied by keep_prob"),
    (dropout_inverted_mask, "inverted"),
    (dropout_normal_draws, "normal draws"),
    (dropout_on_input, "never to the input"),
    (dropout_on_output, "output layer is never dropped"),
    (dropout_masks_not_cached, "cache['D1']"),
    (dropout_one_mask, "identical"),
    (dropout_ignores_rng, "seeded alike"),
    (dropout_caches_unmasked, "not zero where D1"),
    (dropout_scaled_mask, "other than 0 and 1"),
])
def test_forward_propagation_with_dropout_mistakes(mistake, keyword):
    assert keyword in failure("forward_propagation_with_dropout", mistake)


def dropout_int_masks(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, mask_type=int)


def dropout_float_masks(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, mask_type=float)


def dropout_greater_than(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, draw=lambda rng, shape, kp: rng.random(shape) > 1 - kp)


def dropout_binomial(X, parameters, keep_prob, rng):
    return _dropout_forward(X, parameters, keep_prob, rng, draw=lambda rng, shape, kp: rng.binomial(1, kp, shape))


def dropout_divide_after(X, parameters, keep_prob, rng):
    W1, b1, W2, b2, W3, b3 = (parameters[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3"))
    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    D1 = rng.random((A1.shape[0], A1.shape[1]))
    D1 = (D1 < keep_prob).astype(int)
    A1 = np.multiply(A1, D1)
    A1 /= keep_prob
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    D2 = (rng.random(A2.shape) < keep_prob).astype(int)
    A2 = A2 * D2
    A2 = A2 / keep_prob
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)
    return A3, {"Z1": Z1, "D1": D1, "A1": A1, "W1": W1, "b1": b1, "Z2": Z2, "D2": D2, "A2": A2, "W2": W2, "b2": b2,
                "Z3": Z3, "A3": A3, "W3": W3, "b3": b3}


@pytest.mark.parametrize("variant", [dropout_int_masks, dropout_float_masks, dropout_greater_than, dropout_binomial,
                                     dropout_divide_after])
def test_forward_propagation_with_dropout_correct_variants(variant):
    assert "✓" in run_check("forward_propagation_with_dropout", variant)


def _dropout_backward(X, Y, cache, keep_prob, masks=None, scale=None, layers=(1, 2)):
    """The reference backward pass with one thing changed: ``masks(cache)`` gives {layer: mask}."""
    m = X.shape[1]
    masks = masks(cache) if masks else {1: cache["D1"], 2: cache["D2"]}
    scale = scale or (lambda keep_prob: 1 / keep_prob)
    gradients = {}
    dZ = cache["A3"] - Y
    for l in (3, 2, 1):
        A_prev = X if l == 1 else cache[f"A{l - 1}"]
        gradients[f"dW{l}"] = dZ @ A_prev.T / m
        gradients[f"db{l}"] = np.sum(dZ, axis=1, keepdims=True) / m
        if l > 1:
            dA = cache[f"W{l}"].T @ dZ
            if l - 1 in layers:
                dA = dA * masks[l - 1] * scale(keep_prob)
            dZ = dA * (cache[f"Z{l - 1}"] > 0)
    return gradients


def backward_dropout_redrawn(X, Y, cache, keep_prob):
    rng = np.random.default_rng()
    return _dropout_backward(X, Y, cache, keep_prob, masks=lambda c: {l: rng.random(c[f"D{l}"].shape) < keep_prob for l in (1, 2)})


def backward_dropout_redrawn_seeded(X, Y, cache, keep_prob):
    rng = np.random.default_rng(0)
    return _dropout_backward(X, Y, cache, keep_prob, masks=lambda c: {l: rng.random(c[f"D{l}"].shape) < keep_prob for l in (1, 2)})


def backward_dropout_unscaled(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, scale=lambda keep_prob: 1.0)


def backward_dropout_times_keep_prob(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, scale=lambda keep_prob: keep_prob)


def backward_dropout_layer_2_only(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, layers=(2,))


def backward_dropout_layer_1_only(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, layers=(1,))


def backward_dropout_swapped_masks(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, masks=lambda c: {1: c["D2"], 2: c["D1"]})


def backward_dropout_unscaled_layer_1(X, Y, cache, keep_prob):
    gradients = _dropout_backward(X, Y, cache, keep_prob)
    # Layer 1 redone with the mask but without the 1 / keep_prob.
    dZ2 = (cache["W3"].T @ (cache["A3"] - Y)) * cache["D2"] / keep_prob * (cache["Z2"] > 0)
    dZ1 = (cache["W2"].T @ dZ2) * cache["D1"] * (cache["Z1"] > 0)
    gradients["dW1"], gradients["db1"] = dZ1 @ X.T / X.shape[1], np.sum(dZ1, axis=1, keepdims=True) / X.shape[1]
    return gradients


@pytest.mark.parametrize("mistake, keyword", [
    (backward_dropout_redrawn, "two calls with the same cache"),
    (backward_dropout_redrawn_seeded, "dropped for every example"),
    (backward_dropout_unscaled, "dA2 is not divided by keep_prob"),
    (backward_dropout_times_keep_prob, "multiplied by keep_prob"),
    (backward_dropout_layer_2_only, "unit 1 of layer 1"),
    (backward_dropout_layer_1_only, "unit 3 of layer 2"),
    (backward_dropout_swapped_masks, "other layer's mask"),
    (backward_dropout_unscaled_layer_1, "dA1 is not divided by keep_prob"),
])
def test_backward_propagation_with_dropout_mistakes(mistake, keyword):
    assert keyword in failure("backward_propagation_with_dropout", mistake)


def backward_dropout_float_masks(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, masks=lambda c: {l: c[f"D{l}"].astype(float) for l in (1, 2)})


def backward_dropout_where(X, Y, cache, keep_prob):
    return _dropout_backward(X, Y, cache, keep_prob, masks=lambda c: {l: np.where(c[f"D{l}"], 1, 0) for l in (1, 2)})


def backward_dropout_recomputes_activations(X, Y, cache, keep_prob):
    # Recomputes A1, A2 from Z and the masks instead of reading them: fine when the cache is consistent.
    rebuilt = dict(cache)
    for l in (1, 2):
        rebuilt[f"A{l}"] = relu(cache[f"Z{l}"]) * cache[f"D{l}"] / keep_prob
    return _dropout_backward(X, Y, rebuilt, keep_prob)


@pytest.mark.parametrize("variant", [backward_dropout_float_masks, backward_dropout_where,
                                     backward_dropout_recomputes_activations])
def test_backward_propagation_with_dropout_correct_variants(variant):
    assert "✓" in run_check("backward_propagation_with_dropout", variant)


def backward_dropout_layer_3_unmasked(X, Y, cache, keep_prob):
    gradients = _dropout_backward(X, Y, cache, keep_prob)
    # dW3 from relu(Z2), the activations before the mask and the scaling, instead of the cache's A2.
    gradients["dW3"] = (cache["A3"] - Y) @ relu(cache["Z2"]).T / X.shape[1]
    return gradients


def backward_dropout_layer_2_unmasked(X, Y, cache, keep_prob):
    gradients = _dropout_backward(X, Y, cache, keep_prob)
    # dW2 from relu(Z1), the activations before the mask and the scaling, instead of the cache's A1.
    dZ2 = (cache["W3"].T @ (cache["A3"] - Y)) * cache["D2"] / keep_prob * (cache["Z2"] > 0)
    gradients["dW2"] = dZ2 @ relu(cache["Z1"]).T / X.shape[1]
    return gradients


@pytest.mark.parametrize("mistake, keyword", [
    (backward_dropout_layer_3_unmasked, "Layer 3 involves no mask"),
    (backward_dropout_layer_2_unmasked, "dW2 differs from the gradient of the cost with the masks held fixed"),
])
def test_backward_propagation_with_dropout_later_diagnoses(mistake, keyword):
    """The questions after the masks and the scaling: layer 3 on its own, then every gradient."""
    assert keyword in failure("backward_propagation_with_dropout", mistake)


def test_dropout_fixture_units_are_active():
    """The dropped-unit questions mean something only if those units would otherwise get a gradient."""
    _, _, _, D1, D2, _ = checks._dropout_backward_fixture()
    cache = checks._EXPECTED["backward_propagation_with_dropout"]["cache"]
    for key, row in (("Z1", 1), ("Z1", 3), ("Z2", 3), ("Z2", 1)):
        assert np.any(cache[key][row] > 0), (key, row)
    assert not D1[1].any() and not D2[3].any() and D1[3].all() and D2[1].all()


def test_expected_values_file_is_what_the_generator_writes_now():
    """expected_values.json is derived from the reference and the checks' fixtures; regenerate it
    (python -m autograder.course.expected_values) when either changes."""
    committed = json.loads(expected_values.PATH.read_text(encoding="utf-8"))
    fresh = expected_values.expected_values()
    stale = "notebooks/dlwork/expected_values.json is stale: run .venv/bin/python -m autograder.course.expected_values"

    def compare(a, b, where):
        assert type(a) is type(b), f"{stale} ({where}: {type(a).__name__} in the file, {type(b).__name__} now)"
        if isinstance(a, dict):
            assert list(a) == list(b), f"{stale} ({where}: keys {list(a)} in the file, {list(b)} now)"
            for key in a:
                compare(a[key], b[key], f"{where}/{key}")
        elif isinstance(a, list) and a and isinstance(a[0], list):
            assert np.shape(a) == np.shape(b), f"{stale} ({where}: shape {np.shape(a)} in the file, {np.shape(b)} now)"
            # Another machine's BLAS may round a product differently in the last bit; a change of
            # the reference or of a fixture moves these values by far more than 1e-12.
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"{stale} ({where})")
        else:
            assert a == b, f"{stale} ({where})"

    compare(committed, fresh, "")


def test_expected_values_file_round_trips_exactly():
    """The file is in the generator's own format, and its floats read back as the same floats."""
    text = expected_values.PATH.read_text(encoding="utf-8")
    assert expected_values.render(json.loads(text)) == text


def test_dropout_expected_gradients_agree_with_numerical_gradients():
    """The stored gradients are those of the cost with the fixture's masks held fixed, by centred
    differences through the reference forward pass (independently of the reference backward pass)."""
    X, Y, params, D1, D2, keep_prob = checks._dropout_backward_fixture()
    expected = checks._EXPECTED["backward_propagation_with_dropout"]

    def cost(parameters):
        A3, _ = reg_ref.forward_propagation_with_dropout(X, parameters, keep_prob, MaskReplay(D1, D2))
        return compute_cost(A3, Y)

    numeric = numerical_gradient(cost, params)
    for key, value in numeric.items():
        # Centred differences with epsilon = 1e-6 are accurate to about 1e-10 here.
        np.testing.assert_allclose(expected["gradients"][key], value, rtol=0, atol=1e-8, err_msg=key)
    # And the stored cache is the forward pass of the fixture with these masks.
    A3, cache = reg_ref.forward_propagation_with_dropout(X, params, keep_prob, MaskReplay(D1, D2))
    for key, value in expected["cache"].items():
        np.testing.assert_allclose(value, cache[key], rtol=1e-12, atol=1e-15, err_msg=key)


def delegate_dropout_backward(X, Y, cache, keep_prob):
    # Once earned full marks: checks held a general dropout forward and backward pass.
    params = {k: cache[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")}
    return checks._dropout_case(X, Y, params, cache["D1"], cache["D2"], keep_prob)[1]


def delegate_zeros(layers_dims):
    # Once earned full marks: checks built parameters of any shape, so np.zeros_like did the rest.
    return {key: np.zeros_like(value) for key, value in checks._network_case(list(layers_dims), 1, 0)[2].items()}


@pytest.mark.parametrize("function, delegate", [
    ("backward_propagation_with_dropout", delegate_dropout_backward),
    ("initialize_parameters_zeros", delegate_zeros),
])
def test_the_checks_module_computes_no_answer(function, delegate):
    """dlwork.checks is importable next to the student's code: it keeps answers on its fixed cases
    only, never a helper that computes a graded function's answer."""
    failure(function, delegate)


# ================================================================== notebook 03: 1-D


def forward_adds(x, theta):
    return theta + x


def forward_returns_x(x, theta):
    return x


def backward_returns_theta(x, theta):
    return theta


def backward_returns_J(x, theta):
    return theta * x


@pytest.mark.parametrize("function, mistake, keyword", [
    ("forward_propagation", forward_adds, "x + theta"),
    ("forward_propagation", forward_returns_x, "x alone"),
    ("backward_propagation", backward_returns_theta, "holding x fixed"),
    ("backward_propagation", backward_returns_J, "J itself"),
])
def test_one_dimensional_model_mistakes(function, mistake, keyword):
    assert keyword in failure(function, mistake)


def check_without_backward(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = gradapprox
    return float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox)))


def check_one_sided(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta)) / epsilon
    grad = backward_propagation(x, theta)
    return float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox)))


def check_divides_by_epsilon(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / epsilon
    grad = backward_propagation(x, theta)
    return float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox)))


def check_returns_gradapprox(x, theta, epsilon=1e-7):
    return (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)


def check_signed(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return (grad - gradapprox) / (abs(grad) + abs(gradapprox))


def check_hard_codes_grad(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = x  # the derivative of theta * x, typed in instead of calling backward_propagation
    return float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox)))


def check_own_epsilon(x, theta, epsilon=1e-7):
    epsilon = 1e-7  # the argument is overwritten
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(abs(grad - gradapprox) / (abs(grad) + abs(gradapprox)))


def check_absolute_difference(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    return float(abs(backward_propagation(x, theta) - gradapprox))


def check_norm_of_sum(x, theta, epsilon=1e-7):
    gradapprox = (forward_propagation(x, theta + epsilon) - forward_propagation(x, theta - epsilon)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    return float(np.linalg.norm(grad - gradapprox) / np.linalg.norm(grad + gradapprox))


@pytest.mark.parametrize("mistake, keyword", [
    (check_own_epsilon, "use the epsilon argument"),
    (check_absolute_difference, "absolute difference"),
    (check_norm_of_sum, "The denominator is ||grad + gradapprox||"),
    (check_without_backward, "grad must come from backward_propagation"),
    (check_one_sided, "one-sided"),
    (check_divides_by_epsilon, "2 * epsilon"),
    (check_returns_gradapprox, "gradapprox itself"),
    (check_signed, "negative"),
    (check_hard_codes_grad, "call backward_propagation(x, theta)"),
])
def test_gradient_check_mistakes(mistake, keyword):
    assert keyword in failure("gradient_check", mistake)


def check_with_norms(x, theta, epsilon=1e-7):
    thetaplus, thetaminus = theta + epsilon, theta - epsilon
    gradapprox = (forward_propagation(x, thetaplus) - forward_propagation(x, thetaminus)) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    numerator = np.linalg.norm(grad - gradapprox)
    return numerator / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))  # a NumPy float


@pytest.mark.parametrize("variant", [check_with_norms])
def test_gradient_check_correct_variants(variant):
    assert "✓" in run_check("gradient_check", variant)


# ================================================================== notebook 03: N-D


def _gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, plus=None, minus=None, denominator=None,
                      norm=np.linalg.norm, divide=2):
    """The reference N-D check with one thing changed; ``plus(theta, i, epsilon)`` makes theta_plus."""
    plus = plus or (lambda theta, i, eps: _moved(theta, i, eps))
    minus = minus or (lambda theta, i, eps, theta_plus: _moved(theta, i, -eps))
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        theta_plus = plus(theta, i, epsilon)
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, layout))
        theta_minus = minus(theta, i, epsilon, theta_plus)
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, layout))
        gradapprox[i] = (J_plus - J_minus) / (divide * epsilon)
    numerator = norm(grad - gradapprox)
    return float(numerator / (denominator(grad, gradapprox) if denominator else norm(grad) + norm(gradapprox)))


def _moved(theta, i, step):
    moved = np.copy(theta)
    moved[i] += step
    return moved


def _aliased(theta, i, step):
    theta[i] += step  # no copy: theta itself moves
    return theta


def n_without_copy(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, plus=lambda t, i, e: _aliased(t, i, e),
                             minus=lambda t, i, e, tp: _aliased(t, i, -e))


def n_whole_vector(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, plus=lambda t, i, e: t + e,
                             minus=lambda t, i, e, tp: t - e)


def n_theta_plus_for_minus(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, minus=lambda t, i, e, tp: tp)


def n_l1(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, norm=lambda v: np.sum(np.abs(v)))


def n_denominator_grad_only(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, denominator=lambda g, a: np.linalg.norm(g))


def n_denominator_of_sum(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, denominator=lambda g, a: np.linalg.norm(g + a))


def n_divides_by_epsilon(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, divide=1)


def n_one_sided(parameters, gradients, X, Y, epsilon=1e-7):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon, minus=lambda t, i, e, tp: t, divide=1)


def n_perturbs_parameters(parameters, gradients, X, Y, epsilon=1e-7):
    """Moves the caller's arrays in place and never puts them back."""
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = []
    for name, _ in layout:
        for index in np.ndindex(parameters[name].shape):
            parameters[name][index] += epsilon
            J_plus, _ = forward_propagation_n(X, Y, parameters)
            parameters[name][index] -= 2 * epsilon
            J_minus, _ = forward_propagation_n(X, Y, parameters)
            gradapprox.append((J_plus - J_minus) / (2 * epsilon))
    gradapprox = np.array(gradapprox).reshape(-1, 1)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def n_copy_outside_loop(parameters, gradients, X, Y, epsilon=1e-7):
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    theta_plus, theta_minus = np.copy(theta), np.copy(theta)
    for i in range(theta.shape[0]):
        theta_plus[i] += epsilon
        theta_minus[i] -= epsilon
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_plus, layout))
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(theta_minus, layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def n_sorted_gradients(parameters, gradients, X, Y, epsilon=1e-7):
    """grad stacked in sorted key order (dW1, dW2, ..., db1, ...), theta in the layout's order."""
    theta, layout = dictionary_to_vector(parameters)
    grad = np.concatenate([gradients[key].reshape(-1, 1) for key in sorted(gradients)])
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        J_plus, _ = forward_propagation_n(X, Y, vector_to_dictionary(_moved(theta, i, epsilon), layout))
        J_minus, _ = forward_propagation_n(X, Y, vector_to_dictionary(_moved(theta, i, -epsilon), layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def n_moves_X(parameters, gradients, X, Y, epsilon=1e-7):
    """Moves one entry of the data X instead of entry i of theta."""
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        X_plus, X_minus = X.copy(), X.copy()
        X_plus[0, 0] += epsilon
        X_minus[0, 0] -= epsilon
        J_plus, _ = forward_propagation_n(X_plus, Y, vector_to_dictionary(theta, layout))
        J_minus, _ = forward_propagation_n(X_minus, Y, vector_to_dictionary(theta, layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


def n_ignores_cost_function(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    return _gradient_check_n(parameters, gradients, X, Y, epsilon)  # always forward_propagation_n


def n_own_epsilon(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    cost_function = cost_function or forward_propagation_n
    epsilon = 1e-7  # the argument is overwritten
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        J_plus, _ = cost_function(X, Y, vector_to_dictionary(_moved(theta, i, epsilon), layout))
        J_minus, _ = cost_function(X, Y, vector_to_dictionary(_moved(theta, i, -epsilon), layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return float(np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox)))


@pytest.mark.parametrize("mistake, keyword", [
    (n_ignores_cost_function, "ignores its cost_function argument"),
    (n_own_epsilon, "not a value of your own"),
    (n_sorted_gradients, "not in the same order"),
    (n_moves_X, "moving X"),
    (n_copy_outside_loop, "pile up"),
    (n_without_copy, "without a copy"),
    (n_whole_vector, "whole vector"),
    (n_theta_plus_for_minus, "all zeros"),
    (n_l1, "L1"),
    (n_denominator_grad_only, "||grad|| alone"),
    (n_denominator_of_sum, "||grad + gradapprox||"),
    (n_divides_by_epsilon, "2 * epsilon"),
    (n_one_sided, "one-sided"),
    (n_perturbs_parameters, "changed the parameters"),
])
def test_gradient_check_n_mistakes(mistake, keyword):
    assert keyword in failure("gradient_check_n", mistake)


def n_restores_in_place(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    """Perturbs one vector in place and puts each entry back: a correct variant."""
    cost_function = cost_function or forward_propagation_n
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(len(theta)):
        original = theta[i, 0]
        theta[i, 0] = original + epsilon
        J_plus, _ = cost_function(X, Y, vector_to_dictionary(theta, layout))
        theta[i, 0] = original - epsilon
        J_minus, _ = cost_function(X, Y, vector_to_dictionary(theta, layout))
        theta[i, 0] = original
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    return np.linalg.norm(grad - gradapprox) / (np.linalg.norm(grad) + np.linalg.norm(gradapprox))


def n_perturbs_and_restores_parameters(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    """Moves the caller's arrays by +eps, -2 eps, +eps: back where they were, up to rounding."""
    cost_function = cost_function or forward_propagation_n
    grads, approx = [], []
    for name in sorted(parameters, key=lambda k: (int(k[1:]), k[0] != "W")):
        for index in np.ndindex(parameters[name].shape):
            parameters[name][index] += epsilon
            J_plus, _ = cost_function(X, Y, parameters)
            parameters[name][index] -= 2 * epsilon
            J_minus, _ = cost_function(X, Y, parameters)
            parameters[name][index] += epsilon
            approx.append((J_plus - J_minus) / (2 * epsilon))
            grads.append(gradients["d" + name][index])
    grads, approx = np.array(grads), np.array(approx)
    return np.linalg.norm(grads - approx) / (np.linalg.norm(grads) + np.linalg.norm(approx))


def n_dict_copies(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    """Perturbs copies of the parameter dict instead of a vector."""
    cost_function = cost_function or forward_propagation_n
    diff_sq, grad_sq, approx_sq = 0.0, 0.0, 0.0
    for name, value in parameters.items():
        for index in np.ndindex(value.shape):
            moved = {k: v.copy() for k, v in parameters.items()}
            moved[name][index] += epsilon
            J_plus = cost_function(X, Y, moved)[0]
            moved[name][index] -= 2 * epsilon
            J_minus = cost_function(X, Y, moved)[0]
            approx = (J_plus - J_minus) / (2 * epsilon)
            grad = gradients["d" + name][index]
            diff_sq, grad_sq, approx_sq = diff_sq + (grad - approx) ** 2, grad_sq + grad**2, approx_sq + approx**2
    return float(np.sqrt(diff_sq) / (np.sqrt(grad_sq) + np.sqrt(approx_sq)))


@pytest.mark.parametrize("variant", [n_restores_in_place, n_perturbs_and_restores_parameters, n_dict_copies])
def test_gradient_check_n_correct_variants(variant):
    assert "✓" in run_check("gradient_check_n", variant)


def test_gradient_check_n_network_is_far_from_relu_kinks():
    """The small network's check expects a difference of a few 1e-9: no |Z| may be near 0."""
    X, Y, net = checks._network_case("gradient_check_n")
    _, cache = network.forward_propagation(X, net)
    assert min(np.abs(cache[f"Z{l}"]).min() for l in (1, 2)) > 1e-3
