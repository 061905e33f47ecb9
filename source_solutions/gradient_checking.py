"""Reference answers for notebook 03: gradient checking in 1-D and N-D.

Function bodies are injected into the notebook, so they use only the names the
notebook's setup cell imports, and look up ``forward_propagation`` /
``backward_propagation`` (the 1-D exercise's own functions) as globals.
"""

import numpy as np

from dlwork.network import forward_propagation_n
from dlwork.vectorize import dictionary_to_vector, gradients_to_vector, vector_to_dictionary


def forward_propagation(x, theta):
    """The 1-D model's cost ``J(theta) = theta * x``.

    Args:
        x: A real number (Python or NumPy scalar).
        theta: A real number, the parameter.

    Returns:
        The value ``J = theta * x``.
    """
    J = theta * x
    return J


def backward_propagation(x, theta):
    """The derivative of ``J(theta) = theta * x`` with respect to ``theta``.

    Args:
        x: A real number.
        theta: A real number, the parameter.

    Returns:
        ``dJ/dtheta``, a real number.
    """
    dtheta = x
    return dtheta


def gradient_check(x, theta, epsilon=1e-7):
    """Compare ``backward_propagation`` with the centred difference of ``forward_propagation``.

    Args:
        x: A real number.
        theta: A real number, the parameter.
        epsilon: Step of the centred difference ``(J(theta+epsilon) - J(theta-epsilon)) / (2 epsilon)``.

    Returns:
        float: ``|grad - gradapprox| / (|grad| + |gradapprox|)``.
    """
    J_plus = forward_propagation(x, theta + epsilon)
    J_minus = forward_propagation(x, theta - epsilon)
    gradapprox = (J_plus - J_minus) / (2 * epsilon)
    grad = backward_propagation(x, theta)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return float(numerator / denominator)


def gradient_check_n(parameters, gradients, X, Y, epsilon=1e-7, cost_function=None):
    """Compare backprop gradients with centred differences of the cost, one parameter at a time.

    Args:
        parameters: ``"W1", "b1", ..., "WL", "bL"`` of any sizes. Not modified.
        gradients: ``"dW1", "db1", ...`` from the backprop under test (shapes of the parameters).
        X: Inputs, shape ``(n0, m)``.
        Y: Labels, shape ``(1, m)``.
        epsilon: Step of the centred differences.
        cost_function: ``cost_function(X, Y, parameters) -> (cost, cache)``; ``None``
            means ``forward_propagation_n``.

    Returns:
        float: ``||grad - gradapprox||_2 / (||grad||_2 + ||gradapprox||_2)`` over all
        parameters, ``grad`` and ``gradapprox`` ordered as ``dictionary_to_vector`` orders
        ``theta``.
    """
    if cost_function is None:
        cost_function = forward_propagation_n
    theta, layout = dictionary_to_vector(parameters)
    grad = gradients_to_vector(gradients, layout)
    gradapprox = np.zeros_like(theta)
    for i in range(theta.shape[0]):
        theta_plus = np.copy(theta)
        theta_plus[i] += epsilon
        J_plus, _ = cost_function(X, Y, vector_to_dictionary(theta_plus, layout))
        theta_minus = np.copy(theta)
        theta_minus[i] -= epsilon
        J_minus, _ = cost_function(X, Y, vector_to_dictionary(theta_minus, layout))
        gradapprox[i] = (J_plus - J_minus) / (2 * epsilon)
    numerator = np.linalg.norm(grad - gradapprox)
    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)
    return float(numerator / denominator)


def backward_propagation_fixed(X, Y, cache):
    """Your corrected copy of backward_propagation_with_bugs."""
    m = X.shape[1]
    Z2, A1, A2, A3 = cache["Z2"], cache["A1"], cache["A2"], cache["A3"]
    W2, W3 = cache["W2"], cache["W3"]

    # output layer: sigmoid and cross-entropy together give dZ3 = A3 - Y
    dZ3 = A3 - Y
    dW3 = (dZ3 @ A2.T) / m
    db3 = dZ3.sum(axis=1, keepdims=True) / m

    # second hidden layer
    dA2 = W3.T @ dZ3
    dZ2 = dA2 * (Z2 > 0)
    dW2 = (dZ2 @ A1.T) / m  # fixed: the average over the m examples, as in every other dW
    db2 = dZ2.sum(axis=1, keepdims=True) / m

    # first hidden layer
    dA1 = W2.T @ dZ2
    dZ1 = dA1 * (A1 > 0)  # fixed: A1 >= 0 holds for every ReLU output, so it let the gradient through everywhere
    dW1 = (dZ1 @ X.T) / m
    db1 = dZ1.sum(axis=1, keepdims=True) / m  # fixed: np.mean had already divided by m once

    return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dW3": dW3, "db3": db3}
