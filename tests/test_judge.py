"""The judge and its sandbox: honest code gets its points, broken or hostile code cannot fake any.

Student code here is written as notebook cells and run by the real sandbox
(a separate, limited process). Expected points come from the reference: full
marks for the reference bodies, zero for the stubs.
"""

import re
import textwrap

import nbformat
import pytest

from autograder.course.contract import inject, nbgrader_meta, reference_body, stub_source
from autograder.course.registry import NOTEBOOKS, STEMS, notebook
from autograder.grading.judge import judge
from autograder.grading.stock_nbgrader import InProcessFunction
from autograder.sandbox import Cell, Limits, Session


def setup_cell(stem: str) -> str:
    """The notebook's setup cell: the imports the reference bodies rely on."""
    nb = nbformat.read(notebook(stem).path, as_version=4)
    return next(c.source for c in nb.cells if nbgrader_meta(c).get("grade_id") == "setup")


SETUP = {stem: setup_cell(stem) for stem in STEMS}
FUNCTIONS = {entry.stem: list(entry.functions) for entry in NOTEBOOKS}


def solved(stem, function):
    return inject(stub_source(stem, function), reference_body(stem, function), markers=False)


def session_for(stem, sources: dict, tmp_path, **limits):
    cells = [Cell("setup", SETUP[stem], "setup")] + [Cell(name, textwrap.dedent(src), "solution") for name, src in sources.items()]
    return Session(cells, tmp_path, Limits(**{"call_timeout": 3.0, **limits}))


def grade(stem, sources, tmp_path, functions, **limits):
    session = session_for(stem, sources, tmp_path, **limits)
    try:
        return {f: judge(f, session.function(f), 4, stem) for f in functions}
    finally:
        session.close()


@pytest.mark.parametrize("stem", list(FUNCTIONS))
def test_reference_earns_full_marks_in_the_sandbox(stem, tmp_path):
    verdicts = grade(stem, {f: solved(stem, f) for f in FUNCTIONS[stem]}, tmp_path, FUNCTIONS[stem])
    for f, v in verdicts.items():
        assert v.points == 4, f"{f}: {v.full_diagnosis()}"


@pytest.mark.parametrize("stem", list(FUNCTIONS))
def test_stubs_earn_nothing_and_say_not_implemented(stem, tmp_path):
    verdicts = grade(stem, {f: stub_source(stem, f) for f in FUNCTIONS[stem]}, tmp_path, FUNCTIONS[stem])
    for _f, v in verdicts.items():
        assert v.points == 0
        assert "not implemented" in v.full_diagnosis()


@pytest.mark.parametrize("stem", list(FUNCTIONS))
def test_in_kernel_path_agrees_with_the_sandbox(stem, tmp_path):
    """Stock nbgrader's path (same process) and ours (sandbox) give the same points."""
    namespace = {}
    exec(SETUP[stem], namespace)
    for f in FUNCTIONS[stem]:
        exec(solved(stem, f), namespace)
    for f in FUNCTIONS[stem]:
        assert judge(f, InProcessFunction(namespace[f], f), 4, stem).points == 4


HE = "initialize_parameters_he"
ZEROS = "initialize_parameters_zeros"


def he_with(body: str) -> str:
    return f"def {HE}(layers_dims, rng):\n" + textwrap.indent(textwrap.dedent(body), "    ")


