"""The student process's view: what the allow-list shows, read-only; private writable folders; nothing else.

The hostile corpus (tests/test_hostile.py) attacks the sandbox from outside in;
these tests look at the view itself, with small probes run as student code.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from autograder.sandbox import Cell, IsolationError, Limits, Session, process, verify_isolation


@pytest.fixture(scope="module", autouse=True)
def isolation():
    try:
        verify_isolation(Limits())
    except IsolationError as exc:
        pytest.skip(f"no isolation here: {exc}")


def run_probe(source: str, tmp_path: Path) -> dict:
    """Run ``source`` (which sets ``result``) as student code; return ``result``."""
    session = Session([Cell("probe", source + "\ndef probe():\n    return result\n", "solution")], tmp_path, Limits())
    try:
        return session.function("probe")()
    finally:
        session.close()


def test_an_allow_listed_folder_below_tmp_stays_visible_and_read_only(tmp_path, monkeypatch):
    """A repository cloned into /tmp: its allow-listed folders are bound over the private /tmp, not hidden by it."""
    shared = tmp_path / "clone" / "datasets"
    shared.mkdir(parents=True)
    (shared / "data.txt").write_text("allowed")
    (tmp_path / "clone" / "secret.txt").write_text("not allowed")
    original = process.allow_list
    monkeypatch.setattr(process, "allow_list", lambda: [*original(), str(shared)])
    monkeypatch.setattr(process, "_ZYGOTES", {})  # a zygote of this allow-list
    try:
        result = run_probe(
            f"""
import os
result = {{"data": open({str(shared / "data.txt")!r}).read(), "listing": sorted(os.listdir({str(tmp_path / "clone")!r}))}}
try:
    open({str(shared / "new.txt")!r}, "w")
    result["write"] = "allowed"
except OSError as exc:
    result["write"] = exc.strerror
""",
            tmp_path,
        )
    finally:
        for zygote in process._ZYGOTES.values():
            zygote.close()
    assert result == {"data": "allowed", "listing": ["datasets"], "write": "Read-only file system"}


def test_the_working_folder_and_tmp_are_private_and_writable(tmp_path):
    result = run_probe(
        """
import os, tempfile
with open("notes.txt", "w") as f:
    f.write("x" * 1000)
with tempfile.NamedTemporaryFile(dir="/tmp", delete=False) as f:
    f.write(b"y")
result = {"cwd": os.getcwd(), "home": os.environ["HOME"], "cwd_files": os.listdir("."), "tmp": sorted(os.listdir("/tmp")),
          "made": os.path.basename(f.name), "uid": os.getuid(), "root": sorted(os.listdir("/"))}
""",
        tmp_path,
    )
    assert result["cwd"] == result["home"] == "/home/student" and result["cwd_files"] == ["notes.txt"]
    # /tmp holds the student's file and, when the repository itself lies below /tmp, the way to it
    on_the_way = {process.REPO.parts[2]} if process.REPO.parts[1:2] == ("tmp",) else set()
    assert result["made"] in result["tmp"] and set(result["tmp"]) <= {result["made"], *on_the_way}, result["tmp"]
    assert result["uid"] == 1000
    # the root holds the system folders and the first step of the paths bound into it (the repository, the runtime)
    bound = {Path(p).parts[1] for p in (process.REPO, sys.prefix, sys.base_prefix)}
    assert set(result["root"]) <= {"dev", "etc", "home", "lib", "lib64", "proc", "root", "tmp", "usr", *bound}, result["root"]
    assert not list(tmp_path.iterdir()), "the student's files reached the grader's folder"


def test_no_capability_no_new_privileges_no_nested_user_namespace(tmp_path):
    result = run_probe(
        """
import ctypes, os
status = dict(line.split(":", 1) for line in open("/proc/self/status"))
libc = ctypes.CDLL(None, use_errno=True)
unshared = libc.unshare(0x10000000)  # CLONE_NEWUSER
result = {key: status[key].strip() for key in ("CapEff", "CapPrm", "CapBnd", "CapAmb", "NoNewPrivs")}
result["unshare"] = (unshared, os.strerror(ctypes.get_errno()))
""",
        tmp_path,
    )
    assert result["CapEff"] == result["CapPrm"] == result["CapBnd"] == result["CapAmb"] == "0000000000000000"
    assert result["NoNewPrivs"] == "1"
    assert result["unshare"][0] == -1, result
