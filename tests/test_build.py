"""The committed notebooks and the nbgrader course built from them (fast: no notebook is executed).

The course comes from the session fixture ``built_course`` (conftest.py): one
``autograder.course.builder`` run, including nbgrader's own ``generate_assignment``.
"""

from __future__ import annotations

import copy
import inspect
import os
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import REPO, notebook_path

from autograder import cli
from autograder.course import builder as build
from autograder.course import contract, registry

STEMS = list(registry.STEMS)
HEX32 = re.compile(r"[0-9a-f]{32}")


def read(path: Path):
    return nbformat.read(path, as_version=4)


def code_cells(nb):
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def reference_functions(stem: str) -> list[str]:
    """Every function defined in a notebook's reference module (the graded ones and any helper)."""
    module = registry.reference_module(stem)
    return [name for name, fn in inspect.getmembers(module, inspect.isfunction) if fn.__module__ == module.__name__]


# --------------------------------------------------------------------------- the committed notebooks


@pytest.mark.parametrize("stem", STEMS)
def test_notebook_committed_without_outputs(stem):
    """No code cell of notebooks/*.ipynb carries outputs or an execution count."""
    nb = read(notebook_path(stem))
    dirty = [
        (i, cell.metadata.get("nbgrader", {}).get("grade_id"))
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)
    ]
    assert not dirty, f"{stem}: cells with outputs or execution counts (index, grade_id): {dirty}; clear them"


@pytest.mark.parametrize("stem", STEMS)
def test_every_stub_cell_is_the_generated_stub(stem):
    """Each solution cell's source is exactly ``stub_source(stem, function)`` (def, docstring, nbgrader stub body)."""
    nb = read(notebook_path(stem))
    stubs = [cell for cell in nb.cells if contract.nbgrader_meta(cell).get("solution")]
    assert stubs, f"{stem} has no solution (stub) cells"
    for cell in stubs:
        function = contract.nbgrader_meta(cell)["grade_id"]
        assert cell.cell_type == "code", f"{stem}: solution cell {function} is not a code cell"
        assert cell.source == contract.stub_source(stem, function), (
            f"{stem}: stub cell {function} differs from stub_source(); regenerate it from the reference"
        )


@pytest.mark.parametrize("stem", STEMS)
def test_every_stub_raises_not_implemented(stem):
    """Running the setup cell then a stub cell defines a function whose call raises NotImplementedError."""
    nb = read(notebook_path(stem))
    setup = [c for c in nb.cells if contract.nbgrader_meta(c).get("grade_id") == "setup"]
    assert len(setup) == 1, f"{stem}: expected one setup cell, found {len(setup)}"
    stubs = [c for c in nb.cells if contract.nbgrader_meta(c).get("solution")]
    assert stubs, f"{stem} has no stub cells"
    for cell in stubs:
        function = contract.nbgrader_meta(cell)["grade_id"]
        namespace: dict = {}
        exec(compile(setup[0].source, f"<{stem} setup>", "exec"), namespace)
        exec(compile(cell.source, f"<{stem} {function}>", "exec"), namespace)
        fn = namespace[function]
        # The stub raises before it reads any argument, so None stands in for each.
        required = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.default is inspect.Parameter.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        with pytest.raises(NotImplementedError):
            fn(*[None] * len(required))


# --------------------------------------------------------------------------- the built course


# What generate_assignment adds to a notebook, and the round trip ignores:
#   cell.metadata.deletable = False       (LockCells: solution, grade and locked cells)
#   cell.metadata.editable = False        (LockCells: locked cells)
#   cell.metadata.nbgrader.checksum       (ComputeChecksums: 32 hex digits)
#   cell.metadata.nbgrader.cell_type      (the cell's own type, recorded for the checksum)
# Each is dropped only when it has exactly that form; anything else is a difference.
def without_nbgrader_bookkeeping(nb):
    nb = copy.deepcopy(nb)
    for cell in nb.cells:
        meta = cell.metadata
        for key in ("deletable", "editable"):
            if meta.get(key) is False:
                del meta[key]
        grader = meta.get("nbgrader")
        if grader is not None:
            if HEX32.fullmatch(str(grader.get("checksum", ""))):
                del grader["checksum"]
            if grader.get("cell_type") == cell.cell_type:
                del grader["cell_type"]
    return nb


