"""The sandbox: everything that runs student code, in one folder to read and audit.

| file | side | what |
| --- | --- | --- |
| ``jail.py`` | student | isolation: namespaces, the allow-list root, dropping privileges |
| ``runtime.py`` | student | the zygote, the student process and its serve loop |
| ``wire.py`` | both | the plain-data wire protocol, strictly decoded |
| ``fixtures.py`` | both | stand-ins the hidden checks hand to student code (no answers) |
| ``process.py`` | judge | student processes, sessions, proxies for student functions |
| ``probe.py`` | judge | proves the isolation before grading |

Files marked "student" import nothing from ``autograder``: they run in the
student's process tree, loaded by path.
"""

from autograder.sandbox.probe import IsolationError, verify_isolation
from autograder.sandbox.process import (
    UID_BASE,
    Cell,
    Limits,
    NotDefined,
    SandboxError,
    Session,
    StudentCrashed,
    StudentException,
    StudentFunction,
    StudentProcess,
    StudentProtocolError,
    StudentTimeout,
)

__all__ = [
    "UID_BASE",
    "Cell",
    "IsolationError",
    "Limits",
    "NotDefined",
    "SandboxError",
    "Session",
    "StudentCrashed",
    "StudentException",
    "StudentFunction",
    "StudentProcess",
    "StudentProtocolError",
    "StudentTimeout",
    "verify_isolation",
]
