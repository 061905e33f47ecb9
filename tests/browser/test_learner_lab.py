"""The workbook in a self-learner's JupyterLab, driven in headless Chromium (``make test-browser``).

The tests run in order, as one learner's session in the lab of ``conftest.py``:
the lab shows the learner's tools only; notebook 01, with a typical He mistake, says
what is wrong in its first lines, in the check cell and in nbgrader's Validate
dialog; the learner fixes it in the browser and both turn green; then each notebook
solved with the reference runs clean under Run All, timed.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from playwright.sync_api import expect

from autograder.course.contract import nbgrader_meta, solve_notebook
from autograder.course.registry import STEMS
from autograder.qa.mutants import normalize

from . import jupyterlab as ui
from .conftest import SOLVED, read_notebook, server_complaints

CHECK = "checks.check_initialize_parameters_he(initialize_parameters_he)"
SOLUTION = "def initialize_parameters_he("
PASSED = re.compile(r"✓ initialize_parameters_he: \d+ checks passed")
HEAD = 5  # the diagnosis must be within the first lines a learner reads
FRAMES = ("dlwork/checks", "_harness.py", "Traceback (most recent call last)")  # the checks' own source and frames
INSTRUCTOR = re.compile(r"formgrader|nbgrader|assignment list|course list|create assignment", re.IGNORECASE)
COURSE_ERROR = "Error fetching courses"  # what the course list says without an nbgrader exchange
STDERR = '[data-mime-type="application/vnd.jupyter.stderr"]'  # how JupyterLab renders errors (and stderr)


def missing_from_head(lines: list[str], mistake) -> list[str]:
    """The variant's keywords and function name absent from the first :data:`HEAD` lines (matched as the mutants report does)."""
    head = normalize("\n".join(lines[:HEAD]))
    return [word for word in (*mistake.keywords, mistake.function) if normalize(word) not in head]


def reference_cell(stem: str, function: str) -> str:
    """The source of ``function``'s solution cell in the notebook solved with the reference."""
    solved = solve_notebook(read_notebook(stem), stem)
    return next(cell.source for cell in solved.cells if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") == function)


def saved_cell(path, function: str) -> str:
    notebook = nbformat.read(path, as_version=4)
    return next(cell.source for cell in notebook.cells if cell.cell_type == "code" and nbgrader_meta(cell).get("grade_id") == function)


def assert_no_course_errors(page) -> None:
    """No nbgrader error anywhere on the page: the course list's message, an error dialog."""
    assert COURSE_ERROR not in (page.locator("body").text_content() or "")
    titles = page.locator(".jp-Dialog .jp-Dialog-header").all_inner_texts()
    assert not [t for t in titles if INSTRUCTOR.search(t) or "fail" in t.lower()], titles


def test_the_lab_shows_the_learners_tools_only(lab, module_pages, report):
    """No formgrader, assignment or course list in menus, launcher or command palette, no errors; notebooks keep Validate."""
    page = module_pages.new("clean-lab")
    ui.open_lab(page, lab.address("clean"))
    page.locator(".jp-Launcher").wait_for()
    report.screenshot(page, "0-clean-lab")
    menus = page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").all_inner_texts()
    assert "File" in menus and not [m for m in menus if INSTRUCTOR.search(m)], menus
    launcher = page.locator(".jp-Launcher").inner_text()
    assert not INSTRUCTOR.search(launcher), launcher

    page.keyboard.press("Control+Shift+C")
    palette = page.locator("#modal-command-palette")
    palette.locator(".lm-CommandPalette-input").wait_for()
    commands = palette.locator(".lm-CommandPalette-itemLabel").all_text_contents()  # those hidden in this context too
    page.keyboard.press("Escape")
    assert len(commands) > 50, f"the command palette lists only {len(commands)} commands"
    assert not [c for c in commands if INSTRUCTOR.search(c)], [c for c in commands if INSTRUCTOR.search(c)]

    page.locator(".jp-DirListing-item", has_text="02_regularization.ipynb").dblclick()
    page.locator(".jp-NotebookPanel").wait_for()
    ui.wait_for_idle_kernel(page)
    expect(page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True)).to_be_visible()
    assert_no_course_errors(page)
    menus = page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").all_inner_texts()  # again, with a notebook open
    report.screenshot(page.locator("#jp-top-panel"), "0-menu-bar")
    report.note(f"menu bar: {' | '.join(menus)}")
    assert not [m for m in menus if INSTRUCTOR.search(m)], menus
    toasts = page.locator(".Toastify__toast").all_inner_texts()
    report.note(f"notifications shown in the clean lab: {toasts or 'none'}")
    assert not (errors := [e for e in report.browser_errors if e.startswith("clean-lab:")]), errors
    nbgrader_complaints = [line for line in server_complaints(lab.log) if line.startswith(("[E ", "[C ")) or INSTRUCTOR.search(line)]
    assert not nbgrader_complaints, nbgrader_complaints


@pytest.fixture(scope="module")
def notebook01(lab, module_pages, report, mistake):
    """The learner's notebook 01 (He mistake) open in the browser, after Run All (which stops at the failing check)."""
    page = module_pages.new("notebook-01")
    ui.open_notebook(page, lab.address("learner", f"{mistake.stem}.ipynb"))
    seconds = ui.run_all(page, until=CHECK)
    report.note(f"Run All of the workspace's {mistake.stem} ({mistake.id}): {seconds:.1f} s, stopping at the failing check")
    return page


