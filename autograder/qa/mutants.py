"""``python -m autograder mutants``: run the catalogue of wrong and correct variants through the checks.

Each variant of :mod:`autograder.qa.catalogue` becomes a notebook: the repository's
notebook with the variant in its function's solution cell and the reference in
every other one. Each notebook is graded by :func:`autograder.grading.notebook.grade_notebook`,
the class grader's own path (sandboxed student process, visible check, hidden
checks), several at a time. The matrix shows, per variant, the points, whether
the notebook's visible check already caught it (what the student hears before
submitting) and the diagnosis; it ends with the two error rates:

* passed-wrong: wrong variants that earned full points;
* failed-correct: correct variants that lost any point;

and the misdiagnosed count (wrong variants whose diagnosis lacks an expected
keyword). The exit status is 1 if any of the three is not zero, or if a
notebook could not be made or graded as the harness expects.

A failing visible check stops the hidden checks (the function earns 0), so most
wrong variants never reach them. ``--hidden-alone`` also judges every wrong
variant by the hidden checks alone (as if the visible check had passed) and
reports how those would have graded and diagnosed it; that is informational
and does not change the exit status.
"""

from __future__ import annotations

import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from autograder import options

FULL_WIDTH = 10_000


@dataclass
class Row:
    """The outcome of one variant."""

    variant: object  # catalogue.Variant
    points: float = 0.0
    max_points: float = 0.0
    visible: str | None = None  # the visible check's message; None when it passed
    diagnosis: str = ""  # the full diagnosis of the variant's function ("" when it passed)
    problems: list[str] = field(default_factory=list)  # harness trouble: not the variant's verdict
    seconds: float = 0.0
    hidden_points: float | None = None  # --hidden-alone: the hidden checks' points on their own
    hidden_diagnosis: str = ""

    @property
    def hidden_missing_keywords(self) -> list[str]:
        text = normalize(self.hidden_diagnosis)
        return [k for k in self.variant.keywords if normalize(k) not in text]

    @property
    def passed(self) -> bool:
        return self.max_points > 0 and self.points >= self.max_points

    @property
    def caught_by(self) -> str:
        """Which check stopped the variant: visible, hidden, or '' (full points)."""
        if self.passed:
            return ""
        return "visible" if self.visible is not None else "hidden"

    @property
    def missing_keywords(self) -> list[str]:
        text = normalize(self.diagnosis)
        return [k for k in self.variant.keywords if normalize(k) not in text]

    @property
    def failure(self) -> str | None:
        """None when the variant got the verdict it must get; else what went wrong."""
        if self.problems:
            return "harness"
        if self.variant.verdict == "cheat":
            return None if self.max_points > 0 and self.points == 0 else "cheat-paid"
        if self.variant.verdict == "correct":
            return None if self.passed else "failed-correct"
        if self.passed:
            return "passed-wrong"
        return "misdiagnosed" if self.missing_keywords else None


def normalize(text: str) -> str:
    """Lower case without spaces or backticks: how keywords are matched."""
    return re.sub(r"[\s`]", "", text.lower())


@dataclass
class Report:
    rows: list[Row]
    seconds: float
    workers: int
    hidden_alone: bool = False

    def count(self, failure: str) -> int:
        return sum(1 for r in self.rows if r.failure == failure)

    @property
    def wrong(self) -> list[Row]:
        return [r for r in self.rows if r.variant.verdict == "wrong"]

    @property
    def correct(self) -> list[Row]:
        return [r for r in self.rows if r.variant.verdict == "correct"]

    @property
    def cheats(self) -> list[Row]:
        return [r for r in self.rows if r.variant.verdict == "cheat"]

    @property
    def exit_code(self) -> int:
        return 0 if self.rows and all(r.failure is None for r in self.rows) else 1


# ------------------------------------------------------------------ making and grading notebooks


def cell_for(variant, stub: str) -> str:
    """The solution cell of ``variant``'s function."""
    from autograder.qa.catalogue import Source
    from autograder.qa.sample_class import cell_source

    if isinstance(variant.code, Source):
        return variant.code.text
    return cell_source(stub, variant.stem, variant.function, variant.code)


def make_notebook(variants, release_nb):
    """The release notebook with each variant in its function's cell and the reference in the others.

    ``variants`` is one catalogue variant, or several of one notebook's functions
    (at most one per function): a learner who wrote each function their own way.
    """
    import copy

    from autograder.course.contract import nbgrader_meta
    from autograder.qa.sample_class import REF, cell_source

    chosen = {v.function: v for v in (variants if isinstance(variants, (list, tuple)) else [variants])}
    stems = {v.stem for v in chosen.values()}
    if len(stems) != 1:
        raise ValueError(f"variants of one notebook only, not of {sorted(stems)}")
    (stem,) = stems
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            function = meta["grade_id"]
            variant = chosen.pop(function, None)
            cell.source = cell_for(variant, cell.source) if variant else cell_source(cell.source, stem, function, REF)
    if chosen:
        raise ValueError(f"{stem} has no solution cell for {', '.join(chosen)}")
    return nb


