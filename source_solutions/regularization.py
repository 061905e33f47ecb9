"""Reference answers for notebook 02: L2 regularization and inverted dropout.

The network is the workbook's 3-layer one, LINEAR -> RELU -> LINEAR -> RELU ->
LINEAR -> SIGMOID; cache and gradient layouts are documented in ``dlwork``.
Function bodies are injected into the notebook, so they use only the names the
notebook's setup cell imports.
"""

import numpy as np

from dlwork.network import backward_propagation, compute_cost, relu, sigmoid


def compute_cost_with_regularization(A3, Y, parameters, lambd):
    """Cross-entropy cost plus the L2 penalty ``lambd / (2 m) * sum_l ||W_l||_F^2``.

    Args:
        A3: Sigmoid outputs of the network, shape ``(1, m)``.
        Y: Labels 0/1, shape ``(1, m)``.
        parameters: ``"W1", "b1", "W2", "b2", "W3", "b3"``; biases are not penalized.
        lambd: Regularization strength ``lambda >= 0``.

    Returns:
        float: the regularized cost.
    """
    m = Y.shape[1]
    squares = sum(np.sum(np.square(value)) for key, value in parameters.items() if key.startswith("W"))
    return float(compute_cost(A3, Y) + lambd / (2 * m) * squares)


def backward_propagation_with_regularization(X, Y, cache, lambd):
    """Gradients of :func:`compute_cost_with_regularization` for the 3-layer network.

    Args:
        X: Inputs, shape ``(n0, m)``.
        Y: Labels, shape ``(1, m)``.
        cache: From ``forward_propagation(X, parameters)``: ``"Z1", "A1", "W1", "b1"``
            through ``"Z3", "A3", "W3", "b3"``.
        lambd: Regularization strength ``lambda >= 0``.

    Returns:
        dict: ``"dW1", "db1", "dW2", "db2", "dW3", "db3"`` with the shapes of the
        parameters (``"dZl"``/``"dAl"`` may be present too). Each ``dWl`` carries the
        extra term ``lambd / m * Wl``; the ``dbl`` do not.
    """
    m = X.shape[1]
    gradients = backward_propagation(X, Y, cache)
    for l in (1, 2, 3):
        gradients[f"dW{l}"] = gradients[f"dW{l}"] + lambd / m * cache[f"W{l}"]
    return gradients


def forward_propagation_with_dropout(X, parameters, keep_prob, rng):
    """Forward pass with inverted dropout on the two hidden layers.

    Args:
        X: Inputs, shape ``(n0, m)``.
        parameters: ``"W1", "b1", "W2", "b2", "W3", "b3"``.
        keep_prob: Probability of keeping a hidden unit, in ``(0, 1]``.
        rng: ``np.random.Generator``. Draw the mask of layer 1, then of layer 2,
            each as ``rng.random(A.shape) < keep_prob``, and nothing else.

    Returns:
        tuple: ``(A3, cache)``. ``A3`` has shape ``(1, m)``. ``cache`` has
        ``"Z1", "A1", "W1", "b1", "D1"``, ``"Z2", "A2", "W2", "b2", "D2"`` and
        ``"Z3", "A3", "W3", "b3"``; ``Dl`` is the keep-mask of hidden layer ``l``
        (shape of ``Al``) and ``Al`` is the activation after masking and dividing
        by ``keep_prob``. The input and output layers are never dropped.
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = W1 @ X + b1
    A1 = relu(Z1)
    D1 = rng.random(A1.shape) < keep_prob
    A1 = A1 * D1 / keep_prob

    Z2 = W2 @ A1 + b2
    A2 = relu(Z2)
    D2 = rng.random(A2.shape) < keep_prob
    A2 = A2 * D2 / keep_prob

    Z3 = W3 @ A2 + b3
    A3 = sigmoid(Z3)

    cache = {
        "Z1": Z1, "A1": A1, "W1": W1, "b1": b1, "D1": D1,
        "Z2": Z2, "A2": A2, "W2": W2, "b2": b2, "D2": D2,
        "Z3": Z3, "A3": A3, "W3": W3, "b3": b3,
    }
    return A3, cache


def backward_propagation_with_dropout(X, Y, cache, keep_prob):
    """Gradients of the cross-entropy cost for the forward pass with dropout.

    Args:
        X: Inputs, shape ``(n0, m)``.
        Y: Labels, shape ``(1, m)``.
        cache: From ``forward_propagation_with_dropout``; its masks ``"D1"``, ``"D2"``
            must be reused, not redrawn.
        keep_prob: The keep probability used in the forward pass.

    Returns:
        dict: ``"dW1", "db1", "dW2", "db2", "dW3", "db3"`` with the shapes of the
        parameters (``"dZl"``/``"dAl"`` may be present too).
    """
    m = X.shape[1]
    A1, A2, A3 = cache["A1"], cache["A2"], cache["A3"]

    dZ3 = A3 - Y
    dW3 = dZ3 @ A2.T / m
    db3 = np.sum(dZ3, axis=1, keepdims=True) / m

    dA2 = cache["W3"].T @ dZ3
    dA2 = dA2 * cache["D2"] / keep_prob
    dZ2 = dA2 * (cache["Z2"] > 0)
    dW2 = dZ2 @ A1.T / m
    db2 = np.sum(dZ2, axis=1, keepdims=True) / m

    dA1 = cache["W2"].T @ dZ2
    dA1 = dA1 * cache["D1"] / keep_prob
    dZ1 = dA1 * (cache["Z1"] > 0)
    dW1 = dZ1 @ X.T / m
    db1 = np.sum(dZ1, axis=1, keepdims=True) / m

    return {
        "dZ3": dZ3, "dW3": dW3, "db3": db3,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
        "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1,
    }
