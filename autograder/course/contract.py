"""The notebook cell contract: graded functions and their points, stubs, and how reference answers go in.

The notebooks in ``notebooks/`` hold stubs; ``source_solutions/`` holds the
reference functions with the same signatures and docstrings. Everything that
needs a solved notebook (the nbgrader source, the notebook tests) goes through
:func:`solve_notebook`, so there is one way of putting the two together.
"""

from __future__ import annotations

import ast
import copy
import inspect
import textwrap
from dataclasses import dataclass

from autograder.course.registry import reference_module

# The body nbgrader's generate_assignment writes in place of a solution
# (its default ClearSolutions.code_stub for Python).
STUB_LINES = ("# YOUR CODE HERE", "raise NotImplementedError()")
BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"


@dataclass(frozen=True)
class Exercise:
    """One graded function as the notebook declares it."""

    notebook: str  # stem, e.g. "01_initialization"
    function: str
    points: float


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def exercises(nb, stem: str) -> list[Exercise]:
    """Graded functions of a notebook, in order, with the points of their check cells."""
    points = {}
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and str(meta.get("grade_id", "")).startswith("check_"):
            points[meta["grade_id"][len("check_") :]] = float(meta.get("points", 0))
    found = []
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell.cell_type == "code":
            name = meta["grade_id"]
            found.append(Exercise(stem, name, points.get(name, 0.0)))
    return found


def _function_parts(fn) -> tuple[str, str]:
    """(header = def line + docstring, body) of a reference function, at its own indentation."""
    source = textwrap.dedent(inspect.getsource(fn))
    tree = ast.parse(source)
    func = tree.body[0]
    assert isinstance(func, ast.FunctionDef), fn
    first = func.body[0]
    has_doc = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) and isinstance(first.value.value, str)
    if not has_doc:
        raise ValueError(f"reference {fn.__name__} has no docstring: the docstring is the contract")
    lines = source.splitlines()
    header = "\n".join(lines[: first.end_lineno])
    body = "\n".join(lines[first.end_lineno :]).rstrip()
    return header, body


def reference_header(stem: str, function: str) -> str:
    """``def`` line and docstring of a reference function, as the stub must show them."""
    return _function_parts(getattr(reference_module(stem), function))[0]


def reference_body(stem: str, function: str) -> str:
    """Body of a reference function (after its docstring), indented as in the module."""
    return _function_parts(getattr(reference_module(stem), function))[1]


def stub_source(stem: str, function: str) -> str:
    """The stub cell source for a function: header plus nbgrader's stub body."""
    return reference_header(stem, function) + "\n" + "\n".join("    " + line for line in STUB_LINES)


def inject(stub: str, body: str, markers: bool) -> str:
    """Replace the stub body in a cell's source with ``body``.

    With ``markers`` the body is wrapped in ``### BEGIN SOLUTION`` /
    ``### END SOLUTION`` (an nbgrader source cell); without, it is bare (a solved
    notebook to run).
    """
    lines = stub.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].strip() == STUB_LINES[0] and lines[i + 1].strip() == STUB_LINES[1]:
            indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
            new = body.splitlines()
            if markers:
                new = [indent + BEGIN, *new, indent + END]
            return "\n".join(lines[:i] + new + lines[i + 2 :])
    raise ValueError("no stub body ('# YOUR CODE HERE' then 'raise NotImplementedError()') in cell")


def solve_notebook(nb, stem: str, markers: bool = False):
    """A copy of ``nb`` with every stub cell's body replaced by the reference body."""
    solved = copy.deepcopy(nb)
    for cell in solved.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            try:
                cell.source = inject(cell.source, reference_body(stem, meta["grade_id"]), markers)
            except ValueError as exc:
                raise ValueError(
                    f"the solution cell of {meta['grade_id']}: {exc}; "
                    "an answer typed into the course source? Restore the stub (git checkout) and work in workspace/ (make lab)"
                ) from None
    return solved
