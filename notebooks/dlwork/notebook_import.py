"""Borrow the functions you wrote in another notebook of the workbook.

Notebook 03 gradient-checks the L2 and dropout backprop you wrote in notebook 02.
Rather than asking you to paste them over, :func:`functions_from_notebook` reads
``02_regularization.ipynb`` and runs exactly two kinds of its cells in a fresh
namespace:

* the setup cell (nbgrader ``grade_id`` ``"setup"``), for the imports your
  functions rely on;
* your solution cells (nbgrader ``solution: true``), where your functions live.

No other cell runs: not the checks, not the experiments, not cells you added.
The notebook is looked for in the current folder (your workspace) and in
``../<stem>/`` (an nbgrader release or submission, one folder per assignment).

What is read is the notebook *as saved*: a function you finished but did not
save is still the stub on disk. Every error here says which notebook, which
function, when the file was last saved, and what to do ("finish it there, save
notebook 01, then rerun this cell"); Jupyter shows that sentence alone, without
a traceback (see :mod:`dlwork.diagnosis`).
"""

from __future__ import annotations

import ast
import json
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from dlwork.diagnosis import Diagnosis

SAVE_AND_RERUN = "save {notebook} (Ctrl+S), then rerun this cell"


class NotebookImportError(Diagnosis, RuntimeError):
    """A notebook was found but its setup or solution cells do not give the requested names."""


class NotebookNotFound(NotebookImportError, FileNotFoundError):
    """None of the places looked at holds the notebook."""


def _nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {}) or {}


def _source(cell) -> str:
    """A cell's source: the notebook format stores it as one string or as a list of lines."""
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def _cells(path: Path) -> list[dict]:
    """The cells of a notebook file (format 4), read as plain JSON.

    Plain JSON, not nbformat: importing nbformat (and the JSON-schema validator it
    brings) took seconds of a notebook's Run All, for what is a list of dicts.
    """
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise NotebookImportError(f"{path} cannot be read as a notebook: {error}") from error
    if not isinstance(nb, dict) or nb.get("nbformat") != 4 or not isinstance(nb.get("cells"), list):
        raise NotebookImportError(f"{path} is not a notebook of format 4")
    return nb["cells"]


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
    raise NotebookNotFound(
        f"notebook {str(stem_or_path)!r} not found; looked for: {tried}. "
        "Keep the workbook's notebooks side by side in one folder, as `make lab` does."
    )


def notebook_label(path: Path) -> str:
    """``"notebook 01"`` for ``01_initialization.ipynb`` (the workbook's numbering), else the file name."""
    number = path.stem.split("_", 1)[0]
    return f"notebook {number}" if number.isdigit() else path.name


def saved_at(path: Path) -> str:
    """When ``path`` was last written, as the learner's clock shows it (``"15:02"``, or a date if not today)."""
    stamp = time.localtime(path.stat().st_mtime)
    today = time.strftime("%Y-%m-%d") == time.strftime("%Y-%m-%d", stamp)
    return time.strftime("%H:%M" if today else "%Y-%m-%d %H:%M", stamp)


def still_a_stub(cell_source: str, name: str) -> bool:
    """Whether the function ``name`` defined in ``cell_source`` still has a top-level ``raise NotImplementedError``."""
    try:
        tree = ast.parse(cell_source)
    except SyntaxError:
        return False
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            for statement in node.body:
                if isinstance(statement, ast.Raise) and statement.exc is not None:
                    raised = statement.exc.func if isinstance(statement.exc, ast.Call) else statement.exc
                    if isinstance(raised, ast.Name) and raised.id == "NotImplementedError":
                        return True
    return False


def _unfinished(name: str, message: str) -> Callable:
    """A stand-in for a stub that says, when called, which notebook to finish and save."""

    def unfinished(*args, **kwargs):
        raise NotImplementedError(message)

    unfinished.__name__ = unfinished.__qualname__ = name
    return unfinished


def functions_from_notebook(
    stem_or_path: str | os.PathLike,
    names: Iterable[str],
    folder: str | os.PathLike | None = None,
    unfinished: str = "refuse",
) -> dict:
    """Run a notebook's setup and solution cells in a fresh namespace and return some of its names.

    Args:
        stem_or_path: Which notebook, as for :func:`candidate_paths`.
        names: The names to return, e.g. ``["compute_cost_with_regularization"]``.
        folder: Where to start looking; the current working directory when ``None``.
        unfinished: What to do with a requested function that still raises
            ``NotImplementedError`` in the saved notebook: ``"refuse"`` raises
            :class:`NotebookImportError` naming it; ``"keep"`` returns a stand-in
            whose call raises ``NotImplementedError`` with the same sentence, for
            a caller that goes on with the functions that are finished.

    Returns:
        dict: ``name -> object`` for every requested name, in the order asked.

    Raises:
        NotebookNotFound: The notebook is in none of the places looked at (also a
            ``FileNotFoundError``).
        NotebookImportError: The notebook has no setup cell, one of the cells run
            raises (the original exception is chained), a requested name is not
            defined by those cells, or (``unfinished="refuse"``) a requested
            function is still the stub.
    """
    if unfinished not in ("refuse", "keep"):
        raise ValueError(f"unfinished must be 'refuse' or 'keep', not {unfinished!r}")
    names = list(names)
    path = find_notebook(stem_or_path, folder)
    cells = [
        cell
        for cell in _cells(path)
        if cell.get("cell_type") == "code" and (_nbgrader(cell).get("grade_id") == "setup" or _nbgrader(cell).get("solution") is True)
    ]
    if not any(_nbgrader(cell).get("grade_id") == "setup" for cell in cells):
        raise NotebookImportError(f"{path.name} has no setup cell (nbgrader grade_id 'setup')")

    notebook = notebook_label(path)
    saved = f"{notebook} ({path.name}, as saved at {saved_at(path)})"
    todo = SAVE_AND_RERUN.format(notebook=notebook)
    namespace: dict = {"__name__": f"notebook:{path.stem}"}
    for cell in cells:
        label = _nbgrader(cell).get("grade_id") or cell.get("id", "?")
        try:
            code = compile(_source(cell), f"<{path.name}, cell {label}>", "exec")
            exec(code, namespace)
        except Exception as error:
            raise NotebookImportError(
                f"running cell {label!r} of {saved} failed with {type(error).__name__}: {error}. Fix that cell, {todo}."
            ) from error

    missing = [name for name in names if name not in namespace]
    if missing:
        raise NotebookImportError(f"{saved} does not define {', '.join(missing)} in its setup or solution cells")
    stubs = [name for name in names for cell in cells if _nbgrader(cell).get("solution") and still_a_stub(_source(cell), name)]
    if stubs and unfinished == "refuse":
        which = " and ".join([", ".join(stubs[:-1]), stubs[-1]] if len(stubs) > 1 else stubs)
        which += " still raise" if len(stubs) > 1 else " still raises"
        raise NotebookImportError(f"{which} NotImplementedError in {saved}: finish {notebook} there, {todo}.")
    found = {name: namespace[name] for name in names}
    for name in stubs:
        found[name] = _unfinished(name, f"{name} still raises NotImplementedError in {saved}: finish it there, {todo}.")
    return found
