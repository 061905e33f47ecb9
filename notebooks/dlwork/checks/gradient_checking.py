"""Visible checks of notebook 03: the 1-D model, gradient checking in 1-D and in N-D.

The 1-D model is asked about hand-made cases. The gradient checks are run with
stand-ins swapped in for the functions they call by name
(:mod:`dlwork.checks.stand_ins`): costs whose gradients are known, and backward
passes that are deliberately wrong, so that every number they should return is
worked out by hand in the comments. A wrong result is named after the mistake
that gives it (:mod:`dlwork.checks.mistakes`).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from dlwork import network
from dlwork.checks import mistakes, stand_ins
from dlwork.checks._harness import Exercise, copy_arrays, near
from dlwork.checks.cases import network_case

_FORWARD, _BACKWARD = mistakes.FORWARD_PROPAGATION, mistakes.BACKWARD_PROPAGATION
_GC, _GCN = mistakes.GRADIENT_CHECK, mistakes.GRADIENT_CHECK_N

# --------------------------------------------------------------------------------------
# The 1-D model and gradient checking in 1-D
# --------------------------------------------------------------------------------------


def check_forward_propagation(forward_propagation: Callable) -> None:
    """J(theta) = theta * x on a few hand-made cases."""
    with Exercise("forward_propagation", forward_propagation) as ex:
        for x, theta, J in ((2.0, 4.0, 8.0), (-3.0, 0.5, -1.5), (1.5, -2.0, -3.0), (0.0, 7.0, 0.0)):
            value = ex.expect_number(ex.call(x, theta), f"forward_propagation({x}, {theta})")
            if not near(value, J, rtol=1e-12):
                cause = (
                    mistakes.first_match(
                        value,
                        [
                            (x + theta, _FORWARD["x + theta"]),
                            (x, _FORWARD["x"]),
                            (theta, _FORWARD["theta"]),
                        ],
                        rtol=1e-12,
                    )
                    or ""
                )
                ex.fail(f"forward_propagation({x}, {theta}) returned {value:g}; J = theta * x is {J:g}. {cause}".rstrip())
            ex.ok()


def check_backward_propagation(backward_propagation: Callable) -> None:
    """dJ/dtheta of J = theta * x on a few hand-made cases; it does not depend on theta."""
    with Exercise("backward_propagation", backward_propagation) as ex:
        for x, theta, slope in ((2.0, 4.0, 2.0), (-3.0, 0.5, -3.0), (1.5, -2.0, 1.5)):
            value = ex.expect_number(ex.call(x, theta), f"backward_propagation({x}, {theta})")
            if not near(value, slope, rtol=1e-12):
                cause = mistakes.first_match(value, [(theta, _BACKWARD["theta"]), (theta * x, _BACKWARD["J"])], rtol=1e-12) or (
                    "J is linear in theta, so its slope is the same for every theta."
                )
                ex.fail(
                    f"backward_propagation({x}, {theta}) returned {value:g}, but the slope of "
                    f"J = theta * x with respect to theta at x = {x} is {slope:g}. {cause}"
                )
            ex.ok()


def _models_ignored(ex: Exercise, value: float, x: float, theta: float, epsilon: float) -> str | None:
    """Does gradient_check call forward_propagation and backward_propagation? The explanation when it does not.

    Each is swapped in turn for a model that answers NaN: a result that is still a number
    never called it. ``value`` is the result with the cubic model and its derivative (grad = 6,
    gradapprox = 6.5 at x = 2, theta = 1, epsilon = 0.5).
    """

    def calls(name: str) -> bool:
        models = {"forward_propagation": stand_ins.forward_cubic, "backward_propagation": stand_ins.backward_cubic}
        models[name] = stand_ins.not_a_number
        result = ex.call_with(models, f"with a {name} that returns NaN", x, theta, epsilon)
        try:
            return math.isnan(float(result))
        except (TypeError, ValueError):
            return True  # not a number at all: the other checks say what is wrong with it

    # the cubic model at x = 2, theta = 1, epsilon = 0.5: grad = 6, gradapprox = 6.5
    return mistakes.models_ignored(calls("forward_propagation"), calls("backward_propagation"), value, grad=6.0, gradapprox=6.5)


def check_gradient_check(gradient_check: Callable) -> None:
    """Run with a stand-in cost J = x * theta**3 and stand-in backward passes: the centred
    difference, backward_propagation's result, the relative difference, and the default epsilon."""
    with Exercise("gradient_check", gradient_check) as ex:
        x, theta, epsilon = 2.0, 1.0, 0.5
        stand_in = {"forward_propagation": stand_ins.forward_cubic, "backward_propagation": stand_ins.backward_cubic}
        note = "with forward_propagation(x, theta) = x * theta**3 and backward_propagation its derivative"
        value = ex.expect_number(ex.call_with(stand_in, note, x, theta, epsilon), "The difference")
        # Is backward_propagation really called? A wrong one (2 instead of 6) must change the result.
        wrong = {"forward_propagation": stand_ins.forward_cubic, "backward_propagation": stand_ins.backward_cubic_wrong}
        wrong_value = ex.expect_number(
            ex.call_with(wrong, "with a deliberately wrong backward_propagation", x, theta, epsilon), "The difference"
        )

        # By hand, for J = x * theta**3 at x = 2, theta = 1 and a large epsilon = 0.5:
        # J(1.5) = 6.75, J(1) = 2, J(0.5) = 0.25 and grad = 3 * x * theta**2 = 6. The centred
        # difference (6.75 - 0.25) / 1 = 6.5 is visibly not 6, so the result is 0.5 / 12.5.
        if not near(value, 0.5 / 12.5, rtol=1e-9):
            ignored = _models_ignored(ex, value, x, theta, epsilon)
            if ignored:
                ex.fail(ignored)
            if value < 1e-6 and wrong_value > 0.3:
                # grad does come from backward_propagation, and gradapprox is 6 (not 6.5): a much
                # smaller step than the epsilon given was used.
                cause = _GC["own epsilon"]
            else:
                # What each mistake makes of the result here: grad = 6 and the centred difference 6.5,
                # the one-sided ones (6.75 - 2) / 0.5 = 9.5 and (2 - 0.25) / 0.5 = 3.5, the centred one
                # divided by epsilon only 13.
                cause = mistakes.first_match(
                    value,
                    [
                        (0.0, _GC["grad is gradapprox"]),
                        (3.5 / 15.5, _GC["one-sided"]),
                        (2.5 / 9.5, _GC["one-sided backwards"]),
                        (7.0 / 19.0, _GC["over epsilon"]),
                        (6.5, _GC["gradapprox"]),
                        (6.0, _GC["grad"]),
                        (0.5, _GC["absolute"]),
                        (-0.04, _GC["signed"]),
                        (0.25 / 78.25, _GC["squared"]),  # 0.5^2 / (6^2 + 6.5^2)
                    ],
                    rtol=1e-9,
                )
            evidence = (
                f"with J = x * theta**3, x = {x:g}, theta = {theta:g}, epsilon = {epsilon:g}: grad = 6, "
                f"the centred difference is 6.5, so the result should be 0.5 / 12.5 = 0.04; yours is {value:.6g}"
            )
            # The diagnosis first, the numbers behind it after; without one, the numbers and the rule.
            if cause:
                ex.fail(f"{cause} ({evidence[0].upper()}{evidence[1:]}.)")
            ex.fail(f"{evidence}. The result is ||grad - gradapprox|| / (||grad|| + ||gradapprox||).")
        ex.ok()

        ex.expect(
            wrong_value > 0.3,
            f"with a deliberately wrong backward_propagation (2 instead of 6) the difference should be "
            f"large, but it is {wrong_value:.3g}. {_GC['grad is gradapprox']}",
        )

        # A gradient of the wrong sign: grad = -6 and gradapprox = 6.5 give |-6 - 6.5| / (6 + 6.5) = 1.
        negated = {"forward_propagation": stand_ins.forward_cubic, "backward_propagation": stand_ins.backward_cubic_negated}
        value = ex.expect_number(
            ex.call_with(negated, "with a backward_propagation of the wrong sign", x, theta, epsilon), "The difference"
        )
        if not near(value, 1.0, rtol=1e-9):
            cause = mistakes.first_match(value, [(12.5 / 0.5, _GC["norm of sum"])], rtol=1e-9) or (
                "The result is ||grad - gradapprox|| / (||grad|| + ||gradapprox||)."
            )
            ex.fail(
                f"with a backward_propagation of the wrong sign (grad = -6, gradapprox = 6.5) the difference "
                f"should be |-6 - 6.5| / (6 + 6.5) = 1; yours is {value:.6g}. {cause}"
            )
        ex.ok()

        # The default epsilon (1e-7) makes the centred difference agree closely with the
        # derivative: about 1e-10 here, from rounding alone.
        value = ex.expect_number(ex.call_with(stand_in, note, x, theta), "The difference")
        ex.expect(
            0 <= value < 1e-7,
            f"with the default epsilon and a correct backward pass the difference should be tiny "
            f"(below 1e-7); yours is {value:.3g}. Keep the default epsilon=1e-7.",
        )


