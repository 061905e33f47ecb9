"""The notebook cell contract: graded functions and their points, stubs, and how reference answers go in.

The notebooks in ``notebooks/`` hold stubs; ``source_solutions/`` holds the
reference functions with the same signatures and docstrings. Everything that
needs a solved notebook (the nbgrader source, the notebook tests) goes through
:func:`solve_notebook`, so there is one way of putting the two together.

A *practice* cell is an exercise that is not graded and does not start from a
stub: the learner starts from the code the cell holds (notebook 03's copy of
the planted backprop, to be fixed). It says so in its metadata,
``{"dlwork": {"practice": "<function>"}}``, and ``source_solutions/`` holds the
finished function under that name. A solved notebook shows the finished one.
In the nbgrader source it stands between solution markers, with the starting
code kept in the cell's metadata (:data:`PRACTICE_START`), and the course's
``generate_assignment`` puts the starting code back (``practice_cells.py``,
loaded by the course config). A config without that step refuses to generate
at all (nbgrader rejects solution markers in a cell that is not a solution
cell), so the finished function cannot slip into a release.
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


# Keys of a cell's metadata["dlwork"]: the function a practice cell asks for,
# and (in the nbgrader source only) the code the learner starts from.
PRACTICE, PRACTICE_START = "practice", "practice_start"


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def practice_function(cell) -> str | None:
    """The function a practice cell asks for, or None for any other cell."""
    return (cell.get("metadata", {}).get("dlwork", {}) or {}).get(PRACTICE)


def exercises(nb, stem: str) -> list[Exercise]:
    """Graded functions of a notebook, in order, with the points of their check cells.

    ``nb`` may be an nbformat node or the notebook's plain JSON (``json.load``):
    the grading kernel reads it without importing nbformat, which costs seconds.
    """
    points = {}
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("grade") and str(meta.get("grade_id", "")).startswith("check_"):
            points[meta["grade_id"][len("check_") :]] = float(meta.get("points", 0))
    found = []
    for cell in nb["cells"]:
        meta = nbgrader_meta(cell)
        if meta.get("solution") and cell["cell_type"] == "code":
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


def reference_source(stem: str, function: str) -> str:
    """The whole reference function (``def`` line, docstring, body), unindented."""
    return textwrap.dedent(inspect.getsource(getattr(reference_module(stem), function))).rstrip()


def solve_practice(source: str, stem: str, function: str, markers: bool) -> str:
    """The finished practice function in place of the cell's starting code.

    The starting code must define ``function`` with the reference's ``def`` line
    and docstring, as a stub must; ``markers`` wraps the finished function in
    solution markers.
    """
    header = reference_header(stem, function)
    if not source.startswith(header):
        raise ValueError(f"the practice cell of {function} does not start with the reference's def line and docstring")
    finished = reference_source(stem, function)
    return "\n".join([BEGIN, finished, END]) if markers else finished


def solve_notebook(nb, stem: str, markers: bool = False):
    """A copy of ``nb`` with every stub cell's body replaced by the reference body.

    Practice cells get the finished function; with ``markers`` (the nbgrader
    source) the starting code is kept in the cell's metadata for the release.
    """
    solved = copy.deepcopy(nb)
    for cell in solved.cells:
        meta = nbgrader_meta(cell)
        practice = practice_function(cell) if cell.cell_type == "code" else None
        if practice:
            start = cell.source
            cell.source = solve_practice(start, stem, practice, markers)
            if markers:
                cell.metadata["dlwork"][PRACTICE_START] = start
            continue
        if cell.cell_type == "code" and meta.get("solution"):
            try:
                cell.source = inject(cell.source, reference_body(stem, meta["grade_id"]), markers)
            except ValueError as exc:
                raise ValueError(
                    f"the solution cell of {meta['grade_id']}: {exc}; "
                    "an answer typed into the course source? Restore the stub (git checkout) and work in workspace/ (make lab)"
                ) from None
    return solved
