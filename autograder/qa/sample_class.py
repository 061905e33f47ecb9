"""A sample class: submissions made from the release notebooks, for the demo and the tests.

Each student is a recipe: for each notebook, what goes in each solution cell
(the reference body, the stub, or a variant of the reference with a typical
mistake or a hostile twist), plus notebook-level damage (a deleted check cell,
corrupt JSON, a missing file). Variants are written as edits of the reference
source, and each edit asserts that the text it replaces exists, so a change to
the reference cannot silently turn a mistake into a correct answer.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course.contract import inject, nbgrader_meta, reference_body
from autograder.course.registry import NOTEBOOKS

REF = "reference"
STUB = "stub"


@dataclass(frozen=True)
class Edit:
    """Replace ``old`` by ``new`` in the reference body (``old`` must be there)."""

    old: str
    new: str
    prelude: str = ""  # code put before the function in the same cell

    def apply(self, stem: str, function: str) -> str:
        body = reference_body(stem, function)
        if self.old not in body:
            raise ValueError(f"{function}: the reference no longer contains {self.old!r}")
        return self.prelude, body.replace(self.old, self.new)


@dataclass(frozen=True)
class Raw:
    """The whole cell source, as written (a renamed function, top-level code, a syntax error)."""

    source: str


@dataclass
class Student:
    name: str
    story: str  # what this submission shows
    functions: dict[str, object] = field(default_factory=dict)  # function -> REF | STUB | Edit
    default: str = REF
    damage: dict[str, str] = field(default_factory=dict)  # stem -> "corrupt" | "missing" | "delete-check:<fn>" | "edit-check:<fn>"
    last_name: str = "Sample"  # the formgrader lists students by name; the first name is ``name`` capitalized

    @property
    def full_name(self) -> tuple[str, str]:
        """``(first name, last name)`` as the gradebook stores them."""
        return self.name.capitalize(), SURNAMES.get(self.name, self.last_name)


LATER_FUNCTIONS = tuple(f for entry in NOTEBOOKS[1:] for f in entry.functions)  # every notebook after the first
WARN = Edit(
    "parameters = {}",
    "import warnings\n    warnings.warn('this is only a warning')\n    np.log(np.zeros(1))\n    print('debug output from the student')\n    parameters = {}",
)

# The sample class's last names, so that the formgrader shows names (not "None, None").
SURNAMES = {
    "alice": "Martin",
    "bob": "Okafor",
    "carol": "Nguyen",
    "dave": "Kowalski",
    "erin": "Haddad",
    "frank": "Moreau",
    "grace": "Hopper",
    "heidi": "Lindqvist",
    "ivan": "Petrov",
    "judy": "Tanaka",
    "mallory": "Reyes",
    "niaj": "Banerjee",
    "oscar": "Fischer",
    "peggy": "O'Brien",
}

CLASS = [
    Student("alice", "everything right: full marks"),
    Student("bob", "nothing done yet: every stub", default=STUB),
    Student(
        "carol",
        "typical mistakes: He scaled by the current layer, L2 penalty lambd/m",
        {
            "initialize_parameters_he": Edit("np.sqrt(2.0 / fan_in)", "np.sqrt(2.0 / layers_dims[l])"),
            "compute_cost_with_regularization": Edit("lambd / (2 * m)", "lambd / m"),
        },
    ),
    Student(
        "dave",
        "dropout without the 1/keep_prob scaling, forward and backward",
        {
            "forward_propagation_with_dropout": Edit("A1 = A1 * D1 / keep_prob", "A1 = A1 * D1"),
            "backward_propagation_with_dropout": Edit('dA1 = dA1 * cache["D1"] / keep_prob', 'dA1 = dA1 * cache["D1"]'),
        },
    ),
    Student(
        "erin",
        "gradient checking: one-sided difference; L1 norms in N-D",
        {
            "gradient_check": Edit(
                "J_minus = forward_propagation(x, theta - epsilon)\n    gradapprox = (J_plus - J_minus) / (2 * epsilon)",
                "J_minus = forward_propagation(x, theta)\n    gradapprox = (J_plus - J_minus) / epsilon",
            ),
            "gradient_check_n": Edit(
                "numerator = np.linalg.norm(grad - gradapprox)\n    denominator = np.linalg.norm(grad) + np.linalg.norm(gradapprox)",
                "numerator = np.sum(np.abs(grad - gradapprox))\n    denominator = np.sum(np.abs(grad)) + np.sum(np.abs(gradapprox))",
            ),
        },
    ),
    Student(
        "frank",
        "an infinite loop in forward_propagation_with_dropout; the rest is right",
        {"forward_propagation_with_dropout": Edit("    W1, b1 = ", "    while True:\n        pass\n    W1, b1 = ")},
    ),
    Student(
        "grace",
        "crashes: a cell that fails at import time, a function that kills its process",
        {
            "initialize_parameters_zeros": Edit("parameters = {}", "parameters = {}", prelude="import not_a_real_module"),
            "backward_propagation": Edit("dtheta = x", "import os\n    os._exit(1)"),
        },
    ),
    Student(
        "heidi",
        "right answers that print warnings and debug output",
        {"initialize_parameters_he": WARN, "initialize_parameters_random": WARN},
    ),
    Student(
        "ivan",
        "correct variants: other random draws and other ways to write the sums",
        {
            "initialize_parameters_he": Edit(
                "rng.standard_normal((layers_dims[l], fan_in)) * np.sqrt(2.0 / fan_in)",
                "rng.normal(0.0, np.sqrt(2.0 / fan_in), (fan_in, layers_dims[l])).T",
            ),
            "forward_propagation_with_dropout": Edit("D2 = rng.random(A2.shape) < keep_prob", "D2 = rng.binomial(1, keep_prob, A2.shape)"),
            "compute_cost_with_regularization": Edit("np.sum(np.square(value))", "np.linalg.norm(value) ** 2"),
        },
    ),
    Student("judy", "only the first notebook done", {f: STUB for f in LATER_FUNCTIONS}),
    Student(
        "mallory",
        "tries to fake a pass: patches NumPy's comparisons and returns a liar",
        {
            "initialize_parameters_he": Edit(
                "parameters = {}\n",
                "return {key: np.zeros((1, 1)).view(Liar) for key in ('W1', 'b1')}\n    parameters = {}\n",
                prelude="np.allclose = lambda *a, **k: True\nnp.array_equal = lambda *a, **k: True\n\nclass Liar(np.ndarray):\n    def __eq__(self, other):\n        return True\n",
            ),
        },
    ),
    Student(
        "niaj",
        "a corrupt notebook 03 and an empty folder for 02",
        damage={"03_gradient_checking": "corrupt", "02_regularization": "missing"},
    ),
    Student(
        "oscar",
        "right answers, but a check cell deleted and another edited",
        damage={
            "01_initialization": "delete-check:initialize_parameters_he",
            "02_regularization": "edit-check:compute_cost_with_regularization",
        },
    ),
    Student(
        "peggy",
        "gradient_check never calls backward_propagation; zeros init with ones",
        {
            "gradient_check": Edit("grad = backward_propagation(x, theta)", "grad = gradapprox"),
            "initialize_parameters_zeros": Edit(
                "np.zeros((layers_dims[l], layers_dims[l - 1]))", "np.ones((layers_dims[l], layers_dims[l - 1]))"
            ),
        },
    ),
]
HONEST = ("alice", "bob", "carol", "dave", "erin", "heidi", "ivan", "judy", "peggy")  # no crash, hang or trickery


def cell_source(stub: str, stem: str, function: str, recipe) -> str:
    if recipe == STUB:
        return stub
    if recipe == REF:
        return inject(stub, reference_body(stem, function), markers=False)
    if isinstance(recipe, Raw):
        return recipe.source
    prelude, body = recipe.apply(stem, function)
    solved = inject(stub, body, markers=False)
    return (prelude + "\n\n" + solved) if prelude else solved


def make_notebook(release_nb, stem: str, student: Student):
    nb = copy.deepcopy(release_nb)
    for cell in nb.cells:
        meta = nbgrader_meta(cell)
        if cell.cell_type == "code" and meta.get("solution"):
            function = meta["grade_id"]
            cell.source = cell_source(cell.source, stem, function, student.functions.get(function, student.default))
    damage = student.damage.get(stem, "")
    if damage.startswith("delete-check:"):
        target = "check_" + damage.split(":", 1)[1]
        nb.cells = [c for c in nb.cells if nbgrader_meta(c).get("grade_id") != target]
    elif damage.startswith("edit-check:"):
        target = "check_" + damage.split(":", 1)[1]
        for c in nb.cells:
            if nbgrader_meta(c).get("grade_id") == target:
                c.source = "pass  # the student replaced the check"
    return nb


def write_class(
    course: Path, students: list[Student] | None = None, release_dir: Path | None = None, timestamp: str = "2026-11-20 12:00:00.000000 UTC"
) -> list[str]:
    """Write ``submitted/<student>/<stem>/<stem>.ipynb`` for each student; returns their names."""
    import nbformat

    from autograder.course.registry import STEMS

    course = Path(course)
    release_dir = release_dir or course / "release"
    names = []
    for student in students or CLASS:
        names.append(student.name)
        for stem in STEMS:
            folder = course / "submitted" / student.name / stem
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "timestamp.txt").write_text(timestamp)
            damage = student.damage.get(stem, "")
            target = folder / f"{stem}.ipynb"
            if damage == "missing":
                continue
            if damage == "corrupt":
                target.write_text('{"cells": [ this is not json')
                continue
            release_nb = nbformat.read(release_dir / stem / f"{stem}.ipynb", as_version=4)
            nbformat.write(make_notebook(release_nb, stem, student), target)
    if (course / "gradebook.db").exists():  # a built course: the formgrader lists the class by name
        from autograder.grading.gradebook import add_students, default_db_url

        add_students(default_db_url(course), {s.name: s.full_name for s in students or CLASS})
    return names


def describe() -> str:
    return "\n".join(f"  {s.name:8s} {s.story}" for s in CLASS)


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps([s.name for s in CLASS]))
