"""Judge one graded function: the visible check, then the hidden checks.

Both graders use this module, so they give the same points for the same code:
stock nbgrader (``autograder.grading.stock_nbgrader.grade_in_kernel``, in the student's kernel)
and our own (``autograder.sandbox``, student code in another process). The
function under test is always a callable returning plain data.

Scoring rule: if the visible check fails, the function earns 0 (as in the
notebook, where the failing visible line stops the check cell). Otherwise it
earns ``max_points * (weight of hidden parts passed) / (total weight)``.
"""

from __future__ import annotations

import contextlib
import importlib
import io
from collections.abc import Callable
from dataclasses import dataclass, field

from autograder.sandbox import NotDefined, SandboxError, StudentCrashed, StudentTimeout


class Mistake(Exception):
    """A hidden check found a mistake: what is wrong, and a hint at the concept."""

    def __init__(self, diagnosis: str, hint: str = ""):
        super().__init__(diagnosis)
        self.diagnosis = diagnosis
        self.hint = hint


@dataclass(frozen=True)
class Part:
    """One separately scored property of a graded function."""

    function: str
    name: str
    weight: float
    check: Callable[[Callable], None]


@dataclass
class Verdict:
    notebook: str
    function: str
    points: float
    max_points: float
    diagnosis: str = ""
    hint: str = ""
    notes: list[str] = field(default_factory=list)
    parts: list[tuple[str, bool]] = field(default_factory=list)
    graded: bool = True  # False when the function could not be judged at all (crash, time-out, a grader fault)
    visible: str | None = None  # the visible check's failure message; None when it passed or did not run
    fault: str = ""  # the grader's own failure on this function, with its traceback: for the log, never the student

    @property
    def reason(self) -> str:
        """Why the function is not graded ("" when it is)."""
        if self.graded:
            return ""
        return self.diagnosis.removeprefix("Not graded: ").removesuffix(" " + NOT_YOURS).rstrip(".")

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points

    def as_dict(self) -> dict:
        return {
            "notebook": self.notebook,
            "function": self.function,
            "points": self.points,
            "max_points": self.max_points,
            "passed": self.passed,
            "diagnosis": self.full_diagnosis(),
        }

    def full_diagnosis(self) -> str:
        text = self.diagnosis
        if self.hint:
            text = f"{text} Hint: {self.hint}" if text else self.hint
        if self.notes:
            text = " ".join([text, *self.notes]).strip()
        return text


PARTS: dict[str, list[Part]] = {}


def part(function: str, name: str, weight: float = 1.0):
    """Register a hidden check: ``@part("initialize_parameters_he", "spread of the weights", 2)``."""

    def register(check: Callable[[Callable], None]):
        PARTS.setdefault(function, []).append(Part(function, name, weight, check))
        return check

    return register


def parts_for(function: str) -> list[Part]:
    """The hidden checks of ``function``, from its notebook's module in the registry."""
    from autograder.course.registry import notebook_of

    importlib.import_module(notebook_of(function).hidden_checks)
    if function not in PARTS:
        raise KeyError(f"no hidden checks for {function}")
    return PARTS[function]


def _student_failure(function: str, exc: BaseException) -> tuple[str, str]:
    """(diagnosis, hint) for an exception raised while running the student's function."""
    where = getattr(exc, "student_where", "")
    kind = getattr(exc, "student_type", type(exc).__name__)
    if isinstance(exc, NotImplementedError):
        return f"{function} is not implemented yet (it still raises NotImplementedError).", ""
    if isinstance(exc, NotDefined):
        return (
            f"{function} is not defined in your notebook.",
            "Keep the function's name and signature exactly as in the stub.",
        )
    if isinstance(exc, StudentTimeout):
        return f"{function} did not finish: {exc} (an infinite loop?).", ""
    if isinstance(exc, StudentCrashed):
        return f"{function} stopped the notebook: {exc}.", ""
    if isinstance(exc, TypeError) and "argument" in str(exc):
        return f"{function} raised TypeError: {exc}.", "Keep the signature of the stub: the checks call it with those arguments."
    message = str(exc)
    if kind and not message.startswith(kind):
        message = f"{kind}: {message}" if message else kind
    text = f"{function} raised {message}"
    if where:
        text += f" (in your code: {where.strip().splitlines()[-1].strip()})"
    return text + ".", ""


def visible_check(function: str) -> Callable:
    """The notebook's visible check for ``function`` (from the trusted copy of ``dlwork``)."""
    from dlwork import checks

    return getattr(checks, f"check_{function}")


def run_visible_check(check: Callable, fn: Callable) -> str | None:
    """Run a visible check quietly; None when it passes, else the reason."""
    with contextlib.redirect_stdout(io.StringIO()):
        try:
            check(fn)
        except AssertionError as exc:
            return str(exc) or "the visible check failed"
    return None