# --------------------------------------------------------------------------------------
# Gradient checking in N-D
# --------------------------------------------------------------------------------------

# Parameters of a 2-2-1 network: theta (as dictionary_to_vector orders it) is
# (3, 0, 0, 0 | 0, 0 | 0, 4 | 0), so ||theta|| = 5.
_GC_PARAMETERS = {"W1": [[3.0, 0.0], [0.0, 0.0]], "b1": [[0.0], [0.0]], "W2": [[0.0, 4.0]], "b2": [[0.0]]}


def _order_cause(difference: Callable, X: np.ndarray, Y: np.ndarray, epsilon: float) -> str | None:
    """Asked when exact gradients give a non-zero difference: is grad in another order than theta?

    With every entry of theta equal (and gradients equal to theta), any reordering of grad
    leaves it unchanged, so the difference is 0 again exactly when the order was the trouble.
    """
    ones = {key: np.ones_like(np.array(value)) for key, value in _GC_PARAMETERS.items()}
    grads = {"d" + key: ones[key].copy() for key in reversed(list(ones))}
    if difference(ones, grads, X, Y, epsilon, stand_in=True) > 1e-9:
        return None
    return _GCN["order"]


def _moves_x_cause(difference: Callable, params: dict, grads: dict, X: np.ndarray, Y: np.ndarray, epsilon: float) -> str | None:
    """Asked when exact gradients give a non-zero difference: does the result respond to X?

    The stand-in cost adds 100 * sum(X) to a function of theta alone, so its slope in theta, and
    a right result, are the same for X of any size. Moving X by +/- epsilon adds 100 per entry of
    X to every entry of gradapprox: the result then changes with X's size. With an empty X
    (no entry to move) what remains is what the function makes of theta: 0 when it moves
    theta right as well, 1 when theta does not move at all.
    """
    value = difference(params, grads, X, Y, epsilon, stand_in=True)
    wider = np.zeros((X.shape[0], X.shape[1] + 2))
    if near(difference(params, grads, wider, Y, epsilon, stand_in=True), value, rtol=1e-12):
        return None
    empty = np.zeros((X.shape[0], 0))
    return _GCN["moves X too"] if difference(params, grads, empty, Y, epsilon, stand_in=True) <= 1e-9 else _GCN["moves X"]


