"""Hidden checks for notebook 02: L2 cost and backward, dropout forward and backward.

Deterministic functions are replayed against the reference on several sizes
and strengths; backward passes are also held to numerical gradients of the
reference cost. Dropout forward is judged with the student's own masks: the
reference forward is replayed with a generator that reproduces those masks,
and the masks themselves are judged by their statistics, so any correct way of
drawing them passes.
"""

from __future__ import annotations

import functools

import numpy as np

from autograder.grading.judge import Mistake, part
from autograder.hidden.common import (
    asked_once,
    expect_array,
    expect_dict,
    expect_gradients,
    expect_number,
    gradient_error,
    labels,
    numerical_gradient,
    three_layer_parameters,
)
from dlwork import network
from dlwork.checks import mistakes
from source_solutions import regularization as reference

CASES = (  # (dims, m, lambd)
    ([4, 6, 3, 1], 5, 0.7),
    ([2, 20, 3, 1], 13, 0.1),
    ([5, 2, 7, 1], 40, 2.5),
    ([3, 3, 3, 1], 1, 1.3),
)


def _instance(seed: int, dims: list[int], m: int):
    rng = np.random.default_rng(seed)
    parameters = three_layer_parameters(rng, dims)
    X = rng.standard_normal((dims[0], m))
    Y = labels(rng, m) if m > 1 else np.ones((1, 1))
    return parameters, X, Y


# ------------------------------------------------------------ L2 cost


def _penalty_mistakes(parameters: dict, m: int, lambd: float) -> dict[str, tuple[float, str]]:
    """The penalties well-known mistakes would add for these parameters (:func:`dlwork.checks.mistakes.l2_penalty_mistakes`)."""
    Ws = [v for k, v in sorted(parameters.items()) if k.startswith("W")]
    bs = [v for k, v in sorted(parameters.items()) if k.startswith("b")]
    return mistakes.l2_penalty_mistakes(
        m=m,
        lambd=lambd,
        squares=[float(np.sum(W**2)) for W in Ws],
        sums=[float(np.sum(W)) for W in Ws],
        sizes=[W.size for W in Ws],
        bias_squares=sum(float(np.sum(b**2)) for b in bs),
    )


def _l2_case(case_index: int, seed: int, lambd_override: float | None = None):
    """``CASES[case_index]`` made from ``seed``: ``(parameters, X, Y, m, lambd)``, with lambd overridden if asked."""
    dims, m, lambd = CASES[case_index]
    parameters, X, Y = _instance(seed, dims, m)
    return parameters, X, Y, m, lambd if lambd_override is None else lambd_override


def _cost_case(fn, case_index: int, lambd_override: float | None = None):
    parameters, X, Y, m, lambd = _l2_case(case_index, 30 + case_index, lambd_override)
    A3, _ = network.forward_propagation(X, parameters)
    expected = reference.compute_cost_with_regularization(A3, Y, parameters, lambd)
    got = expect_number(fn(A3.copy(), Y.copy(), {k: v.copy() for k, v in parameters.items()}, lambd), f"the cost for lambd={lambd}")
    return got, expected, parameters, A3, Y, m, lambd


@part("compute_cost_with_regularization", "equals the cross-entropy when lambd = 0", 0.5)
def _cost_lambda_zero(fn):
    for i in range(len(CASES)):
        got, expected, *_ = _cost_case(fn, i, lambd_override=0.0)
        if abs(got - expected) > 1e-9 * max(1.0, abs(expected)):
            raise Mistake(
                f"With lambd = 0 your cost is {got:.6g}, which is not the plain cross-entropy of A3 and Y.",
                "The first term must be the plain cross-entropy cost (use compute_cost).",
            )