HOSTILE = {
    "infinite loop": (he_with("while True:\n    pass"), "did not finish"),
    "os._exit": (he_with("import os\nos._exit(3)"), "stopped the notebook"),
    "sys.exit": (he_with("import sys\nsys.exit(0)"), "SystemExit"),
    "KeyboardInterrupt": (he_with("raise KeyboardInterrupt"), "KeyboardInterrupt"),
    "memory bomb": (he_with("x = bytearray(8 * 1024**3)\nreturn x"), ""),
    "lying ndarray subclass": (
        "class Liar(np.ndarray):\n    def __eq__(self, other):\n        return np.ones(self.shape, bool)\n"
        + he_with("return {f'{p}{l}': np.zeros((1, 1)).view(Liar) for l in range(1, len(layers_dims)) for p in 'Wb'}"),
        "",
    ),
    "object equal to everything": (
        "class Anything(dict):\n    def __eq__(self, other):\n        return True\n" + he_with("return Anything()"),
        "",
    ),
    "patches numpy": ("np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n" + he_with("return {}"), ""),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_function_earns_nothing_and_the_next_one_is_still_graded(case, tmp_path):
    source, expected_words = HOSTILE[case]
    verdicts = grade("01_initialization", {HE: source, ZEROS: solved("01_initialization", ZEROS)}, tmp_path, [HE, ZEROS], memory_mb=1024)
    assert verdicts[HE].points == 0, verdicts[HE].full_diagnosis()
    assert expected_words in verdicts[HE].full_diagnosis()
    assert verdicts[ZEROS].points == 4, verdicts[ZEROS].full_diagnosis()


def test_a_hanging_cell_is_skipped_and_the_rest_is_graded(tmp_path):
    verdicts = grade(
        "01_initialization",
        {"loop": "while True:\n    pass", ZEROS: solved("01_initialization", ZEROS)},
        tmp_path,
        [ZEROS],
    )
    assert verdicts[ZEROS].points == 4


def test_printing_and_warnings_cost_nothing(tmp_path):
    """A correct function that prints 20 MB and warns keeps full marks."""
    body = reference_body("01_initialization", HE)
    noisy = stub_source("01_initialization", HE).replace(
        "    # YOUR CODE HERE\n    raise NotImplementedError()",
        "    import warnings\n    warnings.warn('careful')\n    np.log(np.zeros(1))\n    print('x' * 20_000_000)\n" + body,
    )
    verdicts = grade("01_initialization", {HE: noisy}, tmp_path, [HE])
    assert verdicts[HE].points == 4, verdicts[HE].full_diagnosis()


def test_a_correct_variant_with_other_draws_passes(tmp_path):
    """Transposed draws of the right distribution and a rng.normal call earn full marks."""
    variant = he_with(
        """
        parameters = {}
        for l in range(1, len(layers_dims)):
            fan_in = layers_dims[l - 1]
            parameters["W" + str(l)] = rng.normal(0.0, np.sqrt(2 / fan_in), (fan_in, layers_dims[l])).T
            parameters["b" + str(l)] = np.zeros((layers_dims[l], 1))
        return parameters
        """
    )
    assert grade("01_initialization", {HE: variant}, tmp_path, [HE])[HE].points == 4


def test_fan_out_scaling_is_named(tmp_path):
    wrong = solved("01_initialization", HE).replace("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / layers_dims[l])")
    verdict = grade("01_initialization", {HE: wrong}, tmp_path, [HE])[HE]
    assert verdict.points < 4
    assert "current layer" in verdict.full_diagnosis()


def test_the_liar_of_the_hostile_corpus_fools_any_check_that_trusts_its_objects():
    """The corpus's liar fails for the reason it claims: only the plain-data wire stands between it and full marks.

    Its keys, shapes and dtype are right; its values are ones, and ``==``,
    ``np.any``, ``np.array_equal`` say they are zeros. Judged on its own
    objects it earns every point; through the wire (as both graders call
    student code) it earns none.
    """
    from hostile_corpus import CASES, ZEROS

    case = next(c for c in CASES if c.name == "liar-zeros")
    namespace = {"np": __import__("numpy")}
    exec(case.functions[ZEROS].source, namespace)
    liar = namespace[ZEROS]
    assert judge(ZEROS, liar, 1, "01_initialization").points == 1
    assert judge(ZEROS, InProcessFunction(liar, ZEROS), 1, "01_initialization").points == 0


def test_a_sandbox_that_cannot_start_is_not_graded_never_the_students_zero(tmp_path, monkeypatch):
    """If a student process cannot be isolated, its code never runs and no function is blamed on the student."""
    from conftest import notebook_path

    from autograder.grading.notebook import grade_notebook
    from autograder.sandbox import SandboxError
    from autograder.sandbox.process import Zygote

    def refuse(self, cwd, limits):
        raise SandboxError("the student process could not be isolated: (a test's refusal)")

    monkeypatch.setattr(Zygote, "spawn", refuse)
    result = grade_notebook(notebook_path("01_initialization"), Limits())
    assert result.verdicts and not any(v.graded for v in result.verdicts)
    for v in result.verdicts:
        assert v.points == 0 and "not your mistake" in v.diagnosis and "a test's refusal" in v.diagnosis


def test_a_crash_shows_its_exception_its_message_and_the_learners_line(tmp_path):
    """Issue 13: a crash's cause was cut to "in <module>: ." (the sandbox had no source for the cells)."""
    crashing = stub_source("01_initialization", HE).replace(
        "    # YOUR CODE HERE\n    raise NotImplementedError()", "    scale = 0\n    return {'W1': 1 / scale}"
    )
    session = session_for("01_initialization", {"imports": "import not_a_real_module", HE: crashing}, tmp_path)
    try:
        verdict = judge(HE, session.function(HE), 4, "01_initialization")
        load_error = session.load_errors["imports"]
    finally:
        session.close()
    assert re.search(
        r"raised ZeroDivisionError: division by zero \(in your code: initialize_parameters_he, line \d+: return \{'W1': 1 / scale\}\)",
        verdict.diagnosis,
    ), verdict.diagnosis
    assert "raised ModuleNotFoundError: No module named 'not_a_real_module'" in load_error, load_error
    assert load_error.endswith("cell 'imports', line 1: import not_a_real_module"), load_error
    assert "<module>" not in load_error