def _whole_vector_cause(difference: Callable, X: np.ndarray, Y: np.ndarray, epsilon: float) -> str | None:
    """Asked when exact gradients give a non-zero difference: does a branch shift the whole vector?

    For the stand-in cost J = ||theta||^2 / 2 (+ a term in X), whose slope theta_i differs from
    entry to entry, moving all n entries instead of entry i is visible: with S the sum of theta,
    J(theta + eps e_i) - J(theta - eps * 1) = eps theta_i + eps S + eps^2 (1 - n) / 2, so with the
    minus branch shifted whole gradapprox_i = (theta_i + S) / 2 + eps (1 - n) / 4; with the plus
    branch, + eps (n - 1) / 4; with both, S. Handed that vector as its gradients, a function that
    computes it reports a difference of 0: tried on the case's theta and on a theta of ones.
    """
    cases = [{key: np.array(value) for key, value in _GC_PARAMETERS.items()}]
    cases.append({key: np.ones_like(value) for key, value in cases[0].items()})

    def gives(model: Callable[[np.ndarray, float, int], np.ndarray]) -> bool:
        for params in cases:
            total, n = sum(float(v.sum()) for v in params.values()), sum(v.size for v in params.values())
            grads = {"d" + key: model(params[key], total, n) for key in reversed(list(params))}
            if difference(params, grads, X, Y, epsilon, stand_in=True) > 1e-9:
                return False
        return True

    models = {
        "minus whole vector": lambda t, total, n: (t + total) / 2 + epsilon * (1 - n) / 4,
        "plus whole vector": lambda t, total, n: (t + total) / 2 + epsilon * (n - 1) / 4,
        "whole vector": lambda t, total, n: np.full_like(t, total),
    }
    return next((_GCN[key] for key, model in models.items() if gives(model)), None)


