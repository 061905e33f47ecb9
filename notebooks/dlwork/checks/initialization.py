"""Visible checks of notebook 01: zeros, large random and He initialization.

Keys, shapes and dtypes on two layouts; zero biases; the spread of every
layer's weights, measured on layers large enough for tight statistics and
named after the mistake that accounts for every layer at once
(:mod:`dlwork.checks.mistakes`); and that the draws come from the ``rng``
argument.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from dlwork.checks import mistakes
from dlwork.checks._harness import Exercise, close, natural


def _expect_layout(ex: Exercise, params: Any, dims: list[int]) -> dict:
    """Keys W1, b1, ..., WL, bL with shapes (n_l, n_{l-1}) and (n_l, 1), floating point."""
    call = f"with layers_dims = {dims} the result"
    params = ex.expect_dict(params, f"The result for layers_dims = {dims}")
    L = len(dims) - 1
    expected = [f"{kind}{l}" for l in range(1, L + 1) for kind in "Wb"]
    if "W0" in params or "b0" in params:
        ex.fail(
            f"{call} has a key 'W0' or 'b0'. Layers are numbered from 1: W1 connects the "
            "input (layer 0) to the first layer, so the loop starts at l = 1."
        )
    weights = sorted((key for key in params if key.startswith("W")), key=natural)
    n_weights = len(weights)
    if n_weights != L:
        more = (
            "The last layer is missing: is the loop stopping one layer early?"
            if n_weights == L - 1
            else ("Is the loop going one layer too far?" if n_weights == L + 1 else "")
        )
        ex.fail(
            f"{call} has {n_weights} weight {'matrix' if n_weights == 1 else 'matrices'} ({', '.join(weights) or 'none'}), "
            f"but layers_dims describes L = {L} {'layer' if L == 1 else 'layers'} ({'W1' if L == 1 else f'W1 to W{L}'}): "
            f"one per entry after the input. {more}".rstrip()
        )
    ex.expect_keys(params, expected, f"The result for layers_dims = {dims}")
    extra = sorted(set(params) - set(expected), key=natural)
    ex.expect(not extra, f"{call} has unexpected keys {extra}; only {expected} belong there.")
    for l in range(1, L + 1):
        rows, cols = dims[l], dims[l - 1]
        for key, shape, causes, otherwise in (
            (
                f"W{l}",
                (rows, cols),
                [((cols, rows), "It is transposed: rows are the units of this layer, columns the units of the previous one.")],
                "Wl connects layer l-1 to layer l, so it has shape (layers_dims[l], layers_dims[l-1]).",
            ),
            (
                f"b{l}",
                (rows, 1),
                [
                    ((rows,), "It is 1-D; make it a column, shape (n_l, 1), so it broadcasts over the examples."),
                    ((1, rows), "It is a row; biases are columns, one entry per unit of the layer."),
                ],
                "There is one bias per unit of layer l, as a column.",
            ),
        ):
            value = ex.expect_array(params[key], key)
            if value.shape != shape:
                why = next((text for wrong, text in causes if value.shape == wrong), None)
                if why is None and l > 1 and value.shape[:1] == (dims[1],) and dims[1] != rows:
                    why = f"Its first dimension is layers_dims[1] = {dims[1]}: use the size of layer l, layers_dims[l]."
                ex.fail(f"with layers_dims = {dims}, {key} has shape {value.shape}, expected {shape}. {why or otherwise}")
            ex.ok()
        for key in (f"W{l}", f"b{l}"):
            ex.expect(
                np.issubdtype(params[key].dtype, np.floating),
                f"{key} has dtype {params[key].dtype}; parameters are floating point (float64).",
            )
    return params


def _expect_zero_biases(ex: Exercise, params: dict) -> None:
    for key in sorted(params, key=natural):
        if key.startswith("b"):
            ex.expect(
                not np.any(params[key]), f"{key} has non-zero entries; biases start at zero (random weights already break the symmetry)."
            )


def _normal_std(ex: Exercise, W: np.ndarray, name: str) -> float:
    """The std of ``W``'s entries, once they look like independent draws from N(0, std**2).

    Every matrix tested holds at least 20,000 entries (n). Bounds, in standard
    deviations of the statistic for normal draws:
      * mean within 0.1 std: the sample mean has sd std/sqrt(n) <= 0.0071 std (14 sd);
      * excess kurtosis within 0.5 of 0: its sd is sqrt(24/n) <= 0.035 (14 sd);
        uniform draws give -1.2.
    """
    values = np.asarray(W, dtype=np.float64).reshape(-1)
    assert values.size >= 20_000, "the bounds below are sized for at least 20,000 draws"
    if np.ptp(values) == 0:
        ex.fail(
            f"every entry of {name} equals {values[0]:.4g}. Each weight must be drawn on its own: "
            "identical weights make every unit of a layer compute the same thing (symmetry is not broken)."
        )
    mean, std = values.mean(), values.std()
    if abs(mean) > 0.1 * std:
        ex.fail(
            f"{name} has mean {mean:.4g} but weights should be centred on 0 (std {std:.4g}). "
            "rng.random draws uniformly from [0, 1); draw from a normal distribution with rng.standard_normal."
        )
    ex.ok()
    kurtosis = float(np.mean((values - mean) ** 4) / std**4 - 3.0)
    if abs(kurtosis) > 0.5:
        shape = "flat, like uniform draws" if kurtosis < 0 else "heavier-tailed than a normal"
        ex.fail(
            f"the entries of {name} are {shape} (excess kurtosis {kurtosis:.2f}; normal draws give 0). "
            "Draw them with rng.standard_normal (or rng.normal), not rng.random or rng.uniform."
        )
    ex.ok()
    return float(std)


# The sample std of n >= 20,000 normal draws has relative sd 1/sqrt(2n) <= 0.5%: a 5%
# band is 10 sd wide, and every wrong scale the checks name is at least 20% away.
_STD_RTOL = 0.05


def _expect_scales(
    ex: Exercise, stds: dict[int, float], target: Callable[[int], float], rule: Callable[[int], str], known: list[mistakes.ScaleMistake]
) -> None:
    """Each layer's std (``stds[l]``) is ``target(l)``; otherwise name the mistake from the table ``known``.

    A mistake is named only when it accounts for every layer (:func:`dlwork.checks.mistakes.scale_mistake`).
    """
    off = [l for l in sorted(stds) if abs(stds[l] / target(l) - 1) > _STD_RTOL]
    if off:
        l = off[0]
        cause = mistakes.scale_mistake(stds, known, _STD_RTOL, l) or (
            "Check the factor you multiply the standard normal draws by, and which layer size it uses."
        )
        ex.fail(f"W{l} has std {stds[l]:.4g}, but {rule(l)} gives {target(l):.4g}. {cause}")
    ex.ok()


def _expect_uses_rng(ex: Exercise, dims: list[int]) -> None:
    """Same seed, same weights; another seed, other weights."""
    first = ex.expect_dict(ex.call(list(dims), np.random.default_rng(5)), "The result")
    again = ex.expect_dict(ex.call(list(dims), np.random.default_rng(5)), "The result")
    other = ex.expect_dict(ex.call(list(dims), np.random.default_rng(6)), "The result")
    ex.expect(
        all(close(first[key], again.get(key), rtol=0, atol=0) for key in first),
        "two calls with generators seeded alike gave different weights: draw from the `rng` "
        "argument (rng.standard_normal), not from np.random, whose global state changes between calls.",
    )
    ex.expect(
        not close(first["W1"], other["W1"], rtol=0, atol=0),
        "generators with different seeds gave identical weights: draw from the `rng` argument.",
    )


def check_initialize_parameters_zeros(initialize_parameters_zeros: Callable) -> None:
    """Keys, shapes, dtype and zero values, for a three-layer and a one-layer network."""
    with Exercise("initialize_parameters_zeros", initialize_parameters_zeros) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims)), dims)
            for key in sorted(params, key=natural):
                ex.expect(not np.any(params[key]), f"{key} has non-zero entries; every entry should be 0.0.")


def check_initialize_parameters_random(initialize_parameters_random: Callable) -> None:
    """Keys and shapes; zero biases; weights distributed as 10 * N(0, 1); the rng is used."""
    with Exercise("initialize_parameters_random", initialize_parameters_random) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(0)), dims)
            _expect_zero_biases(ex, params)
        dims = [300, 200, 100]  # 60,000 and 20,000 weights: enough for tight statistics
        params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(1)), dims)
        stds = {l: _normal_std(ex, params[f"W{l}"], f"W{l}") for l in (1, 2)}
        _expect_scales(ex, stds, lambda l: 10.0, lambda l: "10 * standard normal", mistakes.random_scale_mistakes())
        _expect_uses_rng(ex, [7, 5, 3, 1])


def check_initialize_parameters_he(initialize_parameters_he: Callable) -> None:
    """Keys and shapes; zero biases; weights distributed as N(0, 2 / fan_in) per layer; the rng is used."""
    with Exercise("initialize_parameters_he", initialize_parameters_he) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(0)), dims)
            _expect_zero_biases(ex, params)
        # Three layers of 60,000, 20,000 and 40,000 weights, sizes chosen so that each mistake
        # of the table gives, on some layer, a std at least 20% off both the right one and the others'..
        dims = [300, 200, 100, 400]
        params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(1)), dims)
        stds = {l: _normal_std(ex, params[f"W{l}"], f"W{l}") for l in (1, 2, 3)}
        _expect_scales(
            ex,
            stds,
            lambda l: math.sqrt(2 / dims[l - 1]),
            lambda l: f"He initialization with fan_in = layers_dims[{l - 1}] = {dims[l - 1]}, sqrt(2 / {dims[l - 1]}),",
            mistakes.he_scale_mistakes(dims),
        )
        _expect_uses_rng(ex, [7, 5, 3, 1])
