"""``python -m autograder build``: write the nbgrader course from this repository.

The course folder (default ``course/``, never committed) is a standard nbgrader
course::

    course/
      nbgrader_config.py            from autograder/course/nbgrader_config.py.tmpl
      feedback_sanitizer.py         from autograder/course/feedback_sanitizer.py; the config
                                    loads it for generate_feedback
      practice_cells.py             from autograder/course/practice_cells.py; the config
                                    loads it for generate_assignment
      jupyter/kernels/dlwork-grading/
        kernel.json                 the grading kernel (env, startup file)
        grading_startup.py          from autograder/course/grading_kernel_startup.py
      source/<stem>/
        <stem>.ipynb                reference bodies between solution markers,
                                    hidden block appended to each check cell,
                                    practice cells finished (starting code in metadata)
        dlwork/                     the support package, as in notebooks/
        datasets/<name>.h5          the datasets the notebook names
      release/<stem>/...            written by nbgrader generate_assignment
      exchange/                     nbgrader's exchange (c.Exchange.root), for release_assignment
      gradebook.db                  assignments, notebooks, cells (and later grades)

``make formgrader`` opens JupyterLab on the course with the repository and
``notebooks/`` on PYTHONPATH, so the formgrader works and a source notebook runs
top to bottom in the default Python 3 kernel (its check cells import the hidden
checks from ``autograder``).

Everything under ``source/<stem>/`` other than the notebook goes to students
unchanged (nbgrader copies it into the release), so only answer-free files are
put there. The release is produced by nbgrader's own ``generate_assignment``,
run once for all notebooks in a child process in the course folder (the same
command an instructor would type), then checked for leaked answers.

Rebuilding an existing course rewrites the config, the kernelspec, ``source/``
and ``release/`` for the notebooks built, and keeps the gradebook, the
submissions and the grades.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import string
import subprocess
import sys
import time
from pathlib import Path

from autograder import options
from autograder.course import contract, registry, settings

REPO = registry.REPO
SUPPORT_PACKAGE = registry.NOTEBOOK_DIR / "dlwork"
DATASET_DIR = REPO / "datasets"
CONFIG_TEMPLATE = Path(__file__).with_name("nbgrader_config.py.tmpl")
KERNEL_STARTUP = Path(__file__).with_name("grading_kernel_startup.py")
# Self-contained: the course's config loads them by path in the nbgrader process.
FEEDBACK_SANITIZER = Path(__file__).with_name("feedback_sanitizer.py")
PRACTICE_CELLS = Path(__file__).with_name("practice_cells.py")

COURSE_ID = "dl-practical-workbook"
KERNEL_NAME = "dlwork-grading"
CELL_TIMEOUT = 60  # seconds per cell under autograde; see nbgrader_config.py.tmpl

HIDDEN_BEGIN, HIDDEN_END = "### BEGIN HIDDEN TESTS", "### END HIDDEN TESTS"
# Lines that must never appear in anything a student receives.
SECRET_MARKERS = (contract.BEGIN, contract.END, HIDDEN_BEGIN, HIDDEN_END, "grade_in_kernel", "source_solutions")
SECRET_NAMES = ("autograder", "source_solutions")
COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints")


class BuildError(RuntimeError):
    """The course could not be built; the message says why."""


def hidden_block(function: str) -> str:
    """The block appended to the check cell of ``function`` in the source notebook (CONTRIBUTING.md, rule 3)."""
    return "\n".join(
        [
            HIDDEN_BEGIN,
            "from autograder.grading.stock_nbgrader import grade_in_kernel",
            f'grade_in_kernel("{function}", globals())',
            HIDDEN_END,
        ]
    )


def is_check_cell(cell) -> bool:
    meta = contract.nbgrader_meta(cell)
    return cell.cell_type == "code" and bool(meta.get("grade")) and str(meta.get("grade_id", "")).startswith("check_")


def source_notebook(nb, stem: str):
    """The nbgrader source version of a student notebook: solutions and hidden checks filled in."""
    source = contract.solve_notebook(nb, stem, markers=True)
    for cell in source.cells:
        if is_check_cell(cell):
            function = contract.nbgrader_meta(cell)["grade_id"][len("check_") :]
            cell.source = cell.source.rstrip("\n") + "\n" + hidden_block(function)
    return source


def write_config(course: Path) -> None:
    """``nbgrader_config.py`` and the feedback preprocessor it loads from beside it."""
    config = course / "nbgrader_config.py"
    kept = settings.read(config)  # an instructor's settings survive a rebuild
    template = string.Template(CONFIG_TEMPLATE.read_text())
    text = template.substitute(
        grader_settings=settings.section(kept),
        course_id=COURSE_ID,
        kernel_name=KERNEL_NAME,
        cell_timeout=CELL_TIMEOUT,
        code_stub=repr("\n".join(contract.STUB_LINES)),
        sanitizer_module=FEEDBACK_SANITIZER.stem,
        practice_module=PRACTICE_CELLS.stem,
    )
    shutil.copyfile(FEEDBACK_SANITIZER, course / FEEDBACK_SANITIZER.name)
    shutil.copyfile(PRACTICE_CELLS, course / PRACTICE_CELLS.name)
    config.write_text(text)


def write_kernelspec(course: Path, python: str) -> Path:
    """The grading kernelspec, under ``course/jupyter/kernels/`` (found via JUPYTER_PATH set in the config)."""
    spec_dir = course / "jupyter" / "kernels" / KERNEL_NAME
    spec_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(KERNEL_STARTUP, spec_dir / "grading_startup.py")
    spec = {
        "argv": [
            python,
            "-m",
            "ipykernel_launcher",
            "-f",
            "{connection_file}",
            "--IPKernelApp.exec_files={resource_dir}/grading_startup.py",
            # Tracebacks without context lines: the default "Context" mode shows the
            # hidden block around the failing visible line in the feedback.
            "--InteractiveShell.xmode=Plain",
        ],
        "display_name": "dlwork grading (autograde only)",
        "language": "python",
        "env": {
            # The hidden block imports autograder.grading.stock_nbgrader, which uses source_solutions
            # (and it, the support package, as the notebooks do).
            "PYTHONPATH": os.pathsep.join([str(REPO), str(registry.NOTEBOOK_DIR)]),
            "MPLBACKEND": "Agg",
            "OMP_NUM_THREADS": "1",
            "OPENBLAS_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        },
        "metadata": {"debugger": False},
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec, indent=1) + "\n")
    return spec_dir


def prepared_source(stem: str):
    """The source notebook of ``stem``, or :class:`BuildError` naming the notebook and what breaks the cell contract."""
    import nbformat

    path = registry.NOTEBOOK_DIR / f"{stem}.ipynb"
    try:
        return source_notebook(nbformat.read(path, as_version=4), stem)
    except ValueError as exc:  # the contract's errors name the cell and the reason
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path
        raise BuildError(f"{shown} breaks the cell contract: {exc}") from None


def write_source(course: Path, stem: str, source=None) -> Path:
    """``source/<stem>/``: the source notebook, the support package and the datasets the registry says it uses."""
    import nbformat

    source = prepared_source(stem) if source is None else source
    target = course / "source" / stem
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    nbformat.write(source, target / f"{stem}.ipynb")
    shutil.copytree(SUPPORT_PACKAGE, target / SUPPORT_PACKAGE.name, ignore=COPY_IGNORE)
    used = registry.notebook(stem).datasets
    if used:
        (target / "datasets").mkdir()
        for name in used:
            shutil.copyfile(DATASET_DIR / f"{name}.h5", target / "datasets" / f"{name}.h5")
    return target


def nbgrader_env() -> dict[str, str]:
    """The environment for an nbgrader child process: this venv's bin/ first on PATH.

    nbgrader creates a new gradebook by running ``alembic`` found on PATH, so a
    venv that is not activated fails there.
    """
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def generate_release(course: Path, stems: list[str]) -> None:
    """Run nbgrader's own ``generate_assignment`` in the course folder, one process for all notebooks."""
    # One assignment id per process; a glob is expanded by nbgrader itself. "*" is
    # exact when every notebook is built (source/ holds nothing else).
    built = sorted(p.name for p in (course / "source").iterdir() if p.is_dir())
    targets = ["*"] if built == sorted(stems) else stems
    for target in targets:
        cmd = [sys.executable, "-m", "nbgrader", "generate_assignment", target, "--force"]
        proc = subprocess.run(cmd, cwd=course, env=nbgrader_env(), capture_output=True, text=True)
        if proc.returncode != 0:
            raise BuildError(f"{' '.join(cmd)} failed in {course}:\n{proc.stdout}\n{proc.stderr}")
    for stem in stems:
        if not (course / "release" / stem / f"{stem}.ipynb").is_file():
            raise BuildError(f"nbgrader wrote no release/{stem}/{stem}.ipynb")


