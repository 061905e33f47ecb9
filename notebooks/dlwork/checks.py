"""Visible checks for the graded exercises; call one right below your function::

    checks.check_initialize_parameters_he(initialize_parameters_he)

A check asks your function a short list of questions: keys and shapes, relations
that every correct answer satisfies (the L2 penalty quadruples when all weights
double; dropout with ``keep_prob=1`` changes nothing...), hand-made cases small
enough to work out on paper, the right answers on fixed cases too big for paper
(read from ``expected_values.json``: this module contains no implementation of
any exercise), and the statistics of random draws. When all hold it
prints one line; otherwise it raises :class:`CheckFailure` saying what is wrong, the
likely cause and the idea to revisit. Passing is necessary, not sufficient: the
grader asks more questions.

Stochastic functions are judged by properties (distribution, masks consistent with
outputs), never by replaying particular random draws. Every sample-size choice
notes the standard deviation behind its bound, so a correct function cannot fail
by bad luck.

The gradient-checking exercises are also run against stand-ins (the ``_fixture_*``
functions) through :func:`call_with_globals`: a stand-in cost with a known
gradient shows whether ``gradapprox`` is right, a deliberately wrong backward pass
whether ``backward_propagation`` is really called.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from typing import Any, Callable, NoReturn

import numpy as np

from dlwork import network

# --------------------------------------------------------------------------------------
# Shared helpers: failing, passing, calling the function under test
# --------------------------------------------------------------------------------------


class CheckFailure(AssertionError):
    """Raised by a visible check; the message says what is wrong and why."""


def fail(message: str) -> NoReturn:
    """Stop the check with ``message`` (what is wrong, the likely cause, a hint)."""
    raise CheckFailure(message)


def passed(name: str, count: int) -> None:
    """The one line a check prints when every question had the right answer."""
    print(f"✓ {name}: {count} checks passed")


def call_with_globals(fn: Callable, overrides: dict[str, Callable], *args: Any, **kwargs: Any) -> Any:
    """Call ``fn(*args, **kwargs)`` with some of the global names it looks up replaced.

    The gradient-checking exercises call ``forward_propagation``,
    ``backward_propagation`` and ``forward_propagation_n`` as globals; swapping those
    for stand-ins with a known answer tests the function under test on its own.

    Args:
        fn: The function under test. If it has a ``call_with_globals`` attribute (the
            grader's proxy for a function living in another process), that does the
            work: ``fn.call_with_globals(overrides, *args, **kwargs)``.
        overrides: Global name -> replacement. Replacements are module-level
            functions of ``dlwork``, so another process can import them by name.

    Returns:
        What ``fn`` returns. The globals are restored afterwards, even when ``fn`` raises.
    """
    proxy = getattr(fn, "call_with_globals", None)
    if callable(proxy):
        return proxy(overrides, *args, **kwargs)
    namespace = getattr(fn, "__globals__", None)
    if namespace is None:
        raise TypeError(f"{fn!r} is not a plain Python function, so its global names cannot be replaced")
    absent = object()
    saved = {name: namespace.get(name, absent) for name in overrides}
    namespace.update(overrides)
    try:
        return fn(*args, **kwargs)
    finally:
        for name, value in saved.items():
            if value is absent:
                namespace.pop(name, None)
            else:
                namespace[name] = value


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
    (KeyError, "A dict has no such key; parameters use 'W1', 'b1', ..., gradients 'dW1', 'db1', "
               "caches 'Z1', 'A1', 'W1', 'b1' (and 'D1' with dropout)."),
    (NameError, "A name is not defined: run the notebook's setup cell and the cells above, and check the spelling."),
    (IndexError, "An index is out of range: check loop bounds (layers are numbered 1..L, layers_dims has L + 1 entries)."),
    (ValueError, "Often two arrays with incompatible shapes: print the shapes involved "
                 "(examples are columns: X is (n0, m), Wl is (n_l, n_{l-1}), bl is (n_l, 1))."),
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


def _natural(key: str) -> tuple:
    """Sort key for 'W1', 'b1', 'W2', ... (or 'dW1', ...): by layer, then W before b."""
    digits = "".join(ch for ch in str(key) if ch.isdigit())
    kind = str(key).lstrip("d")[:1]
    return (int(digits) if digits else -1, {"W": 0, "b": 1}.get(kind, 2), str(key))


def _copy_arrays(mapping: dict) -> dict:
    """A copy of a dict of arrays that shares no memory with it."""
    return {key: np.array(value, copy=True) for key, value in mapping.items()}


_FOREIGN = "_dlwork_checks_foreign"


def _mark_foreign(exc: BaseException) -> None:
    """Flag an exception that is the grader's, not the student's, so it passes through untouched."""
    try:
        setattr(exc, _FOREIGN, True)
    except AttributeError:
        pass


class _Exercise:
    """Runs one check: calls the function, counts the questions, reports the outcome.

    Used as ``with _Exercise(name, fn) as ex:``. On leaving the block it prints the
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

    def __enter__(self) -> "_Exercise":
        if not callable(self.fn):
            fail(f"{self.name}: expected your function, got {type(self.fn).__name__}. "
                 f"Call it as checks.check_{self.name}({self.name}).")
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
        """Like :meth:`call`, with global names of the function replaced (see :func:`call_with_globals`)."""
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
            except NotImplementedError:
                raise CheckFailure(
                    f"{self.name} is not implemented yet: replace `raise NotImplementedError()` "
                    "with your code, run that cell, then this one again."
                ) from None
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
                where = str(getattr(exc, "student_where", "") or "").strip()
                line = f" (in your code: {where.splitlines()[-1].strip()})" if where else ""
                raise CheckFailure(
                    f"{self.name} raised {text}{line}\n"
                    f"    while running {call}.{_exception_hint(exc)}"
                ) from exc
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
        self.expect(not missing, f"{what} has no {', '.join(repr(k) for k in missing)} "
                                 f"(it has {sorted(mapping, key=_natural)}). {hint}".rstrip())

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
        self.expect(array.shape == tuple(shape),
                    f"{name} has shape {array.shape}, expected {tuple(shape)}. {hint}".rstrip())
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
        changed = [key for key in before if key not in after
                   or np.shape(after[key]) != np.shape(before[key])
                   or not np.allclose(after[key], before[key], rtol=0, atol=atol)]
        self.expect(not changed, f"your function changed {what} {changed} in place. Work on copies "
                                 "(np.copy, or `x = x + ...` instead of `x += ...`) so the caller's arrays stay as they were.")


def _close(a: Any, b: Any, rtol: float = 1e-9, atol: float = 1e-12) -> bool:
    return np.shape(a) == np.shape(b) and bool(np.allclose(a, b, rtol=rtol, atol=atol))


def _near(value: float, target: float, rtol: float = 1e-6, atol: float = 1e-12) -> bool:
    return abs(value - target) <= atol + rtol * abs(target)


def _network_case(check: str) -> tuple[np.ndarray, np.ndarray, dict]:
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


def _load_expected_values(path: Path) -> dict[str, dict[str, dict[str, np.ndarray]]]:
    """The right answers on some checks' fixed cases, from ``expected_values.json``.

    This module runs next to your code, so it holds no implementation of a graded
    function, only the answers on the cases its checks ask about. The file is
    computed from the reference answers by the course's generator and never edited
    by hand (a test of the course keeps it in step with the reference and fixtures).

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
_EXPECTED = _load_expected_values(Path(__file__).with_name("expected_values.json"))


def _first_match(value: float, candidates: list[tuple[float, str]], rtol: float = 1e-4) -> str | None:
    """The message of the first candidate ``value`` agrees with, if any."""
    for target, message in candidates:
        if _near(value, target, rtol=rtol, atol=1e-9):
            return message
    return None


# --------------------------------------------------------------------------------------
# Notebook 01: initialization
# --------------------------------------------------------------------------------------


def _expect_layout(ex: _Exercise, params: Any, dims: list[int]) -> dict:
    """Keys W1, b1, ..., WL, bL with shapes (n_l, n_{l-1}) and (n_l, 1), floating point."""
    call = f"with layers_dims = {dims} the result"
    params = ex.expect_dict(params, f"The result for layers_dims = {dims}")
    L = len(dims) - 1
    expected = [f"{kind}{l}" for l in range(1, L + 1) for kind in "Wb"]
    if "W0" in params or "b0" in params:
        ex.fail(f"{call} has a key 'W0' or 'b0'. Layers are numbered from 1: W1 connects the "
                "input (layer 0) to the first layer, so the loop starts at l = 1.")
    n_weights = sum(1 for key in params if key.startswith("W"))
    if n_weights != L:
        more = "The last layer is missing: is the loop stopping one layer early?" if n_weights == L - 1 else (
            "Is the loop going one layer too far?" if n_weights == L + 1 else "")
        ex.fail(f"{call} has {n_weights} weight matrices ({sorted(params, key=_natural)}), but "
                f"layers_dims describes L = {L} layers: one per entry after the input. {more}".rstrip())
    ex.expect_keys(params, expected, f"The result for layers_dims = {dims}")
    extra = sorted(set(params) - set(expected), key=_natural)
    ex.expect(not extra, f"{call} has unexpected keys {extra}; only {expected} belong there.")
    for l in range(1, L + 1):
        rows, cols = dims[l], dims[l - 1]
        W = ex.expect_array(params[f"W{l}"], f"W{l}")
        if W.shape != (rows, cols):
            if W.shape == (cols, rows):
                why = "It is transposed: rows are the units of this layer, columns the units of the previous one."
            elif l > 1 and W.shape[:1] == (dims[1],) and dims[1] != rows:
                why = f"Its first dimension is layers_dims[1] = {dims[1]}: use the size of layer l, layers_dims[l]."
            else:
                why = f"Wl connects layer l-1 to layer l, so it has shape (layers_dims[l], layers_dims[l-1])."
            ex.fail(f"with layers_dims = {dims}, W{l} has shape {W.shape}, expected {(rows, cols)}. {why}")
        ex.ok()
        b = ex.expect_array(params[f"b{l}"], f"b{l}")
        if b.shape != (rows, 1):
            if b.shape == (rows,):
                why = "It is 1-D; make it a column, shape (n_l, 1), so it broadcasts over the examples."
            elif b.shape == (1, rows):
                why = "It is a row; biases are columns, one entry per unit of the layer."
            elif l > 1 and b.shape[:1] == (dims[1],) and dims[1] != rows:
                why = f"Its first dimension is layers_dims[1] = {dims[1]}: use the size of layer l, layers_dims[l]."
            else:
                why = "There is one bias per unit of layer l, as a column."
            ex.fail(f"with layers_dims = {dims}, b{l} has shape {b.shape}, expected {(rows, 1)}. {why}")
        ex.ok()
        for key in (f"W{l}", f"b{l}"):
            ex.expect(np.issubdtype(params[key].dtype, np.floating),
                      f"{key} has dtype {params[key].dtype}; parameters are floating point (float64).")
    return params


def _expect_zero_biases(ex: _Exercise, params: dict) -> None:
    for key in sorted(params, key=_natural):
        if key.startswith("b"):
            ex.expect(not np.any(params[key]), f"{key} has non-zero entries; biases start at zero "
                                               "(random weights already break the symmetry).")


def _normal_std(ex: _Exercise, W: np.ndarray, name: str) -> float:
    """The std of ``W``'s entries, once they look like independent draws from N(0, std**2).

    Every matrix tested holds at least 20,000 entries (n). Bounds, in standard
    deviations of the statistic for normal draws:
      * mean within 0.1 std: the sample mean has sd std/sqrt(n) <= 0.0071 std (14 sd);
      * excess kurtosis within 0.5 of 0: its sd is sqrt(24/n) <= 0.035 (14 sd);
        uniform draws give -1.2.
    """
    values = np.asarray(W, dtype=np.float64).reshape(-1)
    assert values.size >= 20_000, "the bounds below are sized for at least 20,000 draws"
    if np.ptp(values) == 0:
        ex.fail(f"every entry of {name} equals {values[0]:.4g}. Each weight must be drawn on its own: "
                "identical weights make every unit of a layer compute the same thing (symmetry is not broken).")
    mean, std = values.mean(), values.std()
    if abs(mean) > 0.1 * std:
        ex.fail(f"{name} has mean {mean:.4g} but weights should be centred on 0 (std {std:.4g}). "
                "rng.random draws uniformly from [0, 1); draw from a normal distribution with rng.standard_normal.")
    ex.ok()
    kurtosis = float(np.mean((values - mean) ** 4) / std**4 - 3.0)
    if abs(kurtosis) > 0.5:
        shape = "flat, like uniform draws" if kurtosis < 0 else "heavier-tailed than a normal"
        ex.fail(f"the entries of {name} are {shape} (excess kurtosis {kurtosis:.2f}; normal draws give 0). "
                "Draw them with rng.standard_normal (or rng.normal), not rng.random or rng.uniform.")
    ex.ok()
    return float(std)


# The sample std of n >= 20,000 normal draws has relative sd 1/sqrt(2n) <= 0.5%: a 5%
# band is 10 sd wide, and every wrong scale the checks name is at least 20% away.
_STD_RTOL = 0.05


def _expect_scales(ex: _Exercise, stds: dict[int, float], target: Callable[[int], float], rule: Callable[[int], str],
                   mistakes: list[tuple[Callable[[int], float], Callable[[int], str]]]) -> None:
    """Each layer's std (``stds[l]``) is ``target(l)``; otherwise name the mistake.

    A mistake is a std per layer and its explanation for layer ``l``. It is named
    only when it accounts for every layer, so two mistakes that agree on one layer
    (the current layer's size and ``layers_dims[1]``, say) are told apart by the others.
    """
    off = [l for l in sorted(stds) if abs(stds[l] / target(l) - 1) > _STD_RTOL]
    if off:
        l = off[0]
        cause = next((explain(l) for std, explain in mistakes
                      if all(abs(stds[k] / std(k) - 1) <= _STD_RTOL for k in stds)),
                     "Check the factor you multiply the standard normal draws by, and which layer size it uses.")
        ex.fail(f"W{l} has std {stds[l]:.4g}, but {rule(l)} gives {target(l):.4g}. {cause}")
    ex.ok()


def _expect_uses_rng(ex: _Exercise, dims: list[int]) -> None:
    """Same seed, same weights; another seed, other weights."""
    first = ex.expect_dict(ex.call(list(dims), np.random.default_rng(5)), "The result")
    again = ex.expect_dict(ex.call(list(dims), np.random.default_rng(5)), "The result")
    other = ex.expect_dict(ex.call(list(dims), np.random.default_rng(6)), "The result")
    ex.expect(all(_close(first[key], again.get(key), rtol=0, atol=0) for key in first),
              "two calls with generators seeded alike gave different weights: draw from the `rng` "
              "argument (rng.standard_normal), not from np.random, whose global state changes between calls.")
    ex.expect(not _close(first["W1"], other["W1"], rtol=0, atol=0),
              "generators with different seeds gave identical weights: draw from the `rng` argument.")


def check_initialize_parameters_zeros(initialize_parameters_zeros: Callable) -> None:
    """Keys, shapes, dtype and zero values, for a three-layer and a one-layer network."""
    with _Exercise("initialize_parameters_zeros", initialize_parameters_zeros) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims)), dims)
            for key in sorted(params, key=_natural):
                ex.expect(not np.any(params[key]), f"{key} has non-zero entries; every entry should be 0.0.")


def check_initialize_parameters_random(initialize_parameters_random: Callable) -> None:
    """Keys and shapes; zero biases; weights distributed as 10 * N(0, 1); the rng is used."""
    with _Exercise("initialize_parameters_random", initialize_parameters_random) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(0)), dims)
            _expect_zero_biases(ex, params)
        dims = [300, 200, 100]  # 60,000 and 20,000 weights: enough for tight statistics
        params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(1)), dims)
        stds = {l: _normal_std(ex, params[f"W{l}"], f"W{l}") for l in (1, 2)}
        _expect_scales(ex, stds, lambda l: 10.0, lambda l: "10 * standard normal", [
            (lambda l: 1.0, lambda l: "That is a plain standard normal: did you forget to multiply by 10?"),
            (lambda l: 0.1, lambda l: "Did you divide by 10 instead of multiplying?"),
            (lambda l: 100.0, lambda l: "Multiply by 10 once; the std of 10 * N(0, 1) is 10."),
        ])
        _expect_uses_rng(ex, [7, 5, 3, 1])


def check_initialize_parameters_he(initialize_parameters_he: Callable) -> None:
    """Keys and shapes; zero biases; weights distributed as N(0, 2 / fan_in) per layer; the rng is used."""
    with _Exercise("initialize_parameters_he", initialize_parameters_he) as ex:
        for dims in ([7, 5, 3, 1], [4, 1]):
            params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(0)), dims)
            _expect_zero_biases(ex, params)
        # Three layers of 60,000, 20,000 and 40,000 weights, sizes chosen so that each mistake
        # below gives, on some layer, a std at least 20% off both the right one and the others'.
        dims = [300, 200, 100, 400]
        params = _expect_layout(ex, ex.call(list(dims), np.random.default_rng(1)), dims)
        stds = {l: _normal_std(ex, params[f"W{l}"], f"W{l}") for l in (1, 2, 3)}
        _expect_scales(
            ex, stds, lambda l: math.sqrt(2 / dims[l - 1]),
            lambda l: f"He initialization with fan_in = layers_dims[{l - 1}] = {dims[l - 1]}, sqrt(2 / {dims[l - 1]}),",
            [
                (lambda l: math.sqrt(2 / dims[l]),
                 lambda l: f"That is sqrt(2 / {dims[l]}): did you use the current layer's size instead of the "
                           "previous layer's? He init scales by the fan-in, the number of inputs each unit receives."),
                (lambda l: math.sqrt(1 / dims[l - 1]),
                 lambda l: f"That is sqrt(1 / {dims[l - 1]}) (Xavier's scale); He init for ReLU uses 2 / fan_in: "
                           "ReLU zeroes about half of its inputs and the 2 makes up for it."),
                (lambda l: 2 / dims[l - 1],
                 lambda l: f"That is 2 / {dims[l - 1]}, the variance: the standard deviation is its square root."),
                (lambda l: math.sqrt(2 / dims[1]),
                 lambda l: f"Every layer has std sqrt(2 / {dims[1]}): the scale uses layers_dims[1] for every layer. "
                           "Each layer's fan-in is the size of the layer before it, layers_dims[l-1]."),
                (lambda l: 1.0, lambda l: "The draws are not scaled at all: multiply them by sqrt(2 / fan_in)."),
            ])
        _expect_uses_rng(ex, [7, 5, 3, 1])


# --------------------------------------------------------------------------------------
# Notebook 02: L2 regularization
# --------------------------------------------------------------------------------------

# A hand-made 3-layer case (layers_dims [2, 3, 2, 1], m = 5) small enough to check on paper.
_L2_WEIGHTS = {
    "W1": [[1.0, -2.0], [0.0, 1.0], [2.0, 0.0]],  # squares add up to 10
    "W2": [[1.0, 0.0, -1.0], [2.0, 1.0, 0.0]],    # squares add up to 7
    "W3": [[2.0, -1.0]],                          # squares add up to 5
}
_L2_SQUARES = 10.0 + 7.0 + 5.0
_L2_BIASES = {"b1": [[0.5], [-1.0], [2.0]], "b2": [[1.0], [-0.5]], "b3": [[0.25]]}
_L2_A3 = [[0.9, 0.2, 0.7, 0.4, 0.6]]
_L2_Y = [[1.0, 0.0, 1.0, 0.0, 0.0]]


def _l2_parameters(weight_scale: dict[str, float] | None = None, biases: bool = True) -> dict:
    params = {}
    for l in (1, 2, 3):
        factor = (weight_scale or {}).get(f"W{l}", 1.0)
        params[f"W{l}"] = factor * np.array(_L2_WEIGHTS[f"W{l}"])
        params[f"b{l}"] = np.array(_L2_BIASES[f"b{l}"]) * (1.0 if biases else 0.0)
    return params


def check_compute_cost_with_regularization(compute_cost_with_regularization: Callable) -> None:
    """The cross-entropy part, then the penalty: ignores biases, linear in lambd, sums
    every layer, squared, shrinks like 1/m, and its value on a hand-made case."""
    with _Exercise("compute_cost_with_regularization", compute_cost_with_regularization) as ex:
        A3, Y = np.array(_L2_A3), np.array(_L2_Y)
        m = Y.shape[1]
        cross_entropy = network.compute_cost(A3, Y)

        def cost(params: dict, lambd: float, A3: np.ndarray = A3, Y: np.ndarray = Y) -> float:
            given = _copy_arrays(params)
            value = ex.expect_number(ex.call(A3.copy(), Y.copy(), given, lambd), "The cost")
            ex.expect_unchanged(params, given, "the parameters")
            return value

        def penalty(params: dict, lambd: float, A3: np.ndarray = A3, Y: np.ndarray = Y) -> float:
            return cost(params, lambd, A3, Y) - network.compute_cost(A3, Y)

        lambd = 0.7
        base = _l2_parameters()

        # With lambd = 0, is it the plain cross-entropy?
        plain = cost(base, 0.0)
        if not _near(plain, cross_entropy, rtol=1e-9):
            cause = ("The cross-entropy term is missing: the cost starts from compute_cost(A3, Y)."
                     if abs(plain) < 1e-12 else "The first term is compute_cost(A3, Y), unchanged.")
            ex.fail(f"with lambd = 0 the result should be the plain cross-entropy compute_cost(A3, Y) = "
                    f"{cross_entropy:.6f}; yours is {plain:.6f}. {cause}")
        ex.ok()

        full = penalty(base, lambd)
        ex.expect(full > 1e-9, f"with lambd = {lambd} and non-zero weights the cost should grow by the L2 "
                               f"penalty, but it changed by {full:.4g}.")

        # Are the biases left alone?
        ex.expect(_near(penalty(_l2_parameters(biases=False), lambd), full, rtol=1e-9),
                  "changing only the biases changed the cost. The L2 penalty sums the squares of the "
                  "weights W1, W2, W3; biases are not penalized.")

        # Is the penalty proportional to lambd?
        double = penalty(base, 2 * lambd)
        ex.expect(_near(double, 2 * full, rtol=1e-9),
                  f"doubling lambd should double the penalty, but it went from {full:.6f} to {double:.6f}. "
                  "The penalty is lambd times an amount that does not depend on lambd.")

        # Does every layer count?
        for l in (1, 2, 3):
            without = penalty(_l2_parameters({f"W{l}": 0.0}), lambd)
            ex.expect(not _near(without, full, rtol=1e-9),
                      f"setting W{l} to zero did not change the cost: W{l} is left out of the penalty. "
                      "The sum runs over the weights of every layer.")

        # Squares: doubling every weight quadruples the penalty.
        doubled = penalty(_l2_parameters({"W1": 2.0, "W2": 2.0, "W3": 2.0}), lambd)
        if not _near(doubled, 4 * full, rtol=1e-9):
            cause = ("It doubled: the norms are not squared. The penalty uses ||W||_F^2, the sum of "
                     "the squared entries (np.sum(np.square(W)))." if _near(doubled, 2 * full, rtol=1e-6)
                     else "The penalty is built from the squared entries of the weights.")
            ex.fail(f"doubling every weight should quadruple the penalty ({full:.6f} -> {4 * full:.6f}); "
                    f"it became {doubled:.6f}. {cause}")
        ex.ok()

        # 1/m: duplicating every example leaves the cross-entropy alone and halves the penalty.
        twice = penalty(base, lambd, np.hstack([A3, A3]), np.hstack([Y, Y]))
        if not _near(twice, full / 2, rtol=1e-9):
            cause = ("It did not change: the 1/m factor is missing, or m is not the number of examples "
                     "(m = Y.shape[1]; len(Y) is the number of rows, 1)." if _near(twice, full, rtol=1e-6)
                     else "The penalty is divided by m, the number of examples (Y.shape[1]).")
            ex.fail(f"with every example duplicated (m = {2 * m} instead of {m}) the penalty should halve "
                    f"({full:.6f} -> {full / 2:.6f}); it became {twice:.6f}. {cause}")
        ex.ok()

        # The value on the hand-made case: squares of the weights add up to 22.
        target = lambd / (2 * m) * _L2_SQUARES
        if not _near(full, target, rtol=1e-9):
            factor = lambd / (2 * m)
            cause = _first_match(full, [
                (2 * target, "That is twice the right amount: the factor is lambd / (2m), not lambd / m."),
                (target / 2, "That is half the right amount: the factor is lambd / (2m)."),
                # The entries of W1, W2, W3 add up to 2, 3 and 1.
                (factor * (2**2 + 3**2 + 1**2), "That is lambd / (2m) times 2^2 + 3^2 + 1^2, the square of the sum of "
                                                "each matrix's entries: square every entry first, then add (the square "
                                                "of the sum is not the sum of the squares)."),
                # W1, W2, W3 have 6, 6 and 2 entries.
                (factor * (10 / 6 + 7 / 6 + 5 / 2), "That is lambd / (2m) times the mean of each matrix's squares "
                                                    "(np.mean): the penalty adds the squares up (np.sum)."),
            ]) or "Check the factor in front of the sum of squares."
            ex.fail(f"here the weights' squares add up to {_L2_SQUARES:g}, m = {m} and lambd = {lambd}, so the "
                    f"penalty lambd / (2m) * {_L2_SQUARES:g} is {target:.6f}; yours is {full:.6f}. {cause}")
        ex.ok()


def check_backward_propagation_with_regularization(backward_propagation_with_regularization: Callable) -> None:
    """lambd = 0 gives backward_propagation's gradients; lambd > 0 adds lambd / m * Wl to
    every dWl and nothing to the dbl; the cache is left alone."""
    with _Exercise("backward_propagation_with_regularization", backward_propagation_with_regularization) as ex:
        X, Y, params = _network_case("backward_propagation_with_regularization")
        m = X.shape[1]
        _, cache = network.forward_propagation(X, params)
        reference = network.backward_propagation(X, Y, cache)
        keys = [f"{kind}{l}" for l in (1, 2, 3) for kind in ("dW", "db")]

        def gradients(lambd: float) -> dict:
            given = _copy_arrays(cache)
            grads = ex.expect_dict(ex.call(X.copy(), Y.copy(), given, lambd), "The result")
            ex.expect_unchanged(cache, given, "the cache")
            ex.expect_keys(grads, keys, "The gradients")
            for key in keys:
                ex.expect_shape(grads[key], np.shape(params[key[1:]]), key, f"It has the shape of {key[1:]}.")
            return grads

        # With lambd = 0, are these backward_propagation's gradients?
        plain = gradients(0.0)
        for key in keys:
            ex.expect(_close(plain[key], reference[key]),
                      f"with lambd = 0 the gradients should equal backward_propagation(X, Y, cache)'s, but {key} "
                      "differs. Start from those gradients and add the L2 term to each dWl.")

        lambd = 0.7
        regularized = gradients(lambd)
        for l in (1, 2, 3):
            W = params[f"W{l}"]
            # Are the biases untouched?
            ex.expect(_close(regularized[f"db{l}"], plain[f"db{l}"]),
                      f"db{l} changed when lambd went from 0 to {lambd}. Biases are not penalized, "
                      "so only the dWl get an extra term.")
            # Is the extra term of dWl a multiple of Wl, and the right one?
            extra = regularized[f"dW{l}"] - plain[f"dW{l}"]
            ex.expect(np.any(np.abs(extra) > 1e-12),
                      f"dW{l} has no extra term with lambd = {lambd}: the L2 term goes into every layer's dW.")
            factor = float(np.sum(extra * W) / np.sum(W * W))
            ex.expect(np.linalg.norm(extra - factor * W) <= 1e-6 * np.linalg.norm(extra),
                      f"the extra term in dW{l} is not a multiple of W{l}. The derivative of the penalty "
                      f"(lambd / (2m)) * sum(W{l}**2) with respect to W{l} is proportional to W{l} itself.")
            if not _near(factor, lambd / m, rtol=1e-6):
                cause = _first_match(factor, [
                    (lambd / (2 * m), "That is lambd / (2m): differentiating W**2 gives 2W, and the 2 cancels the 1/2."),
                    (-lambd / m, "The sign is flipped: the penalty grows with the weights, so its gradient "
                                 "points the same way as W."),
                    (lambd, "The 1/m is missing."),
                    (lambd / m**2, "m is divided twice."),
                ]) or ""
                ex.fail(f"the extra term in dW{l} is {factor:.5g} * W{l}; with lambd = {lambd} and m = {m} "
                        f"it should be lambd / m = {lambd / m:.5g} times W{l}. {cause}".rstrip())
            ex.ok()


# --------------------------------------------------------------------------------------
# Notebook 02: dropout
# --------------------------------------------------------------------------------------

_DROPOUT_CACHE_KEYS = [f"{kind}{l}" for l in (1, 2, 3) for kind in ("Z", "A", "W", "b")] + ["D1", "D2"]


def _normal_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _expect_mask(ex: _Exercise, cache: dict, l: int) -> np.ndarray:
    """Cache entry ``Dl``: the shape of ``Al``, only 0/1 (or booleans); returned as booleans."""
    A = ex.expect_array(cache[f"A{l}"], f"cache['A{l}']")
    D = ex.expect_shape(cache[f"D{l}"], A.shape, f"cache['D{l}']",
                        f"The mask has one entry per unit and example, like A{l}.")
    ex.expect(np.all((D == 0) | (D == 1)),
              f"cache['D{l}'] holds values other than 0 and 1. It is the keep-mask: 1/True where a unit is "
              "kept, 0/False where it is dropped; the 1 / keep_prob scaling goes into A, not into D.")
    return D.astype(bool)


def check_forward_propagation_with_dropout(forward_propagation_with_dropout: Callable) -> None:
    """Cache layout; input and output layers untouched; masks keep about keep_prob of the
    units; dropped units output 0 and kept ones relu(Z) / keep_prob; layer l+1 is fed the
    masked activations; a fresh mask per layer; keep_prob = 1 changes nothing; the rng is used."""
    with _Exercise("forward_propagation_with_dropout", forward_propagation_with_dropout) as ex:
        # Two hidden layers of 20 units and m = 1000: each mask has 20,000 entries. (Narrow
        # layers keep the matrix products small: multi-threaded BLAS is slow on a busy machine.)
        X, _, params = _network_case("forward_propagation_with_dropout")
        m = X.shape[1]
        _, plain = network.forward_propagation(X, params)
        keep_prob = 0.6

        def run(keep_prob: float, seed: int) -> tuple[np.ndarray, dict]:
            given = _copy_arrays(params)
            result = ex.call(X.copy(), given, keep_prob, np.random.default_rng(seed))
            ex.expect_unchanged(params, given, "the parameters")
            ex.expect(isinstance(result, (tuple, list)) and len(result) == 2,
                      f"it should return a pair (A3, cache), got {type(result).__name__}"
                      + (f" of length {len(result)}" if isinstance(result, (tuple, list)) else "") + ".")
            A3, cache = result
            ex.expect_shape(A3, (1, m), "A3")
            cache = ex.expect_dict(cache, "The cache")
            hint = ("Store each hidden layer's keep-mask as cache['D1'] and cache['D2']: the backward pass reuses them."
                    if any(key not in cache for key in ("D1", "D2")) else "")
            ex.expect_keys(cache, _DROPOUT_CACHE_KEYS, "The cache", hint)
            return A3, cache

        A3, cache = run(keep_prob, seed=1)
        masks = {l: _expect_mask(ex, cache, l) for l in (1, 2)}

        # Is the input layer left alone?
        ex.expect(_close(cache["Z1"], plain["Z1"]),
                  "Z1 differs from W1 @ X + b1: dropout applies to the hidden layers only, never to the input X.")

        for l in (1, 2):
            D, A, Z = masks[l], np.asarray(cache[f"A{l}"]), np.asarray(cache[f"Z{l}"])
            # Does the mask keep about keep_prob of the units?
            # Mean of 20,000 Bernoulli(0.6) draws: sd sqrt(0.24 / 20000) = 0.0035, so 0.03 is 8.7 sd.
            kept = float(D.mean())
            if abs(kept - keep_prob) > 0.03:
                cause = _first_match(kept, [
                    (1 - keep_prob, "That is about 1 - keep_prob: the comparison is inverted. A unit is kept "
                                    "when its uniform draw is below keep_prob."),
                    (_normal_cdf(keep_prob), "That is what normal draws give: draw uniform numbers in [0, 1) "
                                             "with rng.random, so that P(draw < keep_prob) = keep_prob."),
                ], rtol=0.05) or "Draw a uniform number in [0, 1) per unit and keep the unit when it is below keep_prob."
                ex.fail(f"D{l} keeps {kept:.1%} of the units with keep_prob = {keep_prob}. {cause}")
            ex.ok()

            # Do dropped units output 0, and kept ones relu(Z) / keep_prob?
            active = network.relu(Z)
            must_be_zero = ~D | (active == 0)
            if np.any(A[must_be_zero] != 0):
                inverted = np.all(A[D] == 0) and np.any(A[~D] != 0)
                ex.fail(f"A{l} is not zero where D{l} marks a unit as dropped. " + (
                    "It is zero where D is 1 instead: multiply by the mask itself, not by its complement."
                    if inverted else f"Multiply A{l} by the mask D{l}, and store in the cache the mask you applied."))
            ex.ok()
            survivors = D & (active > 0)
            ratio = A[survivors] / active[survivors]
            if not np.allclose(ratio, 1 / keep_prob, rtol=1e-9):
                typical = float(np.median(ratio))
                cause = _first_match(typical, [
                    (1.0, "They are not divided by keep_prob: divide after masking (inverted dropout), so the "
                          "expected value of each activation stays what it was without dropout."),
                    (keep_prob, "They are multiplied by keep_prob; divide instead, which keeps the expected "
                                "value of each activation unchanged."),
                ], rtol=1e-6) or "Kept units are relu(Z) divided by keep_prob."
                ex.fail(f"the kept units of A{l} are relu(Z{l}) times {typical:.4g}; with keep_prob = {keep_prob} "
                        f"they should be scaled by 1 / keep_prob = {1 / keep_prob:.4g}. {cause}")
            ex.ok()

            # Is layer l + 1 fed the masked activations?
            W, b = np.asarray(cache[f"W{l + 1}"]), np.asarray(cache[f"b{l + 1}"])
            ex.expect(_close(cache[f"Z{l + 1}"], W @ A + b),
                      f"Z{l + 1} is not W{l + 1} @ A{l} + b{l + 1} with the masked, scaled A{l} of the cache. "
                      f"Apply the mask to A{l} before computing Z{l + 1}, and cache that A{l}.")

        # Is the output layer left alone?
        ex.expect(_close(A3, network.sigmoid(np.asarray(cache["Z3"]))) and _close(cache["A3"], A3),
                  "A3 is not sigmoid(Z3): the output layer is never dropped.")

        # A fresh mask for each layer?
        ex.expect(not np.array_equal(masks[1], masks[2]),
                  "D1 and D2 are identical: draw a new mask for each hidden layer.")

        # keep_prob = 1: nothing is dropped and the output is forward_propagation's.
        A3_all, cache_all = run(1.0, seed=2)
        ex.expect(np.all(np.asarray(cache_all["D1"]) == 1) and np.all(np.asarray(cache_all["D2"]) == 1),
                  "with keep_prob = 1 every unit must be kept, but D1 or D2 has zeros.")
        ex.expect(_close(A3_all, plain["A3"]),
                  "with keep_prob = 1 nothing is dropped, so A3 should equal forward_propagation(X, parameters)'s.")

        # Does it draw from the rng argument?
        again, cache_again = run(keep_prob, seed=1)
        ex.expect(np.array_equal(np.asarray(cache_again["D1"]).astype(bool), masks[1]) and _close(again, A3),
                  "two calls with generators seeded alike gave different masks: draw from the `rng` argument "
                  "(rng.random), not from np.random, whose global state changes between calls.")
        _, cache_other = run(keep_prob, seed=3)
        ex.expect(not np.array_equal(np.asarray(cache_other["D1"]).astype(bool), masks[1]),
                  "generators with different seeds gave the same masks: draw them from the `rng` argument.")


def _dropout_backward_fixture() -> tuple[np.ndarray, np.ndarray, dict, np.ndarray, np.ndarray, float]:
    """``(X, Y, parameters, D1, D2, keep_prob)`` for the backward dropout check.

    Hidden layers of equal size, so that using one layer's mask on the other is
    possible (and caught). The masks keep about 80% of the units, with unit 1 of
    layer 1 and unit 3 of layer 2 dropped for every example and unit 3 of layer 1
    and unit 1 of layer 2 kept for every example; all four units are active (Z > 0)
    for some examples (a test verifies it), so their gradients are not zero by chance.

    ``expected_values.json`` holds the cache and the gradients of this case, computed
    from it: it must be regenerated whenever this fixture changes (a test says so).
    """
    X, Y, parameters = _network_case("backward_propagation_with_dropout")
    keep_prob = 0.8
    mask_rng = np.random.default_rng(32)
    D1 = mask_rng.random((5, 6)) < keep_prob
    D2 = mask_rng.random((5, 6)) < keep_prob
    D1[1, :], D2[3, :] = False, False
    D1[3, :], D2[1, :] = True, True
    return X, Y, parameters, D1, D2, keep_prob


def check_backward_propagation_with_dropout(backward_propagation_with_dropout: Callable) -> None:
    """keep_prob = 1 with nothing dropped gives backward_propagation's gradients; the masks of
    the cache are reused; units dropped for every example get no gradient; and the
    gradients equal those of the cost with the masks held fixed."""
    with _Exercise("backward_propagation_with_dropout", backward_propagation_with_dropout) as ex:
        X, Y, params, D1, D2, keep_prob = _dropout_backward_fixture()
        keys = [f"{kind}{l}" for l in (1, 2, 3) for kind in ("dW", "db")]

        def gradients(cache: dict, keep_prob: float) -> dict:
            given = _copy_arrays(cache)
            grads = ex.expect_dict(ex.call(X.copy(), Y.copy(), given, keep_prob), "The result")
            ex.expect_unchanged(cache, given, "the cache")
            ex.expect_keys(grads, keys, "The gradients")
            for key in keys:
                ex.expect_shape(grads[key], np.shape(params[key[1:]]), key, f"It has the shape of {key[1:]}.")
            return grads

        # Nothing dropped, keep_prob = 1: backward_propagation's gradients?
        _, plain = network.forward_propagation(X, params)
        ones = {"D1": np.ones_like(plain["A1"], dtype=bool), "D2": np.ones_like(plain["A2"], dtype=bool)}
        reference = network.backward_propagation(X, Y, plain)
        grads = gradients({**plain, **ones}, 1.0)
        for key in keys:
            ex.expect(_close(grads[key], reference[key]),
                      f"with keep_prob = 1 and nothing dropped the gradients should equal "
                      f"backward_propagation(X, Y, cache)'s, but {key} differs.")

        # Fixed masks, some units dropped for every example (see _dropout_backward_fixture). The
        # cache of the forward pass with these masks, and the true gradients with the masks held
        # fixed, are expected values worked out from the reference (expected_values.json).
        expected = _EXPECTED["backward_propagation_with_dropout"]
        cache = {**expected["cache"], **params, "D1": D1, "D2": D2}
        truth = expected["gradients"]
        grads = gradients(cache, keep_prob)

        # Are the cache's masks reused rather than redrawn?
        again = gradients(cache, keep_prob)
        ex.expect(all(np.array_equal(grads[key], again[key]) for key in keys),
                  "two calls with the same cache gave different gradients: reuse the masks cache['D1'] "
                  "and cache['D2'] of the forward pass, never draw new ones.")

        # Layer 3 does not involve the masks.
        for key in ("dW3", "db3"):
            ex.expect(_close(grads[key], truth[key]),
                      f"{key} is wrong. Layer 3 involves no mask (the cache's A2 is already masked): "
                      "its gradients come out as in backward_propagation.")

        # A unit dropped for every example receives no gradient, in its own layer only.
        for l, own, other in ((2, 3, 1), (1, 1, 3)):
            row = np.abs(grads[f"dW{l}"][own]).sum() + np.abs(grads[f"db{l}"][own]).sum()
            if row > 1e-12:
                wrong_layer = np.abs(grads[f"dW{l}"][other]).sum() + np.abs(grads[f"db{l}"][other]).sum() < 1e-12
                ex.fail(f"unit {own} of layer {l} is dropped for every example (D{l}[{own}, :] is 0), so no "
                        f"gradient can reach W{l}[{own}, :] or b{l}[{own}]; yours are not zero. " + (
                            f"Layer {l} got the other layer's mask: dA{l} takes D{l}."
                            if wrong_layer else f"dA{l} is not masked with D{l}: multiply it by the forward pass's "
                                                f"mask cache['D{l}']."))
            ex.ok()

        # Is dA scaled by 1 / keep_prob on each hidden layer, like A was? A missing (or
        # inverted) factor on layer 2 scales dW2 and dW1 alike; one on layer 1 only dW1.
        size = {l: float(np.sum(grads[f"dW{l}"] * truth[f"dW{l}"]) / np.sum(truth[f"dW{l}"] ** 2)) for l in (1, 2)}
        for l, factor in ((2, size[2]), (1, size[1] / size[2])):
            cause = _first_match(factor, [
                (keep_prob, f"dA{l} is not divided by keep_prob: the forward pass divided A{l} by keep_prob, "
                            "so its gradient is scaled the same way."),
                (keep_prob**2, f"dA{l} is multiplied by keep_prob; divide it instead, as A{l} was."),
            ], rtol=1e-6)
            if cause:
                ex.fail(f"dW{l} comes out {size[l]:.4g} times the right size. {cause}")
            ex.ok()

        # The gradients of the cost with these masks held fixed.
        for key in keys:
            error = np.max(np.abs(grads[key] - truth[key])) / max(np.max(np.abs(truth[key])), 1e-12)
            ex.expect(_close(grads[key], truth[key], rtol=1e-8),
                      f"{key} differs from the gradient of the cost with the masks held fixed (largest "
                      f"error {error:.2g} of its size). In each hidden layer: mask dA with the cache's D, "
                      "divide by keep_prob, then go through the ReLU as usual.")


# --------------------------------------------------------------------------------------
# Notebook 03: gradient checking in 1-D
# --------------------------------------------------------------------------------------


def _fixture_forward_cubic(x, theta):
    """Stand-in cost ``J(theta) = x * theta**3`` (centred differences are not exact for it)."""
    return x * theta**3


def _fixture_backward_cubic(x, theta):
    """The true derivative of :func:`_fixture_forward_cubic`."""
    return 3 * x * theta**2


def _fixture_backward_wrong(x, theta):
    """A wrong derivative of :func:`_fixture_forward_cubic`, as a buggy backward pass would give."""
    return x * theta**2


def _fixture_backward_negated(x, theta):
    """The derivative of :func:`_fixture_forward_cubic` with the wrong sign."""
    return -3 * x * theta**2


def check_forward_propagation(forward_propagation: Callable) -> None:
    """J(theta) = theta * x on a few hand-made cases."""
    with _Exercise("forward_propagation", forward_propagation) as ex:
        for x, theta, J in ((2.0, 4.0, 8.0), (-3.0, 0.5, -1.5), (1.5, -2.0, -3.0), (0.0, 7.0, 0.0)):
            value = ex.expect_number(ex.call(x, theta), f"forward_propagation({x}, {theta})")
            if not _near(value, J, rtol=1e-12):
                cause = _first_match(value, [
                    (x + theta, "That is x + theta: the model multiplies them."),
                    (x, "That is x alone: J depends on theta too."),
                    (theta, "That is theta alone: J depends on x too."),
                ], rtol=1e-12) or ""
                ex.fail(f"forward_propagation({x}, {theta}) returned {value:g}; J = theta * x is {J:g}. {cause}".rstrip())
            ex.ok()


def check_backward_propagation(backward_propagation: Callable) -> None:
    """dJ/dtheta of J = theta * x on a few hand-made cases; it does not depend on theta."""
    with _Exercise("backward_propagation", backward_propagation) as ex:
        for x, theta, slope in ((2.0, 4.0, 2.0), (-3.0, 0.5, -3.0), (1.5, -2.0, 1.5)):
            value = ex.expect_number(ex.call(x, theta), f"backward_propagation({x}, {theta})")
            if not _near(value, slope, rtol=1e-12):
                cause = _first_match(value, [
                    (theta, "That is theta: differentiate with respect to theta, holding x fixed."),
                    (theta * x, "That is J itself, not its derivative."),
                ], rtol=1e-12) or "J is linear in theta, so its slope is the same for every theta."
                ex.fail(f"backward_propagation({x}, {theta}) returned {value:g}, but the slope of "
                        f"J = theta * x with respect to theta at x = {x} is {slope:g}. {cause}")
            ex.ok()


def check_gradient_check(gradient_check: Callable) -> None:
    """Run with a stand-in cost J = x * theta**3 and stand-in backward passes: the centred
    difference, backward_propagation's result, the relative difference, and the default epsilon."""
    with _Exercise("gradient_check", gradient_check) as ex:
        x, theta, epsilon = 2.0, 1.0, 0.5
        stand_in = {"forward_propagation": _fixture_forward_cubic, "backward_propagation": _fixture_backward_cubic}
        note = "with forward_propagation(x, theta) = x * theta**3 and backward_propagation its derivative"
        value = ex.expect_number(ex.call_with(stand_in, note, x, theta, epsilon), "The difference")
        # Is backward_propagation really called? A wrong one (2 instead of 6) must change the result.
        wrong = {"forward_propagation": _fixture_forward_cubic, "backward_propagation": _fixture_backward_wrong}
        wrong_value = ex.expect_number(ex.call_with(wrong, "with a deliberately wrong backward_propagation",
                                                    x, theta, epsilon), "The difference")

        # By hand, for J = x * theta**3 at x = 2, theta = 1 and a large epsilon = 0.5:
        # J(1.5) = 6.75, J(1) = 2, J(0.5) = 0.25 and grad = 3 * x * theta**2 = 6. The centred
        # difference (6.75 - 0.25) / 1 = 6.5 is visibly not 6, so the result is 0.5 / 12.5.
        if not _near(value, 0.5 / 12.5, rtol=1e-9):
            if value < 1e-6 and wrong_value > 0.3:
                # grad does come from backward_propagation, and gradapprox is 6 (not 6.5): a much
                # smaller step than the epsilon given was used.
                cause = ("Your gradapprox is the exact slope 6, as if epsilon were tiny: use the epsilon argument "
                         "the function is given, not a value of your own.")
            else:
                cause = _first_match(value, [
                    (0.0, "grad equals gradapprox: grad must come from backward_propagation(x, theta)."),
                    (3.5 / 15.5, "That is a one-sided difference (J(theta + eps) - J(theta)) / eps = 9.5; use the "
                                 "centred difference (J(theta + eps) - J(theta - eps)) / (2 eps), far more accurate."),
                    (2.5 / 9.5, "That is a one-sided difference (J(theta) - J(theta - eps)) / eps = 3.5; use the centred one."),
                    (7.0 / 19.0, "J(theta + eps) - J(theta - eps) spans 2 * epsilon: divide by 2 * epsilon, not epsilon."),
                    (4.5 / 8.5, "Your grad does not come from backward_propagation (the check replaced it by a stand-in): "
                                "call backward_propagation(x, theta) rather than writing the derivative out."),
                    (6.5, "That is gradapprox itself; return the relative difference between grad and gradapprox."),
                    (6.0, "That is grad itself; return the relative difference between grad and gradapprox."),
                    (0.5, "That is the absolute difference ||grad - gradapprox|| = 0.5; divide it by "
                          "||grad|| + ||gradapprox|| to make it relative."),
                    (-0.04, "It is negative: the numerator is a norm (np.linalg.norm), never negative."),
                (0.25 / 78.25, "That is 0.5^2 / (6^2 + 6.5^2): the norms are squared; use them as they are."),
                ], rtol=1e-9) or "The result is ||grad - gradapprox|| / (||grad|| + ||gradapprox||)."
            ex.fail(f"with J = x * theta**3, x = {x:g}, theta = {theta:g}, epsilon = {epsilon:g}: grad = 6, "
                    f"the centred difference is 6.5, so the result should be 0.5 / 12.5 = 0.04; "
                    f"yours is {value:.6g}. {cause}")
        ex.ok()

        ex.expect(wrong_value > 0.3,
                  f"with a deliberately wrong backward_propagation (2 instead of 6) the difference should be "
                  f"large, but it is {wrong_value:.3g}. grad must come from calling backward_propagation(x, theta).")

        # A gradient of the wrong sign: grad = -6 and gradapprox = 6.5 give |-6 - 6.5| / (6 + 6.5) = 1.
        negated = {"forward_propagation": _fixture_forward_cubic, "backward_propagation": _fixture_backward_negated}
        value = ex.expect_number(ex.call_with(negated, "with a backward_propagation of the wrong sign", x, theta, epsilon),
                                 "The difference")
        if not _near(value, 1.0, rtol=1e-9):
            cause = _first_match(value, [
                (12.5 / 0.5, "The denominator is ||grad + gradapprox||; it is ||grad|| + ||gradapprox||, two norms "
                             "added, so that opposite signs give the largest difference, 1."),
            ], rtol=1e-9) or "The result is ||grad - gradapprox|| / (||grad|| + ||gradapprox||)."
            ex.fail(f"with a backward_propagation of the wrong sign (grad = -6, gradapprox = 6.5) the difference "
                    f"should be |-6 - 6.5| / (6 + 6.5) = 1; yours is {value:.6g}. {cause}")
        ex.ok()

        # The default epsilon (1e-7) makes the centred difference agree closely with the
        # derivative: about 1e-10 here, from rounding alone.
        value = ex.expect_number(ex.call_with(stand_in, note, x, theta), "The difference")
        ex.expect(0 <= value < 1e-7,
                  f"with the default epsilon and a correct backward pass the difference should be tiny "
                  f"(below 1e-7); yours is {value:.3g}. Keep the default epsilon=1e-7.")


# --------------------------------------------------------------------------------------
# Notebook 03: gradient checking in N-D
# --------------------------------------------------------------------------------------

# Parameters of a 2-2-1 network: theta (as dictionary_to_vector orders it) is
# (3, 0, 0, 0 | 0, 0 | 0, 4 | 0), so ||theta|| = 5.
_GC_PARAMETERS = {"W1": [[3.0, 0.0], [0.0, 0.0]], "b1": [[0.0], [0.0]], "W2": [[0.0, 4.0]], "b2": [[0.0]]}


def _fixture_cost_half_square(X, Y, parameters):
    """Stand-in for ``forward_propagation_n``: ``J = 0.5 * ||theta||**2 + 100 * sum(X)``.

    Its gradient with respect to theta is theta itself, and centred differences
    are exact for a quadratic, whatever epsilon. The checks pass ``X = 0``, so the
    data term adds nothing unless ``X`` is moved, and then it shows.
    """
    return 0.5 * sum(float(np.sum(np.square(value))) for value in parameters.values()) + 100 * float(np.sum(X)), {}


def _fixture_cost_third_cube(X, Y, parameters):
    """Stand-in cost ``J = sum(theta**3) / 3``, whose gradient is ``theta**2``.

    Not quadratic: its centred difference is ``theta**2 + epsilon**2 / 3``, so the
    step the function really uses shows in the result.
    """
    return sum(float(np.sum(np.asarray(value) ** 3)) for value in parameters.values()) / 3, {}


def _order_cause(difference: Callable, X: np.ndarray, Y: np.ndarray, epsilon: float) -> str | None:
    """Asked when exact gradients give a non-zero difference: is grad in another order than theta?

    With every entry of theta equal (and gradients equal to theta), any reordering of grad
    leaves it unchanged, so the difference is 0 again exactly when the order was the trouble.
    """
    ones = {key: np.ones_like(np.array(value)) for key, value in _GC_PARAMETERS.items()}
    grads = {"d" + key: ones[key].copy() for key in reversed(list(ones))}
    if difference(ones, grads, X, Y, epsilon, stand_in=True) > 1e-9:
        return None
    return ("grad and gradapprox are not in the same order: when every entry of theta is equal, the difference "
            "is 0, so each entry of gradapprox is right but sits against another entry of grad. Stack grad in "
            "theta's order, the layout dictionary_to_vector returned (gradients_to_vector does).")


def check_gradient_check_n(gradient_check_n: Callable) -> None:
    """Run with a stand-in cost J = ||theta||^2 / 2 + 100 * sum(X) (gradient: theta itself) and on
    a tiny network: per-entry centred differences of theta only, grad in theta's order, the
    2-norm measure, parameters left alone."""
    with _Exercise("gradient_check_n", gradient_check_n) as ex:

        def difference(params: dict, grads: dict, X: np.ndarray, Y: np.ndarray, *epsilon: float,
                       stand_in: bool = False, cost_function: Callable | None = None) -> float:
            given_params, given_grads = _copy_arrays(params), _copy_arrays(grads)
            args = (given_params, given_grads, X.copy(), Y.copy(), *epsilon)
            if cost_function is not None:
                result = ex.call(*args, cost_function=cost_function)
            elif stand_in:
                result = ex.call_with({"forward_propagation_n": _fixture_cost_half_square},
                                      "with forward_propagation_n replaced by J = ||theta||^2 / 2 + 100 * sum(X)", *args)
            else:
                result = ex.call(*args)
            # 1e-12: restoring a perturbed entry by adding epsilon back may be off by a rounding error.
            ex.expect_unchanged(params, given_params, "the parameters", atol=1e-12)
            ex.expect_unchanged(grads, given_grads, "the gradients")
            return ex.expect_number(result, "The difference")

        params = {key: np.array(value) for key, value in _GC_PARAMETERS.items()}
        X, Y = np.zeros((2, 1)), np.zeros((1, 1))  # the stand-in cost depends on theta only, while X stays 0

        # Exact gradients: for this cost gradapprox equals theta even with epsilon = 0.5. The
        # gradients dict lists its keys last layer first, so grad must follow theta's layout,
        # not the dict's order.
        epsilon = 0.5
        exact = {"d" + key: params[key].copy() for key in reversed(list(params))}
        value = difference(params, exact, X, Y, epsilon, stand_in=True)
        if value > 1e-9:
            # What each mistake makes of gradapprox here, and the difference that follows
            # (||theta|| = 5; the norms are worked out by hand in each comment).
            cause = _first_match(value, [
                # gradapprox = 0
                (1.0, "That means gradapprox is all zeros: J_plus and J_minus came out equal. Is J_minus "
                      "computed from theta_minus (not theta_plus), and does each actually move entry i?"),
                # gradapprox = 2 theta: 5 / (5 + 10)
                (5 / 15, "gradapprox is twice the gradient: divide by 2 * epsilon, not epsilon."),
                # gradapprox = theta + 1/4: ||(1/4, ..., 1/4)|| = 3/4, ||theta + 1/4||^2 = 3.25^2 + 4.25^2 + 7/16
                (0.75 / (5 + math.sqrt(29.0625)), "That is a one-sided difference (J_plus - J(theta)) / epsilon; "
                                                   "use (J_plus - J_minus) / (2 * epsilon)."),
                # gradapprox = 7 everywhere (the sum of theta): ||theta - 7||^2 = 16 + 9 + 7 * 49, ||7|| = 21
                (math.sqrt(368) / 26, "Every entry of gradapprox is the same: perturb only entry i of theta, "
                                      "not the whole vector."),
                # gradapprox = theta / 2 + 1/8: squared norms 5.515625 (difference) and 7.265625
                (math.sqrt(5.515625) / (5 + math.sqrt(7.265625)),
                 "J_minus seems to be J at theta itself: without a copy, theta_plus and theta_minus are the same "
                 "array and the second move undoes the first. Make each a fresh np.copy of theta."),
                # gradapprox = running sums (3, 3, 3, 3, 3, 3, 3, 7, 7): squared norms 112 and 161
                (math.sqrt(112) / (5 + math.sqrt(161)), "The perturbations pile up from one i to the next: copy "
                                                         "theta afresh for every i, inside the loop."),
                # gradapprox = 200 everywhere (all of X moved: 100 * 2 entries): squared norms
                # (3 - 200)^2 + 7 * 200^2 + (4 - 200)^2 = 357225 and 9 * 200^2; 100 for one entry of X
                (math.sqrt(357225) / (5 + 600), "gradapprox comes from moving X: perturb entry i of theta; "
                                                "the data X stay fixed."),
                (math.sqrt(88625) / (5 + 300), "gradapprox comes from moving X: perturb entry i of theta; "
                                               "the data X stay fixed."),
                # grad (9, 1) minus a 1-D gradapprox (9,) broadcasts to the 9 x 9 matrix theta_i - theta_j:
                # its squared norm is 2 * 9 * 25 - 2 * 7^2 = 352 (sum of theta^2 = 25, sum of theta = 7)
                (math.sqrt(352) / 10, "grad - gradapprox is a 9 x 9 matrix: gradapprox is 1-D, shape (9,), while grad "
                                      "is a column (9, 1), and NumPy broadcasts the two. Give gradapprox theta's "
                                      "shape (np.zeros_like(theta))."),
            ], rtol=1e-6) or _order_cause(difference, X, Y, epsilon) or (
                "For this cost gradapprox must equal theta exactly: start each i from a fresh copy of theta, "
                "move entry i by +epsilon and -epsilon, and divide by 2 * epsilon. (The check swaps in this "
                "cost by replacing forward_propagation_n: call the cost by that name, as the docstring says.)")
            ex.fail(f"with the cost J = ||theta||^2 / 2 + 100 * sum(X), whose gradient with respect to theta is "
                    f"theta itself, and gradients equal to theta, the difference should be 0; yours is "
                    f"{value:.6g} (epsilon = {epsilon}). {cause}")
        ex.ok()

        # Gradients off by 12 in one entry: ||grad|| = 13, ||gradapprox|| = ||theta|| = 5,
        # ||grad - gradapprox|| = 12, so the difference is 12 / (13 + 5).
        off = {key: value.copy() for key, value in exact.items()}
        off["db2"][0, 0] = 12.0
        value = difference(params, off, X, Y, epsilon, stand_in=True)
        target = 12 / 18
        if not _near(value, target, rtol=1e-9):
            cause = _first_match(value, [
                (12 / 26, "That is the L1 version (sums of absolute values); use 2-norms, np.linalg.norm."),
                (12.0, "The denominator is missing: divide by ||grad|| + ||gradapprox||."),
                (12 / 13, "The denominator is ||grad|| alone; it is ||grad|| + ||gradapprox||."),
                (12 / 5, "The denominator is ||gradapprox|| alone; it is ||grad|| + ||gradapprox||."),
                (12 / math.sqrt(244), "The denominator is ||grad + gradapprox||; it is ||grad|| + ||gradapprox||."),
                (144 / 194, "The norms are squared; use them as they are."),
            ], rtol=1e-6) or "The measure is ||grad - gradapprox||_2 / (||grad||_2 + ||gradapprox||_2)."
            ex.fail(f"with gradients off by 12 in one entry (||grad|| = 13, ||gradapprox|| = 5, "
                    f"||grad - gradapprox|| = 12) the difference should be 12 / (13 + 5) = {target:.4f}; "
                    f"yours is {value:.6g}. {cause}")
        ex.ok()

        # The same stand-in handed over as cost_function (forward_propagation_n left as it is):
        # the cost to differentiate is then cost_function's.
        value = difference(params, exact, X, Y, epsilon, cost_function=_fixture_cost_half_square)
        ex.expect(value <= 1e-9,
                  f"given the same stand-in cost as cost_function (instead of in place of forward_propagation_n), "
                  f"the difference should be 0 again; yours is {value:.6g}: your function ignores its cost_function "
                  "argument. When it is given, compute J_plus and J_minus with it; forward_propagation_n is the default.")

        # A cost that is not quadratic, J = sum(theta^3) / 3 with gradient theta^2: with epsilon = 0.5
        # the centred difference is theta^2 + epsilon^2 / 3 = theta^2 + 1/12 in every entry. Here
        # theta^2 = (9, 0, 0, 0, 0, 0, 0, 16, 0): ||grad|| = sqrt(337), ||grad - gradapprox|| = sqrt(9) / 12
        # and ||gradapprox||^2 = (109/12)^2 + (193/12)^2 + 7 / 12^2 = 49137 / 144.
        squares = {"d" + key: np.square(params[key]) for key in reversed(list(params))}
        value = difference(params, squares, X, Y, epsilon, cost_function=_fixture_cost_third_cube)
        target = 0.25 / (math.sqrt(337) + math.sqrt(49137) / 12)
        if not _near(value, target, rtol=1e-6):
            cause = ("It is about 0: the centred difference came out as the exact slope, as if the step were tiny. "
                     "Perturb theta by the epsilon argument, not a value of your own."
                     if value < 1e-4 else "Perturb each entry by +epsilon and -epsilon and divide by 2 * epsilon.")
            ex.fail(f"with the cost J = sum(theta^3) / 3 (gradient theta^2) and epsilon = {epsilon}, the centred "
                    f"difference is theta^2 + epsilon^2 / 3 in every entry, so the difference should be {target:.6g}; "
                    f"yours is {value:.6g}. {cause}")
        ex.ok()

        # A tiny network with the default epsilon and cost (forward_propagation_n).
        X, Y, net = _network_case("gradient_check_n")
        _, cache = network.forward_propagation(X, net)
        backprop = {key: value for key, value in network.backward_propagation(X, Y, cache).items()
                    if key[:2] in ("dW", "db")}
        # Backprop is right here; rounding alone leaves a difference of a few 1e-9 (every
        # |Z| is above 0.01, far from ReLU's kink at 0, a test verifies it).
        value = difference(net, backprop, X, Y)
        ex.expect(value < 1e-7,
                  f"on a small network with backprop's (correct) gradients, the default epsilon and "
                  f"forward_propagation_n as the cost, the difference should be below 1e-7; yours is {value:.3g}.")
        # Negated gradients: grad = -gradapprox, so the difference is ||2g|| / (2 ||g||) = 1,
        # up to the error of gradapprox (about 1e-9).
        value = difference(net, {key: -value for key, value in backprop.items()}, X, Y)
        ex.expect(_near(value, 1.0, rtol=1e-5),
                  f"with the gradients negated (grad = -gradapprox) the difference should be 1; yours is {value:.6g}.")
