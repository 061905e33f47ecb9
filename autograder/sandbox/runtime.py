"""The student side of grading: the zygote, the student process and its serve loop.

This file runs as a script (``python -I runtime.py zygote SOCKET_FD JUDGE_PID``),
started by :mod:`autograder.sandbox.process`. It imports nothing from
``autograder`` and nothing of the reference: it loads its siblings
:mod:`~autograder.sandbox.wire`, :mod:`~autograder.sandbox.jail` and
:mod:`~autograder.sandbox.fixtures` by path, and takes the swap of a function's
globals from the support package (``dlwork.checks.stand_ins``), as the visible
checks and stock nbgrader's in-kernel path do.

The zygote imports NumPy, Matplotlib and ``dlwork`` once, then forks one
student process per request: forking a warm process costs milliseconds where
starting Python and importing them costs most of a second. With the sandbox
on, each request becomes the three processes described in
:mod:`~autograder.sandbox.jail` (C, I, S); S answers the judge's requests
with plain data only (:mod:`~autograder.sandbox.wire`).
"""

from __future__ import annotations

import builtins
import io
import json
import os
import resource
import select
import signal
import socket
import sys
import traceback

try:  # imported by the judge (or by stock nbgrader's kernel)
    from autograder.sandbox import jail, wire
except ImportError:  # run as a script under ``python -I``: the siblings are loaded by path
    _HERE = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, _HERE)
    import jail  # type: ignore[no-redef]
    import wire  # type: ignore[no-redef]

    sys.path.remove(_HERE)

MAX_TEXT = 4000  # characters of student output / messages kept per call
SPAWN_TIMEOUT = 20.0  # seconds a new student process may take to get its namespaces


# ------------------------------------------------------------- student side


class _BoundedText(io.TextIOBase):
    """Keeps the first MAX_TEXT characters written to it and counts the rest."""

    def __init__(self):
        self.kept: list[str] = []
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, s) -> int:
        s = str(s)
        if self.size < MAX_TEXT:
            self.kept.append(s[: MAX_TEXT - self.size])
        self.size += len(s)
        return len(s)

    def text(self) -> str:
        out = "".join(self.kept)
        return out + (f"\n... ({self.size - MAX_TEXT} more characters)" if self.size > MAX_TEXT else "")


def _clean_source(source: str) -> str:
    """IPython magics and shell escapes are not Python; the grader skips them."""
    lines = []
    for line in source.splitlines():
        stripped = line.lstrip()
        if stripped.startswith(("%", "!")):
            lines.append(line[: len(line) - len(stripped)] + "pass")
        else:
            lines.append(line)
    return "\n".join(lines)


def _student_traceback(exc: BaseException) -> str:
    """Only the frames in the student's cells, never our code: ``"<function>, line N: <source>"`` each.

    A frame at a cell's top level is named after the cell (``"cell 'label', line N: ..."``).
    The source lines come from ``linecache``, where :func:`_remember_cell` put each cell.
    """
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    lines = []
    for f in frames[-6:]:
        where = f"cell '{f.filename[len('<cell ') : -1]}'" if f.name == "<module>" else f.name
        source = (f.line or "").strip()
        lines.append(f"  {where}, line {f.lineno}" + (f": {source}" if source else ""))
    return "\n".join(lines)


def _remember_cell(filename: str, source: str) -> None:
    """Keep a cell's source in ``linecache``, so that a traceback through it shows the student's lines."""
    import linecache

    linecache.cache[filename] = (len(source), None, source.splitlines(keepends=True), filename)


def _exception_reply(exc: BaseException, out: _BoundedText) -> dict:
    message = str(exc)
    return {
        "ok": False,
        "exc_type": type(exc).__name__,
        "exc_builtin": type(exc).__name__ in vars(builtins) and isinstance(exc, BaseException),
        "message": message[:MAX_TEXT],
        "where": _student_traceback(exc)[:MAX_TEXT],
        "output": out.text(),
    }


def _is_mutable(v) -> bool:
    import numpy as np

    return isinstance(v, (dict, list, np.ndarray, np.random.Generator))


