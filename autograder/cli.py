"""Command-line interface: each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib

# name -> ("module" or "module:object", one-line help). The module (or object) has
# add_arguments(parser) and run(args) -> int. Heavy imports stay inside run().
# Options that several commands share are defined once, in autograder/options.py.
COMMANDS = {
    "build": ("autograder.course.builder", "build the nbgrader course (source, release) from this repository"),
    "check": ("autograder.grading.notebook", "grade one notebook on the spot and print a table"),
    "grade": ("autograder.grading.classroom", "grade every submission of the class into the gradebook (parallel, resumable)"),
    "feedback": ("autograder.reports.feedback", "write one HTML feedback report per student"),
    "demo": ("autograder.qa.demo", "build the course, grade a sample class, print the grade table"),
    "export": ("autograder.reports.export", "write the grades as CSV (per-function points, not-graded flag)"),
    "mutants": ("autograder.qa.mutants", "run the catalogue of wrong and correct variants through the checks; print both error rates"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module_path, _, attribute = module_name.partition(":")
        module = importlib.import_module(module_path)
        if attribute:
            module = getattr(module, attribute)
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    args = parser.parse_args(argv)
    return int(args._run(args) or 0)
