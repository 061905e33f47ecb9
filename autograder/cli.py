"""Command-line interface: each subcommand lives in its own module."""

from __future__ import annotations

import argparse
import importlib

# name -> (module, one-line help). Each module has add_arguments(parser) and run(args) -> int.
COMMANDS = {
    "build": ("autograder.build", "build the nbgrader course (source, release) from this repository"),
    "check": ("autograder.checker", "grade one notebook on the spot and print a table"),
    "grade": ("autograder.classgrade", "grade every submission of the class into the gradebook (parallel, resumable)"),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sp = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sp)
        sp.set_defaults(_run=module.run)
    args = parser.parse_args(argv)
    return int(args._run(args) or 0)
