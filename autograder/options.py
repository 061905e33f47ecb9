"""Command-line options that several commands share, each defined once.

A command's ``add_arguments(parser)`` calls the ``add_*`` functions it needs;
its ``run(args)`` reads the limits of the student process with
:func:`limits_from`. Which command takes which:

| option | commands |
| --- | --- |
| ``--course`` | build, grade, feedback, export |
| ``--db-url`` | grade, export |
| ``--workers`` | grade, demo, mutants (default 2 there) |
| ``--timeout``, ``--call-timeout``, ``--memory-mb`` | check, grade |
| ``--no-sandbox`` | check, grade, demo |

Options of a single command stay in its module.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from autograder.course.registry import REPO
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

    Args:
        parser: The command's parser.
        timeouts: Also ``--timeout``, ``--call-timeout`` and ``--memory-mb``;
            without them :func:`limits_from` keeps :class:`Limits`' defaults.
        sandbox_note: Why ``--no-sandbox`` is acceptable, shown in its help.
    """
    group = parser.add_argument_group("student process")
    if timeouts:
        group.add_argument(
            "--timeout",
            type=float,
            default=Limits.notebook_timeout,
            metavar="SECONDS",
            help="seconds for the whole notebook (default %(default)s)",
        )
        group.add_argument(
            "--call-timeout",
            type=float,
            default=Limits.call_timeout,
            metavar="SECONDS",
            help="seconds for one call or cell (default %(default)s)",
        )
        group.add_argument(
            "--memory-mb",
            type=int,
            default=Limits.memory_mb,
            metavar="MB",
            help="memory limit of the student process, per notebook (default %(default)s)",
        )
    group.add_argument("--no-sandbox", action="store_true", help=f"run student code WITHOUT isolation ({sandbox_note})")


def limits_from(args: argparse.Namespace) -> Limits:
    """The :class:`Limits` that the options of :func:`add_limits` ask for."""
    if not hasattr(args, "timeout"):
        return Limits(sandbox=not args.no_sandbox)
    return Limits(
        call_timeout=args.call_timeout,
        notebook_timeout=args.timeout,
        memory_mb=args.memory_mb,
        sandbox=not args.no_sandbox,
    )
