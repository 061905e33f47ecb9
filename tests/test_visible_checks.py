"""The visible checks (``dlwork.checks``) that students run from the notebooks.

The functions they are tried on are the catalogue's (``autograder.qa.catalogue``),
each defined as the notebook defines it: the notebook's setup cell, then its
solution cells in order, the variant in its own function's cell and the
reference in the others. A correct variant must pass its check; a wrong one must
fail it with a message holding the variant's keywords, unless the catalogue
leaves it to the hidden checks (``caught_by=HIDDEN``), and then it must pass.
``python -m autograder mutants`` grades the same variants through the sandbox
and the hidden checks.

The rest holds what no catalogue entry shows: stubs, crashes and warnings are
reported in words; the checks hand only plain data and ``dlwork`` functions to
a wire proxy; the fixed cases have the properties the checks rely on; the stored
expected values are the generator's. Run times are printed.
"""

from __future__ import annotations

import functools
import io
import json
import re
import time
from contextlib import redirect_stdout

import numpy as np
import pytest

from autograder.course import registry
from autograder.course.contract import inject, nbgrader_meta, reference_body
from autograder.hidden import expected_values
from autograder.hidden.common import numerical_gradient
from autograder.hidden.regularization import MaskReplay
from autograder.qa.catalogue import CATALOGUE, CORRECT, HIDDEN, WRONG
from autograder.qa.mutants import cell_for, normalize
from autograder.qa.sample_class import REF, cell_source
from autograder.sandbox import wire
from dlwork import checks, network
from dlwork.checks import cases, stand_ins
from dlwork.network import compute_cost
from source_solutions import regularization as reg_ref

FUNCTIONS = list(registry.graded_functions())


