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
    its solution cell. A score an instructor set by hand is kept. On an error
    nothing is committed; the caller rolls the session back.
    """
    _write(gb, [(record, timestamp)])
    gb.db.commit()


def write_gradebook_many(gb, items: list[tuple[dict, str | None]]) -> list[Exception | None]:
    """Record many submissions, ``[(record, timestamp), ...]``, with one commit: per item None, or why it failed.

    One commit per record costs a disk sync each (SQLite) or a round trip
    each (a server), which a cluster's stream of results outruns. If the batch
    fails, it is rolled back and each record written on its own, so a bad one
    costs only itself.
    """
    if not items:
        return []
    try:
        _write(gb, items)
        gb.db.commit()
        return [None] * len(items)
    except Exception:  # noqa: BLE001 - which record failed is found below, one commit each
        gb.db.rollback()
    outcomes: list[Exception | None] = []
    for item in items:
        try:
            _write(gb, [item])
            gb.db.commit()
            outcomes.append(None)
        except Exception as exc:  # noqa: BLE001 - reported to the caller for this record only
            gb.db.rollback()
            outcomes.append(exc)
    return outcomes


def _write(gb, items: list[tuple[dict, str | None]]) -> None:
    """Put ``items`` into the session (no commit): what nbgrader's own calls would write, in a few queries per batch.

    nbgrader's ``update_or_create_student`` and ``add_submission`` commit
    each, and every commit expires the session, so each record reloaded the
    assignment and, cell by cell, the names of its grades (about 25 queries
    and 3 commits per new submission). Here the assignments' cells are read
    once, the batch's students, submissions, grades and comments in one query
    each, and a new submission is built the way ``add_submission`` builds it.
    """
    from nbgrader import utils
    from nbgrader.api import Comment, Grade, Student, SubmittedAssignment, SubmittedNotebook

    db = gb.db
    with db.no_autoflush:  # nothing half-built is flushed by a lookup
        layouts = {stem: _layout(gb, stem) for stem in {record["assignment"] for record, _ in items}}
        ids = {record["student"] for record, _ in items}
        students = {s.id: s for s in db.query(Student).filter(Student.id.in_(ids))}
        submissions = {
            (s.student_id, s.assignment_id): s
            for s in db.query(SubmittedAssignment).filter(
                SubmittedAssignment.student_id.in_(ids), SubmittedAssignment.assignment_id.in_([lay.id for lay in layouts.values()])
            )
        }
        own_of = {}  # id() of a submission -> its SubmittedNotebook of the assignment's own notebook
        rows_of = {}  # id() of a SubmittedNotebook -> (its grades, its comments)
        if submissions:
            by_id = {s.id: s for s in submissions.values()}
            for nb in db.query(SubmittedNotebook).filter(
                SubmittedNotebook.assignment_id.in_(list(by_id)),
                SubmittedNotebook.notebook_id.in_([lay.notebook_id for lay in layouts.values()]),
            ):
                own_of[id(by_id[nb.assignment_id])] = nb
                rows_of[id(nb)] = ([], [])
            by_nb = {nb.id: rows_of[id(nb)] for nb in own_of.values()}
            for model, column in ((Grade, 0), (Comment, 1)):
                for row in db.query(model).filter(model.notebook_id.in_(list(by_nb))):
                    by_nb[row.notebook_id][column].append(row)
        for record, timestamp in items:
            student_id, layout = record["student"], layouts[record["assignment"]]
            if gb.authenticator:
                gb.authenticator.add_student_to_course(student_id, gb.course_id)
            if student_id not in students:  # a new student by id; names added by a roster (add_students) stay
                students[student_id] = Student(id=student_id)
                db.add(students[student_id])
            submission = submissions.get((student_id, layout.id))
            if submission is None:
                submission, own = _new_submission(layout, student_id, SubmittedAssignment, SubmittedNotebook, Grade, Comment)
                db.add(submission)
                submissions[(student_id, layout.id)] = submission
                own_of[id(submission)] = own
                rows_of[id(own)] = (list(own.grades), list(own.comments))
            own = own_of.get(id(submission))
            if own is None:
                raise LookupError(f"the submission of {student_id} for {layout.name} has no notebook {layout.name}")
            if timestamp:
                submission.timestamp = utils.parse_utc(timestamp)
            _set_scores(record, layout, *rows_of[id(own)])


def _set_scores(record: dict, layout, grades: list, comments: list) -> None:
    """The scores, manual-grading flags and automatic comments of one submitted notebook."""
    functions = {f"check_{f['function']}": f for f in record["functions"]}
    for grade in grades:
        f = functions.get(layout.cell_names.get(grade.cell_id))
        if f is not None:
            grade.auto_score = float(f["points"])
            grade.needs_manual_grade = not f.get("graded", record["graded"]) and grade.manual_score is None
    reasons = {f["function"]: f.get("reason", "") for f in record["functions"]}
    for comment in comments:
        name = layout.cell_names.get(comment.cell_id)
        if name in reasons:
            comment.auto_comment = f"Not graded automatically: {reasons[name]}" if reasons[name] else None


class _Layout:
    """What a submission of one assignment holds: its notebooks' cells, read once per batch."""

    def __init__(self, assignment):
        self.id, self.name = assignment.id, assignment.name
        self.notebooks = [
            (nb.id, [c.id for c in nb.grade_cells], [c.id for c in nb.solution_cells], [c.id for c in nb.task_cells])
            for nb in assignment.notebooks
        ]
        own = [nb for nb in assignment.notebooks if nb.name == assignment.name]
        if not own:
            raise LookupError(f"assignment {assignment.name} has no notebook {assignment.name}.ipynb in the gradebook")
        self.notebook_id = own[0].id
        self.cell_names = {c.id: c.name for nb in own for c in (*nb.grade_cells, *nb.solution_cells, *nb.task_cells)}


