"""The grader holds against broken and hostile submissions, as root and as an ordinary user.

Every case of tests/hostile_corpus.py is one student; two honest students
(full marks, typical mistakes) share the run. The class is graded twice: in
this process, as whoever runs the tests (root in CI), and by
``python -m autograder grade`` run as an ordinary user with no capabilities
(tests/ordinary_user.py), as on a shared university server. For each case
and each way: the functions it attacked earn 0, the others keep full marks,
the reason is shown, nothing is lost; the canaries it aimed at (a copy of
the repository, a home folder, a listener, a process standing for the grader,
a stand-in for /etc/shadow) are untouched; afterwards no student process is
left and the repository is unchanged. The table of cases is printed (pytest -s).

Two more attacks need a run of their own: killing the grader mid-run (no
student process may survive it) and a machine where isolation cannot be set
up (grading is refused unless --no-sandbox is given).

A way that needs what this machine lacks (isolation, or root to become
another user) is skipped with the reason printed, never run unprotected.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import ordinary_user
import pytest
from conftest import copy_repository
from hostile_corpus import CASES, SHADOW_TOKEN, fill

from autograder.course.registry import REPO, STEMS
from autograder.grading.classroom import grade_class
from autograder.grading.records import read_record
from autograder.qa import sample_class
from autograder.sandbox import UID_BASE, IsolationError, Limits, verify_isolation

# Each case grades a class (twice: as this user and as an ordinary one) or kills a grader mid-run.
pytestmark = pytest.mark.slow

HONEST = [s for s in sample_class.CLASS if s.name in ("alice", "carol")]
LIMITS = Limits(call_timeout=3.0, notebook_timeout=30.0, memory_mb=1024)
LIMIT_FLAGS = ["--timeout", "30", "--call-timeout", "3", "--memory-mb", "1024"]
WAYS = ("as the current user", "as an ordinary user")


def isolation_missing() -> str | None:
    try:
        verify_isolation(Limits())
    except IsolationError as exc:
        return str(exc)
    return None


def skip_unless_possible(way: str) -> None:
    why = isolation_missing()
    if why:
        print(f"\nSKIPPED ({way}): this machine cannot isolate student code: {why}")
        pytest.skip(f"no isolation here: {why}")
    if way == WAYS[1]:
        why = ordinary_user.unavailable()
        if why:
            print(f"\nSKIPPED ({way}): {why}")
            pytest.skip(why)


def repo_fingerprint() -> str:
    h = hashlib.sha256()
    for path in sorted((REPO / p) for p in ("README.md", "source_solutions/initialization.py", "autograder/hidden/initialization.py")):
        h.update(path.read_bytes())
    return h.hexdigest()


class Listener:
    """A TCP listener on 127.0.0.1 that counts the connections it accepts."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self.open = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while self.open:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self.open = False
        self.thread.join(timeout=2)
        self.sock.close()


def python_env(home: Path, tmp: Path) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "TMPDIR": str(tmp), "LANG": "C.UTF-8"}