def release_leaks(release: Path) -> list[str]:
    """Files under ``release`` that carry a solution or hidden-test marker or a secret name."""
    found = []
    for path in sorted(release.rglob("*")):
        rel = path.relative_to(release)
        if any(part in SECRET_NAMES or part.startswith(SECRET_NAMES) for part in rel.parts):
            found.append(f"{rel}: secret name")
        elif path.is_file():
            data = path.read_bytes()
            found += [f"{rel}: contains {m!r}" for m in SECRET_MARKERS if m.encode() in data]
    return found


def practice_mismatches(release: Path, stems: list[str]) -> list[str]:
    """Practice cells of the release whose source is not the committed starting code (the finished function leaked)."""
    import nbformat

    found = []
    for stem in stems:
        committed = nbformat.read(registry.NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)
        released = {cell.get("id"): cell for cell in nbformat.read(release / stem / f"{stem}.ipynb", as_version=4).cells}
        for cell in committed.cells:
            function = contract.practice_function(cell)
            if function and (cell.get("id") not in released or released[cell.get("id")].source != cell.source):
                found.append(f"{stem}/{stem}.ipynb: the practice cell of {function} is not the starting code")
    return found


def build_course(course: Path, stems: list[str] | None = None, generate: bool = True) -> dict[str, float]:
    """Build (or rebuild) the course in ``course``; return the seconds each step took.

    Args:
        course: The course folder; created if missing.
        stems: Notebooks to build (default: all of ``registry.notebook_paths()``).
        generate: Also run ``nbgrader generate_assignment`` (False: source only).
    """
    all_stems = [p.stem for p in registry.notebook_paths()]
    stems = list(all_stems if stems is None else stems)
    unknown = [s for s in stems if s not in all_stems]
    if unknown:
        raise BuildError(f"unknown notebook(s) {unknown}; the course has {all_stems}")
    missing = [s for s in stems if not (registry.NOTEBOOK_DIR / f"{s}.ipynb").is_file()]
    if missing:
        raise BuildError(f"notebook(s) not found in {registry.NOTEBOOK_DIR}: {missing}")
    try:
        import ipykernel  # noqa: F401  (the grading kernel runs this Python)
    except ImportError as exc:
        raise BuildError(f"{sys.executable} has no ipykernel; run the build from the project venv") from exc

    times = {}
    start = time.perf_counter()
    sources = {stem: prepared_source(stem) for stem in stems}  # every notebook checked before anything is written
    course.mkdir(parents=True, exist_ok=True)
    # The exchange the config names (c.Exchange.root): the formgrader warns when it is missing.
    (course / "exchange").mkdir(exist_ok=True)
    write_config(course)
    write_kernelspec(course, sys.executable)
    for stem in stems:
        write_source(course, stem, sources[stem])
    times["source"] = time.perf_counter() - start
    if generate:
        start = time.perf_counter()
        generate_release(course, stems)
        leaks = release_leaks(course / "release") + practice_mismatches(course / "release", stems)
        if leaks:
            raise BuildError("the release leaks answers or hidden checks:\n" + "\n".join(leaks))
        times["generate_assignment"] = time.perf_counter() - start
    return times