def _layout(gb, stem: str) -> _Layout:
    return _Layout(gb.find_assignment(stem))  # MissingEntry when the assignment is not in the gradebook


def _new_submission(layout: _Layout, student_id: str, SubmittedAssignment, SubmittedNotebook, Grade, Comment):
    """A submission with a notebook, grade and comment per cell, as nbgrader's ``add_submission`` makes it; and its own notebook."""
    submission = SubmittedAssignment(assignment_id=layout.id, student_id=student_id)
    own = None
    for notebook_id, grade_cells, solution_cells, task_cells in layout.notebooks:
        nb = SubmittedNotebook(notebook_id=notebook_id, assignment=submission)
        for cell_id in grade_cells:
            Grade(cell_id=cell_id, notebook=nb)
        for cell_id in solution_cells:
            Comment(cell_id=cell_id, notebook=nb)
        for cell_id in task_cells:
            Comment(cell_id=cell_id, notebook=nb)
            Grade(cell_id=cell_id, notebook=nb)
        if notebook_id == layout.notebook_id:
            own = nb
    return submission, own


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


def write_autograded_text(course: Path, student: str, stem: str, text: str) -> None:
    """Put an autograded notebook (from :func:`autograded_notebook`) and the submission's timestamp in place."""
    folder = course / "autograded" / student / stem
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / f"{stem}.ipynb", text)
    stamp = read_timestamp(course, student, stem)
    if stamp is not None:
        write_atomic(folder / "timestamp.txt", stamp + "\n")


def autograded_notebook(record: dict, source: Path | None) -> str:
    """The autograded notebook of ``record`` as text: where it is made needs no course folder.

    The student's notebook ``source``, with each check cell restored to the
    released source and given, as its only output, the points and our
    diagnosis: nothing hidden. Without a readable notebook (or with ``source``
    None: one that must not be opened), the released one stands in.
    """
    import nbformat

    from autograder.course.contract import nbgrader_meta
    from autograder.grading.notebook import release_notebook

    stem = record["assignment"]
    release = release_notebook(stem)
    try:
        if source is None:
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
    return nbformat.writes(nb)