def processes() -> dict[int, tuple[int, str, bytes]]:
    """pid -> (uid, state, cmdline) of every process of the machine."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                status = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        found[int(entry)] = (int(fields["Uid"].split()[0]), fields["State"].split()[0], cmdline)
    return found


def alive(pid: int) -> bool:
    state = processes().get(pid)
    return state is not None and state[1] != "Z"


# ------------------------------------------------------------------ the corpus, graded two ways


@dataclasses.dataclass
class Run:
    way: str
    course: Path
    base: Path
    listener: Listener
    grader_standin: subprocess.Popen
    before: str
    output: str = ""


def write_corpus(course: Path, context: dict[str, str]) -> None:
    sample_class.write_class(course, HONEST)
    for case in CASES:
        student = sample_class.Student(case.name, case.attack, {f: fill(r, context) for f, r in case.functions.items()})
        folder = course / "submitted" / case.name / case.stem
        folder.mkdir(parents=True)
        release = nbformat.read(course / "release" / case.stem / f"{case.stem}.ipynb", as_version=4)
        path = folder / f"{case.stem}.ipynb"
        nbformat.write(sample_class.make_notebook(release, case.stem, student), path)
        if case.file_hook:
            case.file_hook(path)


@pytest.fixture(scope="module", params=WAYS)
def run(request, built_course, tmp_path_factory):
    way = request.param
    skip_unless_possible(way)
    course = built_course.fresh_copy(tmp_path_factory, "hostile-" + way.split()[-1])
    base = course.parent
    repo_copy = base / "backup" / "dl-workbook"  # "a full copy of the repository in another temp folder"
    copy_repository(repo_copy)
    home = base / "home"
    home.mkdir()
    (home / "secret-notes.txt").write_text("the grading user's private notes\n")
    (base / "tmp").mkdir()
    listener = Listener()
    standin_argv = [sys.executable, "-c", "import time; time.sleep(900)  # stands for the grader"]
    if way == WAYS[0]:
        standin = subprocess.Popen(standin_argv)
    else:
        standin = ordinary_user.popen(standin_argv, [REPO], Path("/"), python_env(home, base / "tmp"))
    context = {
        "REPO_COPY": str(repo_copy),
        "HOME_CANARY": str(home / "secret-notes.txt"),
        "REPO": str(REPO),
        "PORT": listener.port,
        "GRADER_PID": standin.pid,
    }
    write_corpus(course, context)
    time.sleep(0.5)
    assert standin.poll() is None, "the process standing for the grader did not start"
    result = Run(way, course, base, listener, standin, repo_fingerprint())
    try:
        if way == WAYS[0]:
            with pytest.MonkeyPatch.context() as patch:
                patch.setenv("HOME", str(home))
                grade_class(course, workers=2, limits=LIMITS, quiet=True)
        else:
            ordinary_user.give(base)
            argv = [sys.executable, "-m", "autograder", "grade", "--course", str(course), "--workers", "2", *LIMIT_FLAGS]
            done = ordinary_user.run(argv, [REPO, base], REPO, python_env(home, base / "tmp"))
            result.output = done.stdout + done.stderr
            # 1: the corpus holds submissions that cannot be graded (corrupt, symlinked, looping); none by a fault of ours
            assert done.returncode == 1 and "grader fault" not in result.output, result.output[-3000:]
        yield result
    finally:
        listener.close()
        standin.kill()
        standin.wait()


def shown(record: dict) -> str:
    """Everything the student is told: diagnoses, notes, notebook-level problems."""
    return " ".join([*record["problems"], *(f["diagnosis"] for f in record["functions"])])


def test_every_case_is_graded_honestly(run):
    rows, failures = [("case", "expected", "got", "reason shown")], []
    for case in CASES:
        record = read_record(run.course, case.name, case.stem)
        if record is None:
            failures.append(f"{case.name}: no record")
            continue
        got = {f["function"]: f["points"] for f in record["functions"]}
        full = {f["function"]: f["max_points"] for f in record["functions"]}
        if case.ungraded:
            expected = "not graded, flagged"
            ok = not record["graded"] and record["points"] == 0
        else:
            expected_points = {f: 0.0 if f in case.zero else full[f] for f in full}
            expected = ", ".join(f"{f}=0" for f in full if f in case.zero) or "full marks"
            ok = got == expected_points and record["graded"]
        if case.reason and case.reason.lower() not in shown(record).lower():
            ok = False
        ok = ok and record.get("sandbox") is True
        total = f"{record['points']:g}/{record['max_points']:g}" + ("" if record["graded"] else " (not graded)")
        rows.append((case.name, expected, total, (shown(record)[:90] or "-").replace("\n", " ")))
        if not ok:
            failures.append(f"{case.name}: expected {expected}, got {got}, shown: {shown(record)[:300]}")
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    print(f"\n{run.way}:\n" + "\n".join(f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:<{widths[2]}}  {r[3]}" for r in rows))
    assert len(CASES) >= 45
    assert not failures, "\n".join(failures)


def test_honest_students_get_their_grades(run):
    for stem in STEMS:
        alice = read_record(run.course, "alice", stem)
        assert alice["points"] == alice["max_points"]
    carol = read_record(run.course, "carol", "01_initialization")
    he = next(f for f in carol["functions"] if f["function"] == "initialize_parameters_he")
    assert 0 <= he["points"] < he["max_points"] and "current layer" in he["diagnosis"]


def test_every_submission_has_a_gradebook_record_and_the_gradebook_is_sound(run):
    from nbgrader.api import Gradebook

    assert sqlite3.connect(run.course / "gradebook.db").execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    with Gradebook(f"sqlite:///{run.course / 'gradebook.db'}") as gb:
        for case in CASES:
            submission = gb.find_submission(case.stem, case.name)
            assert submission.score == pytest.approx(read_record(run.course, case.name, case.stem)["points"])


def test_the_canaries_are_untouched(run):
    """Nothing reached the listener or the grader's stand-in; no secret a link pointed at was read into the course."""
    assert run.listener.connections == 0
    assert run.grader_standin.poll() is None, "the process standing for the grader was killed"
    for path in (run.course / "grades").rglob("*"), (run.course / "autograded").rglob("*"):
        for file in path:
            if file.is_file():
                assert SHADOW_TOKEN not in file.read_text(errors="replace"), file
    solutions = nbformat.read(run.course / "source" / "01_initialization" / "01_initialization.ipynb", as_version=4)
    solution_text = next(c.source for c in solutions.cells if "BEGIN SOLUTION" in c.source)
    for name in ("symlink-solutions", "symlink-folder"):
        autograded = run.course / "autograded" / name / "01_initialization" / "01_initialization.ipynb"
        assert solution_text not in autograded.read_text()
    assert not list(run.base.rglob("pwned")), "a student name reached a shell"


