"""dlwork.notebook_import: notebook 03 borrows the student's notebook-02 functions.

``functions_from_notebook`` must find ``02_regularization.ipynb`` where a student
has it (the current folder, or ``../02_regularization/`` in an nbgrader
release), run only the setup cell and the solution cells, and hand back the
functions. The notebooks here are temporary: toy ones built cell by cell, one
made of notebook 02's stub cells (``stub_source``, which the real notebook's
cells must equal), and the real notebook 02 solved and unsolved once it exists.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import require_notebook
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from autograder.course import contract
from dlwork import network, notebook_import
from dlwork.notebook_import import NotebookImportError, candidate_paths, find_notebook, functions_from_notebook
from source_solutions import regularization as R

NB02 = "02_regularization"
NB02_FUNCTIONS = [
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
]


def code_cell(source: str, cell_id: str, **nbgrader) -> nbformat.NotebookNode:
    cell = new_code_cell(source, id=cell_id)
    if nbgrader:
        cell.metadata["nbgrader"] = {"schema_version": 3, **nbgrader}
    return cell


def setup_cell(source: str) -> nbformat.NotebookNode:
    return code_cell(source, "setup", grade=False, solution=False, locked=True, grade_id="setup")


def solution_cell(source: str, grade_id: str) -> nbformat.NotebookNode:
    return code_cell(source, grade_id, grade=False, solution=True, locked=False, grade_id=grade_id)


def write(nb, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def toy_notebook() -> nbformat.NotebookNode:
    """Setup and solution cells give add_offset(1) == 11; any other cell, if run, breaks that or raises."""
    return new_notebook(
        cells=[
            new_markdown_cell("# toy", id="title"),
            setup_cell("OFFSET = 10"),
            code_cell("OFFSET = -1000  # a cell the student added", "added-by-student"),
            solution_cell("def add_offset(x):\n    return x + OFFSET", "add_offset"),
            code_cell(
                "raise RuntimeError('check cells must not run')",
                "check_add_offset",
                grade=True,
                solution=False,
                locked=True,
                points=1,
                grade_id="check_add_offset",
            ),
            code_cell("raise RuntimeError('experiments must not run')", "experiment"),
            code_cell("def add_offset(x):\n    return 'redefined by an experiment'", "redefine"),
        ]
    )


def stub_notebook_02() -> nbformat.NotebookNode:
    """Notebook 02's stub cells as the contract defines them, after a setup cell importing what they use."""
    setup = setup_cell("import numpy as np\n\nfrom dlwork.network import backward_propagation, compute_cost, relu, sigmoid")
    stubs = [solution_cell(contract.stub_source(NB02, name), name) for name in NB02_FUNCTIONS]
    return new_notebook(cells=[setup, *stubs])


def test_runs_the_setup_and_solution_cells_and_nothing_else(tmp_path):
    path = write(toy_notebook(), tmp_path / "toy.ipynb")
    add_offset = functions_from_notebook(path, ["add_offset"])["add_offset"]
    assert add_offset(1) == 11, "a cell other than setup and solution ran (OFFSET or add_offset changed)"


def test_each_call_gets_a_fresh_namespace(tmp_path):
    path = write(toy_notebook(), tmp_path / "toy.ipynb")
    first = functions_from_notebook(path, ["add_offset"])["add_offset"]
    second = functions_from_notebook(path, ["add_offset"])["add_offset"]
    assert first.__globals__ is not second.__globals__
    assert "np" not in first.__globals__, "the caller's names leaked into the notebook's namespace"


def test_finds_the_notebook_in_the_current_folder(tmp_path, monkeypatch):
    write(toy_notebook(), tmp_path / f"{NB02}.ipynb")
    monkeypatch.chdir(tmp_path)
    assert find_notebook(NB02) == tmp_path / f"{NB02}.ipynb"
    assert functions_from_notebook(NB02, ["add_offset"])["add_offset"](0) == 10


def test_finds_the_notebook_in_the_sibling_assignment_folder(tmp_path, monkeypatch):
    """nbgrader layout: release/03_gradient_checking/ next to release/02_regularization/."""
    write(toy_notebook(), tmp_path / NB02 / f"{NB02}.ipynb")
    here = tmp_path / "03_gradient_checking"
    here.mkdir()
    monkeypatch.chdir(here)
    assert find_notebook(NB02) == tmp_path / NB02 / f"{NB02}.ipynb"
    assert find_notebook(f"{NB02}.ipynb") == tmp_path / NB02 / f"{NB02}.ipynb"


