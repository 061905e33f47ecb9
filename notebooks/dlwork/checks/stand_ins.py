"""Stand-ins for the functions an exercise calls by name, and the one swap that puts them in place.

The gradient-checking exercises call ``forward_propagation``,
``backward_propagation`` and ``forward_propagation_n`` as globals of the
notebook. Swapping those names for stand-ins whose answers are known
(:func:`globals_replaced`) judges the function under test on its own: a cost
with a known gradient shows whether ``gradapprox`` is right, a deliberately
wrong backward pass whether ``backward_propagation`` is really called.

The visible checks and the grader's hidden checks use these stand-ins and this
swap alike; the student process imports them from here, by name. None of them
answers a graded function: the models are other costs than the notebook's.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np


@contextlib.contextmanager
def globals_replaced(fn: Callable, overrides: dict[str, Any]) -> Iterator[None]:
    """Replace some global names of ``fn`` for the duration of the block.

    Args:
        fn: A plain Python function. A callable without a dict of globals (a
            builtin, an object with ``__call__``) is left as it is.
        overrides: Global name -> replacement.

    The names are restored afterwards, even when the block raises; a name ``fn``'s
    globals did not have is removed again.
    """
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict) or not overrides:
        yield
        return
    absent = object()
    saved = {name: namespace.get(name, absent) for name in overrides}
    namespace.update(overrides)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is absent:
                namespace.pop(name, None)
            else:
                namespace[name] = value


def call_with_globals(fn: Callable, overrides: dict[str, Callable], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` with some of the global names it looks up replaced.

    Args:
        fn: The function under test. If it has a ``call_with_globals`` attribute (the
            grader's proxy for a function living in another process), that does the
            work: ``fn.call_with_globals(overrides, *args, **kwargs)``.
        overrides: Global name -> replacement. Replacements are module-level
            functions (of this module, say), so another process can import them by name.

    Returns:
        What ``fn`` returns. The globals are restored afterwards, even when ``fn`` raises.

    Raises:
        TypeError: ``fn`` is neither a proxy nor a plain Python function.
    """
    proxy = getattr(fn, "call_with_globals", None)
    if callable(proxy):
        return proxy(overrides, *args, **kwargs)
    if not isinstance(getattr(fn, "__globals__", None), dict):
        raise TypeError(f"{fn!r} is not a plain Python function, so its global names cannot be replaced")
    with globals_replaced(fn, overrides):
        return fn(*args, **kwargs)


# ------------------------------------------------------------------ notebook 03, 1-D: J(theta) = x * theta**3


def forward_cubic(x, theta):
    """Stand-in cost ``J(theta) = x * theta**3``: curved, so one-sided and centred differences disagree."""
    return x * theta**3


def not_a_number(x, theta):
    """A model that answers NaN, for ``forward_propagation`` or ``backward_propagation`` alike.

    NaN spreads through any arithmetic without raising, so a gradient check that
    calls the function it stands for returns NaN, and one that returns a number
    never called it (it wrote ``theta * x`` or ``x`` out instead).
    """
    return float("nan")


def backward_cubic(x, theta):
    """The true derivative of :func:`forward_cubic`, ``3 x theta**2``."""
    return 3.0 * x * theta**2


def backward_cubic_wrong(x, theta):
    """A wrong derivative of :func:`forward_cubic`, ``x theta**2``, as a buggy backward pass would give."""
    return x * theta**2


def backward_cubic_negated(x, theta):
    """The derivative of :func:`forward_cubic` with the wrong sign."""
    return -3.0 * x * theta**2


# ------------------------------------------------------------------ notebook 03, N-D: costs of theta alone


def cost_half_square(X, Y, parameters):
    """Stand-in for ``forward_propagation_n``: ``J = 0.5 * ||theta||**2 + 100 * sum(X)``, as ``(J, {})``.

    Its gradient with respect to theta is theta itself, and centred differences
    are exact for a quadratic, whatever epsilon. The checks pass ``X = 0``, so the
    data term adds nothing unless ``X`` is moved, and then it shows.
    """
    return 0.5 * sum(float(np.sum(np.square(value))) for value in parameters.values()) + 100 * float(np.sum(X)), {}


def cost_third_cube(X, Y, parameters):
    """Stand-in cost ``J = sum(theta**3) / 3``, whose gradient is ``theta**2``, as ``(J, {})``.

    Not quadratic: its centred difference is ``theta**2 + epsilon**2 / 3``, so the
    step the function really uses shows in the result.
    """
    return sum(float(np.sum(np.asarray(value) ** 3)) for value in parameters.values()) / 3, {}
