"""The grader's own stand-ins, handed to student code by the hidden checks (importable in the student process).

Nothing here is an answer to a graded function, and a test holds every
function here to that: the 1-D models are other cost functions than the
notebook's J = theta * x, and the cost for the N-D check adds a penalty no
notebook asks for to the given network pieces. Imported by name (``grader_fixtures:...``) in
the student process, and as ``autograder.sandbox.fixtures``
by the judge. The stand-ins the visible checks use too (the cubic model, the
quadratic cost) live once, in ``dlwork.checks.stand_ins``.
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


def quartic_cost(X, Y, parameters):
    """Cross-entropy plus 0.3 / (4m) * the sum of the weights' fourth powers: ``(cost, cache)``.

    Another cost than forward_propagation_n's, for checking that gradient_check_n
    differentiates the cost it is given. Deliberately not the L2 penalty of
    notebook 02: nothing here may compute a graded function's answer.
    """
    AL, cache = forward_propagation(X, parameters)
    m = Y.shape[1]
    fourth_powers = sum(float(np.sum(v**4)) for k, v in parameters.items() if k.startswith("W"))
    return compute_cost(AL, Y) + 0.3 / (4 * m) * fourth_powers, cache
