"""The ungraded network: LINEAR -> RELU -> ... -> LINEAR -> SIGMOID, any depth.

Shapes and dict layouts are described in :mod:`dlwork` (examples are columns).
The graded exercises (initialization, L2, dropout, gradient checking) plug into
:func:`model` as arguments; nothing here contains their answers.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

import numpy as np

Parameters = dict[str, np.ndarray]


def relu(Z: np.ndarray) -> np.ndarray:
    """Elementwise ``max(0, Z)``."""
    return np.maximum(0, Z)


def sigmoid(Z: np.ndarray) -> np.ndarray:
    """Elementwise logistic function, computed without overflow warnings."""
    # exp of a large positive number overflows; exp(-|Z|) never does.
    E = np.exp(-np.abs(Z))
    D = 1.0 + E
    return np.where(Z >= 0, 1.0 / D, E / D)


def num_layers(parameters: Parameters) -> int:
    """Number of layers ``L`` (weight matrices) in ``parameters``."""
    return sum(1 for key in parameters if key.startswith("W"))


def forward_propagation(X: np.ndarray, parameters: Parameters) -> tuple[np.ndarray, dict]:
    """Forward pass without dropout.

    Args:
        X: Inputs, shape ``(n0, m)``.
        parameters: ``"W1", "b1", ..., "WL", "bL"``.

    Returns:
        ``(AL, cache)``: ``AL`` of shape ``(1, m)``, the sigmoid output; ``cache``
        with ``"Zl", "Al", "Wl", "bl"`` for every layer.
    """
    L = num_layers(parameters)
    cache: dict[str, np.ndarray] = {}
    A = X
    for l in range(1, L + 1):
        W, b = parameters[f"W{l}"], parameters[f"b{l}"]
        Z = W @ A + b
        A = sigmoid(Z) if l == L else relu(Z)
        cache.update({f"Z{l}": Z, f"A{l}": A, f"W{l}": W, f"b{l}": b})
    return A, cache


def compute_cost(AL: np.ndarray, Y: np.ndarray) -> float:
    """Cross-entropy cost ``-1/m * sum(y log a + (1 - y) log(1 - a))``.

    Args:
        AL: Sigmoid outputs, shape ``(1, m)``.
        Y: Labels 0/1, shape ``(1, m)``.

    Returns:
        The mean cost over the ``m`` examples, a Python float.
    """
    m = Y.shape[1]
    # Clipping keeps log finite when a saturated unit outputs exactly 0 or 1
    # (it happens with the large random initialization).
    A = np.clip(AL, 1e-15, 1 - 1e-15)
    return float(-np.sum(Y * np.log(A) + (1 - Y) * np.log(1 - A)) / m)


def backward_propagation(X: np.ndarray, Y: np.ndarray, cache: dict) -> dict[str, np.ndarray]:
    """Gradients of :func:`compute_cost` for the network of :func:`forward_propagation`.

    Args:
        X: Inputs, shape ``(n0, m)``.
        Y: Labels, shape ``(1, m)``.
        cache: As returned by :func:`forward_propagation`.

    Returns:
        ``"dWl", "dbl"`` for every layer, plus ``"dZl"`` and ``"dAl"``.
    """
    m = X.shape[1]
    L = sum(1 for key in cache if key.startswith("W"))
    grads: dict[str, np.ndarray] = {}
    dZ = cache[f"A{L}"] - Y
    for l in range(L, 0, -1):
        A_prev = X if l == 1 else cache[f"A{l - 1}"]
        grads[f"dZ{l}"] = dZ
        grads[f"dW{l}"] = dZ @ A_prev.T / m
        grads[f"db{l}"] = dZ.sum(axis=1, keepdims=True) / m
        if l > 1:
            dA = cache[f"W{l}"].T @ dZ
            grads[f"dA{l - 1}"] = dA
            dZ = dA * (cache[f"Z{l - 1}"] > 0)
    return grads


def update_parameters(parameters: Parameters, grads: dict, learning_rate: float) -> Parameters:
    """One step of gradient descent; returns a new dict, the input is left alone."""
    return {key: value - learning_rate * grads["d" + key] for key, value in parameters.items()}


def predict(X: np.ndarray, parameters: Parameters) -> np.ndarray:
    """Class predictions 0/1, shape ``(1, m)``, thresholding the output at 0.5."""
    AL, _ = forward_propagation(X, parameters)
    return (AL > 0.5).astype(np.float64)


def accuracy(X: np.ndarray, Y: np.ndarray, parameters: Parameters) -> float:
    """Fraction of examples in ``X`` classified correctly, in ``[0, 1]``."""
    return float(np.mean(predict(X, parameters) == Y))


def forward_propagation_n(X: np.ndarray, Y: np.ndarray, parameters: Parameters) -> tuple[float, dict]:
    """Forward pass and cost together: ``(cost, cache)``; used by gradient checking."""
    AL, cache = forward_propagation(X, parameters)
    return compute_cost(AL, Y), cache


def model(
    X: np.ndarray,
    Y: np.ndarray,
    layers_dims: list[int],
    initializer: Callable,
    rng: np.random.Generator,
    *,
    learning_rate: float = 0.3,
    num_iterations: int = 10_000,
    lambd: float = 0.0,
    keep_prob: float = 1.0,
    cost_with_regularization: Callable | None = None,
    backward_with_regularization: Callable | None = None,
    forward_with_dropout: Callable | None = None,
    backward_with_dropout: Callable | None = None,
    record_every: int = 100,
    print_every: int | None = None,
) -> tuple[Parameters, list[float]]:
    """Train the network with batch gradient descent.

    Args:
        X: Training inputs, shape ``(n0, m)``.
        Y: Training labels, shape ``(1, m)``.
        layers_dims: ``[n0, n1, ..., nL]``.
        initializer: ``initializer(layers_dims)`` or ``initializer(layers_dims, rng)``;
            the number of arguments it takes decides which.
        rng: Source of randomness for the initializer and the dropout masks.
        learning_rate: Step size of gradient descent.
        num_iterations: Number of gradient steps.
        lambd: L2 strength; when positive, ``cost_with_regularization`` and
            ``backward_with_regularization`` must be given.
        keep_prob: Dropout keep probability; when below 1,
            ``forward_with_dropout`` and ``backward_with_dropout`` must be given.
        record_every: Record the cost every this many iterations.
        print_every: Print the cost every this many iterations (``None``: never).

    Returns:
        ``(parameters, costs)``: the trained parameters and the recorded costs.
    """
    if lambd > 0 and keep_prob < 1:
        raise ValueError("use L2 (lambd > 0) or dropout (keep_prob < 1), not both at once")
    if lambd > 0 and not (cost_with_regularization and backward_with_regularization):
        raise ValueError("lambd > 0 needs cost_with_regularization and backward_with_regularization")
    if keep_prob < 1 and not (forward_with_dropout and backward_with_dropout):
        raise ValueError("keep_prob < 1 needs forward_with_dropout and backward_with_dropout")

    takes_rng = len(inspect.signature(initializer).parameters) >= 2
    parameters = initializer(layers_dims, rng) if takes_rng else initializer(layers_dims)
    costs: list[float] = []
    for i in range(num_iterations):
        if keep_prob < 1:
            AL, cache = forward_with_dropout(X, parameters, keep_prob, rng)
        else:
            AL, cache = forward_propagation(X, parameters)
        record = i % record_every == 0 or i == num_iterations - 1
        if record or (print_every and i % print_every == 0):
            cost = cost_with_regularization(AL, Y, parameters, lambd) if lambd > 0 else compute_cost(AL, Y)
            if record:
                costs.append(cost)
            if print_every and i % print_every == 0:
                print(f"cost after iteration {i}: {cost:.6f}")
        if lambd > 0:
            grads = backward_with_regularization(X, Y, cache, lambd)
        elif keep_prob < 1:
            grads = backward_with_dropout(X, Y, cache, keep_prob)
        else:
            grads = backward_propagation(X, Y, cache)
        parameters = update_parameters(parameters, grads, learning_rate)
    return parameters, costs
