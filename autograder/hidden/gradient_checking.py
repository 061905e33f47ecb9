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

import functools
import math
from collections.abc import Callable

import numpy as np

from autograder.grading.judge import Mistake, part
from autograder.hidden.common import expect_number, labels, relative_error, student_side, three_layer_parameters
from autograder.sandbox import fixtures
from dlwork import network
from dlwork.checks import mistakes, stand_ins
from dlwork.checks.stand_ins import call_with_globals, globals_replaced
from source_solutions import gradient_checking as reference

POINTS_1D = ((2.0, 4.0), (-3.0, 0.5), (0.25, -7.0), (10.0, 1e-3))
GC, GCN = mistakes.GRADIENT_CHECK, mistakes.GRADIENT_CHECK_N

# ------------------------------------------------------------ 1-D model


def _same(a: float, b: float, rtol: float = 1e-9) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-15


def _one_d(fn, name: str, rule: str, mistaken: Callable[[float, float], list[tuple[float, str]]], fallback: str) -> None:
    """``fn`` agrees with the reference's ``name`` on every point; else the mistake that gives its value.

    ``mistaken(x, theta)`` lists ``(value, explanation)``: what each mistake of the table would return.
    """
    for x, theta in POINTS_1D:
        got = expect_number(fn(x, theta), f"{name}({x}, {theta})")
        want = getattr(reference, name)(x, theta)
        if abs(got - want) > 1e-12 * max(1.0, abs(want)):
            hint = mistakes.first_match(got, mistaken(x, theta), rtol=1e-9, atol=1e-15) or fallback
            raise Mistake(f"{name}({x}, {theta}) returns {got:g}; {rule}", hint)


@part("forward_propagation", "J = theta * x for several values", 1)
def _forward(fn):
    table = mistakes.FORWARD_PROPAGATION
    _one_d(
        fn,
        "forward_propagation",
        "J(theta) = theta * x.",
        lambda x, theta: [(x + theta, table["x + theta"]), (x, table["x"]), (theta, table["theta"])],
        "",
    )


@part("backward_propagation", "dJ/dtheta for several values", 1)
def _backward(fn):
    table = mistakes.BACKWARD_PROPAGATION
    _one_d(
        fn,
        "backward_propagation",
        "it should be dJ/dtheta of J(theta) = theta * x.",
        lambda x, theta: [(x * theta, table["J"]), (theta, table["theta"])],
        "Differentiate J(theta) = theta * x with respect to theta.",
    )


# ------------------------------------------------------- 1-D gradient check


def _student_and_reference(fn, forward, backward, x: float, theta: float, epsilon: float):
    """The difference the student's gradient_check returns with these stand-ins, and the reference's."""
    overrides = {"forward_propagation": forward, "backward_propagation": backward}
    got = expect_number(
        call_with_globals(fn, {name: student_side(f) for name, f in overrides.items()}, x, theta, epsilon),
        "the difference gradient_check returns",
    )
    with globals_replaced(reference.gradient_check, overrides):
        want = reference.gradient_check(x, theta, epsilon)
    return got, want


def _explain_1d(got: float, forward, backward, x: float, theta: float, epsilon: float) -> str | None:
    """The explanation of the well-known mistake that gives ``got``, if one does.

    Every model is computed from the stand-ins the student's function was run with,
    never from the reference's answer.
    """
    J = forward
    grad = backward(x, theta)
    gradapprox = (J(x, theta + epsilon) - J(x, theta - epsilon)) / (2 * epsilon)
    if _same(got, relative_error(grad, gradapprox), 1e-6):
        return None
    models = {
        "one-sided": relative_error(grad, (J(x, theta + epsilon) - J(x, theta)) / epsilon),
        "one-sided backwards": relative_error(grad, (J(x, theta) - J(x, theta - epsilon)) / epsilon),
        "over epsilon": relative_error(grad, 2 * gradapprox),
        "gradapprox": gradapprox,
        "grad": grad,
        "absolute": abs(grad - gradapprox),
        "signed": (grad - gradapprox) / (abs(grad) + abs(gradapprox)),
        "squared": (grad - gradapprox) ** 2 / (grad**2 + gradapprox**2),
    }
    if grad * gradapprox < 0:
        models["norm of sum"] = abs(grad - gradapprox) / abs(grad + gradapprox)
    return mistakes.first_match(got, [(value, GC[key]) for key, value in models.items()], rtol=1e-6, atol=1e-15)


