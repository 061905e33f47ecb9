"""Hidden checks for notebook 03: the 1-D model and gradient checking in 1-D and N-D.

``gradient_check`` is judged with other models swapped in for
``forward_propagation``/``backward_propagation`` (a wrong gradient must be
reported; a curved model separates centred from one-sided differences), and
its answer is compared with the reference run on the same models.
``gradient_check_n`` is judged on networks of several sizes, with correct and
deliberately wrong gradients and another cost function, against the reference
computed at grade time.
"""

from __future__ import annotations

import contextlib
import functools

import numpy as np

from autograder.hidden.common import expect_number, labels, three_layer_parameters
from autograder.judge import Mistake, part
from autograder.sandbox_runner import CallableRef
from autograder.student_fixtures import grader_fixtures as fixtures
from dlwork import network
from source_solutions import gradient_checking as reference

POINTS_1D = ((2.0, 4.0), (-3.0, 0.5), (0.25, -7.0), (10.0, 1e-3))


def call_with_globals(fn, overrides: dict, *args, **kwargs):
    """Call the student's function with some of its globals replaced by named fixtures."""
    return fn.call_with_globals({k: CallableRef(f"grader_fixtures:{v}") for k, v in overrides.items()}, *args, **kwargs)


@contextlib.contextmanager
def reference_with(**names):
    """Run the reference gradient_check with the same fixtures in place of its globals."""
    saved = {k: getattr(reference, k) for k in names}
    for k, v in names.items():
        setattr(reference, k, getattr(fixtures, v))
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(reference, k, v)


# ------------------------------------------------------------ 1-D model


@part("forward_propagation", "J = theta * x for several values", 1)
def _forward(fn):
    for x, theta in POINTS_1D:
        got = expect_number(fn(x, theta), f"forward_propagation({x}, {theta})")
        want = reference.forward_propagation(x, theta)
        if abs(got - want) > 1e-12 * max(1.0, abs(want)):
            raise Mistake(f"forward_propagation({x}, {theta}) returns {got:g}; J(theta) = theta * x.")


@part("backward_propagation", "dJ/dtheta for several values", 1)
def _backward(fn):
    for x, theta in POINTS_1D:
        got = expect_number(fn(x, theta), f"backward_propagation({x}, {theta})")
        want = reference.backward_propagation(x, theta)
        if abs(got - want) > 1e-12 * max(1.0, abs(want)):
            hint = "That is J itself, not its derivative." if abs(got - x * theta) < 1e-12 else "Differentiate J(theta) = theta * x with respect to theta."
            raise Mistake(f"backward_propagation({x}, {theta}) returns {got:g}.", hint)


# ------------------------------------------------------- 1-D gradient check


def _student_and_reference(fn, forward: str, backward: str, x: float, theta: float, epsilon: float):
    got = expect_number(
        call_with_globals(fn, {"forward_propagation": forward, "backward_propagation": backward}, x, theta, epsilon),
        "the difference gradient_check returns",
    )
    with reference_with(forward_propagation=forward, backward_propagation=backward):
        want = reference.gradient_check(x, theta, epsilon)
    return got, want


@part("gradient_check", "reports a tiny difference for a correct gradient", 0.5)
def _gc_correct(fn):
    for x, theta in POINTS_1D[:3]:
        got, want = _student_and_reference(fn, "linear_forward", "linear_backward", x, theta, 1e-7)
        # a correct check of a linear model is limited by round-off only: about 1e-9
        if not got < 1e-7:
            raise Mistake(f"For a model with a correct gradient your gradient_check returns {got:.3g}; it should be tiny (< 1e-7).", "Compare the centred difference with backward_propagation's gradient using the relative difference.")