def _grade(task: tuple) -> tuple:
    """Pool worker: grade one notebook (the class grader's per-notebook entry point)."""
    from autograder.grading.notebook import grade_notebook

    index, path, stem, function, hidden_alone, alone_function = task
    try:
        result = grade_notebook(Path(path), stem=stem, only={function} if alone_function else None)
        alone = _judge_hidden_alone(Path(path), stem, function) if hidden_alone else None
        return index, result, alone, None
    except Exception as exc:  # noqa: BLE001 - reported as a harness problem of this variant
        return index, None, None, f"grading failed: {type(exc).__name__}: {exc}"


def _judge_hidden_alone(path: Path, stem: str, function: str):
    """The verdict of the hidden checks alone on ``function`` of the notebook at ``path``."""
    import shutil
    import tempfile

    import nbformat

    from autograder.course.contract import exercises
    from autograder.grading.judge import judge
    from autograder.grading.notebook import release_notebook, select_cells
    from autograder.sandbox import Limits, Session

    release = release_notebook(stem)
    points = next(e.points for e in exercises(release, stem) if e.function == function)
    cells, _ = select_cells(nbformat.read(path, as_version=4), release)
    workdir = Path(tempfile.mkdtemp(prefix="dlwork-mutants-hidden-"))
    session = Session(cells, workdir, Limits())
    try:
        return judge(function, session.function(function), points, stem, run_visible=False)
    finally:
        session.close()
        shutil.rmtree(workdir, ignore_errors=True)


def _row(variant, result, alone, error: str | None) -> Row:
    row = Row(variant)
    if error is not None:
        row.problems.append(error)
        return row
    if alone is not None:
        row.hidden_points = alone.points
        row.hidden_diagnosis = "" if alone.passed else alone.full_diagnosis()
    row.seconds = result.seconds
    row.problems += [f"notebook: {p}" for p in result.problems]
    for verdict in result.verdicts:
        if verdict.fault:
            row.problems.append(f"the grader failed on {verdict.function}: {verdict.reason}")
        if verdict.function == variant.function:
            row.points, row.max_points = verdict.points, verdict.max_points
            row.visible = verdict.visible
            row.diagnosis = "" if verdict.passed else verdict.full_diagnosis()
        elif not verdict.passed:  # the reference in the other cells must keep full points
            row.problems.append(
                f"the reference {verdict.function} got {verdict.points:g}/{verdict.max_points:g}: {verdict.full_diagnosis()}"
            )
    if row.max_points == 0:
        row.problems.append(f"the notebook has no graded {variant.function}")
    return row


def evaluate(variants, workers: int = 2, folder: Path | None = None, hidden_alone: bool = False) -> Report:
    """Grade every variant (one notebook each) with a pool of ``workers`` processes.

    With ``hidden_alone``, wrong variants are also judged by the hidden checks alone.
    """
    import shutil
    import tempfile

    import nbformat

    from autograder.grading.classroom import worker_deadline, worker_init
    from autograder.grading.notebook import release_notebook
    from autograder.grading.pool import Lost, run_tasks
    from autograder.sandbox import Limits

    started = time.monotonic()
    variants = list(variants)
    own_folder = folder is None
    folder = Path(tempfile.mkdtemp(prefix="dlwork-mutants-")) if own_folder else Path(folder)
    rows: list[Row | None] = [None] * len(variants)
    tasks = []
    releases = {}
    try:
        for i, variant in enumerate(variants):
            try:
                if variant.stem not in releases:
                    releases[variant.stem] = release_notebook(variant.stem)
                nb = make_notebook(variant, releases[variant.stem])
            except Exception as exc:  # noqa: BLE001 - an edit that no longer applies, a missing notebook
                rows[i] = Row(variant, problems=[f"the notebook could not be made: {type(exc).__name__}: {exc}"])
                continue
            path = folder / f"{i:03d}" / f"{variant.stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, path)
            # A cheat is judged on its own function: the reference in the other cells proves nothing more.
            tasks.append(
                (i, str(path), variant.stem, variant.function, hidden_alone and variant.verdict == "wrong", variant.verdict == "cheat")
            )
        deadline = worker_deadline(Limits())
        for task, outcome in run_tasks(_grade, tasks, workers, deadline, initializer=worker_init):
            i = task[0]
            if isinstance(outcome, Lost):
                rows[i] = _row(variants[i], None, None, f"grading failed: {outcome.reason}")
            else:
                rows[i] = _row(variants[i], *outcome[1:])
    finally:
        if own_folder:
            shutil.rmtree(folder, ignore_errors=True)
    return Report([r for r in rows if r is not None], time.monotonic() - started, workers, hidden_alone)


# ------------------------------------------------------------------ printing


def _cut(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: max(width - 3, 1)] + "..."


def _heard(row: Row) -> str:
    """The diagnosis as the matrix shows it: the visible check's own words when it failed."""
    if row.visible is None:
        return row.diagnosis
    prefix = f"{row.variant.function}: "
    return row.visible[len(prefix) :] if row.visible.startswith(prefix) else row.visible


