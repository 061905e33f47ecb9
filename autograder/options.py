"""Command-line options that several commands share, each defined once.

A command's ``add_arguments(parser)`` calls the ``add_*`` functions it needs;
its ``run(args)`` reads the limits of the student process with
:func:`limits_from`. Which command takes which:

| option | commands |
| --- | --- |
| ``--course`` | build, grade, feedback, export, insight |
| ``--db-url`` | grade, feedback, export, insight |
| ``--workers`` | grade, demo, mutants (default 2 there) |
| ``--timeout``, ``--call-timeout``, ``--memory-mb`` | check, grade |
| ``--no-sandbox`` | check, grade, demo |
| ``-v``, ``-q``, ``--log-file`` | every command (added by :mod:`autograder.cli`) |

Limits and workers left out on the command line come from the course's
``nbgrader_config.py`` (:mod:`autograder.course.settings`). Options of a
single command stay in its module. Bad input raises :class:`UsageError`: the
command line prints its one line and exits 2.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.course import settings
from autograder.course.registry import REPO
from autograder.course.settings import Settings
from autograder.sandbox import Limits

DEFAULT_COURSE = REPO / "course"


def add_course(parser: argparse.ArgumentParser, *, what: str = "the course folder") -> None:
    """``--course DIR``: the nbgrader course folder (default: ``course/`` in the repository)."""
    parser.add_argument("--course", type=Path, default=DEFAULT_COURSE, metavar="DIR", help=f"{what} (default: course/)")


def add_db_url(parser: argparse.ArgumentParser) -> None:
    """``--db-url URL``: nbgrader's gradebook (default: ``None``, the course's SQLite file)."""
    parser.add_argument(
        "--db-url",
        default=None,
        metavar="URL",
        help="gradebook URL, as nbgrader's CourseDirectory.db_url (default: sqlite in the course)",
    )


def add_workers(parser: argparse.ArgumentParser, *, default: int | None = None) -> None:
    """``--workers N``: parallel grading processes (default ``None``: one per core)."""
    shown = "all cores" if default is None else default
    parser.add_argument("--workers", type=int, default=default, metavar="N", help=f"parallel graders (default: {shown})")


def add_limits(parser: argparse.ArgumentParser, *, timeouts: bool = True, sandbox_note: str = "only for code you trust") -> None:
    """The limits of the student process, as one group of the help.

    A flag left out keeps the course's setting (``c.WorkbookGrader`` in its
    ``nbgrader_config.py``, see :mod:`autograder.course.settings`), or the
    default without a course.

    Args:
        parser: The command's parser.
        timeouts: Also ``--timeout``, ``--call-timeout`` and ``--memory-mb``.
        sandbox_note: Why ``--no-sandbox`` is acceptable, shown in its help.
    """
    group = parser.add_argument_group("student process (default: the course's nbgrader_config.py)")
    if timeouts:
        group.add_argument(
            "--timeout",
            type=float,
            metavar="SECONDS",
            help=f"seconds of student code per notebook (default {Settings.notebook_timeout:g})",
        )
        group.add_argument(
            "--call-timeout",
            type=float,
            metavar="SECONDS",
            help=f"seconds for one call or cell (default {Settings.call_timeout:g})",
        )
        group.add_argument(
            "--memory-mb",
            type=int,
            metavar="MB",
            help=f"memory limit of the student process, per notebook (default {Settings.memory_mb})",
        )
    group.add_argument("--no-sandbox", action="store_true", help=f"run student code WITHOUT isolation ({sandbox_note})")


def course_settings(args: argparse.Namespace) -> Settings:
    """The settings of the course the command works on (defaults when it has no course, or the course none)."""
    course = getattr(args, "course", None)
    if course is None:
        return Settings()
    try:
        return settings.read(Path(course) / "nbgrader_config.py")
    except settings.SettingsError as exc:
        raise UsageError(str(exc)) from None


def limits_from(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` of the course's settings, with the flags of :func:`add_limits` over them."""
    chosen = course_settings(args)
    flags = {"notebook_timeout": "timeout", "call_timeout": "call_timeout", "memory_mb": "memory_mb"}
    values = {name: getattr(chosen, name) for name in ("notebook_timeout", "call_timeout", "memory_mb", "output_mb", "max_processes")}
    for name, flag in flags.items():
        if getattr(args, flag, None) is not None:
            values[name] = getattr(args, flag)
    return Limits(**values, sandbox=not args.no_sandbox)


def workers_from(args: argparse.Namespace) -> int | None:
    """``--workers``, else the course's setting; None = one per core."""
    if args.workers is not None:
        return args.workers
    return course_settings(args).workers or None


class UsageError(Exception):
    """Bad input (a missing course, notebook or assignment): the command prints one line and exits 2."""


def require_course(course: Path) -> Path:
    """``course``, resolved, if it is a built course; else :class:`UsageError` with the way out."""
    course = Path(course).resolve()
    if not (course / "nbgrader_config.py").is_file():
        raise UsageError(
            f"{course} is not a course folder (no nbgrader_config.py): build one with `python -m autograder build --course {course}`"
        )
    return course
