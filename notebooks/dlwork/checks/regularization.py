"""Visible checks of notebook 02: the L2-regularized cost and backward pass, dropout forward and backward.

The L2 checks ask properties every right answer has (lambd = 0 gives the plain
cost, the penalty ignores biases, quadruples when the weights double, halves
when the examples are duplicated...) and the value on a case small enough to
work out on paper. The dropout checks judge masks by their statistics and the
forward pass by consistency with its own masks; the backward pass is compared
with the stored right answer on one fixed case (:mod:`dlwork.checks.cases`).
A wrong value is named after the mistake that gives it (:mod:`dlwork.checks.mistakes`).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from dlwork import network
from dlwork.checks import mistakes
from dlwork.checks._harness import Exercise, close, copy_arrays, near
from dlwork.checks.cases import EXPECTED, dropout_backward_case, network_case

# A hand-made 3-layer case (layers_dims [2, 3, 2, 1], m = 5) small enough to check on paper.
_L2_WEIGHTS = {
    "W1": [[1.0, -2.0], [0.0, 1.0], [2.0, 0.0]],  # squares add up to 10, entries to 2
    "W2": [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]],  # squares add up to 7, entries to 3
    "W3": [[2.0, -1.0]],  # squares add up to 5, entries to 1
}
_L2_BIASES = {"b1": [[0.5], [-1.0], [2.0]], "b2": [[1.0], [-0.5]], "b3": [[0.25]]}  # squares add up to 6.5625
_L2_A3 = [[0.9, 0.2, 0.7, 0.4, 0.6]]
_L2_Y = [[1.0, 0.0, 1.0, 0.0, 0.0]]
# What the penalty and its mistakes (mistakes.l2_penalty_mistakes) are made of here, from the comments above.
_L2_CASE = {"squares": [10.0, 7.0, 5.0], "sums": [2.0, 3.0, 1.0], "sizes": [6, 6, 2], "bias_squares": 6.5625}
_L2_SQUARES = sum(_L2_CASE["squares"])
_GRADIENT_KEYS = [f"{kind}{l}" for l in (1, 2, 3) for kind in ("dW", "db")]


def l2_parameters(weight_scale: dict[str, float] | None = None, biases: bool = True) -> dict:
    """The hand-made case's parameters, ``"W1", "b1", ..., "b3"``, as fresh arrays.

    Args:
        weight_scale: ``"Wl"`` -> a factor for that weight matrix (1 for the others).
        biases: False gives zero biases.
    """
    params = {}
    for l in (1, 2, 3):
        factor = (weight_scale or {}).get(f"W{l}", 1.0)
        params[f"W{l}"] = factor * np.array(_L2_WEIGHTS[f"W{l}"])
        params[f"b{l}"] = np.array(_L2_BIASES[f"b{l}"]) * (1.0 if biases else 0.0)
    return params


def check_compute_cost_with_regularization(compute_cost_with_regularization: Callable) -> None:
    """The cross-entropy part, then the penalty: ignores biases, linear in lambd, sums
    every layer, squared, shrinks like 1/m, and its value on a hand-made case."""
    with Exercise("compute_cost_with_regularization", compute_cost_with_regularization) as ex:
        A3, Y = np.array(_L2_A3), np.array(_L2_Y)
        m = Y.shape[1]
        cross_entropy = network.compute_cost(A3, Y)

        def cost(params: dict, lambd: float, A3: np.ndarray = A3, Y: np.ndarray = Y) -> float:
            given = copy_arrays(params)
            value = ex.expect_number(ex.call(A3.copy(), Y.copy(), given, lambd), "The cost")
            ex.expect_unchanged(params, given, "the parameters")
            return value

        def penalty(params: dict, lambd: float, A3: np.ndarray = A3, Y: np.ndarray = Y) -> float:
            return cost(params, lambd, A3, Y) - network.compute_cost(A3, Y)

        lambd = 0.7
        base = l2_parameters()

        # With lambd = 0, is it the plain cross-entropy?
        plain = cost(base, 0.0)
        if not near(plain, cross_entropy, rtol=1e-9):
            cause = (
                "The cross-entropy term is missing: the cost starts from compute_cost(A3, Y)."
                if abs(plain) < 1e-12
                else "The first term is compute_cost(A3, Y), unchanged."
            )
            ex.fail(
                f"with lambd = 0 the result should be the plain cross-entropy compute_cost(A3, Y) = "
                f"{cross_entropy:.6f}; yours is {plain:.6f}. {cause}"
            )
        ex.ok()

        full = penalty(base, lambd)
        ex.expect(
            full > 1e-9, f"with lambd = {lambd} and non-zero weights the cost should grow by the L2 penalty, but it changed by {full:.4g}."
        )

        # Are the biases left alone?
        ex.expect(
            near(penalty(l2_parameters(biases=False), lambd), full, rtol=1e-9),
            "changing only the biases changed the cost. The L2 penalty sums the squares of the "
            "weights W1, W2, W3; biases are not penalized.",
        )

        # Is the penalty proportional to lambd?
        double = penalty(base, 2 * lambd)
        ex.expect(
            near(double, 2 * full, rtol=1e-9),
            f"doubling lambd should double the penalty, but it went from {full:.6f} to {double:.6f}. "
            "The penalty is lambd times an amount that does not depend on lambd.",
        )

        # Does every layer count?
        for l in (1, 2, 3):
            without = penalty(l2_parameters({f"W{l}": 0.0}), lambd)
            ex.expect(
                not near(without, full, rtol=1e-9),
                f"setting W{l} to zero did not change the cost: W{l} is left out of the penalty. "
                "The sum runs over the weights of every layer.",
            )

        # Squares: doubling every weight quadruples the penalty.
        doubled = penalty(l2_parameters({"W1": 2.0, "W2": 2.0, "W3": 2.0}), lambd)
        if not near(doubled, 4 * full, rtol=1e-9):
            cause = (
                "It doubled: the norms are not squared. The penalty uses ||W||_F^2, the sum of the squared entries (np.sum(np.square(W)))."
                if near(doubled, 2 * full, rtol=1e-6)
                else "The penalty is built from the squared entries of the weights."
            )
            ex.fail(f"doubling every weight should quadruple the penalty ({full:.6f} -> {4 * full:.6f}); it became {doubled:.6f}. {cause}")
        ex.ok()

        # 1/m: duplicating every example leaves the cross-entropy alone and halves the penalty.
        twice = penalty(base, lambd, np.hstack([A3, A3]), np.hstack([Y, Y]))
        if not near(twice, full / 2, rtol=1e-9):
            cause = (
                "It did not change: the 1/m factor is missing, or m is not the number of examples "
                "(m = Y.shape[1]; len(Y) is the number of rows, 1)."
                if near(twice, full, rtol=1e-6)
                else "The penalty is divided by m, the number of examples (Y.shape[1])."
            )
            ex.fail(
                f"with every example duplicated (m = {2 * m} instead of {m}) the penalty should halve "
                f"({full:.6f} -> {full / 2:.6f}); it became {twice:.6f}. {cause}"
            )
        ex.ok()

        # The value on the hand-made case: squares of the weights add up to 22.
        target = lambd / (2 * m) * _L2_SQUARES
        if not near(full, target, rtol=1e-9):
            cause = mistakes.first_match(full, mistakes.l2_penalty_mistakes(m=m, lambd=lambd, **_L2_CASE).values()) or (
                "Check the factor in front of the sum of squares."
            )
            ex.fail(
                f"here the weights' squares add up to {_L2_SQUARES:g}, m = {m} and lambd = {lambd}, so the "
                f"penalty lambd / (2m) * {_L2_SQUARES:g} is {target:.6f}; yours is {full:.6f}. {cause}"
            )
        ex.ok()


def _backward_gradients(ex: Exercise, X: np.ndarray, Y: np.ndarray, cache: dict, last: float, params: dict) -> dict:
    """``fn(X, Y, cache, last)``: a dict of gradients with the parameters' shapes, the cache left alone."""
    given = copy_arrays(cache)
    grads = ex.expect_dict(ex.call(X.copy(), Y.copy(), given, last), "The result")
    ex.expect_unchanged(cache, given, "the cache")
    ex.expect_keys(grads, _GRADIENT_KEYS, "The gradients")
    for key in _GRADIENT_KEYS:
        expected = np.shape(params[key[1:]])
        ex.expect_shape(grads[key], expected, key, _gradient_shape_hint(key, np.shape(grads[key]), expected, m=X.shape[1]))
    return grads