@part("gradient_check", "reports a large difference for a wrong gradient", 1)
def _gc_wrong(fn):
    for x, theta in POINTS_1D[:3]:
        got, want = _student_and_reference(fn, "linear_forward", "wrong_backward", x, theta, 1e-7)
        if abs(got - want) > 1e-6 * max(want, 1e-12) + 1e-9:
            if got < 1e-6:
                raise Mistake(
                    "When backward_propagation is wrong, your gradient_check still reports a tiny difference: it never compares with backward_propagation.",
                    "grad must come from backward_propagation(x, theta); only gradapprox comes from the centred difference.",
                )
            raise Mistake(f"For a wrong gradient your gradient_check returns {got:.4g}, which is not the relative difference of grad and gradapprox.", "difference = |grad - gradapprox| / (|grad| + |gradapprox|).")


@part("gradient_check", "centred difference with the given epsilon", 1)
def _gc_centred(fn):
    for x, theta, epsilon in ((1.0, 2.0, 1e-2), (-2.0, 1.5, 1e-3), (0.5, -3.0, 1e-2)):
        got, want = _student_and_reference(fn, "cubic_forward", "cubic_backward", x, theta, epsilon)
        if abs(got - want) <= 1e-3 * want + 1e-12:
            continue
        J = fixtures.cubic_forward
        grad = fixtures.cubic_backward(x, theta)
        one_sided = (J(x, theta + epsilon) - J(x, theta)) / epsilon
        models = [
            (one_sided, "It uses a one-sided difference (J(theta + eps) - J(theta)) / eps.", "The centred difference (J(theta + eps) - J(theta - eps)) / (2 eps) is far more accurate: its error shrinks like eps^2."),
            ((J(x, theta + epsilon) - J(x, theta - epsilon)) / epsilon, "It divides by epsilon instead of 2 * epsilon.", "theta + eps and theta - eps are 2 eps apart."),
        ]
        for approx, diagnosis, hint in models:
            if abs(got - abs(grad - approx) / (abs(grad) + abs(approx))) <= 1e-6 * max(got, 1e-12):
                raise Mistake(diagnosis, hint)
        gradapprox = (J(x, theta + epsilon) - J(x, theta - epsilon)) / (2 * epsilon)
        if abs(got - gradapprox) <= 1e-6 * abs(gradapprox):
            raise Mistake("gradient_check returns gradapprox, not the relative difference.", "Return |grad - gradapprox| / (|grad| + |gradapprox|).")
        if abs(got - abs(grad - gradapprox)) <= 1e-6 * max(abs(grad - gradapprox), 1e-15):
            raise Mistake("gradient_check returns the absolute difference, not the relative one.", "Divide by |grad| + |gradapprox|.")
        raise Mistake(f"On a curved model (epsilon = {epsilon}) your gradient_check returns {got:.4g}, which is not the relative difference for the centred estimate.", "Use theta + epsilon and theta - epsilon, and the relative difference.")


# ------------------------------------------------------ N-D gradient check

NETWORKS = (([3, 4, 2, 1], 5, 81), ([2, 5, 3, 1], 7, 82), ([4, 3, 1], 6, 83), ([2, 3, 3, 2, 1], 4, 84))


@functools.lru_cache(maxsize=None)
def _network_case(index: int):
    """Parameters, backprop's gradients, X and Y of ``NETWORKS[index]`` (read-only, made once per process)."""
    dims, m, seed = NETWORKS[index]
    rng = np.random.default_rng(seed)
    parameters = three_layer_parameters(rng, dims, bias_scale=0.3)
    X = rng.standard_normal((dims[0], m))
    Y = labels(rng, m)
    _, cache = network.forward_propagation(X, parameters)
    gradients = network.backward_propagation(X, Y, cache)
    gradients = {k: v for k, v in gradients.items() if k[1] in "Wb"}
    for array in [*parameters.values(), *gradients.values(), X, Y]:
        array.setflags(write=False)
    return parameters, gradients, X, Y


@functools.lru_cache(maxsize=None)
def _reference_correct(index: int) -> float:
    """The reference's difference for backprop's (correct) gradients of ``NETWORKS[index]``."""
    parameters, gradients, X, Y = _network_case(index)
    return reference.gradient_check_n(parameters, gradients, X, Y, 1e-6)


