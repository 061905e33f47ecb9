"""Fixtures of the browser tests: the learner's lab (``make lab``) and headless Chromium.

These tests need Debian's chromium and the playwright package, which ``make test``
does not install: a run that does not name this folder (``pytest``, ``make test``,
``make test-fast``) does not collect them, and this file imports playwright only
inside the fixtures. ``make test-browser`` installs both and runs ``pytest tests/browser``.

One lab serves the whole session, started as a learner starts it, by ``make lab``,
on a workspace in pytest's temporary folder, prepared before the start:

* ``01_initialization.ipynb``: every function correct but He initialization,
  which has a typical mistake from the catalogue (:data:`MISTAKE`);
* ``solved/``: the three notebooks solved with the reference (notebook 02 reads
  notebook 01's functions from the same folder, 03 reads 02's);
* the other notebooks, copied by ``make lab`` itself.

Screenshots, the server's log and the browser's console go to the artifacts folder
(``BROWSER_ARTIFACTS``, or one under pytest's temporary folder); the end of the run
prints where it is, with the Run All timings and what the Validate dialogs said.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.course.registry import NOTEBOOK_DIR, REPO, STEMS

HERE = Path(__file__).resolve().parent
CHROMIUM = "/usr/bin/chromium"
# The network here is closed: without the background-networking flags Chromium keeps trying to reach Google's hosts.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
VIEWPORT = {"width": 1400, "height": 900}
ACTION_TIMEOUT_MS = 60_000  # one click, one selector: generous, the machine has 2 cores
START_TIMEOUT_S = 180  # make lab until the server answers
MISTAKE = "he-current-layer"  # the catalogue's He scaled by the current layer's size instead of the previous one's
SOLVED = "solved"  # the workspace's folder of solved notebooks


# ---------------------------------------------------------------- collection: only when asked for


def _named_here(config: pytest.Config) -> bool:
    """Whether the command line names this folder or a file in it (``pytest tests/browser``)."""
    base = config.invocation_params.dir
    for arg in config.args:
        path = (base / arg.split("::")[0]).resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave the browser tests out of every run that does not name this folder."""
    if collection_path.name.startswith("test_") and not _named_here(config):
        return True
    return None


# ---------------------------------------------------------------- what the run reports


@dataclass
class Report:
    """What the end of the run prints: timings, dialogs, screenshots, the lab's complaints."""

    artifacts: Path
    timings: dict[str, float] = field(default_factory=dict)  # notebook -> seconds of Run All
    notes: list[str] = field(default_factory=list)
    browser_errors: list[str] = field(default_factory=list)  # uncaught page errors and console errors
    server_log: Path | None = None

    def note(self, text: str) -> None:
        self.notes.append(text)

    def screenshot(self, target, name: str) -> Path:
        """A PNG of ``target`` (a page or a locator) in the artifacts folder."""
        path = self.artifacts / f"{name}.png"
        target.screenshot(path=str(path))
        self.note(f"screenshot {path.name}")
        return path


REPORT = pytest.StashKey[Report]()


@pytest.fixture(scope="session")
def report(pytestconfig, tmp_path_factory) -> Report:
    """The session's report; its artifacts folder is ``BROWSER_ARTIFACTS`` or one under pytest's temporary folder."""
    folder = Path(os.environ["BROWSER_ARTIFACTS"]) if os.environ.get("BROWSER_ARTIFACTS") else tmp_path_factory.mktemp("browser-artifacts")
    folder.mkdir(parents=True, exist_ok=True)
    pytestconfig.stash[REPORT] = found = Report(artifacts=folder.resolve())
    return found


def server_complaints(log: Path) -> list[str]:
    """The server log's warning and error lines (``[W ...]``, ``[E ...]``) and tracebacks' last lines."""
    lines = log.read_text(errors="replace").splitlines()
    return [line for line in lines if line.startswith(("[W ", "[E ", "[C ")) or line.startswith("Traceback")]


