"""Build an nbgrader course from this workbook, grade it safely, and report.

Every command reads the course's nbgrader_config.py (limits, workers);
flags override it for one run.

exit codes: 0 all graded (or done); 1 something not graded, or the grader
failed (see the log); 2 bad input (a missing course, notebook or assignment),
with one line that says what to do.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from pathlib import Path

# name -> (module, one-line help, examples). The module has add_arguments(parser)
# and run(args) -> int. Heavy imports stay inside run(). Options that several
# commands share are defined once, in autograder/options.py.
COMMANDS = {
    "build": (
        "autograder.course.builder",
        "build the nbgrader course (source, release) from this repository",
        ["build", "build --course ~/courses/dl-2026"],
    ),
    "check": (
        "autograder.grading.notebook",
        "grade notebooks on the spot and print a table per notebook",
        [
            "check workspace/01_initialization.ipynb",
            "check workspace/*.ipynb",
            "check submitted/ana/02_regularization/02_regularization.ipynb --json",
        ],
    ),
    "grade": (
        "autograder.grading.classroom",
        "grade every submission of the class into the gradebook (parallel, resumable)",
        [
            "grade",
            "grade --student ana --assignment 02_regularization",
            "grade --course ~/courses/dl-2026 --workers 8 --log-file grade.log",
        ],
    ),
    "feedback": ("autograder.reports.feedback", "write one HTML feedback report per student", ["feedback"]),
    "demo": ("autograder.qa.demo", "build the course, grade a sample class, print the grade table", ["demo"]),
    "export": (
        "autograder.reports.export",
        "write the grades as CSV (per-function points, graded or not, and why)",
        ["export --csv grades.csv"],
    ),
    "insight": (
        "autograder.insight.report",
        "one HTML page of what the class got wrong (mistakes per function, stuck students, similar submissions)",
        ["insight", "insight --threshold 0.7 --assignment 02_regularization", "insight --no-similarity --out ~/lecture-prep"],
    ),
    "mutants": (
        "autograder.qa.mutants",
        "run the catalogue of wrong and correct variants through the checks; print both error rates",
        ["mutants"],
    ),
}
LOG_NAME = "autograder.log"  # in the course folder, for commands that have one
log = logging.getLogger("autograder")


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("dl-practical-workbook")
    except PackageNotFoundError:
        import tomllib

        from autograder.course.registry import REPO

        return tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]


class _FirstLine(logging.Formatter):
    """On the terminal, a fault is one line; its traceback goes to the log file."""

    def format(self, record: logging.LogRecord) -> str:
        return f"{record.levelname.lower()}: {record.getMessage().splitlines()[0]}"


def configure_logging(args: argparse.Namespace) -> None:
    """Terminal: warnings (-v: everything, -q: errors only), one line each. Log file: everything, in full."""
    log.setLevel(logging.DEBUG)
    log.propagate = False
    for handler in list(log.handlers):
        log.removeHandler(handler)
        handler.close()
    terminal = logging.StreamHandler(sys.stderr)
    terminal.setLevel(logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING)
    terminal.setFormatter(logging.Formatter("%(levelname)s: %(message)s") if args.verbose else _FirstLine())
    log.addHandler(terminal)
    in_course = args.command != "check" and getattr(args, "course", None) is not None  # check: a learner's own notebook
    if args.log_file is None and in_course and Path(args.course, "nbgrader_config.py").is_file():
        args.log_file = Path(args.course).resolve() / LOG_NAME
    if args.log_file is not None:
        args.log_file = Path(args.log_file)
        args.log_file.parent.mkdir(parents=True, exist_ok=True)
        to_file = logging.FileHandler(args.log_file, encoding="utf-8")
        to_file.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
        log.addHandler(to_file)


class _Parser(argparse.ArgumentParser):
    """Bad arguments: one line and exit 2, as for every other bad input."""

    def error(self, message: str):
        self.exit(2, f"error: {message} (see: {self.prog} --help)\n")


def parser() -> argparse.ArgumentParser:
    top = _Parser(
        prog="python -m autograder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="run `python -m autograder COMMAND --help` for a command's options and examples",
    )
    top.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    common = argparse.ArgumentParser(add_help=False)
    output = common.add_argument_group("output")
    loudness = output.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="say more, tracebacks included")
    loudness.add_argument("-q", "--quiet", action="store_true", help="errors only")
    output.add_argument("--log-file", type=Path, metavar="FILE", help=f"also log to FILE, in full (default: {LOG_NAME} in the course)")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text, examples) in COMMANDS.items():
        module = importlib.import_module(module_name)
        shown = "\n".join(f"  python -m autograder {example}" for example in examples)
        sp = sub.add_parser(
            name,
            help=help_text,
            description=help_text,
            parents=[common],
            epilog=f"examples:\n{shown}",
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    return top


def main(argv: list[str] | None = None) -> int:
    from autograder.options import UsageError

    args = parser().parse_args(argv)
    try:
        configure_logging(args)
        return int(args._run(args) or 0)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; what was graded is kept, run the command again to finish", file=sys.stderr)
        return 1
    except Exception as exc:  # the grader's own failure: one line here, the traceback in the log
        log.debug("the grader failed", exc_info=True)  # the log file always; the terminal with -v
        where = f"; the traceback is in {args.log_file}" if args.log_file else "; run with -v for the traceback"
        first = (str(exc).splitlines() or [""])[0]
        print(f"error: the grader failed: {type(exc).__name__}: {first}{where}", file=sys.stderr)
        return 1
