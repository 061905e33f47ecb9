"""Flatten parameter and gradient dicts into one column vector and back.

Works for any number of layers and any layer sizes. The order is fixed by a
*layout*: a tuple of ``(name, shape)`` pairs, ``W1, b1, W2, b2, ...`` by layer.
``gradients_to_vector`` follows the same layout, so entry ``i`` of the gradient
vector is always the derivative with respect to entry ``i`` of ``theta``.
"""

from __future__ import annotations

import re

import numpy as np

Layout = tuple[tuple[str, tuple[int, ...]], ...]


def _order(name: str) -> tuple[int, int]:
    match = re.fullmatch(r"([Wb])(\d+)", name)
    if match is None:
        raise KeyError(f"{name!r} is not a parameter name like 'W1' or 'b1'")
    return int(match.group(2)), 0 if match.group(1) == "W" else 1


def parameter_layout(parameters: dict[str, np.ndarray]) -> Layout:
    """The layout of ``parameters``: ``(("W1", shape), ("b1", shape), ("W2", ...), ...)``."""
    return tuple((name, tuple(np.shape(parameters[name]))) for name in sorted(parameters, key=_order))


def dictionary_to_vector(parameters: dict[str, np.ndarray]) -> tuple[np.ndarray, Layout]:
    """Stack every parameter into one column vector.

    Args:
        parameters: ``"W1", "b1", ..., "WL", "bL"`` of any sizes.

    Returns:
        ``(theta, layout)``: ``theta`` of shape ``(n, 1)`` where ``n`` is the total
        number of parameters, and the layout that :func:`vector_to_dictionary`
        needs to undo it.
    """
    layout = parameter_layout(parameters)
    theta = np.concatenate([np.reshape(parameters[name], (-1, 1)) for name, _ in layout])
    return theta.astype(np.float64), layout


def vector_to_dictionary(theta: np.ndarray, layout: Layout) -> dict[str, np.ndarray]:
    """Undo :func:`dictionary_to_vector`: cut ``theta`` (shape ``(n, 1)``) back into arrays."""
    flat = np.reshape(theta, -1)
    sizes = [int(np.prod(shape)) for _, shape in layout]
    if sum(sizes) != flat.size:
        raise ValueError(f"theta has {flat.size} entries but the layout needs {sum(sizes)}")
    parameters, start = {}, 0
    for (name, shape), size in zip(layout, sizes):
        parameters[name] = flat[start : start + size].reshape(shape).copy()
        start += size
    return parameters


def gradients_to_vector(gradients: dict[str, np.ndarray], layout: Layout) -> np.ndarray:
    """Stack ``"dW1", "db1", ...`` in the order of ``layout``; shape ``(n, 1)``.

    Keys other than the parameter gradients (``"dZ1"``, ``"dA1"``...) are ignored.
    """
    return np.concatenate([np.reshape(gradients["d" + name], (-1, 1)) for name, _ in layout]).astype(np.float64)
