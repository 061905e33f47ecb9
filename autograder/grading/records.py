"""What a class run keeps on disk: one record per submission, and the fingerprints that make reruns resumable.

``course/grades/<student>/<assignment>.json`` holds the verdicts of one
submission and a fingerprint of everything that decided them (the submission,
the grader's code, the limits). A rerun skips a submission whose record carries
the fingerprint it would compute now.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict
from pathlib import Path

from autograder.course.registry import REPO
from autograder.grading.notebook import NotebookResult
from autograder.sandbox import Limits

RECORD_VERSION = 1


def grader_digest() -> str:
    """Changes whenever anything that decides a grade changes (checks, reference, notebooks)."""
    h = hashlib.sha256(str(RECORD_VERSION).encode())
    roots = [REPO / "autograder", REPO / "source_solutions", REPO / "notebooks"]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in {".py", ".ipynb"} and "__pycache__" not in path.parts and "course" not in path.parts:
                h.update(str(path.relative_to(REPO)).encode())
                h.update(path.read_bytes())
    return h.hexdigest()


def submission_fingerprint(folder: Path, stem: str, digest: str, limits: Limits, unsafe: str | None = None) -> str:
    h = hashlib.sha256(digest.encode())
    h.update(json.dumps(asdict(limits), sort_keys=True).encode())
    notebook = folder / f"{stem}.ipynb"
    if unsafe:
        h.update(unsafe.encode())
    else:
        h.update(notebook.read_bytes() if notebook.is_file() else b"<missing>")
    return h.hexdigest()


def record_path(course: Path, student: str, stem: str) -> Path:
    return course / "grades" / student / f"{stem}.json"


def read_record(course: Path, student: str, stem: str) -> dict | None:
    try:
        return json.loads(record_path(course, student, stem).read_text())
    except (OSError, ValueError):
        return None


def result_to_record(result: NotebookResult, student: str, fingerprint: str, limits: Limits | None = None) -> dict:
    """The record of one graded notebook; per function its points, whether it is graded and why not."""
    return {
        "student": student,
        "limits": asdict(limits) if limits is not None else None,
        "assignment": result.notebook,
        "fingerprint": fingerprint,
        "graded": result.graded,
        "points": result.points,
        "max_points": result.max_points,
        "seconds": round(result.seconds, 3),
        "problems": result.problems,
        "functions": [
            {
                **v.as_dict(),
                "hint": v.hint,
                "diagnosis_only": v.diagnosis,
                "notes": v.notes,
                "graded": v.graded,
                "reason": v.reason,
                "fault": bool(v.fault),
            }
            for v in result.verdicts
        ],
    }


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
