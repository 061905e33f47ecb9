"""Feedback from stock ``nbgrader generate_feedback``: no tracebacks, no paths of the grading machine.

``python -m autograder build`` copies this file into the course folder, and the
course's ``nbgrader_config.py`` loads it from there and appends
:class:`SanitizeOutputs` to ``GenerateFeedback.preprocessors``. It must stay
self-contained (standard library, traitlets and nbconvert only): it runs in the
``nbgrader`` process, which may not have this repository on its import path.

After ``nbgrader autograde``, a failing check cell holds a traceback through the
support package (``dlwork/checks/``: absolute paths of the course folder and
the check's source lines, which list other diagnoses) and, if the hidden block
itself raised, the hidden block's lines and frames of the repository. In the
feedback, every error output keeps only its last line, ``ename: evalue`` (for a
failed check, the check's own diagnosis), and every absolute path in an output
is shortened: a path inside the notebook's folder becomes relative to it
(``datasets/train.h5``), any other becomes ``…/<file name>``. The autograded
notebooks, which only the instructor sees, keep their tracebacks.
"""

from __future__ import annotations

import os
import re
import site
import sys
import tempfile

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool, List, Unicode

ELIDED = "…"
# Characters a path is taken to end at: whitespace, quotes, brackets, and the
# colon of "file.py:12: UserWarning" or "File path:12 in f".
_PATH_CHAR = r"[^\s'\"`<>:;,()\[\]{}|*?]"
# Not inside a longer token: "lambd/m", "1/keep_prob" or "https://host/a" are not absolute paths.
_NOT_AFTER = r"(?<![\w.~/\\:\-])"


def _top_level_directories() -> list[str]:
    """The directories at ``/`` of this machine: an absolute path starts with one of them."""
    try:
        names = os.listdir("/")
    except OSError:
        return []
    return sorted((n for n in names if os.path.isdir(os.path.join("/", n))), key=len, reverse=True)


def _path_pattern() -> re.Pattern:
    tops = "|".join(re.escape(name) for name in _top_level_directories())
    # "/<top>/..." with at least one more part ("/usr" alone reveals nothing), or a root already elided.
    return re.compile(_NOT_AFTER + rf"/(?:(?:{tops})(?:/{_PATH_CHAR}+)+|{ELIDED}(?:/{_PATH_CHAR}+)*)")


def _shorten(match: re.Match) -> str:
    last = match.group(0).rstrip("/").rsplit("/", 1)[-1]
    return ELIDED if last in ("", ELIDED) else f"{ELIDED}/{last}"


def _default_roots() -> list[str]:
    """Folders whose paths may contain characters a path is otherwise taken to end at (a space in a home folder)."""
    roots = [os.getcwd(), os.path.expanduser("~"), tempfile.gettempdir(), sys.prefix, sys.base_prefix, sys.exec_prefix]
    try:
        roots += site.getsitepackages()
    except AttributeError:  # some virtualenv versions' site module
        pass
    return roots


class SanitizeOutputs(Preprocessor):
    """Error outputs as one line ``ename: evalue``; absolute paths out of every text output."""

    # nbconvert's Preprocessor defaults to False, and a disabled preprocessor does nothing, silently.
    enabled = Bool(True).tag(config=True)
    roots = List(
        Unicode(),
        help="Folders to hide besides the defaults (working folder, home, temporary folder, Python prefixes, site-packages).",
    ).tag(config=True)

    def preprocess(self, nb, resources):
        folder = (resources.get("metadata") or {}).get("path") or ""
        self._folders = self._variants([folder]) if folder else []
        # A top-level folder alone ("/usr", "/tmp") is left to the general rule, which keeps "/usr" as it is.
        self._roots = [r for r in self._variants(_default_roots() + list(self.roots)) if r.count("/") >= 2]
        self._paths = _path_pattern()
        return super().preprocess(nb, resources)

    @staticmethod
    def _variants(paths: list[str]) -> list[str]:
        """Absolute and resolved forms, longest first (a folder before the folders that contain it)."""
        found = set()
        for path in paths:
            if path:
                for form in (os.path.abspath(path), os.path.realpath(path)):
                    form = form.rstrip("/")
                    if form:  # never "/" itself
                        found.add(form)
        return sorted(found, key=len, reverse=True)

    def scrub(self, text: str) -> str:
        """``text`` with paths inside the notebook's folder made relative and every other absolute path shortened."""
        for folder in self._folders:
            text = re.sub(_NOT_AFTER + re.escape(folder) + r"(/|(?![\w.\-]))", lambda m: "" if m.group(1) else ".", text)
        for root in self._roots:
            text = re.sub(_NOT_AFTER + re.escape(root) + r"(?![\w.\-])", "/" + ELIDED, text)
        return self._paths.sub(_shorten, text)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        for output in cell.get("outputs", []):
            kind = output.get("output_type")
            if kind == "error":
                ename = output.get("ename", "") or "Error"
                evalue = self.scrub(output.get("evalue", "") or "")
                output["evalue"] = evalue
                output["traceback"] = [f"{ename}: {evalue}" if evalue else ename]
            elif kind == "stream":
                output["text"] = self.scrub(output.get("text", ""))
            elif kind in ("execute_result", "display_data"):
                data = output.get("data", {})
                if isinstance(data.get("text/plain"), str):
                    data["text/plain"] = self.scrub(data["text/plain"])
        return cell, resources