@functools.lru_cache(maxsize=None)
def _broken_case(index: int):
    """Wrong gradients for ``NETWORKS[index]`` and the reference's difference for them."""
    parameters, gradients, X, Y = _network_case(index)
    broken = _broken(gradients, NETWORKS[index][2])
    for array in broken.values():
        array.setflags(write=False)
    return broken, reference.gradient_check_n(parameters, broken, X, Y, 1e-6)


def _broken(gradients: dict, seed: int) -> dict:
    """The same gradients with a few realistic bugs: one block scaled, one entry off."""
    rng = np.random.default_rng(seed)
    broken = {k: v.copy() for k, v in gradients.items()}
    keys = sorted(broken)
    broken[keys[int(rng.integers(len(keys)))]] *= 1.8
    key = keys[int(rng.integers(len(keys)))]
    broken[key].flat[0] += 0.05
    return broken


def _gcn(fn, parameters, gradients, X, Y, epsilon, **kwargs):
    value = fn(
        {k: v.copy() for k, v in parameters.items()}, {k: v.copy() for k, v in gradients.items()}, X.copy(), Y.copy(), epsilon, **kwargs
    )
    return expect_number(value, "the difference gradient_check_n returns")


@part("gradient_check_n", "a tiny difference for correct gradients, several network sizes", 1)
def _gcn_correct(fn):
    for i, (dims, m, seed) in enumerate(NETWORKS):
        parameters, gradients, X, Y = _network_case(i)
        got = _gcn(fn, parameters, gradients, X, Y, 1e-6)
        want = _reference_correct(i)
        # round-off at eps = 1e-6 leaves about 1e-9; 1e-6 leaves room for any summation order
        if not got < max(1e-6, 10 * want):
            if abs(got - 1.0) < 1e-12:
                raise Mistake("gradient_check_n returns exactly 1.0 for correct gradients: J_minus is computed from theta_plus.", "Perturb a fresh copy of theta downwards for J_minus.")
            raise Mistake(
                f"For correct gradients of a {'-'.join(map(str, dims))} network your gradient_check_n returns {got:.3g}; it should be tiny.",
                "Perturb one entry of a copy of theta at a time, rebuild the dict with vector_to_dictionary, and compare with gradients_to_vector's vector.",
            )


@part("gradient_check_n", "the right difference for wrong gradients", 1.5)
def _gcn_wrong(fn):
    for i, (dims, m, seed) in enumerate(NETWORKS):
        parameters, gradients, X, Y = _network_case(i)
        broken, want = _broken_case(i)
        got = _gcn(fn, parameters, broken, X, Y, 1e-6)
        if abs(got - want) <= 1e-5 * want + 1e-9:
            continue
        theta, layout = reference.dictionary_to_vector(parameters)
        grad = reference.gradients_to_vector(broken, layout)
        approx = reference.gradients_to_vector(gradients, layout)  # accurate to ~1e-9, far below the bugs
        models = [
            (np.sum(np.abs(grad - approx)) / (np.sum(np.abs(grad)) + np.sum(np.abs(approx))), "It uses sums of absolute values (an L1 norm) instead of the 2-norm.", "Use np.linalg.norm, the Euclidean norm, for all three norms."),
            (np.linalg.norm(grad - approx) / np.linalg.norm(grad), "The denominator is only ||grad||.", "The denominator is ||grad|| + ||gradapprox||."),
            (np.linalg.norm(grad - approx) / np.linalg.norm(grad + approx), "The denominator is ||grad + gradapprox||.", "The denominator is ||grad|| + ||gradapprox||: two norms added."),
            (np.linalg.norm(grad - approx), "It returns the numerator ||grad - gradapprox|| without dividing.", "Divide by ||grad|| + ||gradapprox|| to make the difference relative."),
        ]
        for value, diagnosis, hint in models:
            if abs(got - value) <= 1e-4 * value + 1e-9:
                raise Mistake(diagnosis, hint)
        if abs(got - 1.0) < 1e-12:
            raise Mistake("gradient_check_n returns exactly 1.0: J_minus is computed from theta_plus, so gradapprox is 0.", "Make theta_minus from a fresh copy of theta.")
        raise Mistake(
            f"For wrong gradients of a {'-'.join(map(str, dims))} network your gradient_check_n returns {got:.4g}, which is not the relative difference of grad and gradapprox.",
            "For each i: copy theta, nudge entry i up (J_plus) and, on another copy, down (J_minus); gradapprox[i] = (J_plus - J_minus) / (2 eps).",
        )


