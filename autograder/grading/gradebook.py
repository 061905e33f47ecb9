"""nbgrader's side of a class run: the gradebook and the autograded notebooks.

Scores go into nbgrader's gradebook (so that ``nbgrader generate_feedback``,
``nbgrader export`` and the formgrader work afterwards), and each submission
gets an ``autograded/<student>/<assignment>/`` notebook whose check cells show
the points and the diagnosis, nothing hidden.
"""

from __future__ import annotations

import copy
from pathlib import Path

from autograder.grading.records import write_atomic
from autograder.grading.submissions import read_timestamp


def default_db_url(course: Path) -> str:
    return f"sqlite:///{(course / 'gradebook.db').resolve()}"


def add_students(db_url: str, roster: dict[str, tuple[str, str]]) -> None:
    """Put students into the gradebook with their names, ``{student id: (first name, last name)}``.

    The formgrader lists students by name; :func:`write_gradebook` adds a student
    it has not seen by id alone and never changes the names a roster gave.
    """
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        for student, (first_name, last_name) in roster.items():
            gb.update_or_create_student(student, first_name=first_name, last_name=last_name)


def write_gradebook(gb, record: dict, timestamp: str | None) -> None:
    """Record one submission's scores in nbgrader's gradebook ``gb`` (one transaction).

    Per function: the points, and ``needs_manual_grade`` when it is not graded
    (so the formgrader lists it), with the reason as the automatic comment of
    its solution cell. A score an instructor set by hand is kept.
    """
    from nbgrader.api import MissingEntry

    student, stem = record["student"], record["assignment"]
    functions = {f"check_{f['function']}": f for f in record["functions"]}
    gb.update_or_create_student(student)  # a new student by id; names added by a roster (add_students) stay
    try:
        submission = gb.find_submission(stem, student)
    except MissingEntry:
        # nbgrader lazily loads the assignment's notebooks before it adds the new
        # submission to the session; without this, that load autoflushes and
        # SQLAlchemy warns about the half-built submission.
        with gb.db.no_autoflush:
            submission = gb.add_submission(stem, student)
    if timestamp:
        from nbgrader import utils

        submission.timestamp = utils.parse_utc(timestamp)
    notebook = gb.find_submission_notebook(stem, stem, student)
    for grade in notebook.grades:
        f = functions.get(grade.name)
        if f is not None:
            grade.auto_score = float(f["points"])
            grade.needs_manual_grade = not f.get("graded", record["graded"]) and grade.manual_score is None
    reasons = {f["function"]: f.get("reason", "") for f in record["functions"]}
    for comment in notebook.comments:
        if comment.name in reasons:
            comment.auto_comment = f"Not graded automatically: {reasons[comment.name]}" if reasons[comment.name] else None
    gb.db.commit()


def flag_for_manual_grading(gb, student: str, stem: str) -> None:
    """Every graded cell of the submission needs a manual grade (its record could not be kept)."""
    notebook = gb.find_submission_notebook(stem, stem, student)
    for grade in notebook.grades:
        grade.needs_manual_grade = True
    gb.db.commit()


def check_gradebook(gb, db_url: str, assignments: list[str]) -> None:
    from nbgrader.api import MissingEntry

    for stem in assignments:
        try:
            gb.find_assignment(stem)
        except MissingEntry:
            raise RuntimeError(
                f"assignment {stem} is not in the gradebook {db_url}: build the course first (python -m autograder build)"
            ) from None


def write_autograded_notebook(course: Path, student: str, record: dict, unsafe: bool = False) -> None:
    """``autograded/<student>/<assignment>/<nb>.ipynb`` for nbgrader's own feedback.

    The student's notebook, with each check cell restored to the released source
    and given, as its only output, the points and our diagnosis: nothing hidden.
    Without a readable notebook, the released one stands in.
    """
    import nbformat

    from autograder.course.contract import nbgrader_meta
    from autograder.grading.notebook import release_notebook

    stem = record["assignment"]
    release = release_notebook(stem)
    source = course / "submitted" / student / stem / f"{stem}.ipynb"
    try:
        if unsafe:
            raise ValueError("not opened")
        nb = nbformat.read(source, as_version=4)
    except Exception:  # noqa: BLE001 - unreadable or not to be opened: the release stands in
        nb = copy.deepcopy(release)
    released = {nbgrader_meta(c).get("grade_id"): c for c in release.cells if nbgrader_meta(c).get("grade")}
    by_function = {f"check_{f['function']}": f for f in record["functions"]}
    cells, seen = [], set()
    for cell in nb.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in released:
            seen.add(grade_id)
            cell = nbformat.from_dict(dict(released[grade_id]))
            f = by_function[grade_id]
            text = f"{f['points']:g} / {f['max_points']:g} points." + ("" if f["passed"] else f" {f['diagnosis']}")
            cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=text + "\n")]
            cell.execution_count = None
        cells.append(cell)
    nb.cells = cells
    folder = course / "autograded" / student / stem
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{stem}.ipynb", nbformat.writes(nb))
    stamp = read_timestamp(course, student, stem)
    if stamp is not None:
        write_atomic(folder / "timestamp.txt", stamp + "\n")