def _gradient_shape_hint(key: str, shape: tuple, expected: tuple, m: int) -> str:
    """What a gradient must be shaped like, and what the shape it has suggests (``key`` is ``"dWl"`` or ``"dbl"``)."""
    l, rows = key[2:], expected[0]
    previous = "X" if l == "1" else f"A{int(l) - 1}"  # what dWl multiplies dZl by
    rule = f"A gradient has the shape of its parameter: {key} must be shaped like {key[1:]}, {expected}."
    if len(expected) == 2 and shape == expected[::-1] and expected[0] != expected[1]:
        suggests = f"Yours is transposed: dW{l} = dZ{l} {previous}.T / m is (n[{l}], m) times (m, n[{int(l) - 1}])."
    elif shape == (rows, m):
        suggests = (
            f"Yours has one column per example, like dZ{l}: sum over the examples (axis=1, keepdims=True)."
            if key.startswith("db")
            else f"Yours has one column per example, like dZ{l}: multiply by {previous}.T to sum over them."
        )
    elif len(shape) == 1 and shape[0] == int(np.prod(expected)):
        suggests = "Yours is 1-D, with the right number of entries: keep it 2-D (np.sum(..., keepdims=True), or .reshape)."
    elif shape in ((), (1,), (1, 1)) and expected not in ((1,), (1, 1)):
        suggests = "Yours is a single number: sum over the examples only (axis=1), not over every entry."
    else:
        suggests = ""
    return f"{rule} {suggests}".rstrip()