def format_matrix(report: Report, width: int | None = None) -> str:
    """The matrix, one line per variant, then the details of any failure and the summary."""
    import shutil

    width = width or shutil.get_terminal_size((220, 40)).columns
    header = ("variant", "function", "expected", "points", "visible check", "OK", "diagnosis given")
    if report.hidden_alone:
        header = header[:4] + ("hidden alone",) + header[4:]
    table = []
    for r in report.rows:
        points = f"{r.points:g}/{r.max_points:g}"
        visible = "passes" if r.visible is None else "fails"
        ok = "OK" if r.failure is None else r.failure.upper()
        row = (r.variant.id, r.variant.function, r.variant.verdict, points, visible, ok, _heard(r) or "-")
        if report.hidden_alone:
            alone = (
                "-"
                if r.hidden_points is None
                else f"{r.hidden_points:g}/{r.max_points:g}" + ("" if not r.hidden_missing_keywords else " ?")
            )
            row = row[:4] + (alone,) + row[4:]
        table.append(row)
    n = len(header) - 1
    widths = [max(len(row[i]) for row in [header, *table]) for i in range(n)]
    used = sum(widths) + 2 * n
    lines = []
    for row in [header, *table]:
        cells = [f"{row[i]:<{widths[i]}}" for i in range(n)]
        lines.append("  ".join(cells) + "  " + _cut(row[n], max(width - used, 40)))
    failures = [r for r in report.rows if r.failure]
    if failures:
        lines += ["", "Not as expected:"]
        for r in failures:
            lines.append(f"  {r.variant.id} ({r.variant.function}, {r.variant.verdict}: {r.variant.what}): {r.failure}")
            lines.append(f"    points {r.points:g}/{r.max_points:g}; diagnosis: {r.diagnosis or '-'}")
            if r.failure == "misdiagnosed":
                lines.append(f"    missing keywords: {r.missing_keywords}")
            for problem in r.problems:
                lines.append(f"    problem: {problem}")
    lines += ["", *summary_lines(report)]
    return "\n".join(lines)


def _rate(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


def summary_lines(report: Report) -> list[str]:
    wrong, correct, cheats = report.wrong, report.correct, report.cheats
    functions = {r.variant.function for r in report.rows}
    passed_wrong, failed_correct = report.count("passed-wrong"), report.count("failed-correct")
    cheat_paid = report.count("cheat-paid")
    caught_visible = sum(1 for r in wrong if r.caught_by == "visible")
    partial = sum(1 for r in wrong if 0 < r.points < r.max_points)
    lines = [
        f"{len(report.rows)} variants ({len(wrong)} wrong, {len(correct)} correct, {len(cheats)} cheats) of {len(functions)} "
        f"function{'s' if len(functions) != 1 else ''}, "
        f"graded in {report.seconds:.1f} s with {report.workers} workers",
        f"passed-wrong:   {passed_wrong} of {len(wrong)} wrong variants earned full points ({_rate(passed_wrong, len(wrong))})",
        f"failed-correct: {failed_correct} of {len(correct)} correct variants lost points ({_rate(failed_correct, len(correct))})",
        f"cheat-paid:     {cheat_paid} of {len(cheats)} cheats (delegating to an importable helper) earned any point",
        f"misdiagnosed:   {report.count('misdiagnosed')} of {len(wrong)} wrong variants",
        f"caught by the visible check (before submitting): {caught_visible} of {len(wrong)} wrong variants; "
        f"{partial} others earned partial credit",
    ]
    if report.hidden_alone:
        judged = [r for r in wrong if r.hidden_points is not None]
        full = sum(1 for r in judged if r.hidden_points >= r.max_points)
        unnamed = sum(1 for r in judged if r.hidden_points < r.max_points and r.hidden_missing_keywords)
        lines.append(
            f"hidden checks alone (informational): {full} of {len(judged)} wrong variants would earn full points; "
            f"{unnamed} of the others get a diagnosis without the expected keywords (marked ?)"
        )
    if report.count("harness"):
        lines.append(f"harness problems: {report.count('harness')} variants could not be judged as intended")
    return lines


# ------------------------------------------------------------------ command line


def add_arguments(parser) -> None:
    parser.add_argument("--only", metavar="TEXT", action="append", help="only variants whose id or function contains TEXT (repeatable)")
    options.add_workers(parser, default=2)
    parser.add_argument("--full", action="store_true", help="print whole diagnoses instead of cutting them to the terminal width")
    parser.add_argument(
        "--hidden-alone", action="store_true", help="also judge each wrong variant by the hidden checks alone (informational)"
    )


def selected(only: list[str] | None):
    from autograder.qa.catalogue import CATALOGUE, delegations

    everything = [*CATALOGUE, *delegations()]
    if not only:
        return everything
    return [v for v in everything if any(text in v.id or text in v.function for text in only)]


def run(args) -> int:
    variants = selected(args.only)
    if not variants:
        print("no variant matches", file=sys.stderr)
        return 2
    report = evaluate(variants, workers=args.workers, hidden_alone=args.hidden_alone)
    print(format_matrix(report, FULL_WIDTH if args.full else None))
    return report.exit_code
