"""The fixed cases some visible checks run on, and the right answers stored for them.

This package runs next to your code, so it holds no implementation of a graded
function: where a check needs the right answer on its fixed case, it reads it
from ``expected_values.json`` (beside this file), which the course's generator
computes from the reference answers and which is never edited by hand (a test
of the course keeps it in step with the reference and with these cases).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

EXPECTED_VALUES_FILE = Path(__file__).with_name("expected_values.json")


def network_case(check: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """The small network the check of ``check`` (a function name) runs on, from one literal seed.

    Only these fixed cases, and their table is written inside this function, not
    at module level where it could be extended: a helper that built parameters for
    any ``layers_dims`` would be initialize_parameters_zeros (through np.zeros_like)
    and the layer loop of the other two initializers.

    Returns:
        ``(X, Y, parameters)``: ``X`` of shape ``(n0, m)``, labels ``Y`` of shape
        ``(1, m)``, ``"W1", "b1", ...`` with weights uniform in [-1, 1) and biases
        uniform in [-0.1, 0.1).
    """
    dims, m, seed = {  # (layers_dims, m, seed)
        "backward_propagation_with_regularization": ((3, 4, 3, 1), 6, 11),
        "forward_propagation_with_dropout": ((3, 20, 20, 1), 1000, 21),
        "backward_propagation_with_dropout": ((3, 5, 5, 1), 6, 33),
        "gradient_check_n": ((2, 3, 2, 1), 4, 41),
    }[check]
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = (rng.random((1, m)) < 0.5).astype(np.float64)
    parameters = {}
    for l in range(1, len(dims)):
        parameters[f"W{l}"] = rng.uniform(-1.0, 1.0, (dims[l], dims[l - 1]))
        parameters[f"b{l}"] = rng.uniform(-0.1, 0.1, (dims[l], 1))
    return X, Y, parameters


def dropout_backward_case() -> tuple[np.ndarray, np.ndarray, dict, np.ndarray, np.ndarray, float]:
    """``(X, Y, parameters, D1, D2, keep_prob)`` for the backward dropout check.

    Hidden layers of equal size, so that using one layer's mask on the other is
    possible (and caught). The masks keep about 80% of the units, with unit 1 of
    layer 1 and unit 3 of layer 2 dropped for every example and unit 3 of layer 1
    and unit 1 of layer 2 kept for every example; all four units are active (Z > 0)
    for some examples (a test verifies it), so their gradients are not zero by chance.

    ``expected_values.json`` holds the cache and the gradients of this case, computed
    from it: it must be regenerated whenever this case changes (a test says so).
    """
    X, Y, parameters = network_case("backward_propagation_with_dropout")
    keep_prob = 0.8
    mask_rng = np.random.default_rng(32)
    D1 = mask_rng.random((5, 6)) < keep_prob
    D2 = mask_rng.random((5, 6)) < keep_prob
    D1[1, :], D2[3, :] = False, False
    D1[3, :], D2[1, :] = True, True
    return X, Y, parameters, D1, D2, keep_prob


def load_expected_values(path: Path) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """The right answers on some checks' fixed cases, from ``expected_values.json``.

    Returns:
        ``{function name: {group: {key: array}}}``, e.g.
        ``["backward_propagation_with_dropout"]["gradients"]["dW1"]`` of shape ``(5, 3)``;
        float64 arrays, read-only so that no check can change them by mistake.
    """
    with open(path, encoding="utf-8") as file:
        data = json.load(file)
    values: dict[str, dict[str, dict[str, np.ndarray]]] = {}
    for function, groups in data.items():
        if not isinstance(groups, dict):
            continue  # the file's "about" note
        values[function] = {}
        for group, entries in groups.items():
            if not isinstance(entries, dict):
                continue  # the case's "about" note
            values[function][group] = {key: np.array(entry, dtype=np.float64) for key, entry in entries.items()}
            for array in values[function][group].values():
                array.setflags(write=False)
    return values


# Read once, at import: every later check compares with what the package shipped with.
EXPECTED = load_expected_values(EXPECTED_VALUES_FILE)