@functools.cache
def _code_cells(stem: str) -> tuple[tuple[str, str], ...]:
    """``(grade_id, source)`` of the setup cell and of every solution cell of a notebook, in order."""
    # Plain JSON: nbformat would add seconds of imports to every run of this file.
    nb = json.loads(registry.notebook(stem).path.read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if cell["cell_type"] == "code" and (meta.get("grade_id") == "setup" or meta.get("solution")):
            source = cell["source"]
            cells.append((meta["grade_id"], source if isinstance(source, str) else "".join(source)))
    return tuple(cells)


def define(function: str, write=None):
    """``function`` as its notebook defines it, in a namespace of its own.

    The setup cell runs first, then every solution cell in notebook order: the
    reference in each, except that ``write(stub)`` gives ``function``'s cell (the
    reference too when ``write`` is None).
    """
    stem = registry.notebook_of(function).stem
    namespace = {"__name__": "__main__"}
    for grade_id, source in _code_cells(stem):
        if grade_id != "setup":
            source = write(source) if grade_id == function and write else cell_source(source, stem, grade_id, REF)
        exec(compile(source, f"<{stem} cell {grade_id}>", "exec"), namespace)
    return namespace[function]


def run_check(function: str, fn) -> str:
    """Run the visible check of ``function`` on ``fn``; return what it printed."""
    out = io.StringIO()
    with redirect_stdout(out):
        getattr(checks, f"check_{function}")(fn)
    return out.getvalue()


def failure(function: str, fn) -> str:
    """The message of the check's failure on ``fn`` (the test fails if it passes).

    It is also what Jupyter shows: the failure's ``_render_traceback_`` (IPython's
    hook) is that message alone, so the diagnosis is the cell's first line.
    """
    with pytest.raises(checks.CheckFailure) as info:
        run_check(function, fn)
    message = str(info.value)
    shown = info.value._render_traceback_()
    assert " ".join(" ".join(shown).split()) == " ".join(f"CheckFailure: {message}".split()), shown
    assert all(len(line) <= 100 for line in shown) or any(" " not in line.strip() for line in shown), shown
    return message


# ------------------------------------------------------------------ the reference


def test_every_graded_function_has_a_check():
    assert {name[len("check_") :] for name in checks.__all__ if name.startswith("check_")} == set(FUNCTIONS)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_reference_passes(function):
    printed = run_check(function, define(function))
    assert printed.startswith(f"✓ {function}: ") and "checks passed" in printed


def test_run_times_on_the_reference(capsys):
    """Prints each check's run time (best of 3); speed is reported, not asserted."""
    lines = []
    for function in FUNCTIONS:
        fn, best = define(function), float("inf")
        for _ in range(3):
            start = time.perf_counter()
            run_check(function, fn)
            best = min(best, time.perf_counter() - start)
        lines.append(f"  {function:42s} {best * 1000:7.1f} ms")
    with capsys.disabled():
        print("\nvisible check run times (reference, best of 3):\n" + "\n".join(lines))


# ------------------------------------------------------------------ the catalogue

CORRECT_VARIANTS = [v for v in CATALOGUE if v.verdict == CORRECT]
CAUGHT = [v for v in CATALOGUE if v.verdict == WRONG and v.caught_by != HIDDEN]
LET_THROUGH = [v for v in CATALOGUE if v.verdict == WRONG and v.caught_by == HIDDEN]


def _variant(variant):
    return define(variant.function, lambda stub: cell_for(variant, stub))


@pytest.mark.parametrize("variant", CORRECT_VARIANTS, ids=lambda v: v.id)
def test_a_correct_variant_passes(variant):
    assert f"✓ {variant.function}" in run_check(variant.function, _variant(variant)), variant.what


@pytest.mark.parametrize("variant", CAUGHT, ids=lambda v: v.id)
def test_a_mistake_fails_with_its_diagnosis(variant):
    message = failure(variant.function, _variant(variant))
    missing = [k for k in variant.keywords if normalize(k) not in normalize(message)]
    assert not missing, f"{variant.id} ({variant.what}): the message lacks {missing}: {message}"
    assert message.startswith(f"{variant.function}") and len(message.splitlines()) <= 5, message
    first_lines = " ".join(checks.CheckFailure(message)._render_traceback_()[:5])
    assert not [k for k in variant.keywords if normalize(k) not in normalize(first_lines)], "the diagnosis is in the first five lines"


@pytest.mark.parametrize("variant", LET_THROUGH, ids=lambda v: v.id)
def test_a_mistake_left_to_the_hidden_checks_passes(variant):
    """Should the visible check catch it one day, the catalogue must stop saying caught_by=HIDDEN."""
    assert f"✓ {variant.function}" in run_check(variant.function, _variant(variant)), variant.what


# ------------------------------------------------------------------ warnings, stubs, crashes

NOISY = '    import warnings\n    warnings.warn("a student\'s own warning")\n    np.log(np.zeros(1))  # RuntimeWarning: divide by zero\n'


@pytest.mark.filterwarnings("error")
@pytest.mark.parametrize("function", FUNCTIONS)
def test_warnings_never_fail_a_check(function):
    stem = registry.notebook_of(function).stem
    noisy = define(function, lambda stub: inject(stub, NOISY + reference_body(stem, function), markers=False))
    printed = run_check(function, noisy)
    assert f"✓ {function}" in printed
    assert "UserWarning: a student's own warning" in printed and "RuntimeWarning" in printed
    assert printed.count("warnings do not count against you") == 2  # each distinct warning once


@pytest.mark.parametrize("function", FUNCTIONS)
def test_the_notebooks_stub_is_reported_as_not_implemented(function):
    message = failure(function, define(function, lambda stub: stub))
    assert "not implemented yet" in message and function in message


def test_an_exception_is_named_with_the_call_that_raised_it():
    def crashes(layers_dims, rng):
        return {"W1": rng.standard_normal((layers_dims[1], layers_dims[0]))} | {"b1": layers_dims["oops"]}

    message = failure("initialize_parameters_he", crashes)
    assert "raised TypeError" in message
    assert "initialize_parameters_he([7, 5, 3, 1], rng)" in message
    # where, in the learner's own code (not in the checks)
    assert re.search(r'in your code: crashes, line \d+: return \{"W1": rng.standard_normal\(', message), message


def test_a_missing_layer_is_counted_in_weight_matrices_only():
    """Issue 13: "1 weight matrices (['W1', 'b1'])" counted right, in the singular, listing weights only."""

    def one_layer(layers_dims):
        return {"W1": np.zeros((layers_dims[1], layers_dims[0])), "b1": np.zeros((layers_dims[1], 1))}

    message = failure("initialize_parameters_zeros", one_layer)
    assert "has 1 weight matrix (W1)" in message and "b1" not in message.split("(W1)")[0], message
    assert "L = 3 layers (W1 to W3)" in message, message


@pytest.mark.parametrize(
    ("change", "words"),
    [
        (lambda g: g.T, ["dW3 has shape (3, 1), expected (1, 3)", "must be shaped like W3, (1, 3)", "transposed"]),
        (lambda g: g.ravel(), ["must be shaped like W3", "1-D"]),
    ],
    ids=["transposed", "1-D"],
)
def test_a_gradient_of_the_wrong_shape_is_told_the_shape_it_must_have(change, words):
    """Issue 13: not "It has the shape of W3", which reads as a claim about the student's array."""
    reference = define("backward_propagation_with_regularization")

    def reshaped(*args):
        gradients = reference(*args)
        return gradients | {"dW3": change(gradients["dW3"])}

    message = failure("backward_propagation_with_regularization", reshaped)
    assert all(word in message for word in words), message
    assert "It has the shape of" not in message


def test_a_missing_return_is_named():
    def forgets_return(layers_dims):
        {f"W{l}": np.zeros((layers_dims[l], layers_dims[l - 1])) for l in range(1, len(layers_dims))}

    assert "forget the `return`" in failure("initialize_parameters_zeros", forgets_return)


# ------------------------------------------------------------------ call_with_globals and the wire


class WireProxy:
    """Stands for a function in another process, as the grader's proxy does.

    Arguments and overrides go through the grader's plain-data wire format
    (overrides as module:name references, resolved on the other side), the
    result comes back through it, and mutable arguments are written back.
    """

    def __init__(self, fn):
        self.fn = fn
        self.overrides_seen: list[dict] = []

    def __call__(self, *args, **kwargs):
        return self.call_with_globals({}, *args, **kwargs)

    def call_with_globals(self, overrides, *args, **kwargs):
        for name, value in overrides.items():
            assert callable(value) and value.__module__.startswith("dlwork."), f"{name}: {value!r} is not a dlwork function"
        self.overrides_seen.append(dict(overrides))
        request = {"args": list(args), "kwargs": kwargs, "overrides": overrides}
        assert b"__opaque__" not in wire.encode(request, allow_refs=True), "the check passed something that is not plain data"
        sent = wire.decode(wire.encode(request, allow_refs=True), refs="resolve")
        try:
            result = checks.call_with_globals(self.fn, sent["overrides"], *sent["args"], **sent["kwargs"])
        except Exception as exc:
            exc.student_type = type(exc).__name__  # as the grader's proxies mark the student's exceptions
            raise
        for before, after in zip(args, sent["args"]):
            if isinstance(before, dict):
                before.clear()
                before.update(after)
            elif isinstance(before, np.ndarray):
                before[...] = after
            elif isinstance(before, np.random.Generator):
                before.bit_generator.state = after.bit_generator.state
        return wire.decode(wire.encode(result))


@pytest.mark.parametrize("function", FUNCTIONS)
def test_checks_pass_the_reference_through_a_wire_proxy(function):
    assert f"✓ {function}" in run_check(function, WireProxy(define(function)))


@pytest.mark.parametrize("function, swapped", [("gradient_check", "backward_propagation"), ("gradient_check_n", "forward_propagation_n")])
def test_gradient_checks_go_through_the_proxy_to_swap_globals(function, swapped):
    proxy = WireProxy(define(function))
    run_check(function, proxy)
    assert any(swapped in seen for seen in proxy.overrides_seen)


def test_call_with_globals_restores_the_globals_even_on_error():
    gradient_check = define("gradient_check")
    namespace = gradient_check.__globals__
    original = namespace["backward_propagation"], namespace["forward_propagation"]
    cubic = {"forward_propagation": stand_ins.forward_cubic, "backward_propagation": stand_ins.backward_cubic}
    # J = 2 theta^3 at theta = 1, epsilon = 0.5: grad 6, centred difference 6.5, difference 0.5 / 12.5.
    assert checks.call_with_globals(gradient_check, cubic, 2.0, 1.0, 0.5) == pytest.approx(0.04, rel=1e-12)
    assert (namespace["backward_propagation"], namespace["forward_propagation"]) == original

    def boom(x, theta):
        raise ValueError("boom")

    with pytest.raises(ValueError):
        checks.call_with_globals(gradient_check, {"backward_propagation": boom, "brand_new_name": len}, 2.0, 1.0)
    assert namespace["backward_propagation"] is original[0]
    assert "brand_new_name" not in namespace


def test_a_student_exception_through_a_proxy_is_described():
    def crashes(X, Y, cache, lambd):
        raise KeyError("dW4")

    assert "raised KeyError" in failure("backward_propagation_with_regularization", WireProxy(crashes))


def test_a_grader_exception_through_a_proxy_is_passed_on():
    class NotDefined(Exception):
        pass

    class Missing:
        def __call__(self, *args, **kwargs):
            raise NotDefined("initialize_parameters_zeros is not defined")

        def call_with_globals(self, overrides, *args, **kwargs):
            return self(*args, **kwargs)

    with pytest.raises(NotDefined):
        run_check("initialize_parameters_zeros", Missing())


# ------------------------------------------------------------------ the fixed cases and the stored answers


def test_dropout_case_units_are_active():
    """The dropped-unit questions mean something only if those units would otherwise get a gradient."""
    _, _, _, D1, D2, _ = cases.dropout_backward_case()
    cache = cases.EXPECTED["backward_propagation_with_dropout"]["cache"]
    for key, row in (("Z1", 1), ("Z1", 3), ("Z2", 3), ("Z2", 1)):
        assert np.any(cache[key][row] > 0), (key, row)
    assert not D1[1].any() and not D2[3].any() and D1[3].all() and D2[1].all()


def test_gradient_check_n_network_is_far_from_relu_kinks():
    """The small network's check expects a difference of a few 1e-9: no |Z| may be near 0."""
    X, _, net = cases.network_case("gradient_check_n")
    _, cache = network.forward_propagation(X, net)
    assert min(np.abs(cache[f"Z{l}"]).min() for l in (1, 2)) > 1e-3


def test_expected_values_file_is_what_the_generator_writes_now():
    """expected_values.json is derived from the reference and the checks' fixed cases; regenerate it
    (python -m autograder.hidden.expected_values) when either changes."""
    committed = json.loads(expected_values.PATH.read_text(encoding="utf-8"))
    fresh = expected_values.expected_values()
    stale = f"{expected_values.PATH.relative_to(registry.REPO)} is stale: run .venv/bin/python -m autograder.hidden.expected_values"

    def compare(a, b, where):
        assert type(a) is type(b), f"{stale} ({where}: {type(a).__name__} in the file, {type(b).__name__} now)"
        if isinstance(a, dict):
            assert list(a) == list(b), f"{stale} ({where}: keys {list(a)} in the file, {list(b)} now)"
            for key in a:
                compare(a[key], b[key], f"{where}/{key}")
        elif isinstance(a, list) and a and isinstance(a[0], list):
            assert np.shape(a) == np.shape(b), f"{stale} ({where}: shape {np.shape(a)} in the file, {np.shape(b)} now)"
            # Another machine's BLAS may round a product differently in the last bit; a change of
            # the reference or of a fixed case moves these values by far more than 1e-12.
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15, err_msg=f"{stale} ({where})")
        else:
            assert a == b, f"{stale} ({where})"

    compare(committed, fresh, "")