@part("gradient_check_n", "leaves the parameters and gradients unchanged", 0.5)
def _gcn_no_mutation(fn):
    parameters, gradients, X, Y = _network_case(0)
    params_in = {k: v.copy() for k, v in parameters.items()}
    grads_in = {k: v.copy() for k, v in gradients.items()}
    X_in = X.copy()
    fn(params_in, grads_in, X_in, Y.copy(), 1e-6)
    if set(params_in) != set(parameters) or any(not np.array_equal(params_in[k], parameters[k]) for k in parameters):
        raise Mistake("gradient_check_n changes the parameters it is given.", "Perturb copies (np.copy(theta)), not the original vector or dict.")
    if any(not np.array_equal(grads_in.get(k), gradients[k]) for k in gradients):
        raise Mistake("gradient_check_n changes the gradients it is given.")
    if not np.array_equal(X_in, X):
        raise Mistake("gradient_check_n changes X.", "Only theta is perturbed; the data stay as they are.")


COST_FUNCTION_EPSILONS = (1e-2, 1e-5)


@functools.lru_cache(maxsize=None)
def _cost_function_answers(epsilon: float) -> dict[str, float]:
    """The reference's differences with the L2 cost fixture: as asked, and as two mistakes would compute them."""
    parameters, gradients, X, Y = _network_case(1)  # gradients WITHOUT the L2 term
    return {
        "right": reference.gradient_check_n(parameters, gradients, X, Y, epsilon, cost_function=fixtures.l2_cost),
        "forward_propagation_n": reference.gradient_check_n(parameters, gradients, X, Y, epsilon),
    }


@part("gradient_check_n", "uses cost_function and epsilon as given", 1)
def _gcn_cost_function(fn):
    parameters, gradients, X, Y = _network_case(1)
    got, answers = {}, {}
    for epsilon in COST_FUNCTION_EPSILONS:
        got[epsilon] = _gcn(fn, parameters, gradients, X, Y, epsilon, cost_function=CallableRef("grader_fixtures:l2_cost"))
        answers[epsilon] = _cost_function_answers(epsilon)
    wrong = [e for e in COST_FUNCTION_EPSILONS if abs(got[e] - answers[e]["right"]) > 1e-4 * answers[e]["right"] + 1e-9]
    if not wrong:
        return
    if all(abs(got[e] - answers[e]["forward_propagation_n"]) <= 1e-6 * answers[e]["forward_propagation_n"] + 1e-9 for e in COST_FUNCTION_EPSILONS):
        raise Mistake(
            "gradient_check_n ignores its cost_function argument: given another cost, it still differentiates forward_propagation_n.",
            "When cost_function is given, compute J_plus and J_minus with it; use forward_propagation_n only when it is None.",
        )
    small, large = COST_FUNCTION_EPSILONS[1], COST_FUNCTION_EPSILONS[0]
    # The right answers for the two steps differ by far more than round-off (> 1e-4 of their size).
    if abs(got[small] - got[large]) <= 1e-7 * abs(got[small]):
        raise Mistake(
            f"gradient_check_n returns the same difference ({got[small]:.4g}) for epsilon = {large:g} and {small:g}: it ignores its epsilon argument.",
            "Perturb theta by the epsilon argument, and divide by 2 * epsilon.",
        )
    e = wrong[0]
    raise Mistake(
        f"With another cost function and epsilon = {e:g}, your gradient_check_n returns {got[e]:.4g}, which is not the relative difference for that cost.",
        "Compute J_plus and J_minus with cost_function, perturbing theta by the epsilon argument.",
    )
