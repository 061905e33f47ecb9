"""The course registry: every notebook of the workbook, declared once.

Everything that needs to know which notebooks and graded functions exist (the
builder, the graders, the sample class, the catalogue, the tests) reads
:data:`NOTEBOOKS`. Adding a notebook means writing it (``notebooks/``), its
reference (``source_solutions/``), its hidden checks (``autograder/hidden/``),
its visible checks (``dlwork/checks/``) and one entry here.

What a notebook's cells say is not repeated here: the points of each graded
function come from its check cell (:func:`autograder.course.contract.exercises`),
the imports the answers rely on from its setup cell.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = REPO / "notebooks"


@dataclass(frozen=True)
class Notebook:
    """One notebook of the course."""

    stem: str  # the file name without .ipynb, also the nbgrader assignment's name
    reference: str  # module of the reference answers
    hidden_checks: str  # module of the hidden checks
    functions: tuple[str, ...]  # the graded functions, in notebook order
    builds_on: tuple[str, ...] = ()  # notebooks whose functions its experiments borrow (dlwork.notebook_import)
    datasets: tuple[str, ...] = ()  # datasets its experiments load (datasets/<name>.h5)

    @property
    def path(self) -> Path:
        return NOTEBOOK_DIR / f"{self.stem}.ipynb"


NOTEBOOKS: tuple[Notebook, ...] = (
    Notebook(
        "01_initialization",
        reference="source_solutions.initialization",
        hidden_checks="autograder.hidden.initialization",
        functions=("initialize_parameters_zeros", "initialize_parameters_random", "initialize_parameters_he"),
        datasets=("circles",),
    ),
    Notebook(
        "02_regularization",
        reference="source_solutions.regularization",
        hidden_checks="autograder.hidden.regularization",
        functions=(
            "compute_cost_with_regularization",
            "backward_propagation_with_regularization",
            "forward_propagation_with_dropout",
            "backward_propagation_with_dropout",
        ),
        builds_on=("01_initialization",),
        datasets=("moons_noisy",),
    ),
    Notebook(
        "03_gradient_checking",
        reference="source_solutions.gradient_checking",
        hidden_checks="autograder.hidden.gradient_checking",
        functions=("forward_propagation", "backward_propagation", "gradient_check", "gradient_check_n"),
        builds_on=("02_regularization",),
    ),
)

STEMS: tuple[str, ...] = tuple(n.stem for n in NOTEBOOKS)


def notebook(stem: str) -> Notebook:
    """The registry entry of ``stem``; KeyError names the known notebooks."""
    for entry in NOTEBOOKS:
        if entry.stem == stem:
            return entry
    raise KeyError(f"{stem} is not one of the workbook's notebooks ({', '.join(STEMS)})")


def notebook_of(function: str) -> Notebook:
    """The notebook whose graded function ``function`` is."""
    for entry in NOTEBOOKS:
        if function in entry.functions:
            return entry
    raise KeyError(f"{function} is not a graded function of the workbook")


def graded_functions() -> tuple[str, ...]:
    """Every graded function, in course order."""
    return tuple(f for entry in NOTEBOOKS for f in entry.functions)


def notebook_paths() -> list[Path]:
    """The student notebooks, in course order."""
    return [entry.path for entry in NOTEBOOKS]


def reference_module(stem: str) -> ModuleType:
    """The reference module of one notebook (``"01_initialization"`` -> module)."""
    return importlib.import_module(notebook(stem).reference)


def use_repository_paths() -> None:
    """Put this repository's packages first on ``sys.path``: for entry points only.

    The support package comes first, so the checks and the reference (which
    imports it, as the notebooks do) use the repository's copy of ``dlwork``,
    never one found beside a student's notebook.
    """
    import sys

    for path in (str(REPO), str(NOTEBOOK_DIR)):
        if path in sys.path:
            sys.path.remove(path)
        sys.path.insert(0, path)
