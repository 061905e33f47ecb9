"""Every answer the grader accepts also works in every experiment of the notebooks.

A check judges a function on its own; the notebooks then use it: notebook 01
trains with each initializer, notebook 02 borrows the He initializer from the
saved notebook 01 and trains with the L2 and dropout functions, notebook 03
gradient-checks the notebook-02 backprops (holding dropout masks fixed by
replaying the learner's own random draws). A correct answer written another way
(``rng.binomial`` masks, a float32 bias, ``np.linalg.norm(W) ** 2``...) must not
break any of that.

The correct variants of the catalogue are dealt into learners: each learner of
a notebook writes every function of it in one of its correct ways (the first
learner takes each function's first variant, the second the second, and so on;
a function with fewer variants gets the reference), so every variant is used
once and the ways of writing meet, as they do in a real notebook. For each
learner, their notebook and every notebook that borrows from it are run top to
bottom in this process, in a folder laid out like a learner's workspace, with
the training runs cut to a few iterations (what is tested is that the
experiments accept the answers, not what they conclude; that is
``test_notebooks.py``). Nothing may raise, nothing may be skipped ("...
skipped" printed), every result the notebook records must be there, and the
gradient checks of notebook 03 must pass on the learner's correct backprop.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from autograder.course import registry
from autograder.course.contract import solve_notebook
from autograder.course.registry import NOTEBOOK_DIR, REPO, STEMS
from autograder.qa import catalogue
from autograder.qa.mutants import make_notebook

pytestmark = pytest.mark.slow

VARIANTS = [v for v in catalogue.by_id().values() if v.verdict == catalogue.CORRECT]
ITERATIONS = 20  # per training run; the notebooks' NUM_ITERATIONS is cut to this
THRESHOLD = 1e-7  # notebook 03's verdict line for a correct backprop
# Results of exercises that are no graded function, so no variant writes them: notebook 03's
# planted-bug fix is None until the learner edits that cell.
NOT_GRADED = {"student_fix_difference"}


def read(stem: str):
    return nbformat.read(NOTEBOOK_DIR / f"{stem}.ipynb", as_version=4)


def borrowers() -> dict[str, list[str]]:
    """function -> the notebooks that read it from the saved notebook that defines it.

    A notebook borrows a function when one of its code cells calls
    ``functions_from_notebook("<stem>", ...)`` and names the function.
    """
    found: dict[str, list[str]] = {}
    for stem in STEMS:
        for cell in read(stem).cells:
            source = cell.source if cell.cell_type == "code" else ""
            for lender in re.findall(r'functions_from_notebook\(\s*"([^"]+)"', source):
                for function in registry.notebook(lender).functions:
                    if f'"{function}"' in source:
                        found.setdefault(function, []).append(stem)
    return found


BORROWERS = borrowers()


def run_top_to_bottom(nb) -> tuple[dict, str]:
    """Run the code cells of ``nb`` in one fresh namespace (as a kernel would); return it and what was printed."""
    import matplotlib.pyplot as plt

    namespace: dict = {"__name__": "__main__"}
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        for number, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            exec(compile(cell.source, f"<cell {number}>", "exec"), namespace)
            if namespace.get("NUM_ITERATIONS", 0) > ITERATIONS:
                namespace["NUM_ITERATIONS"] = ITERATIONS
    plt.close("all")
    return namespace, printed.getvalue()


def learners() -> list[tuple]:
    """The correct variants dealt into learners: tuples of one notebook's variants, at most one per function."""
    dealt = []
    for stem in STEMS:
        ways = [[v for v in VARIANTS if v.function == function] for function in registry.notebook(stem).functions]
        for i in range(max(map(len, ways))):
            dealt.append(tuple(variants[i] for variants in ways if i < len(variants)))
    return dealt


LEARNERS = learners()