def _models_ignored(fn) -> str | None:
    """Does ``fn`` call forward_propagation and backward_propagation? The explanation when it does not.

    Each is swapped in turn for a model that answers NaN (the other stays a linear model and
    its gradient): a result that is still a number never called it.
    """
    x, theta, epsilon = 2.0, 4.0, 1e-3

    def calls(name: str) -> bool:
        models = {"forward_propagation": fixtures.linear_forward, "backward_propagation": fixtures.linear_backward}
        models[name] = stand_ins.not_a_number
        result = call_with_globals(fn, {key: student_side(f) for key, f in models.items()}, x, theta, epsilon)
        try:
            return math.isnan(float(result))
        except (TypeError, ValueError):
            return True  # not a number at all: the other checks say what is wrong with it

    calls_forward, calls_backward = calls("forward_propagation"), calls("backward_propagation")
    if calls_forward and calls_backward:
        return None
    got, _ = _student_and_reference(fn, fixtures.linear_forward, fixtures.linear_backward, x, theta, epsilon)
    slope = fixtures.linear_backward(x, theta)  # grad, and (up to round-off) gradapprox: the model is linear
    return mistakes.models_ignored(calls_forward, calls_backward, got, grad=slope, gradapprox=slope)


@part("gradient_check", "reports a tiny difference for a correct gradient", 0.5)
def _gc_correct(fn):
    for x, theta in POINTS_1D[:3]:
        got, want = _student_and_reference(fn, fixtures.linear_forward, fixtures.linear_backward, x, theta, 1e-7)
        # a correct check of a linear model is limited by round-off only: about 1e-9
        if not got < 1e-7:
            ignored = _models_ignored(fn)
            if ignored:
                raise Mistake(f"For a model with a correct gradient your gradient_check returns {got:.3g}. {ignored}")
            lead = f"For a model with a correct gradient your gradient_check returns {got:.3g}; it should be tiny (< 1e-7)."
            explained = _explain_1d(got, fixtures.linear_forward, fixtures.linear_backward, x, theta, 1e-7)
            raise Mistake(
                f"{lead} {explained}" if explained else lead,
                "" if explained else "Compare the centred difference with backward_propagation's gradient using the relative difference.",
            )


@part("gradient_check", "reports a large difference for a wrong gradient", 1)
def _gc_wrong(fn):
    for x, theta in POINTS_1D[:3]:
        got, want = _student_and_reference(fn, fixtures.linear_forward, fixtures.wrong_backward, x, theta, 1e-7)
        if abs(got - want) > 1e-6 * max(want, 1e-12) + 1e-9:
            ignored = _models_ignored(fn)
            if ignored:
                raise Mistake(f"For a wrong gradient your gradient_check returns {got:.4g}. {ignored}")
            if got < 1e-6:
                raise Mistake(
                    "When backward_propagation is wrong, your gradient_check still reports a tiny difference: it never compares with backward_propagation.",
                    GC["grad is gradapprox"],
                )
            lead = (
                f"For a wrong gradient your gradient_check returns {got:.4g}, which is not the relative difference of grad and gradapprox."
            )
            explained = _explain_1d(got, fixtures.linear_forward, fixtures.wrong_backward, x, theta, 1e-7)
            raise Mistake(
                f"{lead} {explained}" if explained else lead,
                "" if explained else "difference = |grad - gradapprox| / (|grad| + |gradapprox|).",
            )
    # A gradient of the wrong sign: |grad - gradapprox| / (|grad| + |gradapprox|) is then exactly 1.
    x, theta, epsilon = 1.5, 2.0, 1e-3
    got, _ = _student_and_reference(fn, stand_ins.forward_cubic, stand_ins.backward_cubic_negated, x, theta, epsilon)
    if abs(got - 1.0) > 1e-9:
        ignored = _models_ignored(fn)
        if ignored:
            raise Mistake(f"For a gradient of the wrong sign your gradient_check returns {got:.4g}. {ignored}")
        lead = f"For a gradient of the wrong sign your gradient_check returns {got:.4g}; the relative difference is then exactly 1."
        explained = _explain_1d(got, stand_ins.forward_cubic, stand_ins.backward_cubic_negated, x, theta, epsilon)
        raise Mistake(
            f"{lead} {explained}" if explained else lead, "" if explained else "difference = |grad - gradapprox| / (|grad| + |gradapprox|)."
        )


