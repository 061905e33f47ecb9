"""Isolation of one student process: its own namespaces and a root made of an allow-list.

This is the part of the sandbox that decides what student code can reach. It
runs in the student's process tree, forked from the warm zygote
(:mod:`autograder.sandbox.runtime`), before any student code, and imports
nothing from ``autograder``. Three processes take part::

    zygote (grader's uid) ── C: unshare(user, mount, pid, net, ipc, uts, cgroup); waits
                               └─ I: pid 1 of the new pid namespace; builds the root; waits
                                    └─ S: the student process (pid 2)

1. **C** creates the namespaces with one ``unshare``. In the new user
   namespace the student is uid/gid :data:`SANDBOX_UID`, mapped to a host uid of
   its own when the grader is the machine's root (the zygote writes that map: only a process
   outside the namespace may), or to the grader's own uid otherwise. No
   privilege on the host is needed for any of this, only unprivileged user
   namespaces.
2. **I** builds a fresh root on a tmpfs in the new mount namespace: the
   allow-list bound read-only at the same paths (the Python runtime, the
   environment's site-packages, ``dlwork``, the datasets, the system
   libraries), a private tmpfs ``/tmp`` and working folder, a few device nodes
   and a ``/proc`` of the new pid namespace. It moves into it with
   ``pivot_root`` and detaches the old root, so nothing else of the host is in
   its mount tree at all. It then drops every capability (effective,
   permitted, inheritable, ambient, bounding set), forbids new privileges and
   further user namespaces, and marks itself undumpable.
3. **S** (forked from I) sets its limits and runs student code.

When I dies, the kernel kills every process of the pid namespace, wherever it
moved (``setsid``, double forks). I dies when the judge kills it, when S exits,
or with C, which dies with the zygote, which dies with its grader: each
link is ``PR_SET_PDEATHSIG``, set after the last change of credentials, in a
process that never runs student code. The new network namespace has no
interface but a loopback that is down: no connection anywhere.

Each step either succeeds or raises :class:`JailError`; the caller then
reports the reason and never runs student code. The order of the steps follows
bubblewrap's (https://github.com/containers/bubblewrap), whose careful
handling of user namespaces this file learns from.
"""

from __future__ import annotations

import ctypes
import os
import platform
import re
import sys

SANDBOX_UID = 1000  # the student's uid and gid inside its user namespace
HOME = "/home/student"  # the student's private, writable working folder (a tmpfs)
SYSTEM_PREFIXES = {"/", "/usr", "/usr/local"}  # an interpreter here is bound piece by piece, never whole
SYSTEM_LIBRARIES = ["/lib", "/lib64", "/usr/lib", "/usr/lib64", "/etc/ld.so.cache"]
DEVICES = ["null", "zero", "full", "random", "urandom"]

CLONE_NEWNS, CLONE_NEWCGROUP, CLONE_NEWUTS, CLONE_NEWIPC = 0x20000, 0x2000000, 0x4000000, 0x8000000
CLONE_NEWUSER, CLONE_NEWPID, CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC, MS_REMOUNT = 1, 2, 4, 8, 32
MS_NOATIME, MS_NODIRATIME, MS_BIND, MS_REC, MS_PRIVATE, MS_RELATIME = 1024, 2048, 4096, 16384, 1 << 18, 1 << 21
MNT_DETACH = 2
PR_SET_PDEATHSIG, PR_SET_DUMPABLE, PR_CAPBSET_DROP, PR_SET_CHILD_SUBREAPER, PR_SET_NO_NEW_PRIVS, PR_CAP_AMBIENT = 1, 4, 24, 36, 38, 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
SYS_PIVOT_ROOT = {"x86_64": 155, "aarch64": 41, "riscv64": 41}
# statvfs flags that a mount inside a user namespace must keep when it is remounted
_LOCKED_FLAGS = [
    (os.ST_NOSUID, MS_NOSUID),
    (os.ST_NODEV, MS_NODEV),
    (os.ST_NOEXEC, MS_NOEXEC),
    (os.ST_NOATIME, MS_NOATIME),
    (os.ST_NODIRATIME, MS_NODIRATIME),
    (os.ST_RELATIME, MS_RELATIME),
]

_libc = ctypes.CDLL(None, use_errno=True)