@pytest.mark.parametrize("stem", STEMS)
def test_release_round_trip_equals_notebook(built_course, stem):
    """release/<stem>/<stem>.ipynb is notebooks/<stem>.ipynb again, up to nbgrader's bookkeeping metadata."""
    committed = read(notebook_path(stem))
    released = read(built_course.release(stem) / f"{stem}.ipynb")
    assert (released.nbformat, released.nbformat_minor) == (committed.nbformat, committed.nbformat_minor)
    assert released.metadata == committed.metadata, f"{stem}: notebook metadata changed"
    cleaned = without_nbgrader_bookkeeping(released)
    assert len(cleaned.cells) == len(committed.cells), f"{stem}: {len(cleaned.cells)} cells released, {len(committed.cells)} committed"
    for i, (got, want) in enumerate(zip(cleaned.cells, committed.cells)):
        assert got == want, f"{stem} cell {i} ({want.metadata.get('nbgrader', {}).get('grade_id')}): released {got!r} != committed {want!r}"


CONTRIBUTING_BLOCK = re.compile(r"```\n(\s*### BEGIN HIDDEN TESTS\n.*?### END HIDDEN TESTS)\n\s*```", re.S)


@pytest.mark.parametrize("stem", STEMS)
def test_source_notebook_has_solutions_and_hidden_blocks(built_course, stem):
    """source/<stem>: reference bodies between solution markers; each check cell = visible line + CONTRIBUTING's hidden block."""
    committed = read(notebook_path(stem))
    source = read(built_course.source(stem) / f"{stem}.ipynb")
    match = CONTRIBUTING_BLOCK.search((REPO / "CONTRIBUTING.md").read_text())
    assert match, "CONTRIBUTING.md no longer shows the hidden block in a fenced code block"
    block = textwrap.dedent(match.group(1))
    checks = 0
    for want, got in zip(committed.cells, source.cells):
        meta = contract.nbgrader_meta(want)
        if meta.get("solution"):
            body = contract.reference_body(stem, meta["grade_id"])
            assert f"{contract.BEGIN}\n{body}\n    {contract.END}" in got.source, (
                f"{stem}: {meta['grade_id']} lacks its marked reference body"
            )
        elif meta.get("grade") and meta["grade_id"].startswith("check_"):
            function = meta["grade_id"][len("check_") :]
            assert got.source == want.source + "\n" + block.replace("<function name>", function)
            checks += 1
        elif contract.practice_function(want):
            function = contract.practice_function(want)
            finished = contract.reference_source(stem, function)
            assert got.source == f"{contract.BEGIN}\n{finished}\n{contract.END}", f"{stem}: practice {function} is not finished"
            assert got.metadata["dlwork"][contract.PRACTICE_START] == want.source, f"{stem}: practice {function} lost its start"
        else:
            assert got.source == want.source
    assert checks == len(contract.exercises(committed, stem)), f"{stem}: not every exercise has a check cell"


def release_texts(release: Path) -> dict[str, str]:
    """Every file under ``release`` as text; a notebook also as the joined sources of its cells (JSON escapes quotes)."""
    texts = {}
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        rel = str(path.relative_to(release))
        text = path.read_bytes().decode("utf-8", errors="replace")
        if path.suffix == ".ipynb":
            text += "\n" + "\n".join(cell.source for cell in read(path).cells)
        texts[rel] = text
    return texts


def solution_lines(stems) -> set[str]:
    """Lines of the reference bodies that could only come from a solution.

    A line counts when, stripped, it is at least 20 characters and not a
    comment: shorter ones (``return parameters``, ``m = X.shape[1]``) also occur
    in the support package and the notebooks' own code.
    A practice function's lines count only where they differ from the starting
    code the learner is given (the planted copy shares most of them).
    """
    lines = set()
    for stem in stems:
        given = {
            line.strip()
            for cell in read(notebook_path(stem)).cells
            if contract.practice_function(cell)
            for line in cell.source.splitlines()
        }
        for function in reference_functions(stem):
            for line in contract.reference_body(stem, function).splitlines():
                line = line.strip()
                if len(line) >= 20 and not line.startswith("#") and line not in given:
                    lines.add(line)
    return lines


def test_release_contains_no_solution_line(built_course):
    """No non-trivial line of any reference body appears anywhere in the release tree."""
    lines = solution_lines(built_course.stems)
    assert len(lines) >= 3 * len(built_course.stems), f"suspiciously few solution lines to look for: {sorted(lines)}"
    # The same search over source/ must find them, or it would find nothing anywhere.
    source_texts = release_texts(built_course.root / "source")
    missed = [line for line in lines if not any(line in text for text in source_texts.values())]
    assert not missed, f"these reference lines are not even in source/, so the search is broken: {missed}"
    leaks = [f"{name}: {line}" for name, text in release_texts(built_course.root / "release").items() for line in lines if line in text]
    assert not leaks, "solution lines in the release:\n" + "\n".join(leaks)


