"""A learner's workspace: `make workspace` never overwrites their work, `make check` grades it.

The tests point the Makefile at a workspace in their own temporary folder
(``WORKSPACE=...``), never at the repository's ``workspace/``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.course.registry import NOTEBOOK_DIR, REPO, STEMS
from autograder.qa import sample_class

STEM = STEMS[0]


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "--no-print-directory", "-C", str(REPO), *args], capture_output=True, text=True, timeout=600)


def test_the_workspace_is_made_once_and_the_learners_work_is_kept(tmp_path):
    workspace = tmp_path / "ws"
    assert make("workspace", f"WORKSPACE={workspace}").returncode == 0
    assert sorted(p.name for p in workspace.iterdir()) == sorted(f"{stem}.ipynb" for stem in STEMS)
    assert (workspace / f"{STEM}.ipynb").read_bytes() == (NOTEBOOK_DIR / f"{STEM}.ipynb").read_bytes()
    (workspace / f"{STEM}.ipynb").write_text("my work")
    (workspace / f"{STEMS[1]}.ipynb").unlink()
    again = make("workspace", f"WORKSPACE={workspace}")
    assert again.returncode == 0, again.stderr
    assert (workspace / f"{STEM}.ipynb").read_text() == "my work"
    assert (workspace / f"{STEMS[1]}.ipynb").is_file(), "a notebook the learner deleted comes back"


def test_make_check_grades_the_workspace_and_says_what_is_wrong(tmp_path):
    workspace = tmp_path / "ws"
    release = nbformat.read(NOTEBOOK_DIR / f"{STEM}.ipynb", as_version=4)
    learner = sample_class.Student(
        "me",
        "He scaled by the current layer",
        {"initialize_parameters_he": next(s for s in sample_class.CLASS if s.name == "carol").functions["initialize_parameters_he"]},
    )
    workspace.mkdir()
    nbformat.write(sample_class.make_notebook(release, STEM, learner), workspace / f"{STEM}.ipynb")
    done = make("check", f"WORKSPACE={workspace}", "NB=01")
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith(STEM), done.stdout
    rows = {line.split()[0]: line for line in lines[1:] if line.startswith("  initialize")}
    assert rows["initialize_parameters_zeros"].split()[1:3] == ["1", "1"]
    assert "ok" in rows["initialize_parameters_random"]
    he = rows["initialize_parameters_he"]
    assert he.split()[1] == "0" and "layer" in he, he
    assert STEMS[1] not in done.stdout, "NB=01 grades notebook 01 only"


def test_a_broken_source_notebook_stops_the_build_before_anything_is_deleted(tmp_path, monkeypatch):
    from autograder.course import builder, registry

    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    for stem in STEMS:
        (notebooks / f"{stem}.ipynb").write_bytes((NOTEBOOK_DIR / f"{stem}.ipynb").read_bytes())
    filled = nbformat.read(notebooks / f"{STEMS[1]}.ipynb", as_version=4)
    learner = sample_class.Student("me", "all solved")
    nbformat.write(sample_class.make_notebook(filled, STEMS[1], learner), notebooks / f"{STEMS[1]}.ipynb")
    course = tmp_path / "course"
    (course / "source" / STEM).mkdir(parents=True)
    (course / "source" / STEM / "kept.txt").write_text("an earlier build")
    monkeypatch.setattr(registry, "NOTEBOOK_DIR", notebooks)
    monkeypatch.setattr(builder.registry, "NOTEBOOK_DIR", notebooks)
    with pytest.raises(builder.BuildError) as refused:
        builder.build_course(course, generate=False)
    message = str(refused.value)
    assert STEMS[1] in message and "breaks the cell contract" in message and "workspace/" in message, message
    assert (course / "source" / STEM / "kept.txt").read_text() == "an earlier build"
    assert not (course / "nbgrader_config.py").exists()


def test_what_a_learner_keeps_in_the_workspace_never_fails_make_test(tmp_path):
    """`make test` lints the repository: a learner's scratch file in workspace/ is not the project's code."""
    (tmp_path / "pyproject.toml").write_bytes((REPO / "pyproject.toml").read_bytes())
    (tmp_path / "workspace").mkdir()
    (tmp_path / "workspace" / "scratch.py").write_text("import os,sys\nx=[1,2 ,3]\n")
    (tmp_path / "fine.py").write_text('"""A file of the project."""\n')
    ruff = Path(sys.executable).with_name("ruff")
    for command in (["check", "."], ["format", "--check", "."]):
        done = subprocess.run([str(ruff), *command], cwd=tmp_path, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
    (tmp_path / "fine.py").write_text("import os,sys\n")  # and the same file in the project fails: the test can fail
    assert subprocess.run([str(ruff), "check", "."], cwd=tmp_path, capture_output=True).returncode != 0