@part("compute_cost_with_regularization", "adds lambd/(2m) times the squared weights, for several sizes", 1.5)
def _cost_penalty(fn):
    for i in range(len(CASES)):
        got, expected, parameters, A3, Y, m, lambd = _cost_case(fn, i)
        if abs(got - expected) <= 1e-9 * max(1.0, abs(expected)):
            continue
        base = network.compute_cost(A3, Y)
        penalty = got - base
        for candidate, explanation in _penalty_mistakes(parameters, m, lambd).values():
            if abs(penalty - candidate) <= 1e-9 * max(1.0, abs(candidate)):
                raise Mistake(
                    f"For a {dims_text(parameters)} network, m = {m}, lambd = {lambd}, your cost adds a penalty of "
                    f"{penalty:.6g}, where lambd / (2m) times the sum of the squared weights is {expected - base:.6g}. "
                    f"{explanation}"
                )
        raise Mistake(
            f"For a {dims_text(parameters)} network, m = {m}, lambd = {lambd}, the L2 penalty your cost adds is wrong.",
            "The penalty is lambd / (2m) times the sum, over every weight matrix, of its squared entries.",
        )


def dims_text(parameters: dict) -> str:
    W1 = parameters["W1"]
    sizes = [W1.shape[1]] + [parameters[f"W{l}"].shape[0] for l in (1, 2, 3)]
    return "-".join(str(s) for s in sizes)


# -------------------------------------------------------- L2 backward


def _grad_case(fn, case_index: int):
    parameters, X, Y, m, lambd = _l2_case(case_index, 40 + case_index)
    _, cache = network.forward_propagation(X, parameters)
    expected = reference.backward_propagation_with_regularization(X, Y, dict(cache), lambd)

    def ask():
        given = {k: v.copy() for k, v in cache.items()}
        return fn(X.copy(), Y.copy(), given, lambd), given

    # The dW and the db parts ask the same questions: one call each, shared.
    answer, given = asked_once(fn, ("l2 backward", case_index, lambd), ask)
    expect_dict(answer, "backward_propagation_with_regularization")
    changed = sorted(k for k in cache if not np.array_equal(given.get(k), cache[k]))
    if changed:
        raise Mistake(
            f"backward_propagation_with_regularization changes the cache ({', '.join(changed)}) in place.",
            "The cache's W are the network's parameters: compute the L2 term into a new array (x = x + ...).",
        )
    got = expect_gradients(answer, parameters, "backward_propagation_with_regularization")
    return got, expected, parameters, X, Y, m, lambd


def _close(a, b) -> bool:
    return bool(np.allclose(a, b, rtol=1e-7, atol=1e-10))


def _mismatches(fn, kind: str):
    """``(l, key, got, expected, parameters, m, lambd)`` for each ``d<kind>l`` that differs from the reference's, case by case."""
    for i in range(len(CASES)):
        got, expected, parameters, X, Y, m, lambd = _grad_case(fn, i)
        for l in (1, 2, 3):
            key = f"d{kind}{l}"
            if not _close(got[key], expected[key]):
                yield l, key, got[key], expected[key], parameters, m, lambd


@part("backward_propagation_with_regularization", "every dW carries lambd/m * W, for several sizes", 1.5)
def _l2_dW(fn):
    for l, key, got, expected, parameters, m, lambd in _mismatches(fn, "W"):
        W = parameters[f"W{l}"]
        extra = got - (expected - lambd / m * W)  # what the function adds to backprop's dW
        factor = float(np.sum(extra * W) / np.sum(W * W))
        if not _close(extra, factor * W):
            raise Mistake(
                f"The extra term in {key} is not a multiple of W{l}.",
                "The derivative of lambd/(2m) * sum(W^2) with respect to W is proportional to W.",
            )
        explained = mistakes.first_match(factor, mistakes.l2_gradient_mistakes(m=m, lambd=lambd).values(), rtol=1e-6, atol=1e-12)
        if explained:
            raise Mistake(
                f"{key} carries {factor:.5g} * W{l} on top of backprop's gradient; with lambd = {lambd} and m = {m} "
                f"the L2 term is lambd / m * W{l} = {lambd / m:.5g} * W{l}. {explained}"
            )
        raise Mistake(
            f"{key} does not match the gradient of the regularized cost (network {dims_text(parameters)}, m = {m}, lambd = {lambd}).",
            "dW = (backprop's dW) + lambd/m * W.",
        )