def test_release_contains_no_hidden_tests_or_secret_modules(built_course):
    """No hidden-test or solution marker, no grade_in_kernel, no source_solutions, no autograder import or file in the release."""
    # "autograder" alone may appear in prose; an import of it may not.
    forbidden = [
        "BEGIN HIDDEN TESTS",
        "END HIDDEN TESTS",
        "grade_in_kernel",
        "source_solutions",
        "BEGIN SOLUTION",
        "END SOLUTION",
        "from autograder",
        "import autograder",
    ]
    texts = release_texts(built_course.root / "release")
    assert texts, "the release is empty"
    hits = [f"{name}: {word}" for name, text in texts.items() for word in forbidden if word in text]
    assert not hits, "secret text in the release:\n" + "\n".join(hits)
    names = [p for p in (built_course.root / "release").rglob("*") if "autograder" in p.name or "source_solutions" in p.name]
    assert not names, f"secret files in the release: {names}"


@pytest.mark.parametrize("stem", STEMS)
def test_release_files_are_the_notebook_and_the_support_package(built_course, stem):
    """release/<stem>/ holds exactly the notebook, dlwork/ as in the repository, and datasets the notebook names."""
    nb = read(notebook_path(stem))
    release = built_course.release(stem)
    support = {
        f"dlwork/{p.relative_to(build.SUPPORT_PACKAGE)}": p
        for p in build.SUPPORT_PACKAGE.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    code = "\n".join(c.source for c in code_cells(nb))
    datasets = {f"datasets/{p.name}": p for p in (REPO / "datasets").glob("*.h5") if f'"{p.stem}"' in code or f"'{p.stem}'" in code}
    got = {str(p.relative_to(release)) for p in release.rglob("*") if p.is_file()}
    assert got == {f"{stem}.ipynb", *support, *datasets}
    for rel, original in {**support, **datasets}.items():
        assert (release / rel).read_bytes() == original.read_bytes(), f"{stem}: {rel} differs from {original}"


def test_gradebook_has_assignments_and_graded_cells(built_course):
    """generate_assignment registered each notebook, its check cells with their points, and the hidden source."""
    from nbgrader.api import Gradebook

    with Gradebook(built_course.db_url) as gb:
        assert sorted(a.name for a in gb.assignments) == sorted(built_course.stems)
        for stem in built_course.stems:
            nb = read(notebook_path(stem))
            want = {f"check_{e.function}": e.points for e in contract.exercises(nb, stem)}
            notebook = gb.find_notebook(stem, stem)
            assert {c.name: c.max_score for c in notebook.grade_cells} == want
            for name in want:
                # autograde restores check cells from this source, hidden block included
                source = gb.find_source_cell(name, stem, stem).source
                assert f'grade_in_kernel("{name[len("check_") :]}", globals())' in source


def test_config_and_grading_kernel(built_course, monkeypatch):
    """nbgrader_config.py keeps everything in the course folder and forces a grading kernel Jupyter can find."""
    from jupyter_client.kernelspec import KernelSpecManager
    from traitlets.config.loader import PyFileConfigLoader

    root = built_course.root
    monkeypatch.delenv("JUPYTER_PATH", raising=False)  # the config sets it; undone after the test
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    assert Path(config.CourseDirectory.root) == root
    assert config.CourseDirectory.db_url == f"sqlite:///{root / 'gradebook.db'}"
    assert Path(config.Exchange.root).parent == root
    assert config.OverwriteCells.add_missing_cells is True
    assert config.Execute.shutdown_kernel == "immediate"
    assert config.Execute.timeout > 0 and config.Execute.interrupt_on_timeout is True

    spec = KernelSpecManager().get_kernel_spec(config.Execute.kernel_name)
    assert Path(spec.resource_dir).is_relative_to(root), f"grading kernel found outside the course: {spec.resource_dir}"
    assert spec.env["PYTHONPATH"].split(os.pathsep) == [str(REPO), str(REPO / "notebooks")]
    assert spec.env["MPLBACKEND"] == "Agg" and spec.env["OMP_NUM_THREADS"] == "1"
    assert Path(spec.argv[0]).is_file(), f"grading kernel's Python {spec.argv[0]} does not exist"
    assert any("grading_startup.py" in arg for arg in spec.argv) and (Path(spec.resource_dir) / "grading_startup.py").is_file()


def test_config_adds_the_feedback_sanitizer_from_the_course_folder(built_course, monkeypatch):
    """generate_feedback runs SanitizeOutputs last, loaded from the course's own copy, enabled."""
    from traitlets.config.loader import PyFileConfigLoader

    root = built_course.root
    copy_in_course = root / build.FEEDBACK_SANITIZER.name
    assert copy_in_course.read_bytes() == build.FEEDBACK_SANITIZER.read_bytes()
    monkeypatch.delenv("JUPYTER_PATH", raising=False)  # the config sets it; undone after the test
    config = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config()
    last = config.GenerateFeedback.preprocessors[-1]
    assert last.__name__ == "SanitizeOutputs"
    assert Path(inspect.getfile(last)) == copy_in_course, "the sanitizer was not loaded from the course folder"
    assert last().enabled, "a disabled nbconvert preprocessor silently does nothing"


def test_config_puts_practice_cells_back_first_from_the_course_folder(built_course, monkeypatch):
    """generate_assignment runs RestorePracticeCells first, from the course's copy, before nbgrader's own steps."""
    from nbgrader.converters import GenerateAssignment
    from traitlets.config.loader import PyFileConfigLoader

    root = built_course.root
    copy_in_course = root / build.PRACTICE_CELLS.name
    assert copy_in_course.read_bytes() == build.PRACTICE_CELLS.read_bytes()
    monkeypatch.delenv("JUPYTER_PATH", raising=False)  # the config sets it; undone after the test
    steps = PyFileConfigLoader("nbgrader_config.py", path=str(root)).load_config().GenerateAssignment.preprocessors
    assert steps[0].__name__ == "RestorePracticeCells"
    assert Path(inspect.getfile(steps[0])) == copy_in_course, "the practice step was not loaded from the course folder"
    assert steps[0]().enabled, "a disabled nbconvert preprocessor silently does nothing"
    assert steps[1:] == GenerateAssignment.class_traits()["preprocessors"].default(), "nbgrader's own steps changed"


def practice_cells_of(nb):
    return [(i, cell) for i, cell in enumerate(nb.cells) if contract.practice_function(cell)]


def test_a_config_without_the_practice_step_refuses_rather_than_leaks(built_course):
    """nbgrader's ClearSolutions rejects a finished practice cell; after RestorePracticeCells it is the starting code."""
    import importlib.util

    from nbgrader.preprocessors import ClearSolutions

    stems = [stem for stem in STEMS if practice_cells_of(read(notebook_path(stem)))]
    assert stems, "no notebook has a practice cell: this test guards nothing"
    spec = importlib.util.spec_from_file_location("practice_cells_copy", built_course.root / build.PRACTICE_CELLS.name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for stem in stems:
        committed = read(notebook_path(stem))
        source = read(built_course.source(stem) / f"{stem}.ipynb")
        resources = {"language": "python"}
        with pytest.raises(RuntimeError, match="Solution region detected in a non-solution cell"):
            ClearSolutions().preprocess(copy.deepcopy(source), resources)
        restored, _ = module.RestorePracticeCells().preprocess(copy.deepcopy(source), resources)
        cleared, _ = ClearSolutions().preprocess(restored, resources)
        for i, cell in practice_cells_of(committed):
            assert cleared.cells[i].source == cell.source and cleared.cells[i].metadata == cell.metadata, f"{stem} cell {i}"


def test_build_names_our_grader_first_and_stock_nbgrader_as_compatibility(tmp_path, capsys):
    """The build's closing lines: `python -m autograder grade` for a class; `nbgrader autograde` as the compatibility path."""
    assert cli.main(["build", "--course", str(tmp_path), "--no-generate", "--notebook", STEMS[0]]) == 0
    lines = capsys.readouterr().out.splitlines()
    grade = next(i for i, line in enumerate(lines) if "-m autograder grade" in line)
    stock = next(i for i, line in enumerate(lines) if "nbgrader autograde" in line)
    assert grade < stock and "compatibility" in lines[stock], lines


def test_cli_builds_source_only(tmp_path):
    """`python -m autograder build --no-generate --notebook STEM` writes the config, kernelspec and source/STEM only."""
    stem = STEMS[0]
    assert cli.main(["build", "--course", str(tmp_path), "--no-generate", "--notebook", stem]) == 0
    assert (tmp_path / "nbgrader_config.py").is_file()
    assert (tmp_path / "jupyter" / "kernels" / build.KERNEL_NAME / "kernel.json").is_file()
    assert sorted(p.name for p in (tmp_path / "source").iterdir()) == [stem]
    assert not (tmp_path / "release").exists()


def test_cli_rejects_unknown_notebook(tmp_path, capsys):
    assert cli.main(["build", "--course", str(tmp_path), "--no-generate", "--notebook", "99_nothing"]) == 2
    assert "99_nothing" in capsys.readouterr().err
