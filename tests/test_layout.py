"""The layout holds: modules meet through public names, importing changes no path, a notebook is added in one place.

The last test adds a toy fourth notebook to a temporary copy of the
repository, touching only what a new notebook brings (the notebook, its
reference, its hidden checks, its visible check) and one registry entry,
then builds the course and grades a class with it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest
from conftest import copy_repository

from autograder.course.registry import REPO

PRODUCT = [REPO / "autograder", REPO / "notebooks" / "dlwork", REPO / "source_solutions"]


def product_modules() -> dict[str, Path]:
    """Dotted name -> file of every product module."""
    found = {}
    for root in PRODUCT:
        base = root.parent
        for path in root.rglob("*.py"):
            parts = path.relative_to(base).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def test_no_module_uses_another_modules_private_names():
    modules = product_modules()
    crossings = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text())
        imported: dict[str, str] = {}  # local alias -> module
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    imported[alias.asname or alias.name.split(".")[0]] = alias.name if alias.asname else alias.name.split(".")[0]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    full = f"{node.module}.{alias.name}"
                    if full in modules:
                        imported[alias.asname or alias.name] = full
                    elif alias.name.startswith("_") and not alias.name.startswith("__"):
                        crossings.append(f"{path.relative_to(REPO)}: from {node.module} import {alias.name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in imported
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
                and imported[node.value.id] in modules
                and imported[node.value.id] != name
            ):
                crossings.append(f"{path.relative_to(REPO)}:{node.lineno}: {node.value.id}.{node.attr}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ":_" in node.value
                and node.value.split(":")[0] in modules
            ):
                crossings.append(f"{path.relative_to(REPO)}:{node.lineno}: reference {node.value!r}")
    assert not crossings, "\n".join(crossings)


def test_importing_the_grader_changes_no_search_path():
    names = [n for n in product_modules() if n.startswith("autograder") and "runtime" not in n and n != "autograder.__main__"]
    script = f"import sys\nbefore = list(sys.path)\nfor name in {names!r}:\n    __import__(name)\nassert sys.path == before, set(sys.path) ^ set(before)\n"
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{REPO}:{REPO / 'notebooks'}", "PATH": "/usr/bin:/bin"},
    )
    assert done.returncode == 0, done.stderr[-2000:]


# ------------------------------------------------------------------ a fourth notebook, added in one place

TOY = "04_toy"
REFERENCE = '''
"""Reference answers of the toy notebook."""

import numpy as np


def double(x: np.ndarray) -> np.ndarray:
    """Twice ``x``.

    Args:
        x: Any array.

    Returns:
        ``2 * x``, of the shape of ``x``.
    """
    return 2 * x
'''
HIDDEN = '''
"""Hidden checks of the toy notebook."""

import numpy as np

from autograder.grading.judge import Mistake, part


@part("double", "twice the input, several shapes", 1)
def _twice(fn):
    for shape in ((3,), (2, 4)):
        x = np.arange(np.prod(shape), dtype=float).reshape(shape) - 1.5
        got = fn(x)
        if not isinstance(got, np.ndarray) or got.shape != shape or not np.allclose(got, 2 * x):
            raise Mistake(f"double returned something other than 2 * x for shape {shape}.", "Multiply by 2.")
'''
VISIBLE = '''
"""Visible check of the toy notebook."""

import numpy as np


def check_double(double) -> None:
    """One hand-made case."""
    got = double(np.array([1.0, -2.0]))
    assert isinstance(got, np.ndarray) and np.allclose(got, [2.0, -4.0]), f"double([1, -2]) gave {got!r}; expected [2, -4]"
    print("✓ double: 1 check passed")
'''


def toy_notebook():
    def cell(source: str, **meta):
        c = nbformat.v4.new_code_cell(textwrap.dedent(source).strip())
        if meta:
            c.metadata["nbgrader"] = {"schema_version": 3, **meta}
        return c

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# A toy notebook"),
        cell("import numpy as np\n\nfrom dlwork import checks", grade=False, solution=False, locked=True, grade_id="setup"),
        cell(
            '''
            def double(x: np.ndarray) -> np.ndarray:
                """Twice ``x``.

                Args:
                    x: Any array.

                Returns:
                    ``2 * x``, of the shape of ``x``.
                """
                # YOUR CODE HERE
                raise NotImplementedError()
            ''',
            grade=False,
            solution=True,
            locked=False,
            grade_id="double",
        ),
        cell("checks.check_double(double)", grade=True, solution=False, locked=True, points=2, grade_id="check_double"),
    ]
    return nb


@pytest.mark.slow
def test_a_fourth_notebook_needs_only_its_own_files_and_one_registry_entry(tmp_path):
    copy = tmp_path / "repo"
    copy_repository(copy)
    nbformat.write(toy_notebook(), copy / "notebooks" / f"{TOY}.ipynb")
    (copy / "source_solutions" / "toy.py").write_text(REFERENCE.lstrip())
    (copy / "autograder" / "hidden" / "toy.py").write_text(HIDDEN.lstrip())
    visible_folder = copy / "notebooks" / "dlwork" / "checks"
    (visible_folder / "toy.py").write_text(VISIBLE.lstrip())
    registry = copy / "autograder" / "course" / "registry.py"
    text, marker = registry.read_text(), "\n)\n\nSTEMS"
    assert text.count(marker) == 1, "the registry's NOTEBOOKS tuple no longer ends as this test expects"
    entry = f'    Notebook("{TOY}", reference="source_solutions.toy", hidden_checks="autograder.hidden.toy", functions=("double",)),'
    registry.write_text(text.replace(marker, "\n" + entry + marker))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "autograder", *args],
            cwd=copy,
            capture_output=True,
            text=True,
            timeout=600,
            env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        )

    course = copy / "course"
    built = cli("build", "--course", str(course))
    assert built.returncode == 0, built.stdout + built.stderr
    release = course / "release" / TOY / f"{TOY}.ipynb"
    assert release.is_file() and "raise NotImplementedError()" in release.read_text()

    # two students: one solves the toy, one leaves the stub; both submit notebook 01 solved
    script = textwrap.dedent(f"""
        from pathlib import Path
        from autograder.qa import sample_class
        course = Path({str(course)!r})
        sample_class.write_class(course, [sample_class.Student("solver", "all solved"), sample_class.Student("idler", "toy left", {{"double": sample_class.STUB}})])
    """)
    wrote = subprocess.run(
        [sys.executable, "-c", script],
        cwd=copy,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": f"{copy}:{copy / 'notebooks'}", "PATH": "/usr/bin:/bin"},
    )
    assert wrote.returncode == 0, wrote.stderr
    graded = cli("grade", "--course", str(course), "--assignment", TOY, "--assignment", "01_initialization")
    assert graded.returncode == 0, graded.stdout + graded.stderr
    solver = json.loads((course / "grades" / "solver" / f"{TOY}.json").read_text())
    idler = json.loads((course / "grades" / "idler" / f"{TOY}.json").read_text())
    assert (solver["points"], solver["max_points"]) == (2, 2), solver
    assert idler["points"] == 0 and "not implemented" in idler["functions"][0]["diagnosis"]
    assert json.loads((course / "grades" / "solver" / "01_initialization.json").read_text())["points"] == 6


# The folders, bottom to top: a module may import from its own level or below, never above.
LEVELS = {
    "dlwork": 0,
    "autograder.sandbox": 0,
    "source_solutions": 1,
    "autograder.options": 1,
    "autograder.course": 1,
    "autograder.grading": 2,
    "autograder.hidden": 3,
    "autograder.reports": 3,
    "autograder.qa": 4,
    "autograder.insight": 4,
    "autograder.cli": 5,
    "autograder.__main__": 5,
}


def level(module: str) -> int | None:
    for prefix in sorted(LEVELS, key=len, reverse=True):
        if module == prefix or module.startswith(prefix + "."):
            return LEVELS[prefix]
    return None


def test_imports_go_down_the_layers_only():
    upward, modules = [], product_modules()
    for name, path in modules.items():
        own = level(name)
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                # "from package import module" imports the module
                targets = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in modules else node.module for a in node.names]
            else:
                targets = []
            for target in targets:
                theirs = level(target)
                if own is not None and theirs is not None and theirs > own:
                    upward.append(f"{name} (level {own}) imports {target} (level {theirs})")
    assert not upward, "\n".join(upward)
