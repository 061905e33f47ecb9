"""The well-known mistakes of each graded function, and what to tell the student about each.

One table per graded function, read by the visible checks beside this file and
by the grader's hidden checks alike, so a mistake is explained in the same
words wherever it is caught. A check works out a value (a layer's spread, the
penalty a cost adds, the difference a gradient check returns), and when it is
wrong, :func:`first_match` names the mistake that gives that value.

Where the value a mistake leads to can be worked out without doing the
exercise (the spread of a wrongly scaled layer, the factor in front of an L2
term), the table computes it from a description of the case that the caller
worked out (sums of squares, sizes: never the arrays themselves). Where it
cannot (what the 1-D model or a gradient check returns under a mistake is
most of an answer), the table holds the words only, keyed by mistake, and each
check pairs them with the values on its own cases: the visible checks with
numbers worked out by hand for their fixed cases, the hidden checks with
models the grader computes. Nothing here computes a graded function's answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

# (std of layer l's weights, explanation for layer l): a mistake of an initialization
ScaleMistake = tuple[Callable[[int], float], Callable[[int], str]]


def first_match(value: float, candidates: Iterable[tuple[float, str]], rtol: float = 1e-4, atol: float = 1e-9) -> str | None:
    """The explanation of the first candidate ``(value it gives, explanation)`` that ``value`` agrees with, if any.

    Agreement is ``|value - candidate| <= atol + rtol * |candidate|``.
    """
    for target, explanation in candidates:
        if abs(value - target) <= atol + rtol * abs(target):
            return explanation
    return None


# ------------------------------------------------------------------ notebook 01: initialization


def scale_mistake(stds: dict[int, float], mistakes: Iterable[ScaleMistake], rtol: float, layer: int) -> str | None:
    """The explanation, for ``layer``, of the first mistake that accounts for every layer's spread at once.

    Args:
        stds: Layer ``l`` -> the standard deviation of its weights.
        mistakes: A table such as :func:`he_scale_mistakes`.
        rtol: How far (relatively) a std may be from a mistake's and still count as it.
        layer: The layer the explanation speaks of (the first one that is off).

    Two mistakes that agree on one layer (the current layer's size and ``layers_dims[1]``,
    say) are told apart by the others.
    """
    for std, explain in mistakes:
        if all(abs(stds[l] / std(l) - 1) <= rtol for l in stds):
            return explain(layer)
    return None


def random_scale_mistakes() -> list[ScaleMistake]:
    """The wrong spreads of ``initialize_parameters_random`` (10 * standard normal draws)."""
    return [
        (lambda l: 1.0, lambda l: "That is a plain standard normal: did you forget to multiply by 10?"),
        (lambda l: 0.1, lambda l: "Did you divide by 10 instead of multiplying?"),
        (lambda l: 100.0, lambda l: "Multiply by 10 once; the std of 10 * N(0, 1) is 10."),
    ]


def he_scale_mistakes(layers_dims: list[int]) -> list[ScaleMistake]:
    """The wrong spreads of ``initialize_parameters_he`` (std ``sqrt(2 / layers_dims[l-1])``) for ``layers_dims``."""
    dims = list(layers_dims)
    return [
        (
            lambda l: math.sqrt(2 / dims[l]),
            lambda l: (
                f"That is sqrt(2 / {dims[l]}): did you use the current layer's size instead of the previous "
                "layer's? He init scales by the fan-in, the number of inputs each unit receives."
            ),
        ),
        (
            lambda l: math.sqrt(1 / dims[l - 1]),
            lambda l: (
                f"That is sqrt(1 / {dims[l - 1]}) (LeCun's scale, often called Xavier's); He init for ReLU uses 2 / fan_in: "
                "ReLU zeroes about half of its inputs and the 2 makes up for it."
            ),
        ),
        (lambda l: 2 / dims[l - 1], lambda l: f"That is 2 / {dims[l - 1]}, the variance: the standard deviation is its square root."),
        (
            lambda l: math.sqrt(2 / dims[1]),
            lambda l: (
                f"Every layer has std sqrt(2 / {dims[1]}): the scale uses layers_dims[1] for every layer. "
                "Each layer's fan-in is the size of the layer before it, layers_dims[l-1]."
            ),
        ),
        (lambda l: 1.0, lambda l: "The draws are not scaled at all: multiply them by sqrt(2 / fan_in)."),
    ]


# ------------------------------------------------------------------ notebook 02: L2 regularization


def l2_penalty_mistakes(
    *, m: int, lambd: float, squares: list[float], sums: list[float], sizes: list[int], bias_squares: float
) -> dict[str, tuple[float, str]]:
    """The penalties ``compute_cost_with_regularization`` adds under each mistake, worked out from the case.

    Args:
        m: The number of examples.
        lambd: The regularization strength.
        squares: For each weight matrix, in layer order, the sum of its squared entries.
        sums: For each weight matrix, the sum of its entries.
        sizes: For each weight matrix, its number of entries.
        bias_squares: The sum of the squared entries of all the biases.

    Returns:
        Mistake -> ``(penalty, explanation)``; the right penalty is ``lambd / (2m) * sum(squares)``.
    """
    factor, total = lambd / (2 * m), sum(squares)
    table = {
        "lambd / m": (
            lambd / m * total,
            "That is twice the right amount: the factor is lambd / (2m), not lambd / m (the 1/2 makes the "
            "derivative of the penalty come out as lambd / m * W).",
        ),
        "lambd / (4m)": (lambd / (4 * m) * total, "That is half the right amount: the factor is lambd / (2m)."),
        "no 1/m": (
            lambd / 2 * total,
            "That is m times the right amount: the 1/m factor is missing, or m is not the number of examples "
            "(m = Y.shape[1]; len(Y) is the number of rows, 1). Like the cross-entropy, the penalty is averaged "
            "over the m examples.",
        ),
        "no 1/(2m)": (
            lambd * total,
            "The penalty misses both the 1/2 and the 1/m: it is lambd / (2m) times the sum of the squared weights.",
        ),
        "norms not squared": (
            factor * sum(math.sqrt(s) for s in squares),
            "The weight norms are not squared: the penalty uses ||W||_F^2, the sum of the squared entries (np.sum(np.square(W))).",
        ),
        "square of the sum": (
            factor * sum(s**2 for s in sums),
            "That is lambd / (2m) times the square of the sum of each matrix's entries: square every "
            "entry first, then add (the square of the sum is not the sum of the squares).",
        ),
        "mean of squares": (
            factor * sum(s / n for s, n in zip(squares, sizes)),
            "That is lambd / (2m) times the mean of each matrix's squares (np.mean): the penalty adds the squares up (np.sum).",
        ),
        "biases": (
            factor * (total + bias_squares),
            "The penalty includes the biases; biases are not penalized, only the weight matrices are.",
        ),
        "subtracted": (-factor * total, "The penalty is subtracted: the cost should grow by it."),
    }
    for l, square in enumerate(squares, start=1):
        table[f"no W{l}"] = (factor * (total - square), f"W{l} is left out of the penalty: the sum runs over the weights of every layer.")
    return table


def l2_gradient_mistakes(*, m: int, lambd: float) -> dict[str, tuple[float, str]]:
    """The multiple of ``Wl`` that ``backward_propagation_with_regularization`` adds to ``dWl`` under each mistake.

    Returns:
        Mistake -> ``(factor, explanation)``; the right factor is ``lambd / m``.
    """
    return {
        "lambd / (2m)": (lambd / (2 * m), "That is lambd / (2m): differentiating W**2 gives 2W, and the 2 cancels the 1/2."),
        "sign": (-lambd / m, "The sign is flipped: the penalty grows with the weights, so its gradient points the same way as W."),
        "no 1/m": (lambd, "The 1/m is missing: the penalty is averaged over the m examples, and so is its gradient."),
        "m twice": (lambd / m**2, "m is divided twice."),
        "missing": (0.0, "The L2 term is missing: every weight matrix gets the extra term lambd / m * W."),
        "twice": (2 * lambd / m, "The L2 term is added twice."),
    }


# ------------------------------------------------------------------ notebook 02: dropout


def dropout_mask_mistakes(*, keep_prob: float) -> dict[str, tuple[float, str]]:
    """The fraction of units a mask keeps under each mistake; the right fraction is ``keep_prob``.

    Returns:
        Mistake -> ``(kept fraction, explanation)``.
    """
    return {
        "inverted": (
            1 - keep_prob,
            "That is about 1 - keep_prob: the comparison is inverted. A unit is kept when its uniform draw is below keep_prob.",
        ),
        "normal draws": (
            0.5 * (1 + math.erf(keep_prob / math.sqrt(2))),
            "That is what normal draws give: draw uniform numbers in [0, 1) with rng.random, so that P(draw < keep_prob) = keep_prob.",
        ),
    }


def dropout_scale_mistakes(*, keep_prob: float) -> dict[str, tuple[float, str]]:
    """What the kept units of a hidden layer are multiplied by under each mistake; the right factor is ``1 / keep_prob``.

    Returns:
        Mistake -> ``(factor, explanation)``.
    """
    return {
        "not divided": (
            1.0,
            "They are not divided by keep_prob: divide after masking (inverted dropout), so the expected "
            "value of each activation stays what it was without dropout.",
        ),
        "multiplied": (
            keep_prob,
            "They are multiplied by keep_prob; divide instead, which keeps the expected value of each activation unchanged.",
        ),
    }


def dropout_backward_mistakes(*, keep_prob: float, layer: int) -> dict[str, tuple[float, str]]:
    """How far off hidden layer ``layer``'s gradient comes out under each mistake of its ``1 / keep_prob`` scaling.

    Returns:
        Mistake -> ``(factor, explanation)``: the gradient is ``factor`` times the right one; the right factor is 1.
    """
    return {
        "not divided": (
            keep_prob,
            f"dA{layer} is not divided by keep_prob: the forward pass divided A{layer} by "
            "keep_prob, so its gradient is scaled the same way.",
        ),
        "multiplied": (keep_prob**2, f"dA{layer} is multiplied by keep_prob; divide it instead, as A{layer} was."),
    }


# ------------------------------------------------------------------ notebook 03: gradient checking

# The words only: what forward_propagation, backward_propagation or a gradient check returns
# under a mistake is (part of) the answer, so each check works those values out on its own cases.

FORWARD_PROPAGATION = {
    "x + theta": "That is x + theta: the model multiplies them.",
    "x": "That is x alone: J depends on theta too.",
    "theta": "That is theta alone: J depends on x too.",
}

BACKWARD_PROPAGATION = {
    "theta": "That is theta: differentiate with respect to theta, holding x fixed.",
    "J": "That is J itself, not its derivative.",
}

GRADIENT_CHECK = {
    "grad is gradapprox": "grad must come from backward_propagation(x, theta); only gradapprox comes from the centred difference.",
    "derivative written out": "Your grad does not come from backward_propagation (the check runs your function with "
    "other models): call backward_propagation(x, theta) rather than writing the derivative out.",
    "J written out": "J_plus and J_minus do not come from forward_propagation: with a forward_propagation that returns "
    "NaN swapped in, your result is still a number, so J is probably written out (theta * x). Compute J_plus and "
    "J_minus with forward_propagation(x, theta + epsilon) and forward_propagation(x, theta - epsilon).",
    "neither called": "Neither J nor grad comes from the functions you wrote: with a forward_propagation, or a "
    "backward_propagation, that returns NaN swapped in, your result is still a number, so both are probably written "
    "out (theta * x and x). Compute J_plus and J_minus with forward_propagation(x, theta +/- epsilon) and grad with "
    "backward_propagation(x, theta): the check is there to test them.",
    "one-sided": "That is a one-sided difference, (J(theta + eps) - J(theta)) / eps: use the centred difference "
    "(J(theta + eps) - J(theta - eps)) / (2 eps), far more accurate (its error shrinks like eps^2).",
    "one-sided backwards": "That is a one-sided difference, (J(theta) - J(theta - eps)) / eps: use the centred difference "
    "(J(theta + eps) - J(theta - eps)) / (2 eps).",
    "over epsilon": "J(theta + eps) - J(theta - eps) spans 2 * epsilon: divide by 2 * epsilon, not epsilon.",
    "gradapprox": "That is gradapprox itself; return the relative difference between grad and gradapprox.",
    "grad": "That is grad itself; return the relative difference between grad and gradapprox.",
    "absolute": "That is the absolute difference ||grad - gradapprox||; divide it by ||grad|| + ||gradapprox|| to make it relative.",
    "signed": "It is negative: the numerator is a norm (np.linalg.norm), never negative.",
    "squared": "The norms are squared; use them as they are: ||grad - gradapprox|| / (||grad|| + ||gradapprox||).",
    "norm of sum": "The denominator is ||grad + gradapprox||; it is ||grad|| + ||gradapprox||, two norms added, so that "
    "opposite signs give the largest difference, 1.",
    "own epsilon": "The centred difference came out as the exact slope, as if the step were tiny: use the epsilon "
    "argument the function is given, not a value of your own.",
}


def models_ignored(calls_forward: bool, calls_backward: bool, value: float, grad: float, gradapprox: float) -> str | None:
    """Explain a ``gradient_check`` that leaves out ``forward_propagation`` or ``backward_propagation``.

    The checks find out whether each is called (by swapping it for a model that answers
    NaN) and pass the result ``value`` of the check on a model whose ``grad`` and
    ``gradapprox`` they know; ``None`` when both are called.
    """
    if calls_forward and calls_backward:
        return None
    if not calls_forward and not calls_backward:
        return GRADIENT_CHECK["neither called"]
    if not calls_forward:  # returning grad itself needs no J either
        return GRADIENT_CHECK["grad" if _close(value, grad) else "J written out"]
    if value < 1e-6:  # grad = gradapprox gives 0 whatever the model
        return GRADIENT_CHECK["grad is gradapprox"]
    return GRADIENT_CHECK["gradapprox" if _close(value, gradapprox) else "derivative written out"]


def _close(a: float, b: float, rtol: float = 1e-6) -> bool:
    return abs(a - b) <= rtol * max(abs(a), abs(b)) + 1e-15


GRADIENT_CHECK_N = {
    "gradapprox zero": "That means gradapprox is all zeros: J_plus and J_minus came out equal. J_minus must come from "
    "theta_minus (not theta_plus), and each must move entry i of theta.",
    "over epsilon": "gradapprox is twice the gradient: divide by 2 * epsilon, not epsilon (theta_plus and theta_minus "
    "are 2 epsilon apart).",
    "one-sided": "That is a one-sided difference (J_plus - J(theta)) / epsilon; use the centred difference "
    "(J_plus - J_minus) / (2 * epsilon).",
    "whole vector": "Every entry of gradapprox is the same: perturb only entry i of theta, not the whole vector.",
    "no copy": "J_minus seems to be J at theta itself: without a copy, theta_plus and theta_minus are the same array and "
    "the second move undoes the first. Make each a fresh np.copy of theta.",
    "copy outside the loop": "The perturbations pile up from one i to the next: copy theta afresh for every i, inside the loop.",
    "moves X": "gradapprox comes from moving X: perturb entry i of theta; the data X stay fixed.",
    "moves X too": "J_plus and J_minus move X as well as theta: your result changes with the size of X, although this "
    "cost's slope in theta does not depend on X, so X is probably shifted by +/- epsilon too. Pass X to the cost "
    "unchanged; only entry i of theta moves.",
    "minus whole vector": "J_minus shifts the whole vector: theta_minus is theta - epsilon in every entry, while "
    "theta_plus moves entry i alone, so each gradapprox[i] mixes in the slopes of all the other entries. Subtract "
    "epsilon from entry i alone (index it), on a fresh copy of theta.",
    "plus whole vector": "J_plus shifts the whole vector: theta_plus is theta + epsilon in every entry, while "
    "theta_minus moves entry i alone, so each gradapprox[i] mixes in the slopes of all the other entries. Add "
    "epsilon to entry i alone (index it), on a fresh copy of theta.",
    "1-D gradapprox": "grad - gradapprox is a matrix, not a vector: gradapprox is 1-D, shape (n,), while grad is a "
    "column, shape (n, 1), and NumPy broadcasts the two. Give gradapprox theta's shape "
    "(np.zeros_like(theta)).",
    "order": "grad and gradapprox are not in the same order: with every entry of theta equal the difference is 0, so "
    "each entry of gradapprox is right but sits against another entry of grad. Stack grad in theta's order, "
    "the layout dictionary_to_vector returned (gradients_to_vector does).",
    "ignores cost_function": "It ignores its cost_function argument: given another cost, it still differentiates "
    "forward_propagation_n. When cost_function is given, compute J_plus and J_minus with it; "
    "forward_propagation_n is the default.",
    "own epsilon": "Perturb theta by the epsilon argument, not a value of your own.",
    "L1": "That is the L1 version (sums of absolute values): use 2-norms, np.linalg.norm, for all three norms.",
    "no denominator": "The denominator is missing: divide by ||grad|| + ||gradapprox||.",
    "grad alone": "The denominator is ||grad|| alone; it is ||grad|| + ||gradapprox||.",
    "gradapprox alone": "The denominator is ||gradapprox|| alone; it is ||grad|| + ||gradapprox||.",
    "norm of sum": "The denominator is ||grad + gradapprox||; it is ||grad|| + ||gradapprox||.",
    "squared": "The norms are squared; use them as they are.",
}
