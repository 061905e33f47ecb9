"""The catalogue of mistakes and correct variants gets the verdicts it must get (issue 5).

Every variant is graded as the class grader grades a notebook (``grade_notebook``:
sandboxed student process, visible check, hidden checks). No wrong variant may
earn full points, no correct variant may lose a point, and every wrong variant's
diagnosis must name its mistake, also when the hidden checks judge it alone
(unless the catalogue says only the visible check names it). A deliberately
mislabelled catalogue shows the harness does fail when it should.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO, require_notebook

from autograder.course.registry import STEMS, graded_functions
from autograder.qa import catalogue, mutants
from autograder.qa.catalogue import BOTH, CATALOGUE, CHEAT, CORRECT, HIDDEN, VISIBLE, WRONG, Source, Variant, correct, delegations, wrong
from autograder.qa.sample_class import Edit

# The mistakes and correct forms issue 5 lists, by catalogue id.
ISSUE_WRONG = {
    "initialize_parameters_he": [
        "he-current-layer",
        "he-xavier",
        "he-no-square-root",
        "he-uniform",
        "he-bias-ones",
        "he-bias-random",
        "he-transposed",
        "he-loop-one-short",
        "he-layers-dims-1-shape",
    ],
    "initialize_parameters_zeros": ["zeros-ones", "zeros-transposed", "zeros-loop-one-short", "zeros-layers-dims-1"],
    "initialize_parameters_random": ["random-without-x10", "random-uniform", "random-bias-random"],
    "compute_cost_with_regularization": [
        "cost-lambd-over-m",
        "cost-without-1/m",
        "cost-norm-not-squared",
        "cost-with-biases",
        "cost-without-W3",
    ],
    "backward_propagation_with_regularization": ["l2-back-half", "l2-back-layer-3-missing", "l2-back-into-db"],
    "forward_propagation_with_dropout": [
        "dropout-no-scaling",
        "dropout-times-keep-prob",
        "dropout-inverted-mask",
        "dropout-normal-mask",
        "dropout-on-input",
        "dropout-on-output",
        "dropout-masks-not-cached",
        "dropout-one-mask",
    ],
    "backward_propagation_with_dropout": [
        "dropout-back-redrawn",
        "dropout-back-no-scaling",
        "dropout-back-layer-1-unmasked",
        "dropout-back-wrong-mask",
    ],
    "gradient_check": ["gc-grad-is-gradapprox", "gc-one-sided", "gc-over-epsilon", "gc-returns-gradapprox"],
    "gradient_check_n": [
        "gcn-no-copy",
        "gcn-parameters-in-place",
        "gcn-whole-vector",
        "gcn-theta-plus-reused",
        "gcn-perturbs-X",
        "gcn-L1",
        "gcn-denominator-grad-only",
        "gcn-denominator-norm-of-sum",
        "gcn-sorted-gradients",
    ],
}
ISSUE_CORRECT = [
    "cost-w-squared",
    "cost-w-times-w",
    "cost-norm-squared",
    "cost-loop-over-keys",  # the sums of squares
    "dropout-bool-mask",
    "dropout-int-mask",
    "dropout-float-mask",
    "dropout-where",
    "dropout-binomial",
    "dropout-greater-than",  # masks
    "dropout-in-place",
    "l2-back-in-place",
    "random-in-place",
    "he-in-place",  # in-place updates
    "he-normal",
    "random-normal",
    "he-transposed-draw",
    "random-transposed-draw",  # other draws
    "gcn-dict-copies",
    "gcn-restore-in-place",  # copies inside the loop, or restoring after
    "gc-numerator-reversed",
    "gcn-numerator-reversed",
    "gcn-vectorised",
]


# The mistakes issue 13 adds, with the words their diagnosis must hold.
ISSUE_13_WRONG = {
    "gc-J-written-out": ("gradient_check", "forward_propagation"),
    "gc-J-and-grad-written-out": ("gradient_check", "neither"),
    "gcn-perturbs-X-and-theta": ("gradient_check_n", "X as well as theta"),
    "gcn-minus-whole-vector": ("gradient_check_n", "whole vector"),
    "gcn-plus-whole-vector": ("gradient_check_n", "whole vector"),
}


def test_the_catalogue_is_well_formed():
    ids = [v.id for v in CATALOGUE]
    assert len(ids) == len(set(ids)), "variant ids must be unique"
    graded = set(graded_functions())
    assert len(graded) == 11
    for v in CATALOGUE:
        assert v.function in graded, v.id
        assert v.verdict in (WRONG, CORRECT, CHEAT), v.id
        assert bool(v.keywords) == (v.verdict == WRONG), f"{v.id}: wrong variants name keywords, correct ones none"
        assert v.what, f"{v.id}: say in words what the variant does"
        assert v.caught_by in ((BOTH, VISIBLE, HIDDEN) if v.verdict == WRONG else (BOTH,)), v.id
        if not isinstance(v.code, Source):
            v.code.apply(v.stem, v.function)  # raises if the reference no longer contains the edited text


def test_the_catalogue_is_large_enough_and_holds_the_issues_list():
    wrong_ones = [v for v in CATALOGUE if v.verdict == WRONG]
    correct_ones = [v for v in CATALOGUE if v.verdict == CORRECT]
    assert len(CATALOGUE) >= 60 and len(wrong_ones) >= 40 and len(correct_ones) >= 20
    assert {v.function for v in wrong_ones} == set(graded_functions())
    by_id = catalogue.by_id()
    for function, ids in ISSUE_WRONG.items():
        for id in ids:
            assert by_id[id].verdict == WRONG and by_id[id].function == function, id
    for id in ISSUE_CORRECT:
        assert by_id[id].verdict == CORRECT, id
    for id, (function, word) in ISSUE_13_WRONG.items():
        assert by_id[id].verdict == WRONG and by_id[id].function == function, id
        assert any(word in keyword for keyword in by_id[id].keywords), id


@pytest.fixture(scope="module")
def report():
    for stem in STEMS:
        require_notebook(stem)
    return mutants.evaluate(CATALOGUE, workers=2, hidden_alone=True)


@pytest.mark.slow
def test_every_variant_gets_its_verdict_and_diagnosis(report, capsys):
    with capsys.disabled():
        print("\n" + "\n".join(mutants.summary_lines(report)))
    not_ok = [f"{r.variant.id}: {r.failure}: {r.points:g}/{r.max_points:g} {r.diagnosis} {r.problems}" for r in report.rows if r.failure]
    assert not not_ok, "\n".join(not_ok)
    # Which check stops each wrong variant is what the catalogue says (a failing visible check stops the grading).
    stops = {BOTH: VISIBLE, VISIBLE: VISIBLE, HIDDEN: HIDDEN}
    stopped = [
        f"{r.variant.id}: stopped by the {r.caught_by} check, but caught_by={r.variant.caught_by}"
        for r in report.rows
        if r.variant.verdict == WRONG and r.caught_by != stops[r.variant.caught_by]
    ]
    assert not stopped, "\n".join(stopped)
    assert len(report.rows) == len(CATALOGUE)
    assert report.count("passed-wrong") == report.count("failed-correct") == report.count("misdiagnosed") == 0
    assert report.exit_code == 0


@pytest.mark.slow
def test_the_hidden_checks_alone_also_fail_and_name_every_wrong_variant(report):
    """A failing visible check hides the hidden checks; on their own they must hold too,
    except on the mistakes the catalogue says only the visible check names (caught_by=VISIBLE)."""
    judged = [r for r in report.rows if r.variant.verdict == WRONG]
    assert all(r.hidden_points is not None for r in judged)
    judged = [r for r in judged if r.variant.caught_by != VISIBLE]
    full = [r.variant.id for r in judged if r.hidden_points >= r.max_points]
    unnamed = [f"{r.variant.id}: {r.hidden_diagnosis}" for r in judged if r.hidden_missing_keywords]
    assert not full, f"the hidden checks alone give full points to {full}"
    assert not unnamed, "\n".join(unnamed)


@pytest.mark.slow
def test_the_matrix_has_a_line_per_variant_and_the_rates(report):
    text = mutants.format_matrix(report, width=200)
    for v in CATALOGUE:
        assert any(line.startswith(v.id + " ") for line in text.splitlines()), v.id
    wrong_count = sum(1 for v in CATALOGUE if v.verdict == WRONG)
    correct_count = sum(1 for v in CATALOGUE if v.verdict == CORRECT)
    cheat_count = sum(1 for v in CATALOGUE if v.verdict == CHEAT)
    assert f"cheat-paid:     0 of {cheat_count} cheats" in text
    assert f"passed-wrong:   0 of {wrong_count} wrong variants" in text
    assert f"failed-correct: 0 of {correct_count} correct variants" in text
    assert f"misdiagnosed:   0 of {wrong_count}" in text
    visible_only = sum(1 for v in CATALOGUE if v.verdict == WRONG and v.caught_by == VISIBLE)
    alone = re.search(rf"hidden checks alone \(informational\): (\d+) of {wrong_count} wrong variants would earn full points; (\d+) ", text)
    assert alone and int(alone[1]) <= visible_only and int(alone[2]) <= visible_only, alone


@pytest.mark.slow
def test_delegating_to_any_importable_helper_earns_nothing(capsys):
    """Every function of dlwork and of the grader's stand-ins, returned as the answer of every graded function it accepts the arguments of."""
    import importlib
    import inspect

    generated = delegations()
    helpers = {
        (student, name)
        for student, module in catalogue.helper_modules().items()
        for name, f in vars(importlib.import_module(module)).items()
        if inspect.isfunction(f) and f.__module__ == importlib.import_module(module).__name__
    }
    delegated = {tuple(v.id[len("delegate-") :].rsplit("-", 1)[0].rsplit(".", 1)) for v in generated}
    assert len(generated) >= 150 and len(delegated) >= 40 and delegated <= helpers
    report = mutants.evaluate(generated, workers=2)
    with capsys.disabled():
        print("\n" + "\n".join(mutants.summary_lines(report)[:4]))
    paid = [f"{r.variant.id}: {r.failure} {r.points:g}/{r.max_points:g} {r.problems}" for r in report.rows if r.failure]
    assert not paid, "\n".join(paid)