def pytest_terminal_summary(terminalreporter, config: pytest.Config) -> None:
    """Print the Run All timings, the dialogs, the lab's complaints and where the screenshots are."""
    found = config.stash.get(REPORT, None)
    if found is None:
        return
    write = terminalreporter.write_line
    terminalreporter.section("the learner's lab in Chromium")
    for stem, seconds in found.timings.items():
        write(f"Run All {stem}: {seconds:.1f} s from the click to an idle kernel with every cell run")
    for note in found.notes:
        write(note)
    write(f"browser errors: {len(found.browser_errors)}")
    for line in found.browser_errors[:20]:
        write(f"  {line}")
    if found.server_log and found.server_log.is_file():
        complaints = server_complaints(found.server_log)
        write(f"server log: {found.server_log} ({len(complaints)} warning or error lines)")
        for line in complaints[:20]:
            write(f"  {line[:300]}")
    write(f"artifacts (screenshots, logs): {found.artifacts}")


# ---------------------------------------------------------------- the workspace and the lab


@pytest.fixture(scope="session")
def mistake():
    """The catalogue's variant in the workspace's notebook 01 (a wrong He initializer)."""
    from autograder.qa import catalogue

    return catalogue.by_id()[MISTAKE]


def read_notebook(stem: str):
    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


def prepare_workspace(workspace: Path, mistake) -> None:
    """Notebook 01 with ``mistake`` (the reference in the other solution cells) and the solved notebooks in ``solved/``."""
    from autograder.course.contract import solve_notebook
    from autograder.qa.mutants import make_notebook

    (workspace / SOLVED).mkdir(parents=True)
    nbformat.write(make_notebook(mistake, read_notebook(mistake.stem)), workspace / f"{mistake.stem}.ipynb")
    for stem in STEMS:
        nbformat.write(solve_notebook(read_notebook(stem), stem), workspace / SOLVED / f"{stem}.ipynb")


@dataclass(frozen=True)
class Lab:
    """A running ``make lab``: its address, token, workspace and log."""

    url: str
    token: str
    workspace: Path
    log: Path

    def address(self, layout: str, path: str = "") -> str:
        """The lab in its own saved layout ``layout`` (so tests do not reopen each other's tabs), with ``path`` open."""
        tree = f"/tree/{path}" if path else ""
        return f"{self.url}/lab/workspaces/{layout}{tree}?token={self.token}"

    def api(self, path: str, method: str = "GET", timeout: float = 10) -> object:
        request = urllib.request.Request(f"{self.url}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _log_tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])


def _wait_until_serving(lab: Lab, server: subprocess.Popen) -> None:
    """Poll the server's status until it answers; fail with the log's end if make exits or time runs out."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"make lab exited with {server.returncode} before serving:\n{_log_tail(lab.log)}")
        try:
            lab.api("status", timeout=2)
            return
        except (OSError, urllib.error.URLError):
            time.sleep(0.5)
    pytest.fail(f"make lab did not serve within {START_TIMEOUT_S} s:\n{_log_tail(lab.log)}")


def _own_kernels(runtime: Path) -> list[int]:
    """Pids of kernels started with a connection file in ``runtime`` (ours alone: the folder is this session's)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if str(runtime).encode() in (proc / "cmdline").read_bytes():
                    pids.append(int(proc.name))
            except OSError:
                continue
    return pids


def _stop(lab: Lab, server: subprocess.Popen, runtime: Path) -> None:
    """Shut the server down as its API does (kernels first); then the process group; then any kernel left."""
    try:
        lab.api("shutdown", method="POST", timeout=30)
    except (OSError, urllib.error.URLError):
        pass
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        for sig, wait in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
            try:
                os.killpg(server.pid, sig)
                server.wait(timeout=wait)
                break
            except (ProcessLookupError, subprocess.TimeoutExpired):
                continue
    for pid in _own_kernels(runtime):  # kernels run in sessions of their own: the group kill misses them
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture(scope="session")
def lab(tmp_path_factory, mistake, report) -> Iterator[Lab]:
    """``make lab`` on a prepared workspace, on a free port, with a token; stopped (kernels included) at the end.

    Jupyter's own folders (configuration, runtime, IPython) are this session's, so
    neither the settings and saved layouts of whoever runs the tests nor an earlier
    run change what the browser sees; the lab's configuration is the repository's
    ``notebooks/lab_config``, which ``make lab`` adds.
    """
    root = tmp_path_factory.mktemp("lab")
    workspace, home = root / "workspace", root / "jupyter"
    prepare_workspace(workspace, mistake)
    token = secrets.token_hex(16)
    port = _free_port()
    runtime = home / "runtime"
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(home / "config"),
        "JUPYTER_RUNTIME_DIR": str(runtime),
        "IPYTHONDIR": str(home / "ipython"),
    }
    args = f"--no-browser --ServerApp.ip=127.0.0.1 --port={port} --ServerApp.port_retries=0 --IdentityProvider.token={token}"
    log = root / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "lab", f"WORKSPACE={workspace}", f"LAB_ARGS={args}"],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: make, the shell and jupyter go together
        )
    started = Lab(url=f"http://127.0.0.1:{port}", token=token, workspace=workspace, log=log)
    try:
        _wait_until_serving(started, server)
        yield started
    finally:
        _stop(started, server, runtime)
        shutil.copy(log, report.artifacts / "server.log")
        report.server_log = report.artifacts / "server.log"


