"""Run a command as an ordinary user, as an instructor on a shared server would run the grader.

CI runs as root; the grader must give the same guarantees without root. The
tests therefore run it as uid :data:`USER_UID`, with no capabilities, through
this file: as root, in a mount namespace of its own (``unshare --mount``,
private, gone when the command ends), every folder on the way to what the
command needs that others may not enter (root's home holding the Python
runtime, pytest's temporary folders) is covered by an open tmpfs into which
only the children on the way are bound back. Then it becomes the ordinary
user and executes the command. Nothing changes on the machine itself.

    python tests/ordinary_user.py JSON   # {"argv": [...], "paths": [...], "cwd": ..., "env": {...}}
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

USER_UID = 64123  # no account has it: every process of this uid is the test's


def unavailable() -> str | None:
    """Why commands cannot be run as another user here, or None."""
    if os.geteuid() != 0:
        return "becoming another user needs root (CI runs as root)"
    if shutil.which("unshare") is None:
        return "util-linux's unshare is not installed"
    return None


def give(path: Path) -> None:
    """Make ``path`` (a folder of the test's own) and everything in it the ordinary user's."""
    for root, dirs, files in os.walk(path):
        for name in [root, *(os.path.join(root, d) for d in dirs), *(os.path.join(root, f) for f in files)]:
            os.lchown(name, USER_UID, USER_UID)


def run(argv: list[str], paths: list[Path], cwd: Path, env: dict[str, str], timeout: float = 600, **popen) -> subprocess.CompletedProcess:
    """``argv`` as :data:`USER_UID`, able to reach ``paths`` (and what permissions already allow)."""
    spec = {"argv": argv, "paths": [str(p) for p in paths], "cwd": str(cwd), "env": env}
    command = ["unshare", "--mount", "--propagation", "private", sys.executable, __file__, json.dumps(spec)]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, **popen)


def popen(argv: list[str], paths: list[Path], cwd: Path, env: dict[str, str], **kwargs) -> subprocess.Popen:
    spec = {"argv": argv, "paths": [str(p) for p in paths], "cwd": str(cwd), "env": env}
    command = ["unshare", "--mount", "--propagation", "private", sys.executable, __file__, json.dumps(spec)]
    return subprocess.Popen(command, **kwargs)


def _expose(targets: list[str]) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    MS_BIND, MS_REC = 4096, 16384
    closed: dict[str, set[str]] = {}
    for target in targets:
        real = os.path.realpath(target)
        parts = real.strip("/").split("/")
        for i in range(1, len(parts)):
            folder = "/" + "/".join(parts[:i])
            if not os.stat(folder).st_mode & 0o001:
                closed.setdefault(folder, set()).add(folder + "/" + parts[i])
        if os.path.isdir(real) and not os.stat(real).st_mode & 0o001:  # a closed target (a clone in mktemp -d): all of it
            closed.setdefault(real, set()).update(os.path.join(real, name) for name in os.listdir(real))
    for folder in sorted(closed, key=lambda f: f.count("/")):  # shallowest first
        fds = {child: os.open(child, os.O_PATH) for child in sorted(closed[folder]) if os.path.exists(child)}
        if libc.mount(b"tmpfs", folder.encode(), b"tmpfs", 0, b"mode=0755,size=64k") != 0:
            raise OSError(ctypes.get_errno(), f"cannot cover {folder}")
        for child, fd in fds.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(child)
            else:
                open(child, "w").close()
            if libc.mount(f"/proc/self/fd/{fd}".encode(), child.encode(), None, MS_BIND | MS_REC, None) != 0:
                raise OSError(ctypes.get_errno(), f"cannot bind {child}")
            os.close(fd)


def main() -> None:
    spec = json.loads(sys.argv[1])
    _expose(spec["paths"] + [sys.executable, spec["cwd"]])
    os.chdir(spec["cwd"])
    os.setgroups([])
    os.setresgid(USER_UID, USER_UID, USER_UID)
    os.setresuid(USER_UID, USER_UID, USER_UID)  # from root to an ordinary uid: every capability goes
    os.execve(spec["argv"][0], spec["argv"], spec["env"])


if __name__ == "__main__":
    main()
