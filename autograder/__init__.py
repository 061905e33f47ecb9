"""Course builder and grader for the practical deep-learning workbook.

Subcommands (``python -m autograder --help``): ``build`` writes the nbgrader
course, ``check`` judges one notebook on the spot.
"""

import sys as _sys
from pathlib import Path as _Path

# The checks import the support package (dlwork) from this repository: the
# trusted copy, never one found next to a student's notebook.
_SUPPORT = str(_Path(__file__).resolve().parent.parent / "notebooks")
if _SUPPORT not in _sys.path:
    _sys.path.insert(0, _SUPPORT)
