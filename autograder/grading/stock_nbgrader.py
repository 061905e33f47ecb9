"""Hidden checks inside the student's kernel: the stock ``nbgrader autograde`` path.

Each graded check cell of the nbgrader source ends with
``grade_in_kernel("<function>", globals())``; the number it returns is the
points earned, which nbgrader takes as partial credit. The judging is the same
as in our own grader (:mod:`autograder.grading.judge`); only the way the student's
function is called differs: here it runs in this process, and its results are
passed through the same plain-data wire format, so a lying ``__eq__`` or an
ndarray subclass counts for nothing here either. (Student code shares this
process, so stock nbgrader cannot stop it from patching the checks themselves;
``python -m autograder grade`` can.)
"""

from __future__ import annotations

import contextlib
import io
import warnings

from autograder.sandbox import StudentException, fixtures, wire
from dlwork.checks.stand_ins import globals_replaced


def _resolve(value):
    """A function reference of the hidden checks, resolved here (the fixtures under their student-side name)."""
    if isinstance(value, wire.CallableRef):
        module, _, name = value.ref.partition(":")
        return getattr(fixtures, name) if module == "grader_fixtures" else wire.resolve(value.ref)
    return value


class InProcessFunction:
    """The student's function, called here, with plain-data results."""

    def __init__(self, fn, name: str):
        self.fn = fn
        self.__name__ = name

    def __call__(self, *args, **kwargs):
        return self.call_with_globals({}, *args, **kwargs)

    def call_with_globals(self, overrides: dict, *args, **kwargs):
        args = [_resolve(a) for a in args]
        kwargs = {k: _resolve(v) for k, v in kwargs.items()}
        try:
            with globals_replaced(self.fn, {k: _resolve(v) for k, v in overrides.items()}):
                result = self.fn(*args, **kwargs)
        except Exception as exc:
            exc.student_type = type(exc).__name__  # type: ignore[attr-defined]
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt from student code are its failures
            raise StudentException(f"{type(exc).__name__}: {exc}") from None
        # the same plain-data conversion as results coming from another process
        return wire.decode(wire.encode(result))


def max_points(function: str) -> float:
    """Points of a graded function, from the committed notebook's check cell."""
    import json  # not nbformat: importing it costs the kernel seconds, on the first check cell

    from autograder.course.contract import exercises
    from autograder.course.registry import NOTEBOOK_DIR, STEMS, reference_module

    for stem in STEMS:
        module = reference_module(stem)
        if getattr(getattr(module, function, None), "__module__", None) == module.__name__:  # defined there, not imported
            for exercise in exercises(json.loads((NOTEBOOK_DIR / f"{stem}.ipynb").read_text(encoding="utf-8")), stem):
                if exercise.function == function:
                    return exercise.points
    raise KeyError(function)


def grade_in_kernel(function: str, namespace: dict) -> float:
    """Judge ``namespace[function]`` and return the points earned (printed diagnosis on failure)."""
    from autograder.grading.judge import Verdict, judge

    points = max_points(function)
    fn = namespace.get(function)
    if not callable(fn):
        verdict = Verdict("", function, 0.0, points, diagnosis=f"{function} is not defined in your notebook.")
    else:
        # The visible check already ran on the first line of this cell. Anything the
        # student's code writes to stderr here would make nbgrader score the cell 0.
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore")
            verdict = judge(function, InProcessFunction(fn, function), points, run_visible=False)
    if not verdict.passed:
        print(f"{function}: {verdict.points:g} / {verdict.max_points:g}. {verdict.full_diagnosis()}")
    return verdict.points
