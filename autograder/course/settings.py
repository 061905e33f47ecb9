"""The grader's settings in the course's ``nbgrader_config.py``: one configuration for every command.

``build`` writes a ``c.WorkbookGrader`` section into the course's
``nbgrader_config.py`` (beside nbgrader's own sections, which nbgrader ignores
as a section of no class it knows); ``grade``, ``check``, ``feedback`` and
``export`` read it; a command-line flag overrides a setting for one run.
Rebuilding the course keeps the values an instructor set.

The section is read without running the file (running it would import
nbgrader, seconds per command): each setting is one line
``c.WorkbookGrader.<name> = <plain value>`` (a number, or for the scheduler a
string), and a line that is not is refused
with its line number.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, fields
from pathlib import Path

from autograder.sandbox import Limits

SECTION = "WorkbookGrader"


@dataclass(frozen=True)
class Settings:
    """What a course may set; a new course gets the defaults of the student process's :class:`Limits`."""

    notebook_timeout: float = Limits.notebook_timeout
    call_timeout: float = Limits.call_timeout
    memory_mb: int = Limits.memory_mb
    output_mb: int = Limits.output_mb
    max_processes: int = Limits.max_processes
    workers: int = 0
    scheduler: str = ""


HELP = {
    "notebook_timeout": "seconds of student code per notebook; the grader's own time does not count (--timeout)",
    "call_timeout": "seconds for one call into student code, or one cell (--call-timeout)",
    "memory_mb": "address space of the student process, in MB (--memory-mb)",
    "output_mb": "largest file student code may write, and size of its private /tmp, in MB",
    "max_processes": "processes student code may run at once",
    "workers": "parallel graders for `grade`; 0 = one per core (--workers)",
    "scheduler": "a Dask scheduler, tcp://HOST:PORT or tls://...: `grade` runs on its workers; '' = this machine (--scheduler)",
}
SCHEDULER = re.compile(r"(tcp|tls)://[^\s/]+")


class SettingsError(ValueError):
    """The section cannot be read: says which line and why."""


def read(config: Path) -> Settings:
    """The settings of the config file ``config`` (defaults for what it does not set, or for no file)."""
    try:
        text = Path(config).read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    try:
        tree = ast.parse(text, filename=str(config))
    except SyntaxError as exc:
        raise SettingsError(f"{config}:{exc.lineno}: not valid Python ({exc.msg})") from None
    known = [f.name for f in fields(Settings)]
    values = {}
    for node in ast.walk(tree):
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            continue
        target = node.targets[0]
        if not (
            isinstance(target, ast.Attribute)
            and isinstance(target.value, ast.Attribute)
            and target.value.attr == SECTION
            and isinstance(target.value.value, ast.Name)
            and target.value.value.id == "c"
        ):
            continue
        where = f"{config}:{node.lineno}: c.{SECTION}.{target.attr}"
        if target.attr not in known:
            raise SettingsError(f"{where} is not a setting (known: {', '.join(known)})")
        wanted = type(getattr(Settings(), target.attr))  # the default's type: float, int or str
        try:
            value = ast.literal_eval(node.value)
        except ValueError:
            raise SettingsError(f"{where} must be a plain {'string' if wanted is str else 'number'}") from None
        if wanted is str:
            if not isinstance(value, str) or (value and not SCHEDULER.fullmatch(value)):
                raise SettingsError(f"{where} must be '' or a scheduler address such as 'tcp://10.0.0.5:8786', not {value!r}")
            values[target.attr] = value
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (wanted is int and not isinstance(value, int)) or value < 0:
            raise SettingsError(f"{where} must be a {'whole ' if wanted is int else ''}number of at least 0, not {value!r}")
        values[target.attr] = wanted(value)
    return Settings(**values)


def section(settings: Settings) -> str:
    """The lines of the config file that hold ``settings``."""
    width = max(len(f"c.{SECTION}.{f.name} = {getattr(settings, f.name)!r}") for f in fields(Settings))
    lines = []
    for f in fields(Settings):
        line = f"c.{SECTION}.{f.name} = {getattr(settings, f.name)!r}"
        lines.append(f"{line.ljust(width)}  # {HELP[f.name]}")
    return "\n".join(lines)
