"""Small helpers shared by the hidden checks. Each raises :class:`Mistake` with words a student can act on."""

from __future__ import annotations

import numpy as np

from autograder.grading.judge import Mistake
from autograder.sandbox import fixtures
from autograder.sandbox.wire import CallableRef


def describe(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def expect_dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise Mistake(f"{what} returned {describe(value)}, not a dict.", "Return the dict the docstring describes.")
    return value


def expect_array(value, shape: tuple, name: str, what: str) -> np.ndarray:
    """``value`` as a float array of ``shape``; a Mistake naming ``name`` otherwise."""
    if isinstance(value, (int, float)) and shape == ():
        return np.asarray(float(value))
    if not isinstance(value, np.ndarray):
        raise Mistake(f"{name} from {what} is {describe(value)}, not a NumPy array.")
    if value.shape != tuple(shape):
        hint = ""
        if value.shape == tuple(shape)[::-1]:
            hint = "It looks transposed: check the order of the dimensions."
        elif len(value.shape) == 1 and len(shape) == 2 and value.size == int(np.prod(shape)):
            hint = "It is a 1-D array; keep the column shape (n, 1)."
        raise Mistake(f"{name} from {what} has shape {value.shape}; it should be {tuple(shape)}.", hint)
    if not np.all(np.isfinite(value)):
        raise Mistake(f"{name} from {what} contains NaN or infinity.")
    return value.astype(np.float64)


def expect_number(value, name: str) -> float:
    if isinstance(value, np.ndarray) and value.size == 1:
        value = float(value.reshape(-1)[0])
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise Mistake(f"{name} is {describe(value)}, not a number.", "Return a single float.")
    if not np.isfinite(value):
        raise Mistake(f"{name} is {value}.", "A NaN or infinity usually means a division by zero or a log of 0.")
    return float(value)


def expect_gradients(result, parameters: dict[str, np.ndarray], what: str) -> dict[str, np.ndarray]:
    """``dW1, db1, ..., dbL`` of ``result`` (a dict), each of its parameter's shape, as float arrays."""
    result = expect_dict(result, what)
    got = {}
    for l in range(1, len(parameters) // 2 + 1):
        for p in "Wb":
            key = f"d{p}{l}"
            if key not in result:
                keys = ", ".join(f"d{q}{k}" for k in range(1, len(parameters) // 2 + 1) for q in "Wb")
                raise Mistake(f"The gradients dict has no {key!r}.", f"Return {keys}.")
            got[key] = expect_array(result[key], parameters[f"{p}{l}"].shape, key, what)
    return got


def relative_error(a, b) -> float:
    """``||a - b|| / (||a|| + ||b||)`` (2-norms of the flattened values; 0 when both are 0)."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    denominator = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denominator == 0 else float(np.linalg.norm(a - b) / denominator)


def three_layer_parameters(rng: np.random.Generator, dims: list[int], bias_scale: float = 0.5) -> dict[str, np.ndarray]:
    """Parameters of a 3-layer net with non-zero biases (so that mistakes with biases show)."""
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.standard_normal((dims[l], dims[l - 1])) * np.sqrt(2.0 / dims[l - 1])
        parameters[f"b{l}"] = rng.standard_normal((dims[l], 1)) * bias_scale
    return parameters


def labels(rng: np.random.Generator, m: int) -> np.ndarray:
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    Y[0, 0], Y[0, -1] = 0.0, 1.0  # both classes present
    return Y


def numerical_gradient(cost, parameters: dict[str, np.ndarray], epsilon: float = 1e-6) -> dict[str, np.ndarray]:
    """Centred differences of ``cost(parameters)`` for every entry of every parameter: ``{"d" + name: array}``.

    Judge-side only: a general numerical gradient is the answer of ``gradient_check_n``,
    so nothing the student process can import may hold one.
    """
    grads = {}
    for name, value in parameters.items():
        g = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in parameters.items()}
            minus = {k: v.copy() for k, v in parameters.items()}
            plus[name][index] += epsilon
            minus[name][index] -= epsilon
            g[index] = (cost(plus) - cost(minus)) / (2 * epsilon)
        grads["d" + name] = g
    return grads


def gradient_error(got: dict[str, np.ndarray], numeric: dict[str, np.ndarray]) -> float:
    """The relative error of the gradients ``got`` against ``numeric`` (same keys), all entries at once."""
    keys = sorted(numeric)
    return relative_error(np.concatenate([np.ravel(got[k]) for k in keys]), np.concatenate([np.ravel(numeric[k]) for k in keys]))


def student_side(value):
    """``value`` as the student process knows it.

    A function of the grader's stand-ins (:mod:`autograder.sandbox.fixtures`) becomes a
    reference to its student-side name, ``grader_fixtures:<name>``; anything else (data,
    a function of ``dlwork``, which the wire names by its module) stays as it is.
    """
    if callable(value) and getattr(value, "__module__", None) == fixtures.__name__:
        return CallableRef(f"grader_fixtures:{value.__name__}")
    return value


def asked_once(fn, key, ask):
    """``ask()`` the function under test once per key: parts that put the same question share the answer.

    The answer is kept on the function object (one per notebook being judged) and
    must be treated as read-only by the parts. When ``ask()`` raises, nothing is kept.
    """
    answers = getattr(fn, "_hidden_answers", None)
    if answers is None:
        answers = {}
        try:
            fn._hidden_answers = answers
        except AttributeError:  # a function object that takes no attributes: ask every time
            return ask()
    if key not in answers:
        answers[key] = ask()
    return answers[key]
