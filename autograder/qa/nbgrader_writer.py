"""The gradebook writer as it was before batching: nbgrader's own API calls, one commit each.

Kept as the reference that :func:`autograder.grading.gradebook.write_gradebook_many`
must match row for row (``tests/test_gradebook_postgres.py``) and as the
baseline of ``benchmarks/gradebook_writer.py``. Slow on purpose: it is what
nbgrader's API costs (three commits and some forty queries per record).
"""

from __future__ import annotations


def write_with_nbgrader_calls(gb, record: dict, timestamp: str) -> None:
    """One record through update_or_create_student, find/add_submission and the grade cells' names, then a commit."""
    from nbgrader import utils
    from nbgrader.api import MissingEntry

    student, stem = record["student"], record["assignment"]
    functions = {f"check_{f['function']}": f for f in record["functions"]}
    gb.update_or_create_student(student)
    try:
        submission = gb.find_submission(stem, student)
    except MissingEntry:
        with gb.db.no_autoflush:
            submission = gb.add_submission(stem, student)
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