@part("gradient_check", "centred difference with the given epsilon", 1)
def _gc_centred(fn):
    for x, theta, epsilon in ((1.0, 2.0, 1e-2), (-2.0, 1.5, 1e-3), (0.5, -3.0, 1e-2)):
        got, want = _student_and_reference(fn, stand_ins.forward_cubic, stand_ins.backward_cubic, x, theta, epsilon)
        if abs(got - want) <= 1e-3 * want + 1e-12:
            continue
        ignored = _models_ignored(fn)
        if ignored:
            raise Mistake(f"On a curved model (epsilon = {epsilon}) your gradient_check returns {got:.4g}. {ignored}")
        lead = f"On a curved model (epsilon = {epsilon}) your gradient_check returns {got:.4g}, which is not the relative difference for the centred estimate."
        explained = _explain_1d(got, stand_ins.forward_cubic, stand_ins.backward_cubic, x, theta, epsilon)
        if explained:
            raise Mistake(f"{lead} {explained}")
        if got < 1e-3 * want:
            # The centred difference of a cubic with this epsilon is visibly off the slope; a much
            # smaller step than the one given makes the difference vanish.
            raise Mistake(f"On a curved model with epsilon = {epsilon} your gradient_check returns {got:.3g}. {GC['own epsilon']}")
        raise Mistake(lead, "Use theta + epsilon and theta - epsilon, and the relative difference.")


# ------------------------------------------------------ N-D gradient check

NETWORKS = (([3, 4, 2, 1], 5, 81), ([2, 5, 3, 1], 7, 82), ([4, 3, 1], 6, 83), ([2, 3, 3, 2, 1], 4, 84))


@functools.cache
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


@functools.cache
def _reference_correct(index: int) -> float:
    """The reference's difference for backprop's (correct) gradients of ``NETWORKS[index]``."""
    parameters, gradients, X, Y = _network_case(index)
    return reference.gradient_check_n(parameters, gradients, X, Y, 1e-6)


@functools.cache
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