def test_no_student_process_is_left_and_the_repository_is_untouched(run):
    left = []
    for pid, (uid, state, cmdline) in processes().items():
        ours = uid >= UID_BASE if run.way == WAYS[0] else (uid == ordinary_user.USER_UID and pid != run.grader_standin.pid)
        if ours and state != "Z":
            left.append((pid, uid, cmdline[:100]))
    assert not left, left
    assert repo_fingerprint() == run.before


# ------------------------------------------------------------------ killing the grader mid-run


def _daemon_he(marker: str) -> sample_class.Raw:
    """He that starts a daemon (setsid, double fork) named by ``marker``, then never returns."""
    return sample_class.Raw(
        "def initialize_parameters_he(layers_dims, rng):\n"
        "    import os, subprocess, sys\n"
        f"    subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)  # {marker}'], start_new_session=True)\n"
        "    if os.fork() == 0:\n"
        "        os.setsid()\n"
        "        if os.fork() == 0:\n"
        f"            os.execv(sys.executable, [sys.executable, '-c', 'import time; time.sleep(601)  # {marker}'])\n"
        "        os._exit(0)\n"
        "    while True:\n"
        "        pass\n"
    )


@pytest.mark.parametrize("way", WAYS)
def test_killing_the_grader_mid_run_leaves_no_student_process(way, built_course, tmp_path_factory):
    skip_unless_possible(way)
    course = built_course.fresh_copy(tmp_path_factory, "killed")
    marker = f"dlwork-orphan-{secrets.token_hex(4)}"
    students = [
        sample_class.Student(f"looper{i}", "starts daemons, then loops", {"initialize_parameters_he": _daemon_he(marker)}) for i in range(2)
    ]
    sample_class.write_class(course, students)
    argv = [
        sys.executable,
        "-m",
        "autograder",
        "grade",
        "--course",
        str(course),
        "--workers",
        "2",
        "--timeout",
        "300",
        "--call-timeout",
        "120",
    ]
    (course.parent / "tmp").mkdir()
    env = python_env(course.parent, course.parent / "tmp")
    if way == WAYS[0]:
        grader = subprocess.Popen(argv, cwd=REPO, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        ordinary_user.give(course.parent)
        grader = ordinary_user.popen(argv, [REPO, course.parent], REPO, env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            daemons = [pid for pid, (_, _, cmd) in processes().items() if marker.encode() in cmd]
            if len(daemons) >= 2:
                break
            time.sleep(0.2)
        assert len(daemons) >= 2, "the submissions' daemons never started"
        family = _descendants(grader.pid)
        assert len(family) > len(daemons), "no worker, zygote or student process found under the grader"
    finally:
        grader.kill()
        grader.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        survivors = [pid for pid in family if alive(pid)] + [
            pid for pid, (_, state, cmd) in processes().items() if marker.encode() in cmd and state != "Z"
        ]
        if not survivors:
            break
        time.sleep(0.2)
    assert not survivors, [processes().get(pid) for pid in survivors]


def _descendants(root: int) -> set[int]:
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    found, frontier = set(), {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


# ------------------------------------------------------------------ a machine that cannot isolate


@pytest.mark.parametrize("way", WAYS)
def test_grading_is_refused_where_isolation_fails_unless_no_sandbox(way, built_course, tmp_path_factory):
    """With user namespaces forbidden (max_user_namespaces = 0, as some distributions ship), grade refuses in one line."""
    skip_unless_possible(way)
    course = built_course.fresh_copy(tmp_path_factory, "refused")
    sample_class.write_class(course, [s for s in sample_class.CLASS if s.name == "alice"])
    (course.parent / "tmp").mkdir()
    env = python_env(course.parent, course.parent / "tmp")

    def grade(*flags: str) -> subprocess.CompletedProcess:
        python = f"{sys.executable} -m autograder grade --course {course} --workers 1 {' '.join(flags)}"
        argv = [
            "/usr/bin/unshare",
            "--user",
            "--map-root-user",
            "/bin/sh",
            "-c",
            f"echo 0 > /proc/sys/user/max_user_namespaces && exec {python}",
        ]
        if way == WAYS[0]:
            return subprocess.run(argv, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=300)
        ordinary_user.give(course.parent)
        return ordinary_user.run(argv, [REPO, course.parent], REPO, env, timeout=300)

    refused = grade()
    assert refused.returncode == 2, refused.stdout + refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:"), refused.stderr
    assert "max_user_namespaces" in lines[0] and "--no-sandbox" in lines[0]
    assert not (course / "grades").exists(), "a record was written although grading was refused"

    allowed = grade("--no-sandbox")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert "sandbox: OFF" in allowed.stdout
    records = [json.loads(p.read_text()) for p in (course / "grades").rglob("*.json")]
    assert len(records) == len(STEMS)
    assert all(r["sandbox"] is False and r["points"] == r["max_points"] for r in records)