def serve(rfd: int, wfd: int) -> None:
    """Answer the judge's requests until it closes the pipe."""
    import warnings

    ns: dict = {"__name__": "__main__", "__builtins__": builtins}
    while True:
        try:
            request = wire.read_frame(rfd, refs="resolve")
        except EOFError:
            return
        op = request["op"]
        out = _BoundedText()
        real_stdout, real_stderr = sys.stdout, sys.stderr
        sys.stdout = sys.stderr = out
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default")
                if op == "exec":
                    filename, source = f"<cell {request['label']}>", _clean_source(request["source"])
                    _remember_cell(filename, source)
                    code = compile(source, filename, "exec")
                    exec(code, ns)
                    reply = {"ok": True, "output": out.text()}
                elif op == "call":
                    reply = _call(ns, request, out)
                elif op == "defined":
                    reply = {"ok": True, "names": sorted(k for k, v in ns.items() if callable(v))}
                else:
                    reply = {"ok": False, "exc_type": "ProtocolError", "message": f"unknown op {op!r}"}
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt: all are student errors
            reply = _exception_reply(exc, out)
        finally:
            sys.stdout, sys.stderr = real_stdout, real_stderr
        try:
            data = wire.encode(reply)
        except BaseException as exc:  # noqa: BLE001
            data = wire.encode({"ok": False, "exc_type": "EncodingError", "message": str(exc)[:MAX_TEXT]})
        wire.write_frame(wfd, data)


