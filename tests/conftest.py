"""Shared fixtures: the notebooks that exist, and one nbgrader course built from them per session."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder import solutions

REPO = solutions.REPO


def existing_stems() -> list[str]:
    """Stems of the course notebooks present in ``notebooks/`` (all three once they are written)."""
    return [path.stem for path in solutions.notebook_paths() if path.is_file()]


def require_notebook(stem: str) -> Path:
    """The path of a course notebook, or skip the test saying which notebook is missing."""
    path = solutions.NOTEBOOK_DIR / f"{stem}.ipynb"
    if not path.is_file():
        pytest.skip(f"{path.relative_to(REPO)} is not written yet")
    return path


@dataclass(frozen=True)
class BuiltCourse:
    """An nbgrader course written by ``autograder.build`` into a temporary folder."""

    root: Path
    stems: tuple[str, ...]  # the notebooks it was built from
    seconds: dict  # step -> wall time of the build

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def release(self, stem: str) -> Path:
        return self.root / "release" / stem

    def source(self, stem: str) -> Path:
        return self.root / "source" / stem


@pytest.fixture(scope="session")
def built_course(tmp_path_factory) -> BuiltCourse:
    """One course (source, release via nbgrader generate_assignment, gradebook) for the whole session.

    Built from every notebook that exists. Tests that only read it share it
    freely; the nbgrader end-to-end tests add submissions and grades to it
    (nothing else reads those).
    """
    from autograder import build

    stems = existing_stems()
    if not stems:
        pytest.skip("no course notebook exists in notebooks/ yet")
    root = tmp_path_factory.mktemp("course")
    start = time.perf_counter()
    seconds = build.build_course(root, stems)
    seconds["total"] = time.perf_counter() - start
    return BuiltCourse(root=root, stems=tuple(stems), seconds=seconds)