def test_expected_values_file_round_trips_exactly():
    """The file is in the generator's own format, and its floats read back as the same floats."""
    text = expected_values.PATH.read_text(encoding="utf-8")
    assert expected_values.render(json.loads(text)) == text


def test_dropout_expected_gradients_agree_with_numerical_gradients():
    """The stored gradients are those of the cost with the case's masks held fixed, by centred
    differences through the reference forward pass (independently of the reference backward pass)."""
    X, Y, params, D1, D2, keep_prob = cases.dropout_backward_case()
    expected = cases.EXPECTED["backward_propagation_with_dropout"]

    def cost(parameters):
        A3, _ = reg_ref.forward_propagation_with_dropout(X, parameters, keep_prob, MaskReplay(D1, D2))
        return compute_cost(A3, Y)

    for key, value in numerical_gradient(cost, params).items():
        # Centred differences with epsilon = 1e-6 are accurate to about 1e-10 here.
        np.testing.assert_allclose(expected["gradients"][key], value, rtol=0, atol=1e-8, err_msg=key)
    # And the stored cache is the forward pass of the case with these masks.
    _, cache = reg_ref.forward_propagation_with_dropout(X, params, keep_prob, MaskReplay(D1, D2))
    for key, value in expected["cache"].items():
        np.testing.assert_allclose(value, cache[key], rtol=1e-12, atol=1e-15, err_msg=key)
