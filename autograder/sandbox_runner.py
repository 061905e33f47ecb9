"""The student side of grading: runs a notebook's code in its own process.

This file is executed as a script (``python -I sandbox_runner.py RFD WFD``) by
:mod:`autograder.sandbox`; it imports nothing from ``autograder`` and nothing of
the reference, so the student's code never shares a process with the checks.
The judge sends requests; this process answers with *plain data* only: the
wire format below carries None, bools, numbers, strings, lists, tuples, dicts
and plain ``np.ndarray`` (saved with ``allow_pickle=False``), so no object the
student made (a lying ``__eq__``, an ndarray subclass) ever reaches the judge.

The judge imports this module too, for :func:`encode` and :func:`decode`: one
wire format, one place.

Wire frame: 4-byte big-endian header length, JSON header, then for each array
an 8-byte length and the ``.npy`` bytes.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import json
import os
import struct
import sys
import traceback

MAX_FRAME = 512 * 1024 * 1024  # a reply larger than this is refused, not read
MAX_TEXT = 4000  # characters of student output / messages kept per call


# ---------------------------------------------------------------- wire format


class Opaque:
    """Stands for a value that is not plain data (its type name is all we keep)."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name} object>"


class CallableRef:
    """A module-level function named by ``module:qualname``, resolved on the other side."""

    def __init__(self, ref: str):
        self.ref = ref

    def __repr__(self) -> str:
        return f"<function {self.ref}>"


def encode(value, allow_refs: bool = False) -> bytes:
    """Serialise plain data to one frame. Non-plain values become :class:`Opaque`."""
    import numpy as np

    blobs: list[bytes] = []

    def enc(v, depth=0):
        if depth > 50:
            return {"__opaque__": "deeply nested value"}
        if v is None or isinstance(v, (bool, str)) and type(v) in (bool, str):
            return v
        if type(v) is int:
            return v if abs(v) < 2**63 else {"__bigint__": str(v)}
        if type(v) is float:
            return {"__float__": repr(v)} if v != v or v in (float("inf"), float("-inf")) else v
        if isinstance(v, np.generic) and type(v).__module__ == "numpy":
            if v.dtype.kind in "biuf":
                return enc(v.item(), depth + 1)
            return {"__opaque__": f"numpy {v.dtype} scalar"}
        if isinstance(v, np.ndarray):
            arr = np.array(v, copy=True, subok=False)
            if type(arr) is not np.ndarray or arr.dtype.kind not in "biuf":
                return {"__opaque__": f"array of dtype {arr.dtype}"}
            buf = io.BytesIO()
            np.save(buf, arr, allow_pickle=False)
            blobs.append(buf.getvalue())
            return {"__nd__": len(blobs) - 1}
        if type(v) is list:
            return [enc(x, depth + 1) for x in v]
        if type(v) is tuple:
            return {"__tuple__": [enc(x, depth + 1) for x in v]}
        if type(v) is dict:
            return {"__dict__": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, np.random.Generator):
            return {"__rng__": v.bit_generator.state}
        if allow_refs and isinstance(v, CallableRef):
            return {"__fn__": v.ref}
        if allow_refs and callable(v) and getattr(v, "__module__", None) and "<" not in getattr(v, "__qualname__", "<"):
            return {"__fn__": f"{v.__module__}:{v.__qualname__}"}
        return {"__opaque__": type(v).__name__}

    header = json.dumps({"value": enc(value), "blobs": len(blobs)}).encode()
    parts = [struct.pack(">I", len(header)), header]
    for blob in blobs:
        parts += [struct.pack(">Q", len(blob)), blob]
    return b"".join(parts)


def decode_body(header: dict, blobs: list[bytes], resolve_refs: bool = False):
    """Rebuild the value of a frame (header already parsed, blobs read)."""
    import numpy as np

    arrays = [np.load(io.BytesIO(b), allow_pickle=False) for b in blobs]

    def dec(v, depth=0):
        if depth > 60:
            raise ValueError("frame nested too deeply")
        if isinstance(v, list):
            return [dec(x, depth + 1) for x in v]
        if not isinstance(v, dict):
            return v
        (tag, body), = v.items() if len(v) == 1 else ((None, None),)
        if tag == "__nd__":
            return arrays[int(body)]
        if tag == "__tuple__":
            return tuple(dec(x, depth + 1) for x in body)
        if tag == "__dict__":
            return {dec(k, depth + 1): dec(x, depth + 1) for k, x in body}
        if tag == "__float__":
            return float(body)
        if tag == "__bigint__":
            return int(body)
        if tag == "__rng__":
            generator = np.random.Generator(getattr(np.random, body["bit_generator"])())
            generator.bit_generator.state = body
            return generator
        if tag == "__fn__" and resolve_refs:
            return _resolve(body)
        if tag == "__fn__":
            return CallableRef(body)
        if tag == "__opaque__":
            return Opaque(str(body))
        raise ValueError(f"unknown tag in frame: {tag!r}")

    return dec(header["value"])


