"""The expected values the visible checks compare with, derived from the reference.

The visible checks (``dlwork.checks``) run in the student's process, so they may
not hold a general implementation of any graded function: a student could call
it instead of writing their own. Where a check needs the right answer on its
fixed case, it reads it from ``notebooks/dlwork/checks/expected_values.json``,
which this module computes from the reference answers and the checks' fixed
cases (``dlwork.checks.cases``).

The file is derived, never edited by hand. After changing the reference or a
fixed case, regenerate it (a test fails until then)::

    .venv/bin/python -m autograder.hidden.expected_values

It imports the support package and the reference when it computes, not when it
is imported (the entry point below puts them on ``sys.path``).
"""

from __future__ import annotations

import json
from pathlib import Path

from autograder.course import registry

PATH = registry.NOTEBOOK_DIR / "dlwork" / "checks" / "expected_values.json"

# Shipped to students: says what the file is without naming the hidden reference module
# (autograder.course.builder.release_leaks refuses a release that mentions it).
ABOUT = (
    "Expected values of the visible checks' fixed cases, derived from the reference answers. "
    "Generated: do not edit; regenerate with `python -m autograder.hidden.expected_values`."
)


def backward_propagation_with_dropout() -> dict:
    """The fixed case of ``check_backward_propagation_with_dropout``.

    The inputs of ``dlwork.checks.cases.dropout_backward_case()`` go through the
    reference forward pass with the case's masks replayed, then the reference
    backward pass: the dropout cache and the true gradients with the masks held fixed.

    Returns:
        ``{"about": str, "cache": {...}, "gradients": {...}}`` with nested lists of
        floats: cache ``"Z1", "A1"`` and ``"Z2", "A2"`` of shape ``(5, 6)``,
        ``"Z3", "A3"`` of shape ``(1, 6)``; gradients ``"dW1"`` ``(5, 3)``, ``"db1"``
        ``(5, 1)``, ``"dW2"`` ``(5, 5)``, ``"db2"`` ``(5, 1)``, ``"dW3"`` ``(1, 5)``,
        ``"db3"`` ``(1, 1)``. Parameters and masks are not stored: the check takes
        them from the case.
    """
    from autograder.hidden.regularization import MaskReplay
    from dlwork.checks import cases
    from source_solutions import regularization as reference

    X, Y, parameters, D1, D2, keep_prob = cases.dropout_backward_case()
    _, cache = reference.forward_propagation_with_dropout(X, parameters, keep_prob, MaskReplay(D1, D2))
    if not ((cache["D1"] == D1).all() and (cache["D2"] == D2).all()):
        raise RuntimeError(
            "the reference forward pass did not use the case's masks: does it still draw them "
            "as rng.random(A.shape) < keep_prob, as MaskReplay expects?"
        )
    gradients = reference.backward_propagation_with_dropout(X, Y, cache, keep_prob)
    return {
        "about": "cases.dropout_backward_case() through the reference forward pass with its masks D1, D2 "
        "replayed, then the reference backward pass: the cache and the true gradients with the masks "
        "held fixed.",
        "cache": {key: cache[key].tolist() for key in ("Z1", "A1", "Z2", "A2", "Z3", "A3")},
        "gradients": {f"{kind}{l}": gradients[f"{kind}{l}"].tolist() for l in (1, 2, 3) for kind in ("dW", "db")},
    }


def expected_values() -> dict:
    """Everything ``expected_values.json`` holds: ``{"about": str, <check's function name>: {...}, ...}``."""
    return {"about": ABOUT, "backward_propagation_with_dropout": backward_propagation_with_dropout()}


def render(values: dict) -> str:
    """``values`` as JSON text, one matrix row per line, so a diff shows what changed.

    ``json`` writes floats with ``repr``, the shortest text that reads back as the
    same float, so the file round-trips exactly.
    """

    def encode(value, indent: int) -> str:
        inner = " " * (indent + 2)
        if isinstance(value, dict):
            items = [f"{inner}{json.dumps(key)}: {encode(item, indent + 2)}" for key, item in value.items()]
            return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
        if isinstance(value, list) and value and all(isinstance(row, list) for row in value):
            rows = [inner + json.dumps(row, allow_nan=False) for row in value]
            return "[\n" + ",\n".join(rows) + "\n" + " " * indent + "]"
        return json.dumps(value, allow_nan=False)

    return encode(values, 0) + "\n"


def write(path: Path = PATH) -> Path:
    """Regenerate the file at ``path`` (by default the one ``dlwork.checks.cases`` reads)."""
    path.write_text(render(expected_values()), encoding="utf-8")
    return path


if __name__ == "__main__":
    registry.use_repository_paths()
    print(f"wrote {write()}")