def check_backward_propagation_with_regularization(backward_propagation_with_regularization: Callable) -> None:
    """lambd = 0 gives backward_propagation's gradients; lambd > 0 adds lambd / m * Wl to
    every dWl and nothing to the dbl; the cache is left alone."""
    with Exercise("backward_propagation_with_regularization", backward_propagation_with_regularization) as ex:
        X, Y, params = network_case("backward_propagation_with_regularization")
        m = X.shape[1]
        _, cache = network.forward_propagation(X, params)
        reference = network.backward_propagation(X, Y, cache)
        keys = _GRADIENT_KEYS

        def gradients(lambd: float) -> dict:
            return _backward_gradients(ex, X, Y, cache, lambd, params)

        # With lambd = 0, are these backward_propagation's gradients?
        plain = gradients(0.0)
        for key in keys:
            ex.expect(
                close(plain[key], reference[key]),
                f"with lambd = 0 the gradients should equal backward_propagation(X, Y, cache)'s, but {key} "
                "differs. Start from those gradients and add the L2 term to each dWl.",
            )

        lambd = 0.7
        regularized = gradients(lambd)
        for l in (1, 2, 3):
            W = params[f"W{l}"]
            # Are the biases untouched?
            ex.expect(
                close(regularized[f"db{l}"], plain[f"db{l}"]),
                f"db{l} changed when lambd went from 0 to {lambd}. Biases are not penalized, so only the dWl get an extra term.",
            )
            # Is the extra term of dWl a multiple of Wl, and the right one?
            extra = regularized[f"dW{l}"] - plain[f"dW{l}"]
            ex.expect(
                np.any(np.abs(extra) > 1e-12), f"dW{l} has no extra term with lambd = {lambd}: the L2 term goes into every layer's dW."
            )
            factor = float(np.sum(extra * W) / np.sum(W * W))
            ex.expect(
                np.linalg.norm(extra - factor * W) <= 1e-6 * np.linalg.norm(extra),
                f"the extra term in dW{l} is not a multiple of W{l}. The derivative of the penalty "
                f"(lambd / (2m)) * sum(W{l}**2) with respect to W{l} is proportional to W{l} itself.",
            )
            if not near(factor, lambd / m, rtol=1e-6):
                cause = mistakes.first_match(factor, mistakes.l2_gradient_mistakes(m=m, lambd=lambd).values()) or ""
                ex.fail(
                    f"the extra term in dW{l} is {factor:.5g} * W{l}; with lambd = {lambd} and m = {m} "
                    f"it should be lambd / m = {lambd / m:.5g} times W{l}. {cause}".rstrip()
                )
            ex.ok()


