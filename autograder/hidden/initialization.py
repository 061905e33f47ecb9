"""Hidden checks for notebook 01: zeros, large random and He initialization.

Deterministic answers (zeros) are compared with the reference. Random ones are
judged by properties on large layers, so a correct answer that draws its
numbers differently (a transposed draw, ``rng.normal(0, s, shape)``) passes:
the spread of every layer, zero mean, the normal shape (not uniform), and that
the draws come from the ``rng`` argument.
"""

from __future__ import annotations

import numpy as np

from autograder.grading.judge import Mistake, part
from autograder.hidden.common import expect_array, expect_dict
from dlwork.checks import mistakes
from source_solutions import initialization as reference

# Several depths, non-square layers, a one-layer network.
SHAPE_DIMS = ([3, 5, 1], [7, 4, 6, 2], [2, 1], [5, 3, 3, 4, 1], [6, 9, 2, 8])
# Big, all-different layer sizes, so that the spread of each layer is measured
# precisely (>= 60,000 draws per layer) and every wrong scale is told apart.
BIG_DIMS = [500, 400, 300, 200]


def check_structure(result, dims: list[int], what: str) -> dict[str, np.ndarray]:
    """Keys ``W1..WL, b1..bL`` with the right shapes; returns the arrays as float."""
    params = expect_dict(result, what)
    L = len(dims) - 1
    expected = {f"{p}{l}" for l in range(1, L + 1) for p in "Wb"}
    missing = sorted(expected - set(params), key=lambda k: (int(k[1:]), k[0]))
    extra = sorted(str(k) for k in set(params) - expected)
    if missing:
        hint = ""
        if all(k.endswith(str(L)) for k in missing):
            hint = "The last layer is missing: the loop should run for l = 1 .. L, i.e. range(1, len(layers_dims))."
        raise Mistake(f"{what} is missing {', '.join(missing)} (for {L} layers it needs W1..W{L} and b1..b{L}).", hint)
    if extra:
        hint = "W0/b0 do not exist: layer 0 is the input." if any(k.endswith("0") for k in extra) else ""
        raise Mistake(f"{what} has unexpected keys {', '.join(extra)}.", hint)
    arrays = {}
    for l in range(1, L + 1):
        for key, shape in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            value = params[key]
            if l > 1 and dims[1] != dims[l] and isinstance(value, np.ndarray) and value.shape[:1] == (dims[1],) and value.shape != shape:
                raise Mistake(
                    f"{key} from {what} has shape {value.shape}; it should be {shape}.",
                    "Its first dimension is layers_dims[1]; layer l has layers_dims[l] units.",
                )
            arrays[key] = expect_array(value, shape, key, what)
            if not np.issubdtype(value.dtype, np.floating):
                raise Mistake(f"{key} from {what} has dtype {value.dtype}; parameters are floating point (float64).")
    return arrays


def _call(fn, dims, seed=None):
    what = f"{getattr(fn, '__name__', 'your function')}({dims}{'' if seed is None else ', rng'})"
    result = fn(list(dims)) if seed is None else fn(list(dims), np.random.default_rng(seed))
    return result, what


# ----------------------------------------------------------------- zeros


@part("initialize_parameters_zeros", "keys and shapes for several depths", 1)
def _zeros_shapes(fn):
    for dims in SHAPE_DIMS:
        result, what = _call(fn, dims)
        check_structure(result, dims, what)


@part("initialize_parameters_zeros", "every weight and bias is zero", 1)
def _zeros_values(fn):
    for dims in SHAPE_DIMS:
        result, what = _call(fn, dims)
        arrays = check_structure(result, dims, what)
        expected = reference.initialize_parameters_zeros(dims)
        for key, value in arrays.items():
            if not np.array_equal(value, expected[key]):
                raise Mistake(f"{key} from {what} has non-zero entries.", "This exercise sets every weight and bias to 0.")


# ------------------------------------------------------- random and He