# Exceptions a hidden check raises when it cannot use what the student's function
# returned (a missing key, a wrong type or shape): the student's. Any other
# exception of the grader's own code (OSError, ImportError, MemoryError, a bug) is a
# grader fault.
NOT_YOURS = "This is not your mistake; your instructor will grade it."  # ends what a student sees of a grader fault
OUTPUT_ERRORS = (LookupError, TypeError, ValueError, AttributeError, ArithmeticError, AssertionError)


def grader_fault(notebook: str, function: str, max_points: float, what: str, trace: str) -> Verdict:
    """The verdict for a function the grader failed to judge: not graded, never the student's mistake."""
    return Verdict(
        notebook,
        function,
        0.0,
        float(max_points),
        graded=False,
        diagnosis=f"Not graded: {what}. {NOT_YOURS}",
        fault=trace or what,
    )


def judge(function: str, fn: Callable, max_points: float, notebook: str = "", run_visible: bool = True) -> Verdict:
    """Grade ``fn`` (a callable returning plain data) as the graded function ``function``.

    When the grader itself fails (the sandbox cannot be set up, a check cannot
    run), the function is *not graded*, with the reason, and the verdict's
    ``fault`` holds the traceback for the instructor's log.
    """
    import traceback

    try:
        return _judge(function, fn, max_points, notebook, run_visible)
    except SandboxError as exc:
        what = f"the grader could not run your code in an isolated process ({exc})"
        return grader_fault(notebook, function, max_points, what, traceback.format_exc())
    except Exception as exc:  # noqa: BLE001 - _judge lets only the grader's own failures through
        what = f"the grader failed while judging it ({type(exc).__name__}: {str(exc)[:200]})"
        return grader_fault(notebook, function, max_points, what, traceback.format_exc())


def _judge(function: str, fn: Callable, max_points: float, notebook: str, run_visible: bool) -> Verdict:
    verdict = Verdict(notebook, function, 0.0, float(max_points))
    parts = parts_for(function)
    if run_visible:
        check = visible_check(function)  # outside the try: a failure here is ours, not the student's
        try:
            reason = run_visible_check(check, fn)
        except (StudentTimeout, StudentCrashed, NotDefined, NotImplementedError) as exc:
            verdict.diagnosis, verdict.hint = _student_failure(function, exc)
            verdict.graded = not isinstance(exc, (StudentTimeout, StudentCrashed))
            verdict.parts = [(p.name, False) for p in parts]
            return verdict
        except Exception as exc:  # a student exception the visible check let through, or ours (re-raised)
            if not getattr(exc, "student_type", None) and not isinstance(exc, OUTPUT_ERRORS):
                raise  # not the student's: the grader's own failure
            verdict.diagnosis, verdict.hint = _student_failure(function, exc)
            verdict.parts = [(p.name, False) for p in parts]
            return verdict
        if reason is not None:
            verdict.visible = reason
            verdict.diagnosis = f"The notebook's check fails: {reason}"
            verdict.parts = [(p.name, False) for p in parts]
            return verdict

    earned, total = 0.0, sum(p.weight for p in parts)
    failures: list[tuple[str, str]] = []
    stopped = False
    for p in parts:
        if stopped:
            verdict.parts.append((p.name, False))
            continue
        try:
            p.check(fn)
        except Mistake as m:
            failures.append((m.diagnosis, m.hint))
            verdict.parts.append((p.name, False))
            continue
        except (StudentTimeout, StudentCrashed) as exc:
            failures.append(_student_failure(function, exc))
            verdict.parts.append((p.name, False))
            stopped = True  # the rest would only time out again
            continue
        except Exception as exc:  # the student's exception, output we could not use, or ours (re-raised)
            if getattr(exc, "student_type", None) or isinstance(exc, (NotImplementedError, NotDefined)):
                failures.append(_student_failure(function, exc))
            elif not isinstance(exc, OUTPUT_ERRORS):
                raise  # not about the student's output: the grader's own failure
            else:
                failures.append(
                    (
                        f"{function}'s result could not be checked ({type(exc).__name__}: {exc}).",
                        "Compare what you return with the docstring: types, keys and shapes.",
                    )
                )
            verdict.parts.append((p.name, False))
            continue
        earned += p.weight
        verdict.parts.append((p.name, True))
    verdict.points = round(max_points * earned / total, 2)
    if failures:
        verdict.diagnosis, verdict.hint = failures[0]
        others_list = list(dict.fromkeys(d for d, _ in failures[1:] if d != failures[0][0]))
        if others_list:
            others = "; ".join(others_list[:2])
            verdict.notes.append(f"Also: {others}")
    return verdict
