"""Prove the isolation before any student code runs: ``grade`` and ``check`` call :func:`verify_isolation`.

A probe is started exactly as a student process is (the same zygote code, the
same jail) and tries, as a hostile submission would, to reach what must stay
out of reach: a canary file made for the occasion outside the allow-list, the
repository (its README and the reference), the course, the grader's home
folder, a listener the grader opens on 127.0.0.1, and a process of the
grader's. If it reaches any of them, or if the sandbox cannot be set up at all,
:class:`IsolationError` says why in one line, and no student code runs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import tempfile
from pathlib import Path

from autograder.sandbox.process import REPO, Limits, SandboxError, StudentProcess, Zygote

WAY_OUT = (
    'Grade on a Linux machine that allows unprivileged user namespaces (README, "Threat model"), '
    "or pass --no-sandbox to run student code without any isolation (only for code you trust)."
)

PROBE = """
import json, os, signal, socket
reached = []
for path in {files!r}:
    try:
        with open(path, "rb") as f:
            f.read(1)
        reached.append("read " + path)
    except OSError:
        pass
listings = {{}}
for folder in {folders!r}:
    try:
        listings[folder] = sorted(os.listdir(folder))
    except OSError:
        pass
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).close()
    reached.append("connect to 127.0.0.1:{port}")
except OSError:
    pass
try:
    os.kill({canary_pid}, signal.SIGKILL)
except OSError:
    pass
try:
    with open("/proc/{judge_pid}/cmdline", "rb") as f:
        if f.read() == {judge_cmdline!r}:
            reached.append("see the grader in /proc")
except OSError:
    pass
print(json.dumps({{"reached": reached, "listings": listings}}))
"""


class IsolationError(Exception):
    """Student code could not be isolated here; the message is one line and ends with the way out."""


def _canary_process() -> int:
    """A process of the grader's that student code must not be able to signal."""
    pid = os.fork()
    if pid == 0:
        try:
            while True:
                signal.pause()
        finally:
            os._exit(0)
    return pid


def _on_the_way(folder: str, layout: dict) -> set[str]:
    """The names a folder may show inside the sandbox: the first steps towards what is bound or linked."""
    names = set()
    prefix = folder.rstrip("/") + "/"
    for path in [*layout["binds"], *(link for link, _ in layout["links"])]:
        if path.startswith(prefix):
            names.add(path[len(prefix) :].split("/")[0])
    return names


def verify_isolation(limits: Limits, hidden: list[Path] = ()) -> None:
    """Raise :class:`IsolationError` unless a student process here reaches none of what it must not.

    Args:
        limits: The limits grading will use (``limits.sandbox`` off: nothing to prove).
        hidden: More files or folders that must be out of reach (the course being graded).
    """
    if not limits.sandbox:
        return
    folder = Path(tempfile.mkdtemp(prefix="dlwork-canary-"))
    canary = folder / "canary.txt"
    canary.write_text(secrets.token_hex(16))
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    listener.setblocking(False)
    canary_pid = _canary_process()
    files = [str(canary), str(REPO / "README.md"), str(REPO / "source_solutions" / "initialization.py")]
    folders = [str(folder), str(REPO), str(Path.home()), *(str(p) for p in hidden)]
    with open(f"/proc/{os.getpid()}/cmdline", "rb") as f:
        cmdline = f.read()
    source = PROBE.format(
        files=files, folders=folders, port=listener.getsockname()[1], canary_pid=canary_pid, judge_pid=os.getpid(), judge_cmdline=cmdline
    )
    spawner = process = None
    try:
        spawner = Zygote(sandbox=True, preload=[])
        process = StudentProcess(folder, limits, spawner=spawner)
        reply = process.request({"op": "exec", "source": source, "label": "isolation probe"}, timeout=20)
        if not reply["ok"]:
            raise IsolationError(f"the isolation probe failed ({reply.get('exc_type')}: {reply.get('message')}). {WAY_OUT}")
        seen = json.loads(reply.get("output") or "{}")
        reached = list(seen.get("reached", []))
        for listed, names in seen.get("listings", {}).items():
            extra = sorted(set(names) - _on_the_way(listed, spawner.layout))
            if extra:
                reached.append(f"see {', '.join(extra[:3])} in {listed}")
        try:
            listener.accept()
            reached.append("connect to the grader's listener")
        except BlockingIOError:
            pass
        if os.waitpid(canary_pid, os.WNOHANG) != (0, 0):
            reached.append("kill a process of the grader's")
        if reached:
            raise IsolationError(f"student code could {'; '.join(reached)}. {WAY_OUT}")
    except SandboxError as exc:
        raise IsolationError(f"student code cannot be isolated here: {exc}. {WAY_OUT}") from None
    finally:
        if process is not None:
            process.kill()
        if spawner is not None:
            spawner.close()
        listener.close()
        try:
            os.kill(canary_pid, signal.SIGKILL)
            os.waitpid(canary_pid, 0)
        except (OSError, ChildProcessError):
            pass
        shutil.rmtree(folder, ignore_errors=True)