@part("backward_propagation_with_regularization", "db is not regularized", 1)
def _l2_db(fn):
    for l, key, got, expected, parameters, m, lambd in _mismatches(fn, "b"):
        if _close(got - expected, lambd / m * parameters[f"b{l}"]):
            raise Mistake(f"{key} carries an L2 term.", "Biases are not penalized, so their gradients do not change.")
        raise Mistake(f"{key} does not match the gradient of the regularized cost.", "db is exactly as in ordinary backprop.")


@functools.lru_cache(maxsize=1)
def _l2_numerical_gradient() -> dict:
    """Numerical gradients of the reference's regularized cost at the fixed instance below (once per process)."""
    dims, m, lambd = [3, 4, 2, 1], 6, 0.9
    parameters, X, Y = _instance(77, dims, m)

    def cost(p):
        A3, _ = network.forward_propagation(X, p)
        return reference.compute_cost_with_regularization(A3, Y, p, lambd)

    numeric = numerical_gradient(cost, parameters)
    for value in numeric.values():
        value.setflags(write=False)
    return numeric


@part("backward_propagation_with_regularization", "agrees with numerical gradients of the regularized cost", 0.5)
def _l2_numerical(fn):
    dims, m, lambd = [3, 4, 2, 1], 6, 0.9
    parameters, X, Y = _instance(77, dims, m)
    numeric = _l2_numerical_gradient()
    _, cache = network.forward_propagation(X, parameters)
    result = fn(X.copy(), Y.copy(), {k: v.copy() for k, v in cache.items()}, lambd)
    error = gradient_error(expect_gradients(result, parameters, "backward_propagation_with_regularization"), numeric)
    # centred differences with eps = 1e-6 are accurate to about 1e-9 here
    if error > 1e-6:
        raise Mistake(f"The gradients differ from numerical gradients of the regularized cost (relative difference {error:.1e}).")


# -------------------------------------------------------- dropout forward


class MaskReplay:
    """A stand-in generator whose ``random(shape)`` reproduces given keep-masks.

    The reference draws ``rng.random(A.shape) < keep_prob``; returning 0 where
    a unit is kept and 1 where it is dropped makes it pick exactly these masks.
    """

    def __init__(self, *masks: np.ndarray):
        self.masks = [np.asarray(mask) != 0 for mask in masks]

    def random(self, shape):
        mask = self.masks.pop(0)
        if mask.shape != tuple(shape):
            raise ValueError("mask shape")
        return np.where(mask, 0.0, 1.0)


def _dropout_run(fn, seed: int, dims, m: int, keep_prob: float):
    parameters, X, _ = _instance(seed, dims, m)
    out = fn(X.copy(), {k: v.copy() for k, v in parameters.items()}, keep_prob, np.random.default_rng(seed))
    if not isinstance(out, tuple) or len(out) != 2:
        raise Mistake("forward_propagation_with_dropout must return a pair (A3, cache).")
    A3, cache = out
    cache = expect_dict(cache, "forward_propagation_with_dropout (its cache)")
    A3 = expect_array(A3, (1, m), "A3", "forward_propagation_with_dropout")
    masks = []
    for l in (1, 2):
        if f"D{l}" not in cache:
            raise Mistake(f"The cache has no 'D{l}'.", "Keep each mask in the cache: backward propagation must reuse the same masks.")
        if isinstance(cache[f"D{l}"], np.ndarray) and cache[f"D{l}"].shape != (dims[l], m) and cache[f"D{l}"].size < dims[l] * m:
            raise Mistake(
                f"D{l} has shape {cache[f'D{l}'].shape}; it should be {(dims[l], m)}, the shape of A{l}.",
                "The mask has one entry per unit and example: each example drops its own units.",
            )
        D = expect_array(cache[f"D{l}"], (dims[l], m), f"D{l}", "forward_propagation_with_dropout")
        if not np.all((D == 0) | (D == 1)):
            raise Mistake(
                f"D{l} holds values other than 0 and 1.",
                "Store the keep-mask itself (True/1 = kept); the 1/keep_prob scaling goes into A, not into D.",
            )
        masks.append(D)
    return parameters, X, A3, cache, masks


