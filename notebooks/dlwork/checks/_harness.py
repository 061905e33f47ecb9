"""Running one visible check: calling the function under test, counting its questions, reporting.

Private to :mod:`dlwork.checks`: the notebook modules beside it use
:class:`Exercise` (``with Exercise(name, fn) as ex:``) and the comparisons
below; a notebook sees only :class:`CheckFailure` and the ``check_*`` functions.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any, NoReturn

import numpy as np

from dlwork.checks.stand_ins import call_with_globals
from dlwork.diagnosis import Diagnosis, learners_line


class CheckFailure(Diagnosis, AssertionError):
    """Raised by a visible check; the message says what is wrong and why (Jupyter shows it alone)."""


def fail(message: str) -> NoReturn:
    """Stop the check with ``message`` (what is wrong, the likely cause, a hint)."""
    raise CheckFailure(message)


def passed(name: str, count: int) -> None:
    """The one line a check prints when every question had the right answer."""
    print(f"✓ {name}: {count} checks passed")


def close(a: Any, b: Any, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    """Same shape and equal entries up to ``atol + rtol * |b|``."""
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def near(value: float, target: float, rtol: float = 1e-6, atol: float = 1e-12) -> bool:
    """``|value - target| <= atol + rtol * |target|``."""
    return abs(value - target) <= atol + rtol * abs(target)


def natural(key: str) -> tuple:
    """Sort key for 'W1', 'b1', 'W2', ... (or 'dW1', ...): by layer, then W before b."""
    digits = "".join(ch for ch in str(key) if ch.isdigit())
    kind = str(key).lstrip("d")[:1]
    return (int(digits) if digits else -1, {"W": 0, "b": 1}.get(kind, 2), str(key))


def copy_arrays(mapping: dict) -> dict:
    """A copy of a dict of arrays that shares no memory with it."""
    return {key: np.array(value, copy=True) for key, value in mapping.items()}


def _describe(value: Any) -> str:
    """A short stand-in for an argument in messages: arrays by shape, dicts by keys."""
    if isinstance(value, np.random.Generator):
        return "rng"
    if isinstance(value, np.ndarray):
        return f"<array {value.shape}>"
    if isinstance(value, dict):
        inner = ", ".join(f"{key!r}: {_describe(item)}" for key, item in list(value.items())[:4])
        return "{" + inner + (", ..." if len(value) > 4 else "") + "}"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


_EXCEPTION_HINTS = (
    (
        KeyError,
        "A dict has no such key; parameters use 'W1', 'b1', ..., gradients 'dW1', 'db1', "
        "caches 'Z1', 'A1', 'W1', 'b1' (and 'D1' with dropout).",
    ),
    (NameError, "A name is not defined: run the notebook's setup cell and the cells above, and check the spelling."),
    (IndexError, "An index is out of range: check loop bounds (layers are numbered 1..L, layers_dims has L + 1 entries)."),
    (
        ValueError,
        "Often two arrays with incompatible shapes: print the shapes involved "
        "(examples are columns: X is (n0, m), Wl is (n_l, n_{l-1}), bl is (n_l, 1)).",
    ),
    (TypeError, "A value has an unexpected type; if it says 'NoneType', some function returned None (a missing return?)."),
)


def _exception_hint(exc: BaseException) -> str:
    if isinstance(exc, TypeError) and ("positional argument" in str(exc) or "keyword argument" in str(exc)):
        return " Keep the function's signature exactly as in the stub: the checks call it with those arguments."
    for kind, hint in _EXCEPTION_HINTS:
        if isinstance(exc, kind):
            return " " + hint
    return ""


def _real_number(value: Any) -> float | None:
    """``value`` as a float if it is one real number (Python, NumPy, size-1 array), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    array = np.asarray(value) if isinstance(value, (int, float, np.number, np.ndarray)) else None
    if array is None or array.size != 1 or not np.issubdtype(array.dtype, np.number):
        return None
    if np.iscomplexobj(array):
        return None
    return float(array.reshape(-1)[0])


_FOREIGN = "_dlwork_checks_foreign"


def _mark_foreign(exc: BaseException) -> None:
    """Flag an exception that is the grader's, not the student's, so it passes through untouched."""
    try:
        setattr(exc, _FOREIGN, True)
    except AttributeError:
        pass