def check_spread(fn, expected_std, known, seed: int, name: str) -> None:
    """Every layer: zero mean, normal shape, std as ``expected_std(dims, l)``; zero biases.

    A wrong spread is named after the mistake of the table ``known(dims)`` (one of
    :mod:`dlwork.checks.mistakes`) that accounts for every layer at once, so
    mistakes that agree on one layer are told apart by the others.
    """
    dims = BIG_DIMS
    result, what = _call(fn, dims, seed)
    arrays = check_structure(result, dims, what)
    layers = range(1, len(dims))
    actual = {l: float(arrays[f"W{l}"].std()) for l in layers}
    for l in layers:
        W = arrays[f"W{l}"]
        # The mean of n normal draws has sd std/sqrt(n) <= std/245 here; 6 sd cannot be reached by chance.
        if abs(float(W.mean())) > 6 * actual[l] / np.sqrt(W.size):
            raise Mistake(
                f"W{l} of {what} has mean {W.mean():.4g}, far from 0.",
                "The weights should be centred on 0: rng.random draws uniformly from [0, 1); draw with rng.standard_normal.",
            )
        # For a normal distribution 68.3% of draws lie within one std of the mean (uniform: 57.7%).
        # With n >= 60,000 the fraction has sd <= 0.002; the 0.03 band is 15 sd wide.
        inside = float(np.mean(np.abs(W) < actual[l]))
        if abs(inside - 0.6827) > 0.03:
            raise Mistake(
                f"W{l} of {what} does not look normally distributed ({inside:.1%} of the weights lie within one standard deviation; "
                "a normal draw gives 68.3%, a uniform one 57.7%).",
                "Draw with rng.standard_normal.",
            )
    # The sample std of n normal draws has relative sd 1/sqrt(2n) (<= 0.3% here); 3% is > 10 sd.
    off = [l for l in layers if abs(actual[l] / expected_std(dims, l) - 1) > 0.03]
    if off:
        l = off[0]
        explained = mistakes.scale_mistake(actual, known(dims), 0.03, l)
        if explained:
            raise Mistake(
                f"W{l} of {what} has standard deviation {actual[l]:.4g}, where {name} gives {expected_std(dims, l):.4g}. {explained}"
            )
        raise Mistake(
            f"W{l} of {what} has standard deviation {actual[l]:.4g}, which is not what {name} should give for a layer of fan-in {dims[l - 1]}.",
            "Check the scale factor and which layer size it uses.",
        )
    for l in layers:
        if np.any(arrays[f"b{l}"] != 0):
            raise Mistake(f"b{l} of {what} is not zero.", "Biases start at zero; only the weights need random values to break symmetry.")
    # The first draws of each layer, divided by the layer's scale: fresh draws never agree.
    starts = [arrays[f"W{l}"].ravel()[:5] / expected_std(dims, l) for l in layers]
    if any(np.allclose(starts[i], starts[j], rtol=1e-9, atol=0) for i in range(len(starts)) for j in range(i)):
        raise Mistake(f"{what}: two layers start with the same numbers.", "Draw fresh numbers for every layer from the one rng.")


def check_uses_rng(fn, what_name: str) -> None:
    dims = [6, 5, 4, 1]
    first, what = _call(fn, dims, 11)
    again, _ = _call(fn, dims, 11)
    other, _ = _call(fn, dims, 12)
    a, b, c = (check_structure(r, dims, what) for r in (first, again, other))
    if any(not np.array_equal(a[k], b[k]) for k in a):
        raise Mistake(
            f"{what_name} gives different weights for two generators made with the same seed.",
            "Draw only from the rng argument (rng.standard_normal), never from np.random.",
        )
    if all(np.array_equal(a[k], c[k]) for k in a if k.startswith("W")):
        raise Mistake(
            f"{what_name} gives the same weights for generators with different seeds.",
            "Draw the weights from the rng argument.",
        )


def _he_std(dims, l):
    return np.sqrt(2.0 / dims[l - 1])


def _random_std(dims, l):
    return 10.0


for _name, _std, _known, _label in (
    (
        "initialize_parameters_random",
        _random_std,
        lambda dims: mistakes.random_scale_mistakes(),
        "the large random initialization (10 x standard normal)",
    ),
    ("initialize_parameters_he", _he_std, mistakes.he_scale_mistakes, "He initialization"),
):

    def _shapes(fn, _name=_name):
        for i, dims in enumerate(SHAPE_DIMS):
            result, what = _call(fn, dims, 100 + i)
            check_structure(result, dims, what)

    def _biases(fn):
        for i, dims in enumerate(SHAPE_DIMS):
            result, what = _call(fn, dims, 200 + i)
            arrays = check_structure(result, dims, what)
            for key, value in arrays.items():
                if key.startswith("b") and np.any(value != 0):
                    raise Mistake(f"{key} of {what} is not zero.", "Biases start at zero; the random weights already break the symmetry.")

    def _spread(fn, _std=_std, _known=_known, _label=_label):
        for seed in (1, 2):
            check_spread(fn, _std, _known, seed, _label)

    def _rng(fn, _name=_name):
        check_uses_rng(fn, _name)

    part(_name, "keys and shapes for several depths", 1)(_shapes)
    part(_name, "biases are zero", 0.5)(_biases)
    part(_name, "spread, mean and shape of every layer's weights", 2)(_spread)
    part(_name, "draws from the generator it is given", 0.5)(_rng)