def problems_in_experiments(learner: tuple, folder: Path) -> list[str]:
    """Run the learner's notebook and its borrowers in ``folder`` (a fresh workspace); what went wrong, in words."""
    stem = learner[0].stem
    os.chdir(folder)  # the notebooks read the datasets and each other from the current folder
    for other in STEMS:
        nb = make_notebook(list(learner), read(other)) if other == stem else solve_notebook(read(other), other)
        nbformat.write(nb, folder / f"{other}.ipynb")
    problems = []
    for run in dict.fromkeys([stem, *(s for v in learner for s in BORROWERS.get(v.function, []))]):
        try:
            namespace, printed = run_top_to_bottom(nbformat.read(folder / f"{run}.ipynb", as_version=4))
        except Exception as exc:  # noqa: BLE001 (reported as the test's failure)
            problems.append(f"{run} raised {type(exc).__name__}: {exc}")
            continue
        problems += [f"{run}: {line.strip()}" for line in printed.splitlines() if "skipped" in line]
        results = namespace["results"]
        problems += [f"{run}: no result for {key!r}" for key, value in results.items() if value is None and key not in NOT_GRADED]
        if run == "03_gradient_checking":
            problems += [
                f"{run}: {key} is {results[key]:.2e}, not below {THRESHOLD:g}"
                for key in ("l2_difference", "dropout_difference", "fixed_difference")
                if results[key] is not None and not results[key] < THRESHOLD
            ]
    return problems


def _in_a_worker(task: tuple[tuple[str, ...], str]) -> tuple[tuple[str, ...], list[str]]:
    ids, folder = task
    variants = catalogue.by_id()
    return ids, problems_in_experiments(tuple(variants[i] for i in ids), Path(folder))


@pytest.fixture(scope="module")
def problems(tmp_path_factory) -> dict[str, tuple[tuple[str, ...], list[str]]]:
    """variant id -> (the learner's variant ids, the problems of that learner's experiments); two learners at a time."""
    base = tmp_path_factory.mktemp("workspaces")
    tasks = []
    for number, learner in enumerate(LEARNERS):
        folder = base / f"learner-{number}"
        folder.mkdir()
        shutil.copytree(REPO / "datasets", folder / "datasets", ignore=shutil.ignore_patterns("*.py", "*.md"))
        tasks.append((tuple(v.id for v in learner), str(folder)))
    # fork: the children start with this process's imports and path (dlwork from notebooks/, as `make lab` gives it)
    with multiprocessing.get_context("fork").Pool(min(2, os.cpu_count() or 1), maxtasksperchild=8) as pool:
        return {i: (ids, found) for ids, found in pool.imap_unordered(_in_a_worker, tasks) for i in ids}


def test_the_borrowing_is_found():
    nb02 = ["compute_cost_with_regularization", "backward_propagation_with_regularization"]
    nb02 += ["forward_propagation_with_dropout", "backward_propagation_with_dropout"]
    assert BORROWERS == {"initialize_parameters_he": ["02_regularization"]} | {f: ["03_gradient_checking"] for f in nb02}
    for function, stems in BORROWERS.items():  # the registry says so too
        assert all(registry.notebook_of(function).stem in registry.notebook(stem).builds_on for stem in stems), function


def test_the_catalogue_has_correct_variants_of_every_kind():
    ids = {v.id for v in VARIANTS}
    assert len(VARIANTS) >= 40 and any("binomial" in i for i in ids) and any("uniform" in i for i in ids), ids
    assert sorted(v.id for learner in LEARNERS for v in learner) == sorted(ids), "each variant is dealt once"


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.id)
def test_a_correct_answer_works_in_every_experiment_that_uses_it(variant, problems):
    learner, found = problems[variant.id]
    assert found == [], (
        f"{variant.id} ({variant.what}), written beside {', '.join(i for i in learner if i != variant.id) or 'the reference'}"
    )


def test_a_mistake_in_an_experiment_is_seen(tmp_path):
    """Not blind: masks drawn from NumPy's global state (a wrong answer) cannot be replayed in notebook 03."""
    shutil.copytree(REPO / "datasets", tmp_path / "datasets", ignore=shutil.ignore_patterns("*.py", "*.md"))
    cwd = os.getcwd()
    try:
        found = problems_in_experiments((catalogue.by_id()["dropout-global-state"],), tmp_path)
    finally:
        os.chdir(cwd)
    assert any("dropout check skipped" in line for line in found), found