def test_a_cheat_that_earns_a_point_is_reported():
    require_notebook("03_gradient_checking")
    honest_delegation = catalogue.cheat(
        "delegates-but-right",
        "backward_propagation",
        Source(
            "def backward_propagation(x, theta):\n    import grader_fixtures\n    return grader_fixtures.linear_backward(x, theta) / 3\n"
        ),
        what="the stand-in's slope / 3: the answer itself",
    )
    report = mutants.evaluate([honest_delegation], workers=1)
    assert report.rows[0].failure == "cheat-paid" and report.exit_code == 1


def test_a_mislabelled_catalogue_is_reported_and_fails():
    require_notebook("03_gradient_checking")
    mislabelled = [
        # right code labelled wrong: it earns full points
        wrong("right-called-wrong", "forward_propagation", Edit("J = theta * x", "J = x * theta"), "x + theta", what="x * theta"),
        # a mistake labelled correct: it loses points
        correct("wrong-called-right", "backward_propagation", Edit("dtheta = x", "dtheta = theta"), what="theta"),
        # a mistake with a keyword its diagnosis does not contain
        wrong("wrong-keyword", "forward_propagation", Edit("J = theta * x", "J = theta + x"), "one-sided", what="theta + x"),
        # a right answer as a whole cell, correctly labelled
        correct("right-whole-cell", "backward_propagation", Source("def backward_propagation(x, theta):\n    return x\n"), what="x"),
    ]
    report = mutants.evaluate(mislabelled, workers=2)
    failures = {r.variant.id: r.failure for r in report.rows}
    assert failures == {
        "right-called-wrong": "passed-wrong",
        "wrong-called-right": "failed-correct",
        "wrong-keyword": "misdiagnosed",
        "right-whole-cell": None,
    }
    assert report.exit_code == 1
    text = mutants.format_matrix(report, width=200)
    assert "passed-wrong:   1 of 2" in text and "failed-correct: 1 of 2" in text and "misdiagnosed:   1 of 2" in text


def test_an_edit_that_no_longer_applies_is_a_harness_problem():
    stale = Variant("stale", "forward_propagation", WRONG, Edit("J = theta ** x", "J = x"), ("x",), "stale")
    report = mutants.evaluate([stale], workers=1)
    assert report.rows[0].failure == "harness" and "could not be made" in report.rows[0].problems[0]
    assert report.exit_code == 1


@pytest.mark.slow
def test_the_command_runs_a_selection_and_exits_zero():
    require_notebook("03_gradient_checking")
    done = subprocess.run(
        [sys.executable, "-m", "autograder", "mutants", "--only", "backward-"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "backward-theta" in done.stdout and "passed-wrong:   0 of 2" in done.stdout