@part("gradient_check_n", "one entry at a time, centred, in theta's order (a quadratic cost, a large epsilon)", 1)
def _gcn_quadratic(fn):
    # The visible check's stand-in J = ||theta||^2 / 2 + 100 * sum(X): its gradient is theta itself, centred
    # differences are exact for it whatever epsilon, and moving X (which the checks pass as zeros) shows.
    half_square = stand_ins.cost_half_square
    parameters = _network_case(2)[0]
    gradients = {"d" + key: parameters[key] for key in reversed(list(parameters))}  # the dict's order is not theta's
    X, Y = np.zeros((parameters["W1"].shape[1], 2)), np.zeros((1, 2))
    epsilon = 0.5
    got = _gcn(fn, parameters, gradients, X, Y, epsilon, cost_function=half_square)
    if got <= 1e-9:
        return
    theta, _ = reference.dictionary_to_vector(parameters)
    n = theta.shape[0]
    lead = (
        f"For a quadratic cost whose gradient is theta itself, and gradients equal to theta, your gradient_check_n returns "
        f"{got:.4g} (epsilon = {epsilon}); centred differences are exact for a quadratic, so it should be 0."
    )
    approx = {  # what gradapprox becomes under each mistake, for this cost (gradient: theta)
        "gradapprox zero": np.zeros_like(theta),
        "one-sided": theta + epsilon / 2,
        "over epsilon": 2 * theta,
        "whole vector": np.full_like(theta, theta.sum()),
        "no copy": theta / 2 + epsilon / 4,
        "copy outside the loop": np.cumsum(theta).reshape(theta.shape),
    }  # moving X is told by how the result responds to X, below
    models = [(relative_error(theta, value), GCN[key]) for key, value in approx.items()]
    models += [
        (float(np.linalg.norm(theta - theta.reshape(-1)) / (2 * np.linalg.norm(theta))), GCN["1-D gradapprox"]),  # (n, 1) - (n,): n x n
        (reference.gradient_check_n(parameters, gradients, X, Y, epsilon), GCN["ignores cost_function"]),
    ]
    explained = mistakes.first_match(got, models, rtol=1e-6, atol=0)
    if explained:
        raise Mistake(f"{lead} {explained}")
    # How the result responds to X: the cost's slope in theta ignores X, so a right result is the
    # same for X of any size; moving X adds 100 per entry of X to gradapprox. With an empty X,
    # what remains is what the function makes of theta: 0 when it moves theta right as well.
    wider = np.zeros((X.shape[0], X.shape[1] + 3))
    if not _same(_gcn(fn, parameters, gradients, wider, Y, epsilon, cost_function=half_square), got, 1e-12):
        empty = np.zeros((X.shape[0], 0))
        moves_theta = _gcn(fn, parameters, gradients, empty, Y, epsilon, cost_function=half_square) <= 1e-9
        raise Mistake(f"{lead} {GCN['moves X too' if moves_theta else 'moves X']}")
    # A branch that shifts the whole vector: handed the gradapprox it computes as gradients, a function
    # reports 0. With S the sum of theta's n entries, J(theta + eps e_i) - J(theta - eps) =
    # eps theta_i + eps S + eps^2 (1 - n) / 2 for this cost (its slopes theta_i differ from entry to entry).
    total = float(theta.sum())
    shifted = {
        "minus whole vector": lambda value: (value + total) / 2 + epsilon * (1 - n) / 4,
        "plus whole vector": lambda value: (value + total) / 2 + epsilon * (n - 1) / 4,
    }
    for key, model in shifted.items():
        modelled = {"d" + name: model(parameters[name]) for name in reversed(list(parameters))}
        if _gcn(fn, parameters, modelled, X, Y, epsilon, cost_function=half_square) <= 1e-9:
            raise Mistake(f"{lead} {GCN[key]}")
    # With every entry of theta equal, a grad stacked in another order than theta is still right.
    ones = {key: np.ones_like(value) for key, value in parameters.items()}
    if _gcn(fn, ones, {"d" + key: ones[key] for key in reversed(list(ones))}, X, Y, epsilon, cost_function=half_square) <= 1e-9:
        raise Mistake(f"{lead} {GCN['order']}")
    raise Mistake(
        lead,
        f"For each of the {n} entries: copy theta, move entry i up (J_plus) and, on another copy, down (J_minus); "
        "gradapprox[i] = (J_plus - J_minus) / (2 eps).",
    )


@part("gradient_check_n", "leaves the parameters and gradients unchanged", 0.5)
def _gcn_no_mutation(fn):
    parameters, gradients, X, Y = _network_case(0)
    params_in = {k: v.copy() for k, v in parameters.items()}
    grads_in = {k: v.copy() for k, v in gradients.items()}
    X_in = X.copy()
    fn(params_in, grads_in, X_in, Y.copy(), 1e-6)
    if set(params_in) != set(parameters) or any(not np.array_equal(params_in[k], parameters[k]) for k in parameters):
        raise Mistake(
            "gradient_check_n changes the parameters it is given, in place.",
            "Perturb copies (np.copy(theta)), not the original vector or dict.",
        )
    if any(not np.array_equal(grads_in.get(k), gradients[k]) for k in gradients):
        raise Mistake("gradient_check_n changes the gradients it is given.")
    if not np.array_equal(X_in, X):
        raise Mistake("gradient_check_n changes X.", "Only theta is perturbed; the data stay as they are.")


@part("gradient_check_n", "a tiny difference for correct gradients, several network sizes", 1)
def _gcn_correct(fn):
    for i, (dims, _m, _seed) in enumerate(NETWORKS):
        parameters, gradients, X, Y = _network_case(i)
        got = _gcn(fn, parameters, gradients, X, Y, 1e-6)
        want = _reference_correct(i)
        # round-off at eps = 1e-6 leaves about 1e-9; 1e-6 leaves room for any summation order
        if not got < max(1e-6, 10 * want):
            if abs(got - 1.0) < 1e-12:
                raise Mistake(f"gradient_check_n returns exactly 1.0 for correct gradients. {GCN['gradapprox zero']}")
            raise Mistake(
                f"For correct gradients of a {'-'.join(map(str, dims))} network your gradient_check_n returns {got:.3g}; it should be tiny.",
                "Perturb one entry of a copy of theta at a time, rebuild the dict with vector_to_dictionary, and compare with gradients_to_vector's vector.",
            )


