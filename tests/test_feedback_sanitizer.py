"""The feedback preprocessor for stock ``nbgrader generate_feedback`` (autograder/course/feedback_sanitizer.py), on hand-made outputs.

The end-to-end tests (test_nbgrader_e2e.py) run it on real feedback; these pin
down what it does to each kind of output, quickly.
"""

from __future__ import annotations

import nbformat
import pytest
from conftest import REPO

from autograder.course.feedback_sanitizer import ELIDED, SanitizeOutputs

FOLDER = "/srv/course/autograded/alice/01_initialization"  # the notebook's folder: the kernel's working folder
VENV_FILE = f"{REPO}/.venv/lib/python3.11/site-packages/numpy/_core/fromnumeric.py"


def sanitized(*outputs, folder: str = FOLDER):
    """The outputs of one code cell after the preprocessor, as generate_feedback runs it."""
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("checks.check_f(f)")
    cell.outputs = list(outputs)
    nb.cells = [cell]
    nb, _ = SanitizeOutputs()(nb, {"metadata": {"path": folder}})
    return nb.cells[0].outputs


def error(ename: str, evalue: str, traceback: list[str]):
    return nbformat.v4.new_output("error", ename=ename, evalue=evalue, traceback=traceback)


def stdout(text: str):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def test_enabled_by_default():
    """nbconvert preprocessors are disabled unless they say otherwise, and then do nothing."""
    assert SanitizeOutputs().enabled


def test_error_becomes_its_last_line():
    traceback = [
        "\x1b[0;31mTraceback (most recent call last)\x1b[0m",
        f"  File {FOLDER}/dlwork/checks.py:45 in fail\n    raise CheckFailure(message)",
        "\x1b[0;31mCheckFailure\x1b[0m: f: W1 has std 0.1, expected 0.08.",
    ]
    (out,) = sanitized(error("CheckFailure", "f: W1 has std 0.1, expected 0.08.\n    Did you use the current layer?", traceback))
    assert out.traceback == ["CheckFailure: f: W1 has std 0.1, expected 0.08.\n    Did you use the current layer?"]


def test_error_without_value_is_its_name():
    (out,) = sanitized(error("KeyboardInterrupt", "", ["Traceback ...", "KeyboardInterrupt: "]))
    assert out.traceback == ["KeyboardInterrupt"]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"{VENV_FILE}:3824: RuntimeWarning: Mean of empty slice", f"{ELIDED}/fromnumeric.py:3824: RuntimeWarning: Mean of empty slice"),
        (f"{REPO}/autograder/grading/stock_nbgrader.py:76 in grade_in_kernel", f"{ELIDED}/stock_nbgrader.py:76 in grade_in_kernel"),
        ("/tmp/ipykernel_6568/1595463375.py:14: UserWarning: w", f"{ELIDED}/1595463375.py:14: UserWarning: w"),
        (f"no such file: '{FOLDER}/datasets/train.h5'", "no such file: 'datasets/train.h5'"),
        (f"working in {FOLDER}", "working in ."),
    ],
)
def test_paths_are_shortened(text, expected):
    """Inside the notebook's folder: relative to it; elsewhere: only the file name is left."""
    (out,) = sanitized(stdout(text + "\n"))
    assert out.text == expected + "\n"


@pytest.mark.parametrize(
    "text",
    [
        "compute_cost_with_regularization: the penalty uses lambd/m; it should be lambd/(2*m).",
        "forward_propagation_with_dropout: A1 is not scaled by 1/keep_prob.",
        "W1 has std 0.09955, but sqrt(2 / 300) gives 0.08165.",
        "(J_plus - J_minus)/(2 * epsilon) see https://cs231n.github.io/neural-networks-3/",
        "/usr alone and /notadirectory/here are left as they are",
    ],
)
def test_student_text_is_left_alone(text):
    """Slashes in diagnoses, formulas and links are not paths."""
    stream, failure = sanitized(stdout(text), error("CheckFailure", text, ["Traceback", text]))
    assert stream.text == text
    assert failure.traceback == [f"CheckFailure: {text}"]


def test_execute_result_text_is_sanitized_and_score_kept():
    module = nbformat.v4.new_output("execute_result", data={"text/plain": f"<module 'numpy' from '{VENV_FILE}'>"}, execution_count=3)
    score = nbformat.v4.new_output("execute_result", data={"text/plain": "2.0"}, execution_count=4)
    out_module, out_score = sanitized(module, score)
    assert out_module.data["text/plain"] == f"<module 'numpy' from '{ELIDED}/fromnumeric.py'>"
    assert out_score.data["text/plain"] == "2.0"