class Exercise:
    """Runs one check: calls the function, counts the questions, reports the outcome.

    Used as ``with Exercise(name, fn) as ex:``. On leaving the block it prints the
    success line, or turns an unexpected error of the check itself (caused by a
    return value of the wrong kind) into a :class:`CheckFailure` that says so.
    NumPy floating-point warnings are silenced for the check's own arithmetic, and
    warnings raised by the function under test are recorded, mentioned on stdout
    and never counted as failures.
    """

    def __init__(self, name: str, fn: Callable):
        self.name = name
        self.fn = fn
        self.count = 0
        self._warnings_noted: list[str] = []  # distinct warnings mentioned so far (at most 3)

    def __enter__(self) -> Exercise:
        if not callable(self.fn):
            fail(f"{self.name}: expected your function, got {type(self.fn).__name__}. Call it as checks.check_{self.name}({self.name}).")
        self._outer_errstate = np.geterr()
        self._errstate = np.errstate(all="ignore")
        self._errstate.__enter__()
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        self._errstate.__exit__(kind, exc, traceback)
        if exc is None:
            passed(self.name, self.count)
            return False
        if isinstance(exc, CheckFailure) or not isinstance(exc, Exception) or getattr(exc, _FOREIGN, False):
            return False
        raise CheckFailure(
            f"{self.name}: the check could not use what your function returned "
            f"({type(exc).__name__}: {exc}). Compare its return value with the docstring: "
            "the type, the dict keys and the array shapes."
        ) from exc

    # -- asking questions ----------------------------------------------------------

    def fail(self, message: str) -> NoReturn:
        fail(f"{self.name}: {message}")

    def ok(self) -> None:
        self.count += 1

    def expect(self, condition: Any, message: str) -> None:
        if not condition:
            self.fail(message)
        self.ok()

    # -- calling the function ------------------------------------------------------

    def call(self, *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)``, reporting its exceptions in words."""
        return self._run(None, "", args, kwargs)

    def call_with(self, overrides: dict[str, Callable], note: str, *args: Any, **kwargs: Any) -> Any:
        """Like :meth:`call`, with global names of the function replaced (see :func:`~dlwork.checks.stand_ins.call_with_globals`)."""
        return self._run(overrides, note, args, kwargs)

    def _run(self, overrides, note, args, kwargs) -> Any:
        shown = ", ".join([_describe(a) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()])
        call = f"{self.name}({shown})" + (f" {note}" if note else "")
        with warnings.catch_warnings(record=True) as caught, np.errstate(**self._outer_errstate):
            warnings.simplefilter("always")
            try:
                if overrides is None:
                    result = self.fn(*args, **kwargs)
                else:
                    result = call_with_globals(self.fn, overrides, *args, **kwargs)
            except NotImplementedError as exc:
                # A function borrowed from another notebook says which one to finish and save.
                todo = str(exc) or ("replace `raise NotImplementedError()` with your code, run that cell, then this one again.")
                raise CheckFailure(f"{self.name} is not implemented yet: {todo}") from None
            except CheckFailure:
                raise
            except Exception as exc:
                # A proxy marks the student's exceptions with `student_type`; any other
                # exception from a proxy is the grader's own business (a missing function...).
                if callable(getattr(self.fn, "call_with_globals", None)) and not hasattr(exc, "student_type"):
                    _mark_foreign(exc)
                    raise
                kind = getattr(exc, "student_type", type(exc).__name__)
                text = str(exc) if str(exc).startswith(kind) else f"{kind}: {exc}"
                where = str(getattr(exc, "student_where", "") or "").strip().splitlines()
                # Frames are the learner's only when the function ran here (not behind a proxy).
                proxied = hasattr(exc, "student_type")
                where = where[-1].strip() if where else "" if proxied else learners_line(exc.__traceback__)
                line = f" (in your code: {where})" if where else ""
                raise CheckFailure(f"{self.name} raised {text}{line}\n    while running {call}.{_exception_hint(exc)}") from exc
        for warning in caught:
            text = f"{warning.category.__name__}: {warning.message}"
            if text not in self._warnings_noted and len(self._warnings_noted) < 3:
                self._warnings_noted.append(text)
                print(f"  (note: {self.name} emitted {text}; warnings do not count against you)")
        return result

    # -- common shapes of answers --------------------------------------------------

    def expect_dict(self, value: Any, what: str) -> dict:
        if value is None:
            self.fail(f"{what} is None: did you forget the `return` statement?")
        self.expect(isinstance(value, dict), f"{what} should be a dict, got {type(value).__name__}.")
        return value

    def expect_keys(self, mapping: dict, keys: list[str], what: str, hint: str = "") -> None:
        missing = [key for key in keys if key not in mapping]
        self.expect(
            not missing, f"{what} has no {', '.join(repr(k) for k in missing)} (it has {sorted(mapping, key=natural)}). {hint}".rstrip()
        )

    def expect_array(self, value: Any, name: str) -> np.ndarray:
        numeric = isinstance(value, np.ndarray) and (value.dtype == bool or np.issubdtype(value.dtype, np.number))
        if not numeric:
            kind = type(value).__name__ + (f" of {value.dtype}" if isinstance(value, np.ndarray) else "")
            self.fail(f"{name} should be a NumPy array of numbers, got {kind}.")
        if value.dtype != bool and not np.all(np.isfinite(value)):
            self.fail(f"{name} contains NaN or infinity: look for a division by zero, log(0) or an overflow.")
        self.ok()
        return value

    def expect_shape(self, value: Any, shape: tuple, name: str, hint: str = "") -> np.ndarray:
        array = self.expect_array(value, name)
        self.expect(array.shape == tuple(shape), f"{name} has shape {array.shape}, expected {tuple(shape)}. {hint}".rstrip())
        return array

    def expect_number(self, value: Any, what: str) -> float:
        if value is None:
            self.fail(f"{what} is None: did you forget the `return` statement?")
        number = _real_number(value)
        if number is None:
            shape = f" of shape {value.shape}" if isinstance(value, np.ndarray) else ""
            self.fail(f"{what} should be one real number, got {type(value).__name__}{shape}.")
        self.expect(math.isfinite(number), f"{what} is {number}: look for a division by zero or log(0).")
        return number

    def expect_unchanged(self, before: dict, after: dict, what: str, atol: float = 0.0) -> None:
        """The caller's dict of arrays must come back as it went in (up to ``atol``)."""
        changed = [
            key
            for key in before
            if key not in after
            or np.shape(after[key]) != np.shape(before[key])
            or not np.allclose(after[key], before[key], rtol=0, atol=atol)
        ]
        self.expect(
            not changed,
            f"your function changed {what} {changed} in place. Work on copies "
            "(np.copy, or `x = x + ...` instead of `x += ...`) so the caller's arrays stay as they were.",
        )
