"""A throwaway PostgreSQL server, for tests and benchmarks of the gradebook on PostgreSQL.

Debian's own server binaries run in a fresh temporary folder: the data, the
log and the unix socket live there, nothing listens on TCP, anyone on this
machine who reaches the socket is trusted (``--auth=trust``), and the folder
is removed when the ``with`` block ends, however it ends. No mock: what nbgrader
and SQLAlchemy talk to is the real server.

    with temporary_server() as server:
        url = server.create_database("gradebook")   # postgresql+psycopg://postgres@/gradebook?host=...

initdb refuses to run as root, so as root the server runs as the ``postgres``
system user (the package creates it) and the folder is handed to it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

INSTALL = "apt-get install postgresql"
SUPERUSER = "postgres"
ROOT = Path("/usr/lib/postgresql")


class PostgresMissing(RuntimeError):
    """PostgreSQL's server programs are not installed; the message says what to install."""


class PostgresFailed(RuntimeError):
    """The server would not start (the message carries its log)."""


def server_bin() -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` that has initdb and pg_ctl."""
    found = []
    if ROOT.is_dir():
        for folder in ROOT.iterdir():
            bin_dir = folder / "bin"
            if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
                with contextlib.suppress(ValueError):
                    found.append((tuple(int(p) for p in folder.name.split(".")), bin_dir))
    if not found:
        raise PostgresMissing(f"PostgreSQL's server is not installed (no {ROOT}/<version>/bin/initdb): {INSTALL}")
    return max(found)[1]


@dataclass(frozen=True)
class Server:
    """A running server: its socket folder, and SQLAlchemy URLs for its databases."""

    socket_dir: Path

    def url(self, dbname: str) -> str:
        """The SQLAlchemy URL of database ``dbname`` (nbgrader's ``db_url``): psycopg 3 over the unix socket."""
        return f"postgresql+psycopg://{SUPERUSER}@/{dbname}?host={self.socket_dir}"

    def create_database(self, name: str) -> str:
        """Create an empty database ``name``; returns its URL."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(host=str(self.socket_dir), user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)


@contextlib.contextmanager
def temporary_server(fsync: bool = True) -> Iterator[Server]:
    """Start a private server; stop it and delete its folder on leaving.

    ``fsync=False`` trades crash safety (irrelevant for a throwaway server) for
    speed in tests; benchmarks keep it on, as a real gradebook server has it.
    """
    bin_dir = server_bin()
    # /tmp: short enough for a socket path (about 100 bytes) and reachable by the postgres user.
    folder = Path(tempfile.mkdtemp(prefix="dlwork-pg-", dir="/tmp" if os.path.isdir("/tmp") else None))
    data = folder / "data"
    as_server_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(folder, user=SUPERUSER, group=SUPERUSER)
        as_server_user = ["runuser", "-u", SUPERUSER, "--"]

    def run(*command: str) -> subprocess.CompletedProcess:
        return subprocess.run([*as_server_user, *command], cwd=folder, capture_output=True, text=True, stdin=subprocess.DEVNULL)

    started = False
    try:
        initdb = [str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", f"--username={SUPERUSER}", "--encoding=UTF8", "--locale=C"]
        done = run(*initdb, "--no-sync")  # a throwaway cluster need not reach the disk
        if done.returncode != 0:
            raise PostgresFailed(f"initdb failed:\n{done.stdout}{done.stderr}")
        options = f"-c listen_addresses='' -c unix_socket_directories={folder} -c fsync={'on' if fsync else 'off'}"
        log_file = folder / "server.log"
        done = run(str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log_file), "-o", options, "-w", "-t", "60", "start")
        started = True  # even a failed start may leave a postmaster behind: stop it below
        if done.returncode != 0:
            log = log_file.read_text(errors="replace") if log_file.is_file() else ""
            raise PostgresFailed(f"pg_ctl start failed:\n{done.stdout}{done.stderr}\n{log}")
        yield Server(folder)
    finally:
        if started:
            if run(str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop").returncode != 0:
                _kill_leftover(data)
        shutil.rmtree(folder, ignore_errors=True)


def _kill_leftover(data: Path) -> None:
    """SIGKILL the postmaster this module started if pg_ctl could not stop it (its pid is the first line of postmaster.pid)."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        pid = int((data / "postmaster.pid").read_text().splitlines()[0])
        os.kill(pid, signal.SIGKILL)
