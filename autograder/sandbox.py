"""Run a student's notebook code in a separate, limited process and call into it.

The judge never imports or executes student code itself. A
:class:`StudentProcess` runs :mod:`autograder.sandbox_runner` as a script under
``python -I`` (no PYTHONPATH, no user site, not the repository on the path),
with resource limits, its own session (so the whole process group can be
killed), stdout/stderr discarded at the file-descriptor level, and two pipes
for requests and replies in the plain-data wire format.

A :class:`Session` runs the cells of one notebook and hands out
:class:`StudentFunction` proxies. When a call hangs or kills the process, the
session restarts it for the next function (skipping a cell that hung while
loading), so one broken function never costs the points of another.
"""

from __future__ import annotations

import atexit
import builtins
import json
import os
import shutil
import tempfile
import selectors
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import sandbox_runner as wire

RUNNER = Path(wire.__file__).resolve()
SUPPORT_DIR = Path(__file__).resolve().parent.parent / "notebooks"  # holds dlwork/
DATASETS_DIR = Path(__file__).resolve().parent.parent / "datasets"
FIXTURES_DIR = Path(__file__).resolve().parent / "student_fixtures"


@dataclass
class Limits:
    """Per-notebook limits. All are configurable from the command line."""

    call_timeout: float = 10.0  # seconds for one call into student code (or one cell)
    notebook_timeout: float = 60.0  # seconds for everything one notebook may use
    memory_mb: int = 2048  # address space of the student process
    output_mb: int = 16  # largest file the student process may write
    hide: tuple[str, ...] = ()  # more folders student code must not see (e.g. the course being graded)


class StudentTimeout(BaseException):
    """Student code did not finish in time. A BaseException so no check swallows it."""


class StudentCrashed(BaseException):
    """The student process died (os._exit, a signal, out of memory)."""


class StudentException(Exception):
    """The student's code raised an exception that is not a Python built-in."""


class NotDefined(Exception):
    """The notebook does not define the function the check asked for."""


def _exception_for(reply: dict) -> BaseException:
    """Re-create the student's exception on the judge side, as plain data."""
    name, message = reply.get("exc_type", "Exception"), reply.get("message", "")
    where = reply.get("where") or ""
    if name == "NotDefined":
        return NotDefined(message)
    cls = getattr(builtins, name, None)
    if reply.get("exc_builtin") and isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(message)
        except Exception:  # noqa: BLE001 - e.g. UnicodeDecodeError needs 5 arguments
            exc = StudentException(f"{name}: {message}")
    else:
        # SystemExit / KeyboardInterrupt / custom classes arrive as an ordinary Exception:
        # the checks must not be stopped by them.
        exc = StudentException(f"{name}: {message}" if message else name)
    exc.student_where = where  # type: ignore[attr-defined]
    exc.student_type = name  # type: ignore[attr-defined]
    return exc


REPO = Path(__file__).resolve().parent.parent
# Never visible to student code (when the grader runs as root; see README, "Threat model").
HIDDEN_PATHS = [REPO / name for name in ("autograder", "source_solutions", "tests", "benchmarks", ".git", "course", "demo")]
# As root, each student process runs as uid UID_BASE + its pid: unprivileged, and its own.
UID_BASE = 200_000


def _child_limits(limits: Limits, cwd: Path) -> dict:
    return {
        "memory_mb": limits.memory_mb,
        "output_mb": limits.output_mb,
        "cpu_seconds": int(limits.notebook_timeout) + 5,
        "hide": [str(p) for p in [*HIDDEN_PATHS, *limits.hide]],
        # what student code must still reach once it runs as an unprivileged user
        "expose": [sys.base_prefix, sys.prefix, str(SUPPORT_DIR), str(DATASETS_DIR), tempfile.gettempdir(), str(cwd)],
        "uid_base": UID_BASE,
    }


def prepare_workdir(path: Path) -> Path:
    """A working folder the unprivileged student process can write to."""
    path.mkdir(parents=True, exist_ok=True)  # the student process makes it its own (chown) at start
    return path


