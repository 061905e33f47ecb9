"""Shared fixtures: one nbgrader course built from the notebooks, per session."""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from autograder.course import registry

REPO = registry.REPO

# One BLAS thread in the tests and everything they start (kernels, nbgrader, graders), as the
# grading kernel has: on 2 busy cores OpenBLAS's threads spin (300 small matrix products took
# 11 s instead of 0.4 s). Nothing above imports NumPy, which reads these when it loads.
for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")


def notebook_path(stem: str) -> Path:
    """The committed notebook of ``stem`` (``notebooks/<stem>.ipynb``)."""
    return registry.NOTEBOOK_DIR / f"{stem}.ipynb"


def require_notebook(stem: str) -> Path:
    """The path of a course notebook; fails the test, naming it, when it is missing.

    (It used to skip while the notebooks were being written; all three exist
    now, so a missing one is an error.)
    """
    path = notebook_path(stem)
    if not path.is_file():
        pytest.fail(f"{path.relative_to(REPO)} is missing")
    return path


@dataclass(frozen=True)
class BuiltCourse:
    """An nbgrader course written by ``autograder.course.builder`` into a temporary folder."""

    root: Path
    stems: tuple[str, ...]  # the notebooks it was built from: all of them
    seconds: dict  # step -> wall time of the build

    @property
    def db_url(self) -> str:
        return f"sqlite:///{self.root / 'gradebook.db'}"

    def release(self, stem: str) -> Path:
        return self.root / "release" / stem

    def source(self, stem: str) -> Path:
        return self.root / "source" / stem

    def fresh_copy(self, tmp_path_factory, name: str) -> Path:
        """A private copy of this course (release and gradebook, no submissions or grades)."""
        target = tmp_path_factory.mktemp(name) / "course"
        shutil.copytree(self.root, target, ignore=shutil.ignore_patterns("submitted", "autograded", "feedback", "grades", "reports"))
        return target


def without_experiments(nb):
    """``nb`` without its code cells that carry no nbgrader metadata (experiments: they score nothing and cost most of a run)."""
    from autograder.course import contract

    nb.cells = [c for c in nb.cells if c.cell_type != "code" or contract.nbgrader_meta(c)]
    return nb


def copy_repository(target: Path) -> Path:
    """A copy of the repository's files at ``target``: no venv, git data, caches, or built course, demo and learner workspace at its root."""

    def ignore(folder: str, names: list[str]) -> set[str]:
        at_root = Path(folder).resolve() == REPO
        return {
            n for n in names if n in ("__pycache__", ".pytest_cache") or (at_root and n in (".venv", ".git", "course", "demo", "workspace"))
        }

    shutil.copytree(REPO, target, ignore=ignore)
    return target


@pytest.fixture(scope="session")
def built_course(tmp_path_factory) -> BuiltCourse:
    """One course (source, release via nbgrader generate_assignment, gradebook) for the whole session.

    Built from every course notebook. Tests read it; a test that grades
    copies it first (``shutil.copytree``: the config's paths are relative to
    the config file, so a copy is a course of its own).
    """
    from autograder.course import builder as build

    root = tmp_path_factory.mktemp("course")
    start = time.perf_counter()
    seconds = build.build_course(root)
    seconds["total"] = time.perf_counter() - start
    stems = tuple(path.stem for path in registry.notebook_paths())
    return BuiltCourse(root=root, stems=stems, seconds=seconds)