class JailError(Exception):
    """A step of the isolation failed: student code must not run."""


def _fail(what: str) -> JailError:
    return JailError(f"{what}: {os.strerror(ctypes.get_errno())}")


def _call(result: int, what: str) -> None:
    if result != 0:
        raise _fail(what)


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = lambda s: None if s is None else s.encode()
    _call(_libc.mount(encode(source), target.encode(), encode(fstype), ctypes.c_ulong(flags), encode(data)), f"mount {target}")


# ------------------------------------------------------------------ what the student may see


def _resolve(path: str, links: list[tuple[str, str]], depth: int = 0) -> str:
    """The real path of ``path``; every symbolic link met on the way is added to ``links``."""
    if depth > 40:
        raise JailError(f"too many symbolic links resolving {path}")
    parts = [p for p in path.split("/") if p and p != "."]
    current = "/"
    for i, part in enumerate(parts):
        if part == "..":
            current = os.path.dirname(current)
            continue
        step = os.path.join(current, part)
        if os.path.islink(step):
            target = os.readlink(step)
            links.append((step, target))
            base = target if target.startswith("/") else os.path.join(current, target)
            rest = "/".join(parts[i + 1 :])
            return _resolve(os.path.join(base, rest) if rest else base, links, depth + 1)
        current = step
    return current


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def runtime_paths() -> list[str]:
    """What the running interpreter needs: itself, its standard library and site-packages, its libraries.

    Call it in the student runtime before anything is added to ``sys.path``. A
    virtual environment and an interpreter in a folder of its own (pyenv,
    conda) are bound whole; an interpreter installed in ``/usr`` or
    ``/usr/local`` only by the folders on its path, never the whole prefix.
    """
    import sysconfig

    paths = [sys.executable, *[p for p in sys.path if p and os.path.exists(p)], *SYSTEM_LIBRARIES]
    for prefix in {sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix}:
        if os.path.realpath(prefix) not in SYSTEM_PREFIXES:
            paths.append(prefix)
    if sysconfig.get_config_var("Py_ENABLE_SHARED"):
        library = os.path.join(sysconfig.get_config_var("LIBDIR") or "", sysconfig.get_config_var("LDLIBRARY") or "")
        paths.append(library)
    return [p for p in paths if os.path.lexists(p)]


def plan(paths: list[str]) -> dict:
    """The layout of the new root: ``{"binds": [...], "links": [[path, target], ...]}``.

    Every path is resolved to its real path, which is bound read-only at that
    same path; the symbolic links met on the way (``/lib -> usr/lib``, a
    virtual environment's ``bin/python``) are recreated, so every given path
    works inside. A path inside another one is covered by it.
    """
    links: list[tuple[str, str]] = []
    real = sorted({_resolve(os.path.abspath(p), links) for p in paths if os.path.lexists(p)}, key=len)
    binds: list[str] = []
    for path in real:
        if os.path.exists(path) and not any(_inside(path, b) for b in binds):
            binds.append(path)
    kept = []
    for link, target in dict.fromkeys(links):
        if not any(_inside(link, b) for b in binds):
            kept.append([link, target])
    return {"binds": binds, "links": kept}


# ------------------------------------------------------------------ C: the namespaces


def unshare_namespaces() -> None:
    """New user, mount, pid, network, IPC, UTS and (where there is one) cgroup namespaces."""
    flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if os.path.exists("/proc/self/ns/cgroup"):
        flags |= CLONE_NEWCGROUP
    if _libc.unshare(flags) != 0:
        err = ctypes.get_errno()
        reasons = {
            1: "this system forbids user namespaces here (EPERM: a container's seccomp profile, or AppArmor's "
            "kernel.apparmor_restrict_unprivileged_userns, or kernel.unprivileged_userns_clone=0)",
            22: "the kernel does not support user namespaces (EINVAL)",
            28: "no user namespace may be created here (ENOSPC: user.max_user_namespaces is 0 or exhausted)",
        }
        raise JailError(f"cannot create namespaces: {reasons.get(err, os.strerror(err))}")


def is_host_root() -> bool:
    """Root of the machine itself (not root inside a user namespace): it may give each student a uid of its own."""
    if os.geteuid() != 0:
        return False
    try:
        with open("/proc/self/uid_map") as f:
            return f.read().split() == ["0", "0", "4294967295"]
    except OSError:
        return False