def kill_user_processes(uid: int) -> int:
    """SIGKILL every process running as ``uid``; returns how many were found."""
    found = 0
    for _ in range(5):  # a process may fork while we look: look again until none is left
        pids = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/status") as status:
                    for line in status:
                        if line.startswith("Uid:"):
                            if uid in map(int, line.split()[1:]):
                                pids.append(int(entry))
                            break
            except OSError:
                continue
        if not pids:
            break
        found += len(pids)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
    return found


def student_env(home: Path) -> dict[str, str]:
    """The whole environment of student code: nothing of the grader's leaks in."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(home),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "DLWORK_DATA": str(DATASETS_DIR),
        # one Matplotlib cache for all student processes: building it costs seconds
        "MPLCONFIGDIR": str(Path(tempfile.gettempdir()) / f"dlwork-mpl-{os.getuid()}"),
    }


# Imported once by the zygote, so that each student process starts warm.
PRELOAD = ["numpy", "matplotlib", "matplotlib.pyplot", "h5py", "dlwork", "dlwork.network", "dlwork.vectorize", "dlwork.data", "dlwork.plots", "dlwork.checks", "grader_fixtures"]


class Zygote:
    """A fork server: one warm process per judge process that forks student processes.

    Starting Python and importing NumPy and Matplotlib costs far more than
    judging a notebook; forking a process that already has them costs
    milliseconds. Children get their own session, limits and pipes.
    """

    def __init__(self, support_dir: Path = SUPPORT_DIR):
        import socket

        self.owner = os.getpid()
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.home = Path(tempfile.mkdtemp(prefix="dlwork-zygote-"))
        self.proc = subprocess.Popen(
            [sys.executable, "-I", str(RUNNER), "zygote", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=str(self.home),
            env=student_env(self.home),
        )
        theirs.close()
        self.sock = ours
        setup = {"sys_path": [str(support_dir), str(FIXTURES_DIR)], "preload": PRELOAD}
        socket.send_fds(self.sock, [json.dumps(setup).encode()], [])
        self.sock.settimeout(60)
        if self.sock.recv(16) != b"ready":
            raise RuntimeError("the zygote did not start")

    def alive(self) -> bool:
        return self.owner == os.getpid() and self.proc.poll() is None

    def spawn(self, cwd: Path, limits: Limits) -> tuple[int, int, int]:
        """(pid, fd to write requests to, fd to read replies from) of a new student process."""
        import socket

        prepare_workdir(cwd)
        to_child_r, to_child_w = os.pipe()
        from_child_r, from_child_w = os.pipe()
        try:
            request = {"cwd": str(cwd), "limits": _child_limits(limits, cwd)}
            socket.send_fds(self.sock, [json.dumps(request).encode()], [to_child_r, from_child_w])
            pid = json.loads(self.sock.recv(1 << 12))["pid"]
        finally:
            os.close(to_child_r)
            os.close(from_child_w)
        return pid, to_child_w, from_child_r

    def close(self) -> None:
        try:
            self.sock.close()
            self.proc.kill()
            self.proc.wait(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        shutil.rmtree(self.home, ignore_errors=True)


_ZYGOTE: Zygote | None = None


def zygote() -> Zygote:
    """This process's zygote (a new one after a fork, or if the old one died)."""
    global _ZYGOTE
    if _ZYGOTE is None or not _ZYGOTE.alive():
        if _ZYGOTE is not None and _ZYGOTE.owner == os.getpid():
            _ZYGOTE.close()
        _ZYGOTE = Zygote()
        atexit.register(_ZYGOTE.close)
    return _ZYGOTE