def decode(data: bytes, resolve_refs: bool = False):
    """Rebuild the value of one whole frame held in memory."""
    (size,) = struct.unpack(">I", data[:4])
    header = json.loads(data[4 : 4 + size])
    blobs, at = [], 4 + size
    for _ in range(int(header["blobs"])):
        (n,) = struct.unpack(">Q", data[at : at + 8])
        blobs.append(data[at + 8 : at + 8 + n])
        at += 8 + n
    return decode_body(header, blobs, resolve_refs)


def _resolve(ref: str):
    import importlib

    module_name, _, qualname = ref.partition(":")
    obj = importlib.import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def read_exact(fd: int, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = os.read(fd, min(n - got, 1 << 20))
        if not chunk:
            raise EOFError("pipe closed")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_frame(fd: int, resolve_refs: bool = False):
    (size,) = struct.unpack(">I", read_exact(fd, 4))
    if size > MAX_FRAME:
        raise ValueError("frame too large")
    header = json.loads(read_exact(fd, size))
    blobs, total = [], size
    for _ in range(int(header["blobs"])):
        (n,) = struct.unpack(">Q", read_exact(fd, 8))
        total += n
        if total > MAX_FRAME:
            raise ValueError("frame too large")
        blobs.append(read_exact(fd, n))
    return decode_body(header, blobs, resolve_refs)


def write_frame(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


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
    """Only the frames in the student's cells: never our code."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename.startswith("<cell")]
    lines = [f"  {f.filename}, line {f.lineno}, in {f.name}: {(f.line or '').strip()}" for f in frames[-6:]]
    return "\n".join(lines)


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
            request = read_frame(rfd, resolve_refs=True)
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
                    code = compile(_clean_source(request["source"]), f"<cell {request['label']}>", "exec")
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
            data = encode(reply)
        except BaseException as exc:  # noqa: BLE001
            data = encode({"ok": False, "exc_type": "EncodingError", "message": str(exc)[:MAX_TEXT]})
        write_frame(wfd, data)


@contextlib.contextmanager
def globals_replaced(fn, overrides: dict):
    """Replace some global names of ``fn`` for the duration; restored even on error."""
    namespace = getattr(fn, "__globals__", None)
    if not isinstance(namespace, dict) or not overrides:
        yield
        return
    missing = object()
    saved = {k: namespace.get(k, missing) for k in overrides}
    namespace.update(overrides)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is missing:
                namespace.pop(k, None)
            else:
                namespace[k] = v


def _call(ns: dict, request: dict, out: _BoundedText) -> dict:
    name = request["function"]
    fn = ns.get(name)
    if not callable(fn):
        return {"ok": False, "exc_type": "NotDefined", "message": f"{name} is not defined", "output": ""}
    args, kwargs = list(request["args"]), dict(request["kwargs"])
    try:
        with globals_replaced(fn, request.get("overrides") or {}):
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
    """In a fresh student process: own session, resource limits, die with the parent."""
    import resource
    import signal

    if os.getsid(0) != os.getpid():
        os.setsid()
    memory = int(limits["memory_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    output = int(limits["output_mb"]) * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_FSIZE, (output, output))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    cpu = int(limits["cpu_seconds"])
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail instead of killing
    _die_with_parent()
    if os.geteuid() == 0:
        # A uid of its own for every student process: the judge can then find and kill
        # everything it started (even a double fork out of its session), and the
        # process-count limit applies to this student alone.
        uid = int(limits["uid_base"]) + os.getpid()
        os.chown(".", uid, uid)
        nproc = int(limits.get("max_processes", 64))
        resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
        _isolate(limits.get("hide", []), limits.get("expose", []), uid)


def _isolate(hide: list[str], expose: list[str], uid: int) -> None:
    """Root only: hide the grader's files from student code, then become an unprivileged user.

    In a private mount namespace: every folder on the way to what student code
    needs (Python, the virtual environment, ``dlwork``, the datasets) that
    ``uid`` could not enter is covered by a tmpfs into which only those
    subtrees are bound back; then each hidden folder (the reference, the hidden
    checks, the course with the gradebook and the other students' work) gets an
    empty read-only tmpfs over it. Finally the process drops to ``uid``, so it
    cannot undo the mounts, read root-only files or write the grader's files.
    """
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    CLONE_NEWNS, MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_BIND, MS_REC, MS_PRIVATE = 0x20000, 1, 2, 4, 8, 0x1000, 0x4000, 0x40000

    def mount(source, target, fstype, flags, data=None) -> bool:
        return libc.mount(source, target.encode(), fstype, flags, data) == 0

    isolated = libc.unshare(CLONE_NEWNS) == 0 and libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) == 0
    hidden = 0
    if isolated:
        _expose([os.path.realpath(t) for t in expose], mount, MS_BIND | MS_REC)
        for path in hide:
            if os.path.isdir(path):
                hidden += mount(b"tmpfs", path, b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, b"size=4k,mode=0555")
            elif os.path.isfile(path):
                hidden += mount(b"/dev/null", path, None, MS_BIND)
    os.environ["DLWORK_SANDBOX_HIDDEN"] = str(hidden)
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def _expose(targets: list[str], mount, bind_flags: int) -> None:
    """Make every target reachable for any user.

    Each folder on the way that others may not enter is covered by an open
    tmpfs, into which exactly the children leading to targets are bound back.
    Folders are handled shallowest first, so that closed folders nested in
    closed folders are handled through the bind mounts made before them.
    """
    closed: dict[str, set[str]] = {}
    for target in targets:
        parts = target.strip("/").split("/")
        for i in range(1, len(parts)):
            folder = "/" + "/".join(parts[:i])
            if not os.path.exists(folder) or os.stat(folder).st_mode & 0o001:
                continue  # others may pass through already
            closed.setdefault(folder, set()).add(folder + "/" + parts[i])
    for folder in sorted(closed, key=lambda f: f.count("/")):
        fds = {path: os.open(path, os.O_PATH) for path in sorted(closed[folder]) if os.path.exists(path)}
        if not mount(b"tmpfs", folder, b"tmpfs", 0, b"size=64k,mode=0755"):
            for fd in fds.values():
                os.close(fd)
            continue
        for path, fd in fds.items():
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.mkdir(path)
            else:
                open(path, "w").close()
            mount(f"/proc/self/fd/{fd}".encode(), path, None, bind_flags)
            os.close(fd)


def _die_with_parent() -> None:
    try:
        import ctypes
        import signal

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - not Linux
        pass


def preload(setup: dict) -> None:
    sys.path[:0] = list(setup["sys_path"])
    os.environ.update({k: str(v) for k, v in setup.get("env", {}).items()})
    import importlib

    for name in setup.get("preload", ["numpy"]):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a missing optional module only costs speed
            pass


def zygote(sock_fd: int) -> None:
    """Fork server: import the heavy modules once, then fork one student process per request.

    A request carries the student process's two pipe ends (SCM_RIGHTS) and its
    working folder and limits; the reply is the child's pid.
    """
    import signal
    import socket

    sock = socket.socket(fileno=sock_fd)
    _die_with_parent()
    message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
    preload(json.loads(message))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    try:  # and so are orphans of student code (double forks): they come back to us, not to init
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(36, 1)  # PR_SET_CHILD_SUBREAPER
    except Exception:  # noqa: BLE001
        pass
    sock.send(b"ready")
    while True:
        try:
            message, fds, _, _ = socket.recv_fds(sock, 1 << 16, 2)
        except OSError:
            return
        if not message:
            return
        request = json.loads(message)
        pid = os.fork()
        if pid == 0:
            try:
                sock.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                os.chdir(request["cwd"])
                apply_limits(request["limits"])
                rfd, wfd = fds
                write_frame(wfd, encode({"ok": True, "pid": os.getpid()}))
                serve(rfd, wfd)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)
        sock.send(json.dumps({"pid": pid}).encode())


def main(argv: list[str]) -> None:
    if argv[1] == "zygote":
        zygote(int(argv[2]))
        os._exit(0)
    rfd, wfd = int(argv[1]), int(argv[2])
    setup = read_frame(rfd)
    os.chdir(setup["cwd"])
    preload(setup)
    apply_limits(setup["limits"])  # after loading this file and the preloads: they may be hidden next
    write_frame(wfd, encode({"ok": True, "pid": os.getpid()}))
    serve(rfd, wfd)
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