@part("forward_propagation_with_dropout", "returns A3 and a cache holding both masks", 0.5)
def _dropout_cache(fn):
    for seed, dims, m in ((5, [3, 6, 4, 1], 7), (6, [2, 5, 5, 1], 1)):
        _dropout_run(fn, seed, dims, m, 0.8)


@part("forward_propagation_with_dropout", "the forward pass with its own masks is right", 1.5)
def _dropout_replay(fn):
    for seed, dims, m, keep_prob in ((7, [3, 6, 4, 1], 9, 0.8), (8, [4, 5, 5, 1], 12, 0.5), (9, [2, 7, 3, 1], 5, 1.0)):
        parameters, X, A3, cache, (D1, D2) = _dropout_run(fn, seed, dims, m, keep_prob)
        ref_A3, ref_cache = reference.forward_propagation_with_dropout(X, parameters, keep_prob, MaskReplay(D1, D2))
        for key in ("Z1", "A1", "Z2", "A2"):
            if (
                key in cache
                and isinstance(cache[key], np.ndarray)
                and cache[key].shape == ref_cache[key].shape
                and not _close(cache[key], ref_cache[key])
            ):
                raise Mistake(*_dropout_diagnosis(key, cache, ref_cache, parameters, X, keep_prob, D1, D2))
        if not _close(A3, ref_A3):
            Z3 = parameters["W3"] @ ref_cache["A2"] + parameters["b3"]
            if np.any(A3 == 0) and not np.any(network.sigmoid(Z3) == 0):
                raise Mistake(
                    "A3 has zeros: dropout reached the output layer.",
                    "Only the hidden layers are dropped; the output layer is never masked.",
                )
            raise Mistake(
                f"A3 does not follow from your masks (keep_prob = {keep_prob}).",
                "Mask the hidden activations, divide them by keep_prob, and leave the input and output layers alone.",
            )


def _dropout_diagnosis(key, cache, ref_cache, parameters, X, keep_prob, D1, D2):
    if key == "Z1":
        return (
            "Z1 is not W1 X + b1: the input layer seems to be dropped or changed.",
            "Dropout applies to the hidden layers' activations A1 and A2, never to the input X.",
        )
    l = int(key[1])
    A_got = cache[key]
    A_ref = ref_cache[key]
    plain = A_ref * keep_prob  # = relu(Z) * D
    for factor, explanation in mistakes.dropout_scale_mistakes(keep_prob=keep_prob).values():
        if key.startswith("A") and _close(A_got, plain * factor):
            return (
                f"{key} is masked, but its kept units are relu(Z{l}) times {factor:.4g}; with keep_prob = {keep_prob} they are "
                f"scaled by 1 / keep_prob = {1 / keep_prob:.4g}. {explanation}",
                "",
            )
    return (
        f"{key} in the cache does not follow from your mask D{l} (keep_prob = {keep_prob}).",
        f"{key} should be the ReLU output times D{l}, divided by keep_prob.",
    )


@part("forward_propagation_with_dropout", "masks keep each unit with probability keep_prob, independently", 1)
def _dropout_statistics(fn):
    dims, m = [3, 150, 150, 1], 200  # equal hidden sizes, so that one mask used for both layers shows
    for seed, keep_prob in ((21, 0.7), (22, 0.9)):
        *_, (D1, D2) = _dropout_run(fn, seed, dims, m, keep_prob)
        for l, D in ((1, D1), (2, D2)):
            kept = float(D.mean())
            # 30,000 independent units: the kept fraction has sd sqrt(kp(1-kp)/30000) <= 0.0027; 0.02 is > 7 sd.
            # Inverted masks and normal draws (Phi(0.7) = 0.758, Phi(0.9) = 0.816) land more than 0.05 away.
            if abs(kept - keep_prob) > 0.02:
                explained = mistakes.first_match(kept, mistakes.dropout_mask_mistakes(keep_prob=keep_prob).values(), rtol=0, atol=0.02)
                if explained:
                    raise Mistake(f"D{l} keeps {kept:.1%} of the units with keep_prob = {keep_prob}. {explained}")
                raise Mistake(
                    f"D{l} keeps {kept:.1%} of the units but keep_prob = {keep_prob}.", "Each unit must be kept with probability keep_prob."
                )
        if np.array_equal(D1, D2):
            raise Mistake("D1 and D2 are identical.", "Draw a fresh mask for each hidden layer.")
        if np.all(D1 == D1[:, :1]):
            raise Mistake("D1 is the same for every example.", "Draw a mask entry for every unit and every example: the shape of A1.")