def test_the_current_folder_comes_first(tmp_path):
    write(toy_notebook(), tmp_path / "work" / f"{NB02}.ipynb")
    write(toy_notebook(), tmp_path / NB02 / f"{NB02}.ipynb")
    assert find_notebook(NB02, folder=tmp_path / "work") == tmp_path / "work" / f"{NB02}.ipynb"


def test_a_path_with_a_folder_is_taken_as_given(tmp_path):
    path = write(toy_notebook(), tmp_path / "elsewhere" / "renamed.ipynb")
    assert candidate_paths("elsewhere/renamed.ipynb", folder=tmp_path) == [path]
    assert functions_from_notebook("elsewhere/renamed.ipynb", ["add_offset"], folder=tmp_path)["add_offset"](2) == 12


def test_a_missing_notebook_raises_file_not_found_naming_the_places_looked_at(tmp_path):
    with pytest.raises(FileNotFoundError) as info:
        functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path / "03_gradient_checking")
    message = str(info.value)
    assert str(tmp_path / "03_gradient_checking" / f"{NB02}.ipynb") in message
    assert str(tmp_path / NB02 / f"{NB02}.ipynb") in message


def test_a_name_the_cells_do_not_define_is_reported(tmp_path):
    path = write(toy_notebook(), tmp_path / "toy.ipynb")
    with pytest.raises(NotebookImportError, match="not_there"):
        functions_from_notebook(path, ["add_offset", "not_there"])


def test_a_failing_solution_cell_is_reported_with_its_grade_id(tmp_path):
    nb = toy_notebook()
    nb.cells.insert(4, solution_cell("1 / 0", "broken"))
    path = write(nb, tmp_path / "toy.ipynb")
    with pytest.raises(NotebookImportError, match="broken") as info:
        functions_from_notebook(path, ["add_offset"])
    assert isinstance(info.value.__cause__, ZeroDivisionError)


def test_a_notebook_without_setup_cell_is_refused(tmp_path):
    nb = toy_notebook()
    nb.cells = [cell for cell in nb.cells if cell.get("id") != "setup"]
    path = write(nb, tmp_path / "toy.ipynb")
    with pytest.raises(NotebookImportError, match="setup"):
        functions_from_notebook(path, ["add_offset"])


# --- notebook 02's own cells ----------------------------------------------------------------


def small_network_case(seed: int):
    """A 3-layer problem of the workbook's conventions (examples are columns)."""
    rng = np.random.default_rng(seed)
    dims = [3, 4, 3, 1]
    X = rng.standard_normal((dims[0], 7))
    Y = (rng.random((1, 7)) < 0.5).astype(np.float64)
    parameters = {}
    for layer in range(1, len(dims)):
        parameters[f"W{layer}"] = 0.5 * rng.standard_normal((dims[layer], dims[layer - 1]))
        parameters[f"b{layer}"] = 0.1 * rng.standard_normal((dims[layer], 1))
    return X, Y, parameters


def assert_same_as_reference(functions: dict) -> None:
    """The returned functions compute what source_solutions.regularization computes."""
    X, Y, parameters = small_network_case(0)
    AL, cache = network.forward_propagation(X, parameters)
    assert functions["compute_cost_with_regularization"](AL, Y, parameters, 0.7) == pytest.approx(
        R.compute_cost_with_regularization(AL, Y, parameters, 0.7), rel=1e-12
    )
    got = functions["backward_propagation_with_regularization"](X, Y, cache, 0.7)
    want = R.backward_propagation_with_regularization(X, Y, cache, 0.7)
    for key in ("dW1", "db1", "dW2", "db2", "dW3", "db3"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)

    A3, got_cache = functions["forward_propagation_with_dropout"](X, parameters, 0.8, np.random.default_rng(5))
    want_A3, want_cache = R.forward_propagation_with_dropout(X, parameters, 0.8, np.random.default_rng(5))
    np.testing.assert_allclose(A3, want_A3, rtol=1e-12)
    np.testing.assert_array_equal(got_cache["D1"], want_cache["D1"])
    got = functions["backward_propagation_with_dropout"](X, Y, want_cache, 0.8)
    want = R.backward_propagation_with_dropout(X, Y, want_cache, 0.8)
    for key in ("dW1", "db1", "dW2", "db2", "dW3", "db3"):
        np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=1e-15, err_msg=key)