def _call(ns: dict, request: dict, out: _BoundedText) -> dict:
    name = request["function"]
    fn = ns.get(name)
    if not callable(fn):
        return {"ok": False, "exc_type": "NotDefined", "message": f"{name} is not defined", "output": ""}
    args, kwargs = list(request["args"]), dict(request["kwargs"])
    overrides = request.get("overrides") or {}
    try:
        if overrides:
            # The one globals swap, the visible checks' own: dlwork is on the student process's path
            # (this file imports nothing of autograder).
            from dlwork.checks.stand_ins import globals_replaced

            with globals_replaced(fn, overrides):
                result = fn(*args, **kwargs)
        else:
            result = fn(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001
        return _exception_reply(exc, out)
    return {
        "ok": True,
        "result": result,
        "args_after": [a if _is_mutable(a) else None for a in args],
        "kwargs_after": {k: v for k, v in kwargs.items() if _is_mutable(v)},
        "output": out.text(),
    }


def apply_limits(limits: dict) -> None:
    """In a fresh student process: resource limits, and writes past the size limit fail instead of killing."""
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    output = int(limits["output_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    nproc = int(limits["max_processes"])
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


def preload(setup: dict) -> None:
    import importlib
    import importlib.util

    sys.path[:0] = list(setup["sys_path"])
    spec = importlib.util.spec_from_file_location(
        "grader_fixtures", os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures.py")
    )
    for name in setup["preload"]:
        try:
            if name == "grader_fixtures":
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module
                spec.loader.exec_module(module)
            else:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a module that fails here fails again, visibly, in student code
            sys.modules.pop(name, None)


# ------------------------------------------------------------------ the zygote


def _student(rfd: int, wfd: int, limits: dict, parent: int, facts: dict) -> None:
    """S: limits, then the serve loop. Never returns."""
    try:
        try:
            jail.die_with_parent(parent=parent)
            if facts.get("sandbox"):
                jail.set_dumpable(True)
                os.environ.update(HOME=jail.HOME, TMPDIR="/tmp", MPLCONFIGDIR="/tmp/matplotlib")
            os.setsid()
            apply_limits(limits)
            jail.close_other_fds({rfd, wfd})
            null = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            os.close(null)
        except Exception as exc:  # noqa: BLE001 - no student code has run yet: the grader's failure, said as such
            _report_setup_failure(wfd, exc)
            os._exit(1)
        wire.write_frame(wfd, wire.encode({"ok": True, "pid": os.getpid(), **facts}))
        serve(rfd, wfd)
    finally:
        os._exit(0)


def _init(rfd: int, wfd: int, request: dict, layout: dict, lifeline: int) -> None:
    """I: pid 1 of the new pid namespace. Builds the root, drops privileges, starts S, waits. Never returns."""
    try:
        has_proc = jail.build_root(layout, request["tmpfs_mb"])
        jail.drop_privileges()
        jail.set_dumpable(False)
        jail.die_with_parent(lifeline=lifeline)  # the keeper, C, is outside this pid namespace
    except Exception as exc:  # noqa: BLE001 - whatever failed, student code must not run; say why
        _report_setup_failure(wfd, exc)
        os._exit(1)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    student = os.fork()
    if student == 0:
        _student(rfd, wfd, request["limits"], 1, {"sandbox": True, "proc": has_proc})
    jail.close_other_fds(set())
    while True:  # reap whatever student code leaves behind; when S exits, so does the namespace
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            os._exit(0)
        if pid == student:
            os._exit(0)


def _report_setup_failure(wfd: int, exc: BaseException) -> None:
    text = str(exc) if isinstance(exc, jail.JailError) else f"{type(exc).__name__}: {exc}"
    try:
        wire.write_frame(wfd, wire.encode({"ok": False, "sandbox_error": text[:500]}))
    except OSError:
        pass


def _keeper(rfd: int, wfd: int, request: dict, layout: dict, report: int, go: int, zygote_pid: int) -> None:
    """C: creates the namespaces, starts I and waits for it. Never returns."""
    try:
        mapped_by_zygote = request.get("host_uid_base") is not None and jail.is_host_root()
        uid, gid = os.getuid(), os.getgid()
        if mapped_by_zygote:
            os.setgroups([])  # no supplementary group of root's may come along
        jail.unshare_namespaces()
        if mapped_by_zygote:
            os.write(report, b"M")  # the zygote, outside, writes the map to a uid of the student's own
            if os.read(go, 1) != b"G":
                raise jail.JailError("the zygote could not map the student's uid")
        else:
            jail.write_own_maps(uid, gid)
        jail.die_with_parent(parent=zygote_pid)
        lifeline, held = os.pipe()  # C holds the write end until it dies
        init = os.fork()
        if init == 0:
            os.close(report)
            os.close(go)
            os.close(held)
            _init(rfd, wfd, request, layout, lifeline)
        os.close(lifeline)
        os.write(report, f"P{init}".encode())
    except (jail.JailError, OSError) as exc:
        text = str(exc) if isinstance(exc, jail.JailError) else f"{type(exc).__name__}: {exc}"
        try:
            os.write(report, b"E" + text[:500].encode())
        except OSError:
            pass
        os._exit(1)
    jail.close_other_fds({held})
    try:
        os.waitpid(init, 0)
    except ChildProcessError:
        pass
    os._exit(0)


def _spawn(sock, request: dict, fds: list[int], layout: dict | None) -> dict:
    """Start one student process; the reply for the judge: ``{"pid": ...}`` or ``{"error": ...}``."""

    rfd, wfd = fds
    if layout is None:  # --no-sandbox: a plain child in a session of its own
        pid = os.fork()
        if pid == 0:
            sock.close()
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            os.chdir(request["cwd"])
            _student(rfd, wfd, request["limits"], os.getppid(), {"sandbox": False})
        return {"pid": pid}
    report_r, report_w = os.pipe()
    go_r, go_w = os.pipe()
    me = os.getpid()
    keeper = os.fork()
    if keeper == 0:
        try:
            sock.close()
            os.close(report_r)
            os.close(go_w)
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            _keeper(rfd, wfd, request, layout, report_w, go_r, me)
        finally:
            os._exit(1)
    os.close(report_w)
    os.close(go_r)
    try:
        while True:
            ready, _, _ = select.select([report_r], [], [], SPAWN_TIMEOUT)
            message = os.read(report_r, 1024) if ready else b""
            if message == b"M":
                try:
                    jail.write_maps_for(keeper, int(request["host_uid_base"]) + keeper)
                    os.write(go_w, b"G")
                except (jail.JailError, OSError) as exc:
                    os.write(go_w, b"N")
                    return {"error": str(exc)}
                continue
            if message.startswith(b"P"):
                return {"pid": int(message[1:])}
            if message.startswith(b"E"):
                return {"error": message[1:].decode(errors="replace")}
            try:
                os.kill(keeper, signal.SIGKILL)
            except OSError:
                pass
            return {"error": "the student process did not start" + ("" if ready else f" within {SPAWN_TIMEOUT:g} s")}
    finally:
        os.close(report_r)
        os.close(go_w)


def zygote(sock_fd: int, judge_pid: int) -> None:
    """Fork server: one student process per request on the socket, until the judge closes it.

    The first message sets the zygote up (what to import, what student code
    may see); a request carries the student process's two pipe ends
    (SCM_RIGHTS) and its limits.
    """

    jail.die_with_parent(parent=judge_pid)
    sock = socket.socket(fileno=sock_fd)
    message, _, _, _ = socket.recv_fds(sock, 1 << 20, 0)
    setup = json.loads(message)
    layout = None
    if setup["sandbox"]:
        try:
            layout = jail.plan(jail.runtime_paths() + list(setup["allow"]))
        except (jail.JailError, OSError) as exc:
            sock.send(json.dumps({"error": f"the allow-list could not be resolved: {exc}"}).encode())
            return
    preload(setup)
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    jail.become_subreaper()  # and so are orphans of --no-sandbox student code (double forks)
    sock.send(json.dumps({"ready": True, "layout": layout}).encode())
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except OSError:
            return
        if not message:
            return
        try:
            reply = _spawn(sock, json.loads(message), list(fds), layout)
        finally:
            for fd in fds:
                os.close(fd)
        sock.send(json.dumps(reply).encode())


if __name__ == "__main__":
    if len(sys.argv) != 4 or sys.argv[1] != "zygote":
        raise SystemExit("usage: python -I runtime.py zygote SOCKET_FD JUDGE_PID")
    zygote(int(sys.argv[2]), int(sys.argv[3]))
    os._exit(0)
