"""``python -m autograder check``: full marks for the solved notebooks, zero for the stubs, clear words for a broken file."""

import json
import subprocess
import sys

import nbformat
import pytest
from conftest import require_notebook

from autograder.course.contract import exercises, solve_notebook
from autograder.course.registry import NOTEBOOK_DIR, REPO, STEMS


def check(path, *flags):
    return subprocess.run([sys.executable, "-m", "autograder", "check", str(path), *flags], cwd=REPO, capture_output=True, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("stem", list(STEMS))
def test_solved_notebook_earns_every_point(stem, tmp_path):
    require_notebook(stem)
    nb = nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
    path = tmp_path / f"{stem}.ipynb"
    nbformat.write(solve_notebook(nb, stem), path)
    out = check(path, "--json")
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["function"] for r in rows] == [e.function for e in exercises(nb, stem)]
    assert all(r["passed"] and r["points"] == r["max_points"] > 0 for r in rows), rows


@pytest.mark.parametrize("stem", list(STEMS))
def test_stub_notebook_earns_nothing_and_the_table_says_why(stem):
    path = require_notebook(stem)
    out = check(path)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    total = next(line for line in lines if line.strip().startswith("total"))
    assert total.split()[1] == "0"
    assert sum("not implemented" in line for line in lines) == len(exercises(nbformat.read(path, as_version=4), stem))


def test_unreadable_notebook_gets_a_clear_message(tmp_path):
    path = tmp_path / "01_initialization.ipynb"
    path.write_text("{ not json")
    rows = json.loads(check(path, "--json").stdout)
    assert rows and all(r["points"] == 0 and "could not be read" in r["diagnosis"] for r in rows)


def test_a_file_that_is_none_of_ours_is_refused(tmp_path):
    path = tmp_path / "homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), path)
    out = check(path)
    assert out.returncode == 2 and "not one of the workbook's notebooks" in out.stderr