@part("gradient_check_n", "the right difference for wrong gradients", 1.5)
def _gcn_wrong(fn):
    for i, (dims, _m, _seed) in enumerate(NETWORKS):
        parameters, gradients, X, Y = _network_case(i)
        broken, want = _broken_case(i)
        got = _gcn(fn, parameters, broken, X, Y, 1e-6)
        if abs(got - want) <= 1e-5 * want + 1e-9:
            continue
        theta, layout = reference.dictionary_to_vector(parameters)
        grad = reference.gradients_to_vector(broken, layout)
        approx = reference.gradients_to_vector(gradients, layout)  # accurate to ~1e-9, far below the bugs
        lead = (
            f"For wrong gradients of a {'-'.join(map(str, dims))} network your gradient_check_n returns {got:.4g}, "
            "which is not the relative difference of grad and gradapprox."
        )
        explained = mistakes.first_match(
            got,
            [
                (np.sum(np.abs(grad - approx)) / (np.sum(np.abs(grad)) + np.sum(np.abs(approx))), GCN["L1"]),
                (np.linalg.norm(grad - approx) / np.linalg.norm(grad), GCN["grad alone"]),
                (np.linalg.norm(grad - approx) / np.linalg.norm(grad + approx), GCN["norm of sum"]),
                (np.linalg.norm(grad - approx), GCN["no denominator"]),
                (np.linalg.norm(grad - approx) / np.linalg.norm(approx), GCN["gradapprox alone"]),
                (np.linalg.norm(grad - approx) ** 2 / (np.linalg.norm(grad) ** 2 + np.linalg.norm(approx) ** 2), GCN["squared"]),
            ],
            rtol=1e-4,
            atol=1e-9,
        )
        if explained:
            raise Mistake(f"{lead} {explained}")
        if abs(got - 1.0) < 1e-12:
            raise Mistake(f"gradient_check_n returns exactly 1.0. {GCN['gradapprox zero']}")
        raise Mistake(
            lead,
            "For each i: copy theta, nudge entry i up (J_plus) and, on another copy, down (J_minus); "
            "gradapprox[i] = (J_plus - J_minus) / (2 eps).",
        )


COST_FUNCTION_EPSILONS = (1e-2, 1e-5)


@functools.cache
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
        got[epsilon] = _gcn(fn, parameters, gradients, X, Y, epsilon, cost_function=student_side(fixtures.quartic_cost))
        answers[epsilon] = _cost_function_answers(epsilon)
    wrong = [e for e in COST_FUNCTION_EPSILONS if abs(got[e] - answers[e]["right"]) > 1e-4 * answers[e]["right"] + 1e-9]
    if not wrong:
        return
    if all(
        abs(got[e] - answers[e]["forward_propagation_n"]) <= 1e-6 * answers[e]["forward_propagation_n"] + 1e-9
        for e in COST_FUNCTION_EPSILONS
    ):
        raise Mistake(
            f"Given another cost function, your gradient_check_n returns what forward_propagation_n's cost gives. "
            f"{GCN['ignores cost_function']}"
        )
    small, large = COST_FUNCTION_EPSILONS[1], COST_FUNCTION_EPSILONS[0]
    # The right answers for the two steps differ by far more than round-off (> 1e-4 of their size).
    if abs(got[small] - got[large]) <= 1e-7 * abs(got[small]):
        raise Mistake(
            f"gradient_check_n returns the same difference ({got[small]:.4g}) for epsilon = {large:g} and {small:g}: "
            f"it ignores its epsilon argument. {GCN['own epsilon']}"
        )
    e = wrong[0]
    raise Mistake(
        f"With another cost function and epsilon = {e:g}, your gradient_check_n returns {got[e]:.4g}, which is not the relative difference for that cost.",
        "Compute J_plus and J_minus with cost_function, perturbing theta by the epsilon argument.",
    )