def test_the_failing_check_says_what_is_wrong_in_its_first_lines(notebook01, mistake, report):
    """The He check cell's error names the function and the mistake within five lines, and shows no frame of the checks."""
    cell = ui.code_cell(notebook01, CHECK)
    cell.scroll_into_view_if_needed()
    report.screenshot(cell, "1-failing-check")
    assert cell.locator(STDERR).count() >= 1, f"the check cell shows no error: {ui.output_text(cell)!r}"
    lines = ui.output_text(cell).splitlines()
    report.note(f"failing check: {len(lines)} lines of output; the first {HEAD}: {lines[:HEAD]}")
    problems = []
    if missing := missing_from_head(lines, mistake):
        problems.append(f"the first {HEAD} lines lack {missing}")
    if leaks := [line for line in lines if any(frame in line for frame in FRAMES)]:
        problems.append(f"{len(leaks)} lines show the checks' source or frames, e.g. {leaks[:3]}")
    assert not problems, "; ".join(problems) + f"\n--- the output ({len(lines)} lines):\n" + "\n".join(lines)


def test_validate_names_the_mistake(notebook01, mistake, report):
    """nbgrader's Validate button, with the mistake saved: the dialog's first five lines give the diagnosis."""
    dialog, title, text = ui.validate(notebook01)
    report.screenshot(dialog.locator(".jp-Dialog-content"), "2-validate-mistake")
    lines = ui.lines_with_text(text)
    ui.close_dialog(dialog)
    report.note(f"Validate with the mistake: {title!r}, {len(lines)} lines: {lines[:8]}")
    frames = [line for line in lines if any(frame in line for frame in FRAMES)]
    report.note(f"Validate with the mistake: {len(frames)} lines show the checks' source or frames")
    assert title == "Validation Results", text
    assert not (missing := missing_from_head(lines, mistake)), f"the dialog's first {HEAD} lines lack {missing}:\n{text}"
    # The dialog does not wrap: a diagnosis line wider than the box hides its end (the hint) off to the right.
    diagnosis = lines[next(i for i, line in enumerate(lines) if line.startswith("CheckFailure")) :]
    assert all(len(line) <= 100 for line in diagnosis), diagnosis
    assert_no_course_errors(notebook01)


def test_the_learner_fixes_it_in_the_browser(notebook01, lab, mistake, report):
    """The reference He cell typed in place of the mistake, run with its check (Shift+Enter twice): the pass line; saved."""
    reference = reference_cell(mistake.stem, mistake.function)
    ui.replace_source(notebook01, ui.code_cell(notebook01, SOLUTION), reference)
    notebook01.keyboard.press("Shift+Enter")  # runs the solution cell, selects its check below
    notebook01.keyboard.press("Shift+Enter")  # runs the check
    check = ui.code_cell(notebook01, CHECK)
    expect(check.locator(".jp-Cell-outputArea")).to_contain_text(PASSED, timeout=ui.RUN_TIMEOUT_MS)
    expect(check.locator(STDERR)).to_have_count(0)
    check.scroll_into_view_if_needed()
    report.screenshot(check, "3-passing-check")
    report.note(f"after the fix: {ui.output_text(check).strip()!r}")
    path = lab.workspace / f"{mistake.stem}.ipynb"
    ui.save(notebook01, path)
    saved = saved_cell(path, mistake.function)
    assert saved.strip() == reference.strip(), f"the saved cell is not what was typed:\n{saved}"


def test_validate_passes_after_the_fix(notebook01, report):
    """Validate again: nbgrader's success message."""
    dialog, title, text = ui.validate(notebook01)
    report.screenshot(dialog.locator(".jp-Dialog-content"), "4-validate-fixed")
    ui.close_dialog(dialog)
    report.note(f"Validate after the fix: {title!r}: {ui.lines_with_text(text)[:8]}")
    assert "Success! Your notebook passes all the tests." in text, f"{title}:\n{text}"


@pytest.mark.parametrize("stem", STEMS)
def test_a_solved_notebook_runs_clean(stem, lab, module_pages, report):
    """Run All of the notebook solved with the reference: every cell runs, none shows an error; the seconds are reported."""
    page = module_pages.new(f"solved-{stem}")
    ui.open_notebook(page, lab.address(f"solved-{stem}", f"{SOLVED}/{stem}.ipynb"))
    seconds = ui.run_all(page)
    report.timings[stem] = seconds
    print(f"Run All {stem}: {seconds:.1f} s")
    stderr = page.locator(f".jp-CodeCell {STDERR}").all_text_contents()
    if stderr:
        report.note(f"{stem}: stderr shown in {len(stderr)} outputs: {[s[:200] for s in stderr]}")
    path = lab.workspace / SOLVED / f"{stem}.ipynb"
    ui.save(page, path)  # the saved outputs say which ones are errors (JupyterLab renders errors and stderr alike)
    saved = nbformat.read(path, as_version=4)
    errors = [
        f"cell {index}: {output.get('ename')}: {output.get('evalue')}"
        for index, cell in enumerate(saved.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.output_type == "error"
    ]
    assert not errors, errors
    assert all(cell.get("execution_count") for cell in saved.cells if cell.cell_type == "code"), "a code cell was not run"
