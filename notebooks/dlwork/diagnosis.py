"""Errors that are a diagnosis for the learner, shown by Jupyter as the diagnosis alone.

A failed check or a notebook that cannot be borrowed from is not a bug to debug:
its message already says what is wrong and what to do. Frames of the checks would
only push that message down the screen (and show the checks' source, which lists
other diagnoses). IPython asks an exception for ``_render_traceback_()`` before
formatting a traceback, so a :class:`Diagnosis` shows its message and nothing else,
in the notebook and in nbgrader's Validate dialog (which prints the same lines).
The cell still fails: the error output is there, with its ``ename`` and ``evalue``.
"""

from __future__ import annotations

import linecache
import os
import sys
import textwrap
import traceback
from types import TracebackType

# Frames from here are "not the learner's": this package (the checks, the network
# they call) and the installed libraries (NumPy...).
_NOT_THE_LEARNERS = tuple(
    os.path.realpath(path) + os.sep for path in {os.path.dirname(__file__), sys.prefix, sys.base_prefix, sys.exec_prefix}
)


WIDTH = 100  # nbgrader's Validate dialog does not wrap lines: a long one hides its end off to the right


class Diagnosis(Exception):
    """An exception whose message is the whole story for the learner."""

    def _render_traceback_(self) -> list[str]:
        """IPython's hook: the lines to show in place of a traceback (``Name: message``, wrapped at :data:`WIDTH`)."""
        lines = []
        for line in f"{type(self).__name__}: {self}".splitlines():
            indent = line[: len(line) - len(line.lstrip())]
            wrapped = textwrap.wrap(line, WIDTH, subsequent_indent=indent + "  ", break_long_words=False, break_on_hyphens=False)
            lines += wrapped or [""]
        return lines


def learners_line(tb: TracebackType | None) -> str:
    """``"<function>, line N: <source>"`` for the deepest frame of learner code in ``tb``, or ``""``.

    Learner code is whatever is not this package or an installed library: a
    notebook cell (IPython keeps its source for ``linecache``) or a file of the
    learner's own.
    """
    for frame in reversed(traceback.extract_tb(tb)):
        filename = frame.filename or ""
        if filename.startswith("<frozen") or os.path.realpath(filename).startswith(_NOT_THE_LEARNERS):
            continue
        source = (frame.line or linecache.getline(filename, frame.lineno or 0)).strip()
        return f"{frame.name}, line {frame.lineno}" + (f": {source}" if source else "")
    return ""