class StudentProcess:
    """One running student process; talks the wire protocol with timeouts."""

    def __init__(self, cwd: Path, limits: Limits, use_zygote: bool = True):
        self.limits = limits
        self.dead = False
        self.proc = None
        if use_zygote:
            self.pid, self._to_child, self._from_child = zygote().spawn(cwd, limits)
        else:
            prepare_workdir(cwd)
            to_child_r, self._to_child = os.pipe()
            self._from_child, from_child_w = os.pipe()
            child_limits = _child_limits(limits, cwd)
            self.proc = subprocess.Popen(
                [sys.executable, "-I", str(RUNNER), str(to_child_r), str(from_child_w)],
                pass_fds=(to_child_r, from_child_w),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                cwd=str(cwd),
                env=student_env(cwd),
                start_new_session=True,
            )
            self.pid = self.proc.pid
            os.close(to_child_r)
            os.close(from_child_w)
            self._send({"cwd": str(cwd), "sys_path": [str(SUPPORT_DIR), str(FIXTURES_DIR)], "preload": PRELOAD, "limits": child_limits})
        self._receive(timeout=30.0)

    # -- plumbing
    def _send(self, message) -> None:
        try:
            wire.write_frame(self._to_child, wire.encode(message, allow_refs=True))
        except (BrokenPipeError, OSError) as exc:
            self.kill()
            raise StudentCrashed("the notebook's process had already stopped") from exc

    def _receive(self, timeout: float):
        deadline = time.monotonic() + timeout
        buffer = bytearray()

        def need(n: int) -> bytes:
            while len(buffer) < n:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    self.kill()
                    raise StudentTimeout(f"did not finish within {timeout:g} s")
                with selectors.DefaultSelector() as sel:
                    sel.register(self._from_child, selectors.EVENT_READ)
                    if not sel.select(remaining):
                        continue
                chunk = os.read(self._from_child, 1 << 20)
                if not chunk:
                    code = self._exit_code()
                    self.kill()
                    raise StudentCrashed(_describe_exit(code))
                buffer.extend(chunk)
            data = bytes(buffer[:n])
            del buffer[:n]
            return data

        import json
        import struct

        (size,) = struct.unpack(">I", need(4))
        if size > wire.MAX_FRAME:
            self.kill()
            raise StudentCrashed("sent a reply larger than the grader accepts")
        try:
            header = json.loads(need(size))
            if not isinstance(header, dict) or not isinstance(header.get("blobs"), int):
                raise ValueError("not a frame header")
        except ValueError as exc:  # garbage on the pipe is the student's doing
            self.kill()
            raise StudentCrashed(f"wrote garbage into the grader's channel ({type(exc).__name__})") from exc
        blobs, total = [], size
        for _ in range(int(header["blobs"])):
            (n,) = struct.unpack(">Q", need(8))
            total += n
            if total > wire.MAX_FRAME:
                self.kill()
                raise StudentCrashed("sent a reply larger than the grader accepts")
            blobs.append(need(n))
        try:
            return wire.decode_body(header, blobs)
        except Exception as exc:  # noqa: BLE001 - garbage on the pipe is the student's doing
            self.kill()
            raise StudentCrashed(f"sent an unreadable reply ({exc})") from exc

    def _exit_code(self):
        if self.proc is None:  # a zygote's child: the zygote reaps it, its status is not ours to read
            return None
        try:
            return self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            return None

    # -- requests
    def request(self, message: dict, timeout: float | None = None) -> dict:
        if self.dead:
            raise StudentCrashed("the notebook's process had already stopped")
        self._send(message)
        reply = self._receive(self.limits.call_timeout if timeout is None else timeout)
        if not isinstance(reply, dict) or "ok" not in reply:
            self.kill()
            raise StudentCrashed("sent a malformed reply")
        return reply

    def kill(self) -> None:
        """Kill the process and everything it started in its session."""
        if self.dead:
            return
        self.dead = True
        for fd in (self._to_child, self._from_child):
            try:
                os.close(fd)
            except OSError:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if os.geteuid() == 0:
            kill_user_processes(UID_BASE + self.pid)  # whatever escaped the session
        if self.proc is not None:
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass

    close = kill


def _describe_exit(code) -> str:
    if code is None:
        return "the notebook's process stopped (os._exit, a crash, or killed for using too much memory or time)"
    if code < 0:
        sig = -code
        name = signal.Signals(sig).name if sig in signal.Signals._value2member_map_ else str(sig)
        if sig == signal.SIGKILL:
            return "the notebook's process was killed (SIGKILL: out of memory or CPU time?)"
        if sig == signal.SIGXCPU:
            return "the notebook's process used up its CPU time"
        return f"the notebook's process died from signal {name}"
    return f"the notebook's process exited (exit code {code}): os._exit or a crash"