@part("forward_propagation_with_dropout", "draws from the generator it is given", 0.5)
def _dropout_rng(fn):
    dims, m = [3, 8, 8, 1], 20
    *_, first = _dropout_run(fn, 31, dims, m, 0.6)
    *_, again = _dropout_run(fn, 31, dims, m, 0.6)
    parameters, X, _ = _instance(31, dims, m)
    other = fn(X.copy(), parameters, 0.6, np.random.default_rng(32))[1]
    if any(not np.array_equal(a, b) for a, b in zip(first, again)):
        raise Mistake(
            "Two generators with the same seed give different masks.", "Draw the masks from the rng argument only, never from np.random."
        )
    if all(np.array_equal(np.asarray(other.get(f"D{l}")), first[l - 1]) for l in (1, 2)):
        raise Mistake("Generators with different seeds give the same masks.", "Draw the masks from the rng argument.")


# ------------------------------------------------------- dropout backward


def _dropout_grad_case(fn, seed: int, dims, m: int, keep_prob: float, float_masks: bool = False):
    parameters, X, Y = _instance(seed, dims, m)
    _, cache = reference.forward_propagation_with_dropout(X, parameters, keep_prob, np.random.default_rng(seed))
    if float_masks:
        cache = dict(cache, D1=cache["D1"].astype(np.float64), D2=cache["D2"].astype(np.float64))
    expected = reference.backward_propagation_with_dropout(X, Y, cache, keep_prob)
    result = fn(X.copy(), Y.copy(), {k: np.array(v, copy=True) for k, v in cache.items()}, keep_prob)
    got = expect_gradients(result, parameters, "backward_propagation_with_dropout")
    return got, expected, parameters, X, Y, cache


def _dropout_variant(X, Y, cache, keep_prob, scale=(True, True), masks=("D1", "D2"), factor=None):
    """Backprop with dropout where a mistake can be modelled (no scaling on a layer, other masks, another factor)."""
    factor = 1 / keep_prob if factor is None else factor
    m = X.shape[1]
    dZ = cache["A3"] - Y
    grads = {}
    for l in (3, 2, 1):
        grads[f"dW{l}"] = dZ @ (X if l == 1 else cache[f"A{l - 1}"]).T / m
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1:  # back through hidden layer l - 1: its mask (masks[l - 2]) and its scaling (scale[l - 2])
            dA = cache[f"W{l}"].T @ dZ
            if masks[l - 2]:
                dA = dA * cache[masks[l - 2]]
            if scale[l - 2]:
                dA = dA * factor
            dZ = dA * (cache[f"Z{l - 1}"] > 0)
    return grads


def _same(a: dict, b: dict) -> bool:
    return all(_close(a[k], b[k]) for k in ("dW1", "db1", "dW2", "db2", "dW3", "db3"))


