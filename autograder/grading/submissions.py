"""The submitted folder of a course: which submissions exist, and which may be opened.

``course/submitted/<student>/<assignment>/<assignment>.ipynb`` (and nbgrader's
``timestamp.txt``) as ``nbgrader collect`` or an instructor's unzip leaves them.
Nothing here trusts what it finds: a symbolic link or a special file is not
opened, a timestamp is read only if it is a small regular file holding a date.
"""

from __future__ import annotations

import os
from pathlib import Path


def discover(course: Path, assignments: list[str]) -> list[tuple[str, str]]:
    """Every (student, assignment) present under submitted/ (an empty folder counts)."""
    submitted = course / "submitted"
    found = []
    if not submitted.is_dir():
        return found
    for student_dir in sorted(p for p in submitted.iterdir() if p.is_dir()):
        for stem in assignments:
            if (student_dir / stem).is_dir() or not any(student_dir.iterdir()):
                found.append((student_dir.name, stem))
    return found


def unsafe_submission(course: Path, student: str, stem: str) -> str | None:
    """Why the submitted notebook must not be opened, if it must not.

    A symbolic link (the notebook, its assignment folder or the student's
    folder) could point at the solutions in ``source/``, at another student's
    work or at any file the grader can read, which would then be graded or
    copied into feedback; a FIFO or device would hang or feed the reader.
    Such a submission is not graded, and nothing behind it is read.
    """
    import stat

    path = course / "submitted"
    for part in (student, stem, f"{stem}.ipynb"):
        path = path / part
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None  # missing: graded as missing
        if stat.S_ISLNK(mode):
            return f"the submission's {path.relative_to(course)} is a symbolic link; it was not opened"
    if not stat.S_ISREG(mode):
        return f"the submission's {path.relative_to(course)} is not a regular file; it was not opened"
    return None


def read_timestamp(course: Path, student: str, stem: str) -> str | None:
    """The submission's ``timestamp.txt`` as nbgrader wrote it, or None (missing, a link, not a date)."""
    from nbgrader import utils

    if unsafe_submission(course, student, stem):
        return None
    path = course / "submitted" / student / stem / "timestamp.txt"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError:
        return None
    try:
        import stat

        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        text = os.read(fd, 200).decode("utf-8", errors="replace").strip()
    finally:
        os.close(fd)
    try:
        utils.parse_utc(text)
    except Exception:  # noqa: BLE001 - whatever nbgrader cannot read as a date
        return None
    return text