def check_gradient_check_n(gradient_check_n: Callable) -> None:
    """Run with a stand-in cost J = ||theta||^2 / 2 + 100 * sum(X) (gradient: theta itself) and on
    a tiny network: per-entry centred differences of theta only, grad in theta's order, the
    2-norm measure, parameters left alone."""
    with Exercise("gradient_check_n", gradient_check_n) as ex:

        def difference(
            params: dict,
            grads: dict,
            X: np.ndarray,
            Y: np.ndarray,
            *epsilon: float,
            stand_in: bool = False,
            cost_function: Callable | None = None,
        ) -> float:
            given_params, given_grads = copy_arrays(params), copy_arrays(grads)
            args = (given_params, given_grads, X.copy(), Y.copy(), *epsilon)
            if cost_function is not None:
                result = ex.call(*args, cost_function=cost_function)
            elif stand_in:
                result = ex.call_with(
                    {"forward_propagation_n": stand_ins.cost_half_square},
                    "with forward_propagation_n replaced by J = ||theta||^2 / 2 + 100 * sum(X)",
                    *args,
                )
            else:
                result = ex.call(*args)
            # 1e-12: restoring a perturbed entry by adding epsilon back may be off by a rounding error.
            ex.expect_unchanged(params, given_params, "the parameters", atol=1e-12)
            ex.expect_unchanged(grads, given_grads, "the gradients")
            return ex.expect_number(result, "The difference")

        params = {key: np.array(value) for key, value in _GC_PARAMETERS.items()}
        X, Y = np.zeros((2, 1)), np.zeros((1, 1))  # the stand-in cost depends on theta only, while X stays 0

        # Exact gradients: for this cost gradapprox equals theta even with epsilon = 0.5. The
        # gradients dict lists its keys last layer first, so grad must follow theta's layout,
        # not the dict's order.
        epsilon = 0.5
        exact = {"d" + key: params[key].copy() for key in reversed(list(params))}
        value = difference(params, exact, X, Y, epsilon, stand_in=True)
        if value > 1e-9:
            # What each mistake makes of gradapprox here, and the difference that follows (||theta|| = 5;
            # the norms are worked out by hand in each comment); then how the result responds to X,
            # and whether a branch moves the whole vector.
            named = (
                mistakes.first_match(
                    value,
                    [
                        # gradapprox = 0
                        (1.0, _GCN["gradapprox zero"]),
                        # gradapprox = 2 theta: 5 / (5 + 10)
                        (5 / 15, _GCN["over epsilon"]),
                        # gradapprox = theta + 1/4: ||(1/4, ..., 1/4)|| = 3/4, ||theta + 1/4||^2 = 3.25^2 + 4.25^2 + 7/16
                        (0.75 / (5 + math.sqrt(29.0625)), _GCN["one-sided"]),
                        # gradapprox = 7 everywhere (the sum of theta): ||theta - 7||^2 = 16 + 9 + 7 * 49, ||7|| = 21
                        (math.sqrt(368) / 26, _GCN["whole vector"]),
                        # gradapprox = theta / 2 + 1/8: squared norms 5.515625 (difference) and 7.265625
                        (math.sqrt(5.515625) / (5 + math.sqrt(7.265625)), _GCN["no copy"]),
                        # gradapprox = running sums (3, 3, 3, 3, 3, 3, 3, 7, 7): squared norms 112 and 161
                        (math.sqrt(112) / (5 + math.sqrt(161)), _GCN["copy outside the loop"]),
                        # grad (9, 1) minus a 1-D gradapprox (9,) broadcasts to the 9 x 9 matrix theta_i - theta_j:
                        # its squared norm is 2 * 9 * 25 - 2 * 7^2 = 352 (sum of theta^2 = 25, sum of theta = 7)
                        (math.sqrt(352) / 10, _GCN["1-D gradapprox"]),
                    ],
                    rtol=1e-6,
                )
                or _moves_x_cause(difference, params, exact, X, Y, epsilon)
                or _whole_vector_cause(difference, X, Y, epsilon)
                or _order_cause(difference, X, Y, epsilon)
            )
            evidence = (
                f"with the cost J = ||theta||^2 / 2 + 100 * sum(X), whose gradient with respect to theta is "
                f"theta itself, and gradients equal to theta, the difference should be 0; yours is "
                f"{value:.6g}, with epsilon = {epsilon}"
            )
            # The diagnosis first, the numbers behind it after; without one, the numbers and the rule.
            if named:
                ex.fail(f"{named} ({evidence[0].upper()}{evidence[1:]}.)")
            ex.fail(
                f"{evidence}. For this cost gradapprox must equal theta exactly: start each i from a fresh copy of "
                "theta, move entry i by +epsilon and -epsilon, and divide by 2 * epsilon. (The check swaps in this "
                "cost by replacing forward_propagation_n: call the cost by that name, as the docstring says.)"
            )
        ex.ok()

        # Gradients off by 12 in one entry: ||grad|| = 13, ||gradapprox|| = ||theta|| = 5,
        # ||grad - gradapprox|| = 12, so the difference is 12 / (13 + 5).
        off = {key: value.copy() for key, value in exact.items()}
        off["db2"][0, 0] = 12.0
        value = difference(params, off, X, Y, epsilon, stand_in=True)
        target = 12 / 18
        if not near(value, target, rtol=1e-9):
            cause = (
                mistakes.first_match(
                    value,
                    [
                        (12 / 26, _GCN["L1"]),
                        (12.0, _GCN["no denominator"]),
                        (12 / 13, _GCN["grad alone"]),
                        (12 / 5, _GCN["gradapprox alone"]),
                        (12 / math.sqrt(244), _GCN["norm of sum"]),
                        (144 / 194, _GCN["squared"]),
                    ],
                    rtol=1e-6,
                )
                or "The measure is ||grad - gradapprox||_2 / (||grad||_2 + ||gradapprox||_2)."
            )
            ex.fail(
                f"with gradients off by 12 in one entry (||grad|| = 13, ||gradapprox|| = 5, "
                f"||grad - gradapprox|| = 12) the difference should be 12 / (13 + 5) = {target:.4f}; "
                f"yours is {value:.6g}. {cause}"
            )
        ex.ok()

        # The same stand-in handed over as cost_function (forward_propagation_n left as it is):
        # the cost to differentiate is then cost_function's.
        value = difference(params, exact, X, Y, epsilon, cost_function=stand_ins.cost_half_square)
        ex.expect(
            value <= 1e-9,
            f"given the same stand-in cost as cost_function (instead of in place of forward_propagation_n), "
            f"the difference should be 0 again; yours is {value:.6g}. {_GCN['ignores cost_function']}",
        )

        # A cost that is not quadratic, J = sum(theta^3) / 3 with gradient theta^2: with epsilon = 0.5
        # the centred difference is theta^2 + epsilon^2 / 3 = theta^2 + 1/12 in every entry. Here
        # theta^2 = (9, 0, 0, 0, 0, 0, 0, 16, 0): ||grad|| = sqrt(337), ||grad - gradapprox|| = sqrt(9) / 12
        # and ||gradapprox||^2 = (109/12)^2 + (193/12)^2 + 7 / 12^2 = 49137 / 144.
        squares = {"d" + key: np.square(params[key]) for key in reversed(list(params))}
        value = difference(params, squares, X, Y, epsilon, cost_function=stand_ins.cost_third_cube)
        target = 0.25 / (math.sqrt(337) + math.sqrt(49137) / 12)
        if not near(value, target, rtol=1e-6):
            cause = (
                "It is about 0: the centred difference came out as the exact slope, as if the step were tiny. " + _GCN["own epsilon"]
                if value < 1e-4
                else "Perturb each entry by +epsilon and -epsilon and divide by 2 * epsilon."
            )
            ex.fail(
                f"with the cost J = sum(theta^3) / 3 (gradient theta^2) and epsilon = {epsilon}, the centred "
                f"difference is theta^2 + epsilon^2 / 3 in every entry, so the difference should be {target:.6g}; "
                f"yours is {value:.6g}. {cause}"
            )
        ex.ok()

        # A tiny network with the default epsilon and cost (forward_propagation_n).
        X, Y, net = network_case("gradient_check_n")
        _, cache = network.forward_propagation(X, net)
        backprop = {key: value for key, value in network.backward_propagation(X, Y, cache).items() if key[:2] in ("dW", "db")}
        # Backprop is right here; rounding alone leaves a difference of a few 1e-9 (every
        # |Z| is above 0.01, far from ReLU's kink at 0, a test verifies it).
        value = difference(net, backprop, X, Y)
        ex.expect(
            value < 1e-7,
            f"on a small network with backprop's (correct) gradients, the default epsilon and "
            f"forward_propagation_n as the cost, the difference should be below 1e-7; yours is {value:.3g}.",
        )
        # Negated gradients: grad = -gradapprox, so the difference is ||2g|| / (2 ||g||) = 1,
        # up to the error of gradapprox (about 1e-9).
        value = difference(net, {key: -value for key, value in backprop.items()}, X, Y)
        ex.expect(
            near(value, 1.0, rtol=1e-5),
            f"with the gradients negated (grad = -gradapprox) the difference should be 1; yours is {value:.6g}.",
        )