# ---------------------------------------------------------------- the browser


@pytest.fixture(scope="session")
def chromium():
    """Debian's Chromium, headless, driven by Playwright (which never downloads a browser of its own here)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: make test-browser installs it (apt-get install chromium)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=ACTION_TIMEOUT_MS)  # its default, 5 s, is short for this machine
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield browser
        finally:
            browser.close()


class Pages:
    """Opens browser pages in fresh contexts and closes them; screenshots every open page when a test fails."""

    def __init__(self, browser, report: Report):
        self.browser, self.report, self.open = browser, report, []

    def new(self, name: str):
        context = self.browser.new_context(viewport=VIEWPORT)
        context.set_default_timeout(ACTION_TIMEOUT_MS)
        page = context.new_page()
        page.on("pageerror", lambda error: self.report.browser_errors.append(f"{name}: page error: {error}"))
        page.on("console", lambda message: self._console(name, message))
        self.open.append((name, page))
        return page

    def _console(self, name: str, message) -> None:
        if message.type == "error":
            self.report.browser_errors.append(f"{name}: console: {message.text[:300]}")

    def on_failure(self, test: str, since: int) -> None:
        """Screenshots of the pages the test opened (from index ``since``), or else of the last page opened."""
        for name, page in self.open[since:] or self.open[-1:]:
            if not page.is_closed():
                try:
                    self.report.screenshot(page, f"FAILED-{test}-{name}")
                except Exception as error:  # noqa: BLE001 - a screenshot must not hide the failure it documents
                    self.report.note(f"no screenshot of {name}: {error}")

    def close(self) -> None:
        for _, page in self.open:
            page.context.close()
        self.open.clear()


PHASES = pytest.StashKey[dict]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's outcome on the test, for the failure screenshots."""
    outcome = yield
    item.stash.setdefault(PHASES, {})[outcome.when] = outcome
    return outcome


def _failed(request) -> bool:
    phases = request.node.stash.get(PHASES, {})
    return any(phase.failed for phase in phases.values())


@pytest.fixture(scope="module")
def module_pages(chromium, report) -> Iterator[Pages]:
    """Pages shared by the tests of a module (one learner's session, step after step)."""
    pages = Pages(chromium, report)
    yield pages
    pages.close()


@pytest.fixture(autouse=True)
def screenshot_on_failure(request, module_pages) -> Iterator[None]:
    """A screenshot of the pages a test worked on, when it fails."""
    since = len(module_pages.open)
    yield
    if _failed(request):
        module_pages.on_failure(request.node.name.replace("/", "_"), since)