# --------------------------------------------------------------------------------------
# Notebook 02: dropout
# --------------------------------------------------------------------------------------

_DROPOUT_CACHE_KEYS = [f"{kind}{l}" for l in (1, 2, 3) for kind in ("Z", "A", "W", "b")] + ["D1", "D2"]


def _expect_mask(ex: Exercise, cache: dict, l: int) -> np.ndarray:
    """Cache entry ``Dl``: the shape of ``Al``, only 0/1 (or booleans); returned as booleans."""
    A = ex.expect_array(cache[f"A{l}"], f"cache['A{l}']")
    D = ex.expect_shape(cache[f"D{l}"], A.shape, f"cache['D{l}']", f"The mask has one entry per unit and example, like A{l}.")
    ex.expect(
        np.all((D == 0) | (D == 1)),
        f"cache['D{l}'] holds values other than 0 and 1. It is the keep-mask: 1/True where a unit is "
        "kept, 0/False where it is dropped; the 1 / keep_prob scaling goes into A, not into D.",
    )
    return D.astype(bool)


def check_forward_propagation_with_dropout(forward_propagation_with_dropout: Callable) -> None:
    """Cache layout; input and output layers untouched; masks keep about keep_prob of the
    units; dropped units output 0 and kept ones relu(Z) / keep_prob; layer l+1 is fed the
    masked activations; a fresh mask per layer; keep_prob = 1 changes nothing; the rng is used."""
    with Exercise("forward_propagation_with_dropout", forward_propagation_with_dropout) as ex:
        # Two hidden layers of 20 units and m = 1000: each mask has 20,000 entries. (Narrow
        # layers keep the matrix products small: multi-threaded BLAS is slow on a busy machine.)
        X, _, params = network_case("forward_propagation_with_dropout")
        m = X.shape[1]
        _, plain = network.forward_propagation(X, params)
        keep_prob = 0.6

        def run(keep_prob: float, seed: int) -> tuple[np.ndarray, dict]:
            given = copy_arrays(params)
            result = ex.call(X.copy(), given, keep_prob, np.random.default_rng(seed))
            ex.expect_unchanged(params, given, "the parameters")
            ex.expect(
                isinstance(result, (tuple, list)) and len(result) == 2,
                f"it should return a pair (A3, cache), got {type(result).__name__}"
                + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "")
                + ".",
            )
            A3, cache = result
            ex.expect_shape(A3, (1, m), "A3")
            cache = ex.expect_dict(cache, "The cache")
            hint = (
                "Store each hidden layer's keep-mask as cache['D1'] and cache['D2']: the backward pass reuses them."
                if any(key not in cache for key in ("D1", "D2"))
                else ""
            )
            ex.expect_keys(cache, _DROPOUT_CACHE_KEYS, "The cache", hint)
            return A3, cache

        A3, cache = run(keep_prob, seed=1)
        masks = {l: _expect_mask(ex, cache, l) for l in (1, 2)}

        # Is the input layer left alone?
        ex.expect(
            close(cache["Z1"], plain["Z1"]), "Z1 differs from W1 @ X + b1: dropout applies to the hidden layers only, never to the input X."
        )

        for l in (1, 2):
            D, A, Z = masks[l], np.asarray(cache[f"A{l}"]), np.asarray(cache[f"Z{l}"])
            # Does the mask keep about keep_prob of the units?
            # Mean of 20,000 Bernoulli(0.6) draws: sd sqrt(0.24 / 20000) = 0.0035, so 0.03 is 8.7 sd.
            kept = float(D.mean())
            if abs(kept - keep_prob) > 0.03:
                cause = mistakes.first_match(kept, mistakes.dropout_mask_mistakes(keep_prob=keep_prob).values(), rtol=0.05) or (
                    "Draw a uniform number in [0, 1) per unit and keep the unit when it is below keep_prob."
                )
                ex.fail(f"D{l} keeps {kept:.1%} of the units with keep_prob = {keep_prob}. {cause}")
            ex.ok()

            # Do dropped units output 0, and kept ones relu(Z) / keep_prob?
            active = network.relu(Z)
            must_be_zero = ~D | (active == 0)
            if np.any(A[must_be_zero] != 0):
                inverted = np.all(A[D] == 0) and np.any(A[~D] != 0)
                ex.fail(
                    f"A{l} is not zero where D{l} marks a unit as dropped. "
                    + (
                        "It is zero where D is 1 instead: multiply by the mask itself, not by its complement."
                        if inverted
                        else f"Multiply A{l} by the mask D{l}, and store in the cache the mask you applied."
                    )
                )
            ex.ok()
            survivors = D & (active > 0)
            ratio = A[survivors] / active[survivors]
            if not np.allclose(ratio, 1 / keep_prob, rtol=1e-9):
                typical = float(np.median(ratio))
                cause = mistakes.first_match(typical, mistakes.dropout_scale_mistakes(keep_prob=keep_prob).values(), rtol=1e-6) or (
                    "Kept units are relu(Z) divided by keep_prob."
                )
                ex.fail(
                    f"the kept units of A{l} are relu(Z{l}) times {typical:.4g}; with keep_prob = {keep_prob} "
                    f"they should be scaled by 1 / keep_prob = {1 / keep_prob:.4g}. {cause}"
                )
            ex.ok()

            # Is layer l + 1 fed the masked activations?
            W, b = np.asarray(cache[f"W{l + 1}"]), np.asarray(cache[f"b{l + 1}"])
            ex.expect(
                close(cache[f"Z{l + 1}"], W @ A + b),
                f"Z{l + 1} is not W{l + 1} @ A{l} + b{l + 1} with the masked, scaled A{l} of the cache. "
                f"Apply the mask to A{l} before computing Z{l + 1}, and cache that A{l}.",
            )

        # Is the output layer left alone?
        ex.expect(
            close(A3, network.sigmoid(np.asarray(cache["Z3"]))) and close(cache["A3"], A3),
            "A3 is not sigmoid(Z3): the output layer is never dropped.",
        )

        # A fresh mask for each layer?
        ex.expect(not np.array_equal(masks[1], masks[2]), "D1 and D2 are identical: draw a new mask for each hidden layer.")

        # keep_prob = 1: nothing is dropped and the output is forward_propagation's.
        A3_all, cache_all = run(1.0, seed=2)
        ex.expect(
            np.all(np.asarray(cache_all["D1"]) == 1) and np.all(np.asarray(cache_all["D2"]) == 1),
            "with keep_prob = 1 every unit must be kept, but D1 or D2 has zeros.",
        )
        ex.expect(
            close(A3_all, plain["A3"]), "with keep_prob = 1 nothing is dropped, so A3 should equal forward_propagation(X, parameters)'s."
        )

        # Does it draw from the rng argument?
        again, cache_again = run(keep_prob, seed=1)
        ex.expect(
            np.array_equal(np.asarray(cache_again["D1"]).astype(bool), masks[1]) and close(again, A3),
            "two calls with generators seeded alike gave different masks: draw from the `rng` argument "
            "(rng.random), not from np.random, whose global state changes between calls.",
        )
        _, cache_other = run(keep_prob, seed=3)
        ex.expect(
            not np.array_equal(np.asarray(cache_other["D1"]).astype(bool), masks[1]),
            "generators with different seeds gave the same masks: draw them from the `rng` argument.",
        )


