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
from autograder.grading.judge import Mistake, part
from autograder.sandbox import fixtures
from autograder.sandbox.wire import CallableRef
from dlwork import network
from source_solutions import gradient_checking as reference

POINTS_1D = ((2.0, 4.0), (-3.0, 0.5), (0.25, -7.0), (10.0, 1e-3))


def call_with_globals(fn, overrides: dict, *args, **kwargs):
    """Call the student's function with some of its globals replaced by named fixtures.

    A fixture is a name in ``grader_fixtures``, or ``"module:name"`` of a module the
    student process can import (``dlwork``).
    """
    refs = {k: CallableRef(v if ":" in v else f"grader_fixtures:{v}") for k, v in overrides.items()}
    return fn.call_with_globals(refs, *args, **kwargs)


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


def _same(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-15


@part("forward_propagation", "J = theta * x for several values", 1)
def _forward(fn):
    for x, theta in POINTS_1D:
        got = expect_number(fn(x, theta), f"forward_propagation({x}, {theta})")
        want = reference.forward_propagation(x, theta)
        if abs(got - want) > 1e-12 * max(1.0, abs(want)):
            hint = next((h for value, h in ((x + theta, "That is x + theta: the model multiplies them."),
                                            (x, "That is x alone: J depends on theta too."),
                                            (theta, "That is theta alone: J depends on x too.")) if _same(got, value)), "")
            raise Mistake(f"forward_propagation({x}, {theta}) returns {got:g}; J(theta) = theta * x.", hint)


@part("backward_propagation", "dJ/dtheta for several values", 1)
def _backward(fn):
    for x, theta in POINTS_1D:
        got = expect_number(fn(x, theta), f"backward_propagation({x}, {theta})")
        want = reference.backward_propagation(x, theta)
        if abs(got - want) > 1e-12 * max(1.0, abs(want)):
            hint = next((h for value, h in ((x * theta, "That is J itself, not its derivative."),
                                            (theta, "That is theta: differentiate with respect to theta, holding x fixed.")) if _same(got, value)),
                        "Differentiate J(theta) = theta * x with respect to theta.")
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


NEGATED_BACKWARD = "dlwork.checks:_fixture_backward_negated"  # -(3 x theta^2): the cubic's slope with the wrong sign


def _explain_1d(got: float, forward, backward, x: float, theta: float, epsilon: float):
    """(diagnosis, hint) of the well-known mistake that gives ``got``, if one does.

    Every model is computed from the fixtures the student's function was run with,
    never from the reference's answer.
    """
    J = forward
    grad = backward(x, theta)
    gradapprox = (J(x, theta + epsilon) - J(x, theta - epsilon)) / (2 * epsilon)

    def relative(g, a):
        return abs(g - a) / (abs(g) + abs(a))

    one_sided = (J(x, theta + epsilon) - J(x, theta)) / epsilon
    models = [
        (relative(grad, one_sided), "It uses a one-sided difference (J(theta + eps) - J(theta)) / eps.",
         "The centred difference (J(theta + eps) - J(theta - eps)) / (2 eps) is far more accurate: its error shrinks like eps^2."),
        (relative(grad, 2 * gradapprox), "It divides by epsilon instead of 2 * epsilon.", "theta + eps and theta - eps are 2 eps apart."),
        (gradapprox, "gradient_check returns gradapprox itself, not the relative difference.", "Return |grad - gradapprox| / (|grad| + |gradapprox|)."),
        (grad, "gradient_check returns grad itself, not the relative difference.", "Return |grad - gradapprox| / (|grad| + |gradapprox|)."),
        (abs(grad - gradapprox), "gradient_check returns the absolute difference, not the relative one.", "Divide by |grad| + |gradapprox|."),
        ((grad - gradapprox) ** 2 / (grad**2 + gradapprox**2), "The norms in gradient_check are squared.", "Use |grad - gradapprox| / (|grad| + |gradapprox|), the norms as they are."),
        (relative(x, gradapprox), "Your grad does not come from backward_propagation: it is the notebook model's derivative, written out.",
         "Call backward_propagation(x, theta): the check runs your function with other models."),
    ]
    if grad * gradapprox < 0:
        models.append((abs(grad - gradapprox) / abs(grad + gradapprox), "The denominator is |grad + gradapprox|; it is |grad| + |gradapprox|.",
                       "Two norms added: a gradient of the wrong sign then gives the largest difference, 1."))
    for value, diagnosis, hint in models:
        if not _same(got, relative(grad, gradapprox), 1e-6) and _same(got, value, 1e-6):
            return diagnosis, hint
    return None


@part("gradient_check", "reports a tiny difference for a correct gradient", 0.5)
def _gc_correct(fn):
    for x, theta in POINTS_1D[:3]:
        got, want = _student_and_reference(fn, "linear_forward", "linear_backward", x, theta, 1e-7)
        # a correct check of a linear model is limited by round-off only: about 1e-9
        if not got < 1e-7:
            raise Mistake(*(_explain_1d(got, fixtures.linear_forward, fixtures.linear_backward, x, theta, 1e-7) or (
                f"For a model with a correct gradient your gradient_check returns {got:.3g}; it should be tiny (< 1e-7).",
                "Compare the centred difference with backward_propagation's gradient using the relative difference.")))


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
            raise Mistake(*(_explain_1d(got, fixtures.linear_forward, fixtures.wrong_backward, x, theta, 1e-7) or (
                f"For a wrong gradient your gradient_check returns {got:.4g}, which is not the relative difference of grad and gradapprox.",
                "difference = |grad - gradapprox| / (|grad| + |gradapprox|).")))
    # A gradient of the wrong sign: |grad - gradapprox| / (|grad| + |gradapprox|) is then exactly 1.
    x, theta, epsilon = 1.5, 2.0, 1e-3
    got = expect_number(call_with_globals(fn, {"forward_propagation": "cubic_forward", "backward_propagation": NEGATED_BACKWARD}, x, theta, epsilon),
                        "the difference gradient_check returns")
    if abs(got - 1.0) > 1e-9:
        from dlwork.checks import _fixture_backward_negated

        raise Mistake(*(_explain_1d(got, fixtures.cubic_forward, _fixture_backward_negated, x, theta, epsilon) or (
            f"For a gradient of the wrong sign your gradient_check returns {got:.4g}; the relative difference is then exactly 1.",
            "difference = |grad - gradapprox| / (|grad| + |gradapprox|).")))


@part("gradient_check", "centred difference with the given epsilon", 1)
def _gc_centred(fn):
    for x, theta, epsilon in ((1.0, 2.0, 1e-2), (-2.0, 1.5, 1e-3), (0.5, -3.0, 1e-2)):
        got, want = _student_and_reference(fn, "cubic_forward", "cubic_backward", x, theta, epsilon)
        if abs(got - want) <= 1e-3 * want + 1e-12:
            continue
        explained = _explain_1d(got, fixtures.cubic_forward, fixtures.cubic_backward, x, theta, epsilon)
        if explained:
            raise Mistake(*explained)
        if got < 1e-3 * want:
            # The centred difference of a cubic with this epsilon is visibly off the slope; a much
            # smaller step than the one given makes the difference vanish.
            raise Mistake(f"On a curved model with epsilon = {epsilon} your gradient_check returns {got:.3g}, as if the step were far smaller: it does not use its epsilon argument.",
                          "Perturb theta by the epsilon argument, and divide by 2 * epsilon.")
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


# J = ||theta||^2 / 2 + 100 * sum(X), the visible check's stand-in: its gradient is theta itself, centred
# differences are exact for it whatever epsilon, and moving X (which the checks pass as zeros) shows.
HALF_SQUARE = "dlwork.checks:_fixture_cost_half_square"


def _relative(grad: np.ndarray, approx: np.ndarray) -> float:
    return float(np.linalg.norm(grad - approx) / (np.linalg.norm(grad) + np.linalg.norm(approx)))


@part("gradient_check_n", "one entry at a time, centred, in theta's order (a quadratic cost, a large epsilon)", 1)
def _gcn_quadratic(fn):
    parameters = _network_case(2)[0]
    gradients = {"d" + key: parameters[key] for key in reversed(list(parameters))}  # the dict's order is not theta's
    X, Y = np.zeros((parameters["W1"].shape[1], 2)), np.zeros((1, 2))
    epsilon = 0.5
    got = _gcn(fn, parameters, gradients, X, Y, epsilon, cost_function=CallableRef(HALF_SQUARE))
    if got <= 1e-9:
        return
    theta, _ = reference.dictionary_to_vector(parameters)
    n = theta.shape[0]
    models = [  # what gradapprox becomes under each mistake, for this cost (gradient: theta)
        (np.zeros_like(theta), "gradapprox is all zeros: J_plus and J_minus came out equal. J_minus must come from theta_minus, not theta_plus, and each must move entry i of theta.",
         "Make theta_plus and theta_minus from fresh copies of theta."),
        (theta + epsilon / 2, "It uses a one-sided difference (J_plus - J(theta)) / epsilon.", "Use the centred difference (J_plus - J_minus) / (2 epsilon)."),
        (2 * theta, "gradapprox is twice the gradient: it divides by epsilon instead of 2 * epsilon.", "theta_plus and theta_minus are 2 epsilon apart."),
        (np.full_like(theta, theta.sum()), "Every entry of gradapprox is the same: the whole vector is perturbed, not entry i alone.", "Move only entry i of theta."),
        (theta / 2 + epsilon / 4, "J_minus is J at theta itself: without a copy, theta_plus and theta_minus are the same array and the second move undoes the first.",
         "Make each a fresh np.copy of theta."),
        (np.cumsum(theta).reshape(theta.shape), "The perturbations pile up from one i to the next: theta is copied once, before the loop.",
         "Copy theta afresh for every i, inside the loop."),
        (np.full_like(theta, 100.0), "gradapprox comes from moving X, not theta.", "Perturb entry i of theta; the data X stay fixed."),
        (np.full_like(theta, 100.0 * X.size), "gradapprox comes from moving X, not theta.", "Perturb entry i of theta; the data X stay fixed."),
    ]
    for approx, diagnosis, hint in models:
        if abs(got - _relative(theta, approx)) <= 1e-6 * got:
            raise Mistake(diagnosis, hint)
    broadcast = float(np.linalg.norm(theta - theta.reshape(-1)) / (2 * np.linalg.norm(theta)))  # (n, 1) minus (n,): n x n
    if abs(got - broadcast) <= 1e-6 * got:
        raise Mistake(f"grad - gradapprox is a {n} x {n} matrix: gradapprox is 1-D while grad is a column (n, 1), and NumPy broadcasts the two.",
                      "Give gradapprox the shape of theta (np.zeros_like(theta)).")
    if abs(got - reference.gradient_check_n(parameters, gradients, X, Y, epsilon)) <= 1e-6 * got:
        raise Mistake("gradient_check_n ignores its cost_function argument: given another cost, it still differentiates forward_propagation_n.",
                      "When cost_function is given, compute J_plus and J_minus with it; use forward_propagation_n only when it is None.")
    # With every entry of theta equal, a grad stacked in another order than theta is still right.
    ones = {key: np.ones_like(value) for key, value in parameters.items()}
    if _gcn(fn, ones, {"d" + key: ones[key] for key in reversed(list(ones))}, X, Y, epsilon, cost_function=CallableRef(HALF_SQUARE)) <= 1e-9:
        raise Mistake("grad and gradapprox are not in the same order: each entry of gradapprox sits against another entry of grad.",
                      "Stack grad in theta's order, the layout dictionary_to_vector returned (gradients_to_vector does).")
    raise Mistake(f"For a quadratic cost whose gradient is theta itself, and gradients equal to theta, your gradient_check_n returns {got:.4g} (epsilon = {epsilon}); "
                  "centred differences are exact for a quadratic, so it should be 0.",
                  f"For each of the {n} entries: copy theta, move entry i up (J_plus) and, on another copy, down (J_minus); gradapprox[i] = (J_plus - J_minus) / (2 eps).")


@part("gradient_check_n", "leaves the parameters and gradients unchanged", 0.5)
def _gcn_no_mutation(fn):
    parameters, gradients, X, Y = _network_case(0)
    params_in = {k: v.copy() for k, v in parameters.items()}
    grads_in = {k: v.copy() for k, v in gradients.items()}
    X_in = X.copy()
    fn(params_in, grads_in, X_in, Y.copy(), 1e-6)
    if set(params_in) != set(parameters) or any(not np.array_equal(params_in[k], parameters[k]) for k in parameters):
        raise Mistake("gradient_check_n changes the parameters it is given, in place.", "Perturb copies (np.copy(theta)), not the original vector or dict.")
    if any(not np.array_equal(grads_in.get(k), gradients[k]) for k in gradients):
        raise Mistake("gradient_check_n changes the gradients it is given.")
    if not np.array_equal(X_in, X):
        raise Mistake("gradient_check_n changes X.", "Only theta is perturbed; the data stay as they are.")


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
            (np.linalg.norm(grad - approx), "It returns the numerator ||grad - gradapprox|| without a denominator.", "Divide by ||grad|| + ||gradapprox|| to make the difference relative."),
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


COST_FUNCTION_EPSILONS = (1e-2, 1e-5)


@functools.lru_cache(maxsize=None)
def _cost_function_answers(epsilon: float) -> dict[str, float]:
    """The reference's differences with the quartic cost fixture: as asked, and as two mistakes would compute them."""
    parameters, gradients, X, Y = _network_case(1)  # gradients WITHOUT the penalty's term
    return {
        "right": reference.gradient_check_n(parameters, gradients, X, Y, epsilon, cost_function=fixtures.quartic_cost),
        "forward_propagation_n": reference.gradient_check_n(parameters, gradients, X, Y, epsilon),
    }


@part("gradient_check_n", "uses cost_function and epsilon as given", 1)
def _gcn_cost_function(fn):
    parameters, gradients, X, Y = _network_case(1)
    got, answers = {}, {}
    for epsilon in COST_FUNCTION_EPSILONS:
        got[epsilon] = _gcn(fn, parameters, gradients, X, Y, epsilon, cost_function=CallableRef("grader_fixtures:quartic_cost"))
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
