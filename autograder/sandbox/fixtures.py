"""Functions the hidden checks hand to student code (importable in the student process).

Nothing here is an answer: the 1-D models are other cost functions than the
notebook's J = theta * x, and the cost functions for the N-D check are built
from the given network pieces. Imported by name (``grader_fixtures:...``) in
the student process, and as ``autograder.sandbox.fixtures``
by the judge.
"""

import numpy as np

from dlwork.network import compute_cost, forward_propagation


def linear_forward(x, theta):
    """J(theta) = 3 x theta (a linear model with a known gradient)."""
    return 3.0 * x * theta


def linear_backward(x, theta):
    """dJ/dtheta of :func:`linear_forward`."""
    return 3.0 * x


def wrong_backward(x, theta):
    """A deliberately wrong gradient for :func:`linear_forward`."""
    return 3.0 * x + 2.5


def cubic_forward(x, theta):
    """J(theta) = x theta^3: curved, so one-sided and centred differences disagree."""
    return x * theta**3


def cubic_backward(x, theta):
    """dJ/dtheta of :func:`cubic_forward`."""
    return 3.0 * x * theta**2


def l2_cost(X, Y, parameters):
    """Cross-entropy plus 0.3 / (2m) * sum of squared weights: ``(cost, cache)``."""
    AL, cache = forward_propagation(X, parameters)
    m = Y.shape[1]
    squares = sum(float(np.sum(v**2)) for k, v in parameters.items() if k.startswith("W"))
    return compute_cost(AL, Y) + 0.3 / (2 * m) * squares, cache