@part("backward_propagation_with_dropout", "reuses the forward pass's masks and scaling, for several sizes", 2)
def _dropout_backward(fn):
    for seed, dims, m, keep_prob, float_masks in (
        (52, [4, 5, 5, 1], 12, 0.5, True),  # equal hidden sizes first: a mask used on the wrong layer shows as such
        (51, [3, 6, 4, 1], 9, 0.8, False),
        (53, [2, 7, 3, 1], 6, 0.65, False),
    ):
        got, expected, parameters, X, Y, cache = _dropout_grad_case(fn, seed, dims, m, keep_prob, float_masks)
        if _same(got, expected):
            continue
        again, *_ = _dropout_grad_case(fn, seed, dims, m, keep_prob, float_masks)
        if not _same(got, again):
            raise Mistake(
                "Two calls with the same cache give different gradients: the masks are drawn again.",
                "Backward propagation must reuse the masks D1, D2 stored in the cache.",
            )
        scaling = {l: mistakes.dropout_backward_mistakes(keep_prob=keep_prob, layer=l) for l in (1, 2)}
        models = [
            (
                dict(scale=(False, False)),
                "The gradients are masked but not divided by keep_prob.",
                "The forward pass divided A1 and A2 by keep_prob, so dA1 and dA2 are divided by keep_prob too.",
            ),
            (dict(scale=(True, False)), scaling[2]["not divided"][1], ""),
            (dict(scale=(False, True)), scaling[1]["not divided"][1], ""),
            (
                dict(factor=keep_prob),
                "dA1 and dA2 are multiplied by keep_prob instead of divided by it.",
                "The forward pass divided A1 and A2 by keep_prob; their gradients are scaled the same way.",
            ),
            (
                dict(masks=(None, "D2")),
                "dA1 is not masked with D1.",
                "Each hidden layer's gradient goes through the same mask as its activation.",
            ),
            (
                dict(masks=(None, "D2"), scale=(False, True)),
                "dA1 is not masked with D1 (nor divided by keep_prob).",
                "Each hidden layer's gradient goes through the same mask and scaling as its activation.",
            ),
            (
                dict(masks=("D1", None)),
                "dA2 is not masked with D2.",
                "Each hidden layer's gradient goes through the same mask as its activation.",
            ),
            (
                dict(masks=("D1", None), scale=(True, False)),
                "dA2 is not masked with D2 (nor divided by keep_prob).",
                "Each hidden layer's gradient goes through the same mask and scaling as its activation.",
            ),
            (
                dict(masks=("D2", "D1")) if dims[1] == dims[2] else None,
                "Each layer's gradient is masked with the other layer's mask: D1 is applied to dA2 and D2 to dA1.",
                "Use each layer's own mask.",
            ),
            (
                dict(masks=("D2", "D2")) if dims[1] == dims[2] else None,
                "dA1 is masked with the other layer's mask, D2.",
                "Use each layer's own mask: dA1 takes D1.",
            ),
            (
                dict(masks=("D1", "D1")) if dims[1] == dims[2] else None,
                "dA2 is masked with the other layer's mask, D1.",
                "Use each layer's own mask: dA2 takes D2.",
            ),
        ]
        for model, diagnosis, hint in models:
            if model is not None and _same(got, _dropout_variant(X, Y, cache, keep_prob, **model)):
                raise Mistake(diagnosis, hint)
        wrong = [k for k in ("dW3", "db3", "dW2", "db2", "dW1", "db1") if not _close(got[k], expected[k])]
        raise Mistake(
            f"{', '.join(wrong)} differ from the gradients of the forward pass with these masks (keep_prob = {keep_prob}).",
            "Apply each mask and the 1/keep_prob scaling to dA1 and dA2, exactly as the forward pass did to A1 and A2.",
        )


@part("backward_propagation_with_dropout", "agrees with numerical gradients with the masks held fixed", 1)
def _dropout_numerical(fn):
    seed, dims, m, keep_prob = 61, [3, 4, 3, 1], 5, 0.7
    got, _, parameters, X, Y, cache = _dropout_grad_case(fn, seed, dims, m, keep_prob)

    def cost(p):
        A3, _ = reference.forward_propagation_with_dropout(X, p, keep_prob, MaskReplay(cache["D1"], cache["D2"]))
        return network.compute_cost(A3, Y)

    error = gradient_error(got, numerical_gradient(cost, parameters))
    # centred differences with eps = 1e-6 are accurate to about 1e-9 here
    if error > 1e-6:
        raise Mistake(
            f"With the masks held fixed, your gradients differ from numerical gradients of the cost (relative difference {error:.1e})."
        )