def write_own_maps(uid: int, gid: int) -> None:
    """Unprivileged grader: the student is SANDBOX_UID inside, the grader's ``uid``/``gid`` outside.

    Read them before ``unshare``: after it, unmapped ids read as the overflow id.
    """
    for name, text in (("setgroups", "deny"), ("uid_map", f"{SANDBOX_UID} {uid} 1\n"), ("gid_map", f"{SANDBOX_UID} {gid} 1\n")):
        try:
            with open(f"/proc/self/{name}", "w") as f:
                f.write(text)
        except OSError as exc:
            raise JailError(f"cannot write {name} of the user namespace: {exc.strerror}") from None


def write_maps_for(pid: int, host_id: int) -> None:
    """Root grader (outside the namespace): the student is SANDBOX_UID inside, ``host_id`` outside."""
    for name in ("uid_map", "gid_map"):
        try:
            with open(f"/proc/{pid}/{name}", "w") as f:
                f.write(f"{SANDBOX_UID} {host_id} 1\n")
        except OSError as exc:
            raise JailError(f"cannot write {name} of the user namespace: {exc.strerror}") from None


# ------------------------------------------------------------------ I: the new root


def _mountinfo() -> list[str]:
    """Mount points of this mount namespace, in mount order (octal escapes such as ``\\040`` decoded)."""
    points = []
    with open("/proc/self/mountinfo", "rb") as f:
        for line in f:
            raw = line.split()[4]
            points.append(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m.group(1), 8)]), raw).decode(errors="surrogateescape"))
    return points


def _remount_readonly(target: str) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY
    st = os.statvfs(target)
    for st_flag, ms_flag in _LOCKED_FLAGS:
        if st.f_flag & st_flag:
            flags |= ms_flag
    _mount(None, target, None, flags)


