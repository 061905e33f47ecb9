"""Reference answers for notebook 01: three ways to initialize a ReLU network.

Each function body here is what the course builder injects into the notebook's
solution cell, so a body may use only the names the notebook's setup cell
imports (``np``). Signatures and docstrings must equal the notebook stubs.
"""

import numpy as np


def initialize_parameters_zeros(layers_dims):
    """Initialize every weight and bias to zero.

    Args:
        layers_dims: Units per layer, input first: ``[n0, n1, ..., nL]`` (``L >= 1``).

    Returns:
        dict: ``{"W1": (n1, n0), "b1": (n1, 1), ..., "WL": (nL, n{L-1}), "bL": (nL, 1)}``,
        every entry ``0.0`` (float64).
    """
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = np.zeros((layers_dims[l], layers_dims[l - 1]))
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_random(layers_dims, rng):
    """Initialize the weights with large random values: standard normal times 10.

    Args:
        layers_dims: Units per layer, input first: ``[n0, n1, ..., nL]`` (``L >= 1``).
        rng: ``np.random.Generator``. Draw one ``rng.standard_normal((n_l, n_{l-1}))``
            per layer, in layer order, and nothing else.

    Returns:
        dict: ``{"W1": (n1, n0), "b1": (n1, 1), ...}`` with ``Wl ~ 10 * N(0, 1)``
        and every ``bl`` zero (float64).
    """
    parameters = {}
    for l in range(1, len(layers_dims)):
        parameters[f"W{l}"] = rng.standard_normal((layers_dims[l], layers_dims[l - 1])) * 10
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters


def initialize_parameters_he(layers_dims, rng):
    """He initialization: weights scaled by ``sqrt(2 / fan_in)``, the size of the previous layer.

    Args:
        layers_dims: Units per layer, input first: ``[n0, n1, ..., nL]`` (``L >= 1``).
        rng: ``np.random.Generator``. Draw one ``rng.standard_normal((n_l, n_{l-1}))``
            per layer, in layer order, and nothing else.

    Returns:
        dict: ``{"W1": (n1, n0), "b1": (n1, 1), ...}`` with
        ``Wl ~ N(0, 2 / n_{l-1})`` and every ``bl`` zero (float64).
    """
    parameters = {}
    for l in range(1, len(layers_dims)):
        fan_in = layers_dims[l - 1]
        parameters[f"W{l}"] = rng.standard_normal((layers_dims[l], fan_in)) * np.sqrt(2.0 / fan_in)
        parameters[f"b{l}"] = np.zeros((layers_dims[l], 1))
    return parameters