@dataclass
class Cell:
    label: str  # e.g. "setup" or "initialize_parameters_he" or "added 3"
    source: str
    role: str  # "setup" | "solution" | "added"


@dataclass
class Session:
    """Runs one notebook's cells in a student process, restarting it when needed."""

    cells: list[Cell]
    cwd: Path
    limits: Limits = field(default_factory=Limits)
    load_errors: dict[str, str] = field(default_factory=dict)
    skipped: set[str] = field(default_factory=set)
    started_at: float = field(default_factory=time.monotonic)
    _process: StudentProcess | None = None
    restarts: int = 0

    def remaining(self) -> float:
        return self.limits.notebook_timeout - (time.monotonic() - self.started_at)

    def process(self) -> StudentProcess:
        if self._process is not None and not self._process.dead:
            return self._process
        if self.remaining() <= 0:
            raise StudentTimeout(f"the notebook used up its {self.limits.notebook_timeout:g} s")
        if self._process is not None:
            self.restarts += 1
        self._process = StudentProcess(self.cwd, self.limits)
        for cell in self.cells:
            if cell.label in self.skipped:
                continue
            timeout = min(self.limits.call_timeout, max(self.remaining(), 0.1))
            try:
                reply = self._process.request({"op": "exec", "source": cell.source, "label": cell.label}, timeout)
            except StudentTimeout:
                self.skipped.add(cell.label)
                self.load_errors[cell.label] = f"cell '{cell.label}' did not finish within {timeout:g} s (an infinite loop at top level?); it was skipped"
                return self.process()
            except StudentCrashed as exc:
                self.skipped.add(cell.label)
                self.load_errors[cell.label] = f"cell '{cell.label}' crashed the notebook ({exc}); it was skipped"
                return self.process()
            if not reply["ok"]:
                where = reply.get("where") or ""
                self.load_errors.setdefault(
                    cell.label, f"cell '{cell.label}' raised {reply['exc_type']}: {reply.get('message', '')}" + (f"\n{where}" if where else "")
                )
        return self._process

    def function(self, name: str) -> "StudentFunction":
        return StudentFunction(self, name)

    def close(self) -> None:
        if self._process is not None:
            self._process.kill()


class StudentFunction:
    """Calls a function defined by the student's notebook; returns plain data.

    Behaves like the function for the checks: positional and keyword arguments
    go in (plain data, generators, and module-level functions from ``dlwork`` or
    the student fixtures), the result comes back, and mutable arguments (arrays,
    dicts, lists, generators) are updated in place with their state after the
    call, as if the call had happened here.
    """

    def __init__(self, session: Session, name: str):
        self.session = session
        self.__name__ = name
        self.output = ""

    def __call__(self, *args, **kwargs):
        return self.call_with_globals({}, *args, **kwargs)

    def call_with_globals(self, overrides: dict, *args, **kwargs):
        process = self.session.process()
        timeout = min(self.session.limits.call_timeout, max(self.session.remaining(), 0.1))
        reply = process.request(
            {"op": "call", "function": self.__name__, "args": list(args), "kwargs": kwargs, "overrides": dict(overrides)},
            timeout,
        )
        self.output = reply.get("output", "")
        if not reply["ok"]:
            raise _exception_for(reply)
        for before, after in zip(args, reply.get("args_after", [])):
            _update_in_place(before, after)
        for key, after in (reply.get("kwargs_after") or {}).items():
            _update_in_place(kwargs.get(key), after)
        return reply["result"]


def _update_in_place(before, after) -> None:
    import numpy as np

    if after is None or before is None:
        return
    if isinstance(before, np.random.Generator) and isinstance(after, np.random.Generator):
        before.bit_generator.state = after.bit_generator.state
    elif isinstance(before, np.ndarray) and isinstance(after, np.ndarray) and before.shape == after.shape:
        if before.flags.writeable:
            before[...] = after
    elif isinstance(before, dict) and isinstance(after, dict):
        before.clear()
        before.update(after)
    elif isinstance(before, list) and isinstance(after, list):
        before[:] = after