def check_backward_propagation_with_dropout(backward_propagation_with_dropout: Callable) -> None:
    """keep_prob = 1 with nothing dropped gives backward_propagation's gradients; the masks of
    the cache are reused; units dropped for every example get no gradient; and the
    gradients equal those of the cost with the masks held fixed."""
    with Exercise("backward_propagation_with_dropout", backward_propagation_with_dropout) as ex:
        X, Y, params, D1, D2, keep_prob = dropout_backward_case()
        keys = _GRADIENT_KEYS

        def gradients(cache: dict, keep_prob: float) -> dict:
            return _backward_gradients(ex, X, Y, cache, keep_prob, params)

        # Nothing dropped, keep_prob = 1: backward_propagation's gradients?
        _, plain = network.forward_propagation(X, params)
        ones = {"D1": np.ones_like(plain["A1"], dtype=bool), "D2": np.ones_like(plain["A2"], dtype=bool)}
        reference = network.backward_propagation(X, Y, plain)
        grads = gradients({**plain, **ones}, 1.0)
        for key in keys:
            ex.expect(
                close(grads[key], reference[key]),
                f"with keep_prob = 1 and nothing dropped the gradients should equal "
                f"backward_propagation(X, Y, cache)'s, but {key} differs.",
            )

        # Fixed masks, some units dropped for every example (see cases.dropout_backward_case). The
        # cache of the forward pass with these masks, and the true gradients with the masks held
        # fixed, are expected values worked out from the reference (expected_values.json).
        expected = EXPECTED["backward_propagation_with_dropout"]
        cache = {**expected["cache"], **params, "D1": D1, "D2": D2}
        truth = expected["gradients"]
        grads = gradients(cache, keep_prob)

        # Are the cache's masks reused rather than redrawn?
        again = gradients(cache, keep_prob)
        ex.expect(
            all(np.array_equal(grads[key], again[key]) for key in keys),
            "two calls with the same cache gave different gradients: reuse the masks cache['D1'] "
            "and cache['D2'] of the forward pass, never draw new ones.",
        )

        # Layer 3 does not involve the masks.
        for key in ("dW3", "db3"):
            ex.expect(
                close(grads[key], truth[key]),
                f"{key} is wrong. Layer 3 involves no mask (the cache's A2 is already masked): "
                "its gradients come out as in backward_propagation.",
            )

        # A unit dropped for every example receives no gradient, in its own layer only.
        for l, own, other in ((2, 3, 1), (1, 1, 3)):
            row = np.abs(grads[f"dW{l}"][own]).sum() + np.abs(grads[f"db{l}"][own]).sum()
            if row > 1e-12:
                wrong_layer = np.abs(grads[f"dW{l}"][other]).sum() + np.abs(grads[f"db{l}"][other]).sum() < 1e-12
                ex.fail(
                    f"unit {own} of layer {l} is dropped for every example (D{l}[{own}, :] is 0), so no "
                    f"gradient can reach W{l}[{own}, :] or b{l}[{own}]; yours are not zero. "
                    + (
                        f"Layer {l} got the other layer's mask: dA{l} takes D{l}."
                        if wrong_layer
                        else f"dA{l} is not masked with D{l}: multiply it by the forward pass's mask cache['D{l}']."
                    )
                )
            ex.ok()

        # Is dA scaled by 1 / keep_prob on each hidden layer, like A was? A missing (or
        # inverted) factor on layer 2 scales dW2 and dW1 alike; one on layer 1 only dW1.
        size = {l: float(np.sum(grads[f"dW{l}"] * truth[f"dW{l}"]) / np.sum(truth[f"dW{l}"] ** 2)) for l in (1, 2)}
        for l, factor in ((2, size[2]), (1, size[1] / size[2])):
            cause = mistakes.first_match(factor, mistakes.dropout_backward_mistakes(keep_prob=keep_prob, layer=l).values(), rtol=1e-6)
            if cause:
                ex.fail(f"dW{l} comes out {size[l]:.4g} times the right size. {cause}")
            ex.ok()

        # The gradients of the cost with these masks held fixed.
        for key in keys:
            error = np.max(np.abs(grads[key] - truth[key])) / max(np.max(np.abs(truth[key])), 1e-12)
            ex.expect(
                close(grads[key], truth[key], rtol=1e-8),
                f"{key} differs from the gradient of the cost with the masks held fixed (largest "
                f"error {error:.2g} of its size). In each hidden layer: mask dA with the cache's D, "
                "divide by keep_prob, then go through the ReLU as usual.",
            )
