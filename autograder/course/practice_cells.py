"""Release step of stock ``nbgrader generate_assignment``: practice cells go out as the learner starts them.

``python -m autograder build`` copies this file into the course folder, and the
course's ``nbgrader_config.py`` loads it from there and puts
:class:`RestorePracticeCells` first in ``GenerateAssignment.preprocessors``. It
must stay self-contained (standard library, traitlets and nbconvert only): it
runs in the ``nbgrader`` process, which may not have this repository on its
import path.

A practice cell (``autograder/course/contract.py``) is an ungraded exercise the
learner starts from given code, such as notebook 03's copy of the planted
backprop. In the source notebook it shows the finished function between
solution markers and keeps the starting code in
``metadata["dlwork"]["practice_start"]``. This step puts the starting code back
as the cell's source and drops that key, before nbgrader's ``ClearSolutions``
sees the cell. Without this step ``ClearSolutions`` refuses the notebook
(solution markers in a cell that is not a solution cell), so a course whose
config lost it generates nothing rather than a release with the answer.
"""

from __future__ import annotations

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

KEY, START = "dlwork", "practice_start"


class RestorePracticeCells(Preprocessor):
    """Each practice cell's source becomes its starting code; the finished function is dropped."""

    # nbconvert's Preprocessor defaults to False, and a disabled preprocessor does nothing, silently.
    enabled = Bool(True).tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        meta = cell.get("metadata", {}).get(KEY)
        if cell.cell_type == "code" and isinstance(meta, dict) and START in meta:
            cell.source = meta.pop(START)
            # The learner's notebook carries no outputs of the finished function either.
            cell.outputs = []
            cell.execution_count = None
        return cell, resources
