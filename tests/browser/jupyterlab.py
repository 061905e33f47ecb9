"""What a learner does in JupyterLab, as Playwright steps: open, Run All, edit a cell, save, Validate.

Every wait is on the page's state (a selector, the kernel's status, the cells'
prompts), never a fixed sleep; the timeouts are generous, for a slow 2-core machine.
"""

from __future__ import annotations

import re
import time
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

KERNEL_TIMEOUT_MS = 120_000  # a kernel starting while another notebook runs
RUN_TIMEOUT_MS = 300_000  # Run All of one notebook (about 10 s when the machine is quiet)
VALIDATE_TIMEOUT_MS = 300_000  # nbgrader runs the whole notebook in a kernel of its own
SAVE_TIMEOUT_S = 60

# Done when the kernel is idle and no cell waits ([*]); then either every code cell has a number
# (``until`` null) or the first cell whose editor holds ``until`` has one (Run All stops at an error).
RUN_DONE = """(until) => {
  const panel = document.querySelector('.jp-NotebookPanel');
  const indicator = panel && panel.querySelector('.jp-Notebook-ExecutionIndicator');
  if (!indicator || indicator.dataset.status !== 'idle') return false;
  const cells = [...panel.querySelectorAll('.jp-Notebook .jp-CodeCell')];
  const prompts = cells.map((cell) => (cell.querySelector('.jp-InputPrompt') || {}).textContent || '');
  if (prompts.some((prompt) => prompt.includes('*'))) return false;
  const numbered = (prompt) => /^\\[\\d+\\]:$/.test(prompt.trim());
  if (until === null) return prompts.length > 0 && prompts.every(numbered);
  const index = cells.findIndex((cell) => (cell.querySelector('.cm-content') || {}).textContent.includes(until));
  return index >= 0 && numbered(prompts[index]);
}"""


def open_lab(page: Page, url: str) -> None:
    """The lab at ``url``, loaded: its menu bar shown."""
    page.goto(url)
    page.locator("#jp-MainMenu").wait_for()


def open_notebook(page: Page, url: str) -> Locator:
    """The lab at ``url`` (a ``/tree/<notebook>`` address), once the notebook's kernel is idle; the notebook's panel."""
    open_lab(page, url)
    panel = page.locator(".jp-NotebookPanel")
    panel.wait_for()
    wait_for_idle_kernel(page)
    return panel


def wait_for_idle_kernel(page: Page) -> None:
    """The status bar says "Python 3 (ipykernel) | Idle" (the toolbar's indicator says idle before the kernel has even started)."""
    kernel = page.locator("#jp-main-statusbar .jp-StatusBar-TextItem").filter(has_text=re.compile(r"\|\s*Idle$"))
    kernel.wait_for(timeout=KERNEL_TIMEOUT_MS)


def menu(page: Page, title: str, item: str) -> None:
    """Click ``title`` in the menu bar, then its item ``item``."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").filter(has_text=re.compile(f"^{re.escape(title)}$")).click()
    page.locator(".lm-MenuBar-menu .lm-Menu-itemLabel").filter(has_text=re.compile(f"^{re.escape(item)}$")).click()


def run_all(page: Page, until: str | None = None) -> float:
    """Run > Run All Cells; the seconds from the click until the run is over (see :data:`RUN_DONE`)."""
    start = time.perf_counter()
    menu(page, "Run", "Run All Cells")
    page.wait_for_function(RUN_DONE, arg=until, timeout=RUN_TIMEOUT_MS, polling=100)
    return time.perf_counter() - start


def code_cell(page: Page, text: str) -> Locator:
    """The code cell whose source contains ``text``."""
    return page.locator(".jp-Notebook .jp-CodeCell").filter(has=page.locator(".jp-InputArea-editor", has_text=text))


def output_text(cell: Locator) -> str:
    """The text of a cell's outputs, as rendered (an error's traceback included)."""
    return "\n".join(cell.locator(".jp-OutputArea-output").all_text_contents())


def prompt(cell: Locator) -> str:
    return cell.locator(".jp-InputPrompt").text_content().strip()


def replace_source(page: Page, cell: Locator, source: str) -> None:
    """Click into the cell's editor, select everything and put ``source`` in its place, at once.

    ``insert_text`` pastes the text as one input: typed key by key, CodeMirror's
    auto-indent and bracket closing would garble it.
    """
    cell.locator(".cm-content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)


def save(page: Page, path: Path) -> None:
    """Ctrl+S, until the notebook's file ``path`` has been written and the tab shows no unsaved changes."""
    before = path.stat().st_mtime_ns
    page.keyboard.press("Control+S")
    deadline = time.monotonic() + SAVE_TIMEOUT_S
    while path.stat().st_mtime_ns == before:
        if time.monotonic() > deadline:
            raise AssertionError(f"Ctrl+S did not write {path} within {SAVE_TIMEOUT_S} s")
        time.sleep(0.1)
    expect(page.locator(".lm-TabBar-tab.jp-mod-current.jp-mod-dirty")).to_have_count(0)


def validate(page: Page) -> tuple[Locator, str, str]:
    """Click the notebook's Validate button (nbgrader saves, then validates): the dialog, its title and its text."""
    page.locator(".jp-NotebookPanel-toolbar").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog")
    dialog.locator(".jp-Dialog-header").wait_for(timeout=VALIDATE_TIMEOUT_MS)
    title = dialog.locator(".jp-Dialog-header").inner_text().strip()
    return dialog, title, dialog.locator(".jp-Dialog-body").inner_text()


def close_dialog(dialog: Locator) -> None:
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    expect(dialog).to_have_count(0)


def lines_with_text(text: str) -> list[str]:
    """The lines of ``text`` that are not blank (a dialog's paragraphs come with blank lines between them)."""
    return [line for line in text.splitlines() if line.strip()]