def assert_all_stubs(functions: dict) -> None:
    """Each function raises NotImplementedError saying which notebook to finish and save."""
    X, Y, parameters = small_network_case(1)
    AL, cache = network.forward_propagation(X, parameters)
    calls = {
        "compute_cost_with_regularization": (AL, Y, parameters, 0.7),
        "backward_propagation_with_regularization": (X, Y, cache, 0.7),
        "forward_propagation_with_dropout": (X, parameters, 0.8, np.random.default_rng(0)),
        "backward_propagation_with_dropout": (X, Y, cache, 0.8),
    }
    for name, args in calls.items():
        with pytest.raises(NotImplementedError, match=f"^{name} still raises NotImplementedError in notebook 02 ") as info:
            functions[name](*args)
        assert "save notebook 02 (Ctrl+S), then rerun this cell" in str(info.value)


def test_solved_stub_cells_of_notebook_02_give_the_reference_functions(tmp_path):
    solved = contract.solve_notebook(stub_notebook_02(), NB02)
    write(solved, tmp_path / f"{NB02}.ipynb")
    assert_same_as_reference(functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path))


def test_unsolved_stub_cells_of_notebook_02_give_functions_that_raise_not_implemented(tmp_path):
    write(stub_notebook_02(), tmp_path / NB02 / f"{NB02}.ipynb")
    assert_all_stubs(functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path / "03_gradient_checking", unfinished="keep"))


def test_the_real_notebook_02_solved_gives_the_reference_functions(tmp_path):
    nb = nbformat.read(require_notebook(NB02), as_version=4)
    write(contract.solve_notebook(nb, NB02), tmp_path / f"{NB02}.ipynb")
    assert_same_as_reference(functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path))


def test_the_real_notebook_02_as_released_gives_functions_that_raise_not_implemented(tmp_path):
    source = require_notebook(NB02)
    shutil.copy(source, tmp_path / f"{NB02}.ipynb")
    assert_all_stubs(functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path, unfinished="keep"))


def test_by_default_an_unfinished_function_is_refused_with_what_to_do(tmp_path):
    """An unsaved notebook 01 looks unfinished on disk: the message names notebook, function, save time and the fix."""
    nb = stub_notebook_02()
    solved = contract.solve_notebook(nb, NB02)
    solved.cells[1] = nb.cells[1]  # compute_cost_with_regularization left as the stub
    path = write(solved, tmp_path / f"{NB02}.ipynb")
    with pytest.raises(NotebookImportError) as info:
        functions_from_notebook(NB02, NB02_FUNCTIONS, folder=tmp_path)
    message = str(info.value)
    assert message.startswith(
        "compute_cost_with_regularization still raises NotImplementedError in notebook 02 (02_regularization.ipynb, as saved at "
    )
    assert message.endswith("finish notebook 02 there, save notebook 02 (Ctrl+S), then rerun this cell.")
    assert "backward_propagation" not in message, "only the unfinished function is named"
    # Jupyter shows that sentence alone, no traceback through dlwork
    assert " ".join(" ".join(info.value._render_traceback_()).split()) == " ".join(f"NotebookImportError: {message}".split())
    assert functions_from_notebook(NB02, NB02_FUNCTIONS[1:], folder=tmp_path), "the finished ones can be borrowed"
    assert path.exists()


def test_a_function_that_only_mentions_not_implemented_is_finished():
    finished = "def f(x):\n    if x is None:\n        raise NotImplementedError('no None')\n    return x"
    assert not notebook_import.still_a_stub(finished, "f")
    assert notebook_import.still_a_stub("def f(x):\n    # YOUR CODE HERE\n    raise NotImplementedError()", "f")
    assert notebook_import.still_a_stub("def f(x):\n    y = x\n    raise NotImplementedError", "f")