def add_arguments(parser: argparse.ArgumentParser) -> None:
    options.add_course(parser, what="course folder to write")
    parser.add_argument(
        "--notebook",
        action="append",
        metavar="STEM",
        help="build only this notebook (repeatable), e.g. 01_initialization; default: all",
    )
    parser.add_argument("--no-generate", action="store_true", help="write source/ only; skip nbgrader generate_assignment")


def run(args: argparse.Namespace) -> int:
    course = Path(args.course).resolve()
    known = [p.stem for p in registry.notebook_paths()]
    unknown = sorted(set(args.notebook or []) - set(known))
    if unknown:
        raise options.UsageError(f"unknown notebook(s) {', '.join(unknown)}; the workbook has {', '.join(known)}")
    try:
        times = build_course(course, args.notebook, generate=not args.no_generate)
    except BuildError as exc:
        print(f"build failed: {exc}", file=sys.stderr)
        return 1
    steps = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in times.items())
    print(f"course written to {course} ({steps})")
    print(grading_hint(course))
    return 0


def grading_hint(course: Path) -> str:
    """What to type next: our grader for a class; stock nbgrader as the compatibility path."""
    cwd = Path.cwd()

    def shown(path: Path, base: Path) -> str:
        return os.path.relpath(path, base) if path.is_relative_to(base) else str(path)

    # `python -m autograder` works from the repository root only (the package is not installed).
    into_repo = "" if cwd == REPO else f"cd {REPO} && "
    course_option = "" if course == options.DEFAULT_COURSE.resolve() else f" --course {shown(course, REPO)}"
    python = Path(sys.executable)
    # The venv's nbgrader, by its full path unless it is the one on PATH.
    venv_nbgrader = str(python.with_name("nbgrader"))
    nbgrader = "nbgrader" if shutil.which("nbgrader") == venv_nbgrader else venv_nbgrader
    return (
        f"grade a class:      {into_repo}{shown(python, REPO)} -m autograder grade{course_option}   (then feedback, export)\n"
        f"or, stock nbgrader: cd {shown(course, cwd)} && {nbgrader} autograde <assignment>   "
        "(compatibility path: student code shares the kernel with the hidden checks)\n"
        f"formgrader:         {into_repo}make formgrader{'' if not course_option else f' COURSE={shown(course, REPO)}'}   "
        "(JupyterLab on the course; source notebooks run in its Python 3 kernel)"
    )