def build_root(layout: dict, tmpfs_mb: int) -> bool:
    """Move into a new root holding only ``layout`` (read-only), private tmpfs and devices, and /proc.

    Runs as pid 1 of the new pid namespace, before dropping privileges. Once
    the uid is mapped, the host's files may be closed to it (a Python runtime
    in a private home), so nothing here may import a module until the new root
    is in place.
    Returns whether a /proc of the new pid namespace could be mounted (a
    container that masks parts of its own /proc forbids it; the student then
    has no /proc, which hides strictly more).
    """
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # The sources are opened first: the new root is about to cover /tmp, and
    # once the uid is mapped, a folder such as a private home may be closed to it.
    sources = {}
    for path in [*layout["binds"], *(f"/dev/{d}" for d in DEVICES)]:
        try:
            sources[path] = os.open(path, os.O_PATH | os.O_CLOEXEC)
        except OSError as exc:
            raise JailError(f"cannot open {path}: {exc.strerror}") from None
    os.setresgid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)
    os.setresuid(SANDBOX_UID, SANDBOX_UID, SANDBOX_UID)

    new = "/tmp"  # any folder that surely exists; the tmpfs covers it in this namespace only
    _mount("tmpfs", new, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")

    def bind(source: str, target: str) -> None:
        fd = sources[source]
        if not os.path.lexists(new + target):
            if os.path.isdir(f"/proc/self/fd/{fd}"):
                os.makedirs(new + target, mode=0o755)
            else:
                os.makedirs(os.path.dirname(new + target), mode=0o755, exist_ok=True)
                open(new + target, "x").close()
        _mount(f"/proc/self/fd/{fd}", new + target, None, MS_BIND | MS_REC)

    # The private writable folders first: an allow-listed path below one of them
    # (a repository cloned into /tmp) is then bound on top, not hidden under it.
    for folder, mode in ((HOME, "0700"), ("/tmp", "1777"), ("/dev/shm", "1777")):
        os.makedirs(new + folder, mode=0o755, exist_ok=True)
        _mount("tmpfs", new + folder, "tmpfs", MS_NOSUID | MS_NODEV, f"mode={mode},size={int(tmpfs_mb)}m")
    for path in layout["binds"]:
        bind(path, path)
    for link, target in layout["links"]:
        os.makedirs(os.path.dirname(new + link), mode=0o755, exist_ok=True)
        if not os.path.lexists(new + link):
            os.symlink(target, new + link)
    bound = [new + path for path in layout["binds"]]
    for point in _mountinfo():  # every bound folder and whatever is mounted below it
        if any(_inside(point, b) for b in bound):
            _remount_readonly(point)

    for device in DEVICES:
        bind(f"/dev/{device}", f"/dev/{device}")
    for name, target in (
        ("fd", "/proc/self/fd"),
        ("stdin", "/proc/self/fd/0"),
        ("stdout", "/proc/self/fd/1"),
        ("stderr", "/proc/self/fd/2"),
    ):
        os.symlink(target, f"{new}/dev/{name}")
    for fd in sources.values():
        os.close(fd)

    # No further user namespaces below this one: less of the kernel within reach.
    try:
        with open("/proc/sys/user/max_user_namespaces", "w") as f:
            f.write("0")
    except OSError as exc:
        raise JailError(f"cannot forbid nested user namespaces: {exc.strerror}") from None

    os.makedirs(new + "/proc", mode=0o755)
    has_proc = _libc.mount(b"proc", (new + "/proc").encode(), b"proc", ctypes.c_ulong(MS_NOSUID | MS_NODEV | MS_NOEXEC), None) == 0
    if has_proc:  # as bubblewrap does: old corners of /proc that nobody here may write
        for corner in ("sys", "sysrq-trigger", "irq", "bus"):
            if os.path.exists(f"{new}/proc/{corner}"):
                _mount(f"{new}/proc/{corner}", f"{new}/proc/{corner}", None, MS_BIND | MS_REC)
                _remount_readonly(f"{new}/proc/{corner}")

    os.chdir(new)
    number = SYS_PIVOT_ROOT.get(platform.machine())
    if number is None:
        raise JailError(f"pivot_root is not known on {platform.machine()}")
    _call(_libc.syscall(number, b".", b"."), "pivot_root")
    _call(_libc.umount2(b".", MNT_DETACH), "detach the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)
    os.chdir(HOME)
    return has_proc


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def drop_privileges() -> None:
    """No capability of any kind, no way to gain one, no new user namespace."""
    cap = 0
    while _libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0:
        cap += 1
    if cap == 0:
        raise _fail("drop the capability bounding set")
    _libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)
    header = _CapHeader(0x20080522, 0)  # _LINUX_CAPABILITY_VERSION_3
    data = (_CapData * 2)()
    _call(_libc.capset(ctypes.byref(header), data), "drop capabilities")
    _call(_libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "forbid new privileges")
    check = (_CapData * 2)()
    _call(_libc.capget(ctypes.byref(_CapHeader(0x20080522, 0)), check), "read capabilities")
    if any(d.effective or d.permitted or d.inheritable for d in check):
        raise JailError("capabilities are still held after dropping them")


def set_dumpable(dumpable: bool) -> None:
    """Undumpable: no one without CAP_SYS_PTRACE may trace this process or read its memory (for I).
    Dumpable: its /proc entries are its own (for S, after a change of uid made it undumpable)."""
    _call(_libc.prctl(PR_SET_DUMPABLE, int(dumpable), 0, 0, 0), "set whether the process is dumpable")


def become_subreaper() -> None:
    """Orphans of this process's descendants come back to it rather than to init."""
    _call(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "become a subreaper")


def die_with_parent(parent: int | None = None, lifeline: int | None = None) -> None:
    """SIGKILL when the parent dies; exits now if it already has.

    Set after the last change of credentials (a change clears it). The parent
    is checked by pid, or, for a parent in another pid namespace (whose pid
    reads as 0 here), by ``lifeline``: the read end of a pipe whose only write
    end the parent holds, which reads as closed once it has died.
    """
    import select
    import signal

    _call(_libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0), "set the parent-death signal")
    if parent is not None and os.getppid() != parent:
        os._exit(1)
    if lifeline is not None and select.select([lifeline], [], [], 0)[0]:
        os._exit(1)


def close_other_fds(keep: set[int]) -> None:
    """Close every file descriptor not in ``keep``: one open on a host folder would lead out of the root."""
    try:
        fds = [int(name) for name in os.listdir("/proc/self/fd")]
    except OSError:
        fds = list(range(3, 1024))
    for fd in fds:
        if fd not in keep and fd > 2:
            try:
                os.close(fd)
            except OSError:
                pass
