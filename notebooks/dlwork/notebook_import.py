"""Borrow the functions you wrote in another notebook of the workbook.

Notebook 03 gradient-checks the L2 and dropout backprop you wrote in notebook 02.
Rather than asking you to paste them over, :func:`functions_from_notebook` reads
``02_regularization.ipynb`` and runs exactly two kinds of its cells in a fresh
namespace:

* the setup cell (nbgrader ``grade_id`` ``"setup"``), for the imports your
  functions rely on;
* your solution cells (nbgrader ``solution: true``), where your functions live.

No other cell runs: not the checks, not the experiments, not cells you added.
The notebook is looked for in the current folder (the repository's
``notebooks/``) and in ``../<stem>/`` (an nbgrader release or submission, one
folder per assignment).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import nbformat


class NotebookImportError(RuntimeError):
    """A notebook was found but its setup or solution cells do not give the requested names."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def candidate_paths(stem_or_path: str | os.PathLike, folder: str | os.PathLike | None = None) -> list[Path]:
    """Where :func:`find_notebook` looks, in order.

    Args:
        stem_or_path: A notebook stem (``"02_regularization"``), a file name
            (``"02_regularization.ipynb"``) or a path to a notebook.
        folder: The folder to start from; the current working directory when ``None``.

    Returns:
        A path given with a folder part is taken as it is (relative to ``folder``);
        a bare stem or file name gives ``folder/<stem>.ipynb`` then
        ``folder/../<stem>/<stem>.ipynb``.
    """
    base = Path(folder) if folder is not None else Path.cwd()
    given = Path(stem_or_path)
    if len(given.parts) > 1:
        return [given if given.is_absolute() else base / given]
    stem = given.stem if given.suffix == ".ipynb" else given.name
    return [base / f"{stem}.ipynb", base.parent / stem / f"{stem}.ipynb"]


def find_notebook(stem_or_path: str | os.PathLike, folder: str | os.PathLike | None = None) -> Path:
    """The first existing path of :func:`candidate_paths`.

    Raises:
        FileNotFoundError: None of the candidates exists; the message lists them.
    """
    candidates = candidate_paths(stem_or_path, folder)
    for path in candidates:
        if path.is_file():
            return path
    tried = ", ".join(str(path) for path in candidates)
    raise FileNotFoundError(f"notebook {str(stem_or_path)!r} not found; looked for: {tried}")


def functions_from_notebook(
    stem_or_path: str | os.PathLike,
    names: Iterable[str],
    folder: str | os.PathLike | None = None,
) -> dict:
    """Run a notebook's setup and solution cells in a fresh namespace and return some of its names.

    Args:
        stem_or_path: Which notebook, as for :func:`candidate_paths`.
        names: The names to return, e.g. ``["compute_cost_with_regularization"]``.
        folder: Where to start looking; the current working directory when ``None``.

    Returns:
        dict: ``name -> object`` for every requested name, in the order asked. A
        function still holding the stub is returned as it is: calling it raises
        ``NotImplementedError``, which the caller should expect.

    Raises:
        FileNotFoundError: The notebook is in none of the places looked at.
        NotebookImportError: The notebook has no setup cell, one of the cells run
            raises (the original exception is chained), or a requested name is
            not defined by those cells.
    """
    names = list(names)
    path = find_notebook(stem_or_path, folder)
    nb = nbformat.read(path, as_version=4)
    cells = [
        cell
        for cell in nb.cells
        if cell.cell_type == "code" and (_nbgrader(cell).get("grade_id") == "setup" or _nbgrader(cell).get("solution") is True)
    ]
    if not any(_nbgrader(cell).get("grade_id") == "setup" for cell in cells):
        raise NotebookImportError(f"{path.name} has no setup cell (nbgrader grade_id 'setup')")

    namespace: dict = {"__name__": f"notebook:{path.stem}"}
    for cell in cells:
        label = _nbgrader(cell).get("grade_id") or cell.get("id", "?")
        try:
            code = compile(cell.source, f"<{path.name}, cell {label}>", "exec")
            exec(code, namespace)
        except Exception as error:
            raise NotebookImportError(f"running cell {label!r} of {path} failed with {type(error).__name__}: {error}") from error

    missing = [name for name in names if name not in namespace]
    if missing:
        raise NotebookImportError(f"{path.name} does not define {', '.join(missing)} in its setup or solution cells")
    return {name: namespace[name] for name in names}
