"""Similar submissions on a synthetic class: seconds, and what was found of the planted copies.

    .venv/bin/python benchmarks/bench_similarity.py          # 1,000 students x 3 notebooks
    .venv/bin/python benchmarks/bench_similarity.py 200

Each synthetic student picks, per function, the reference, a catalogue
variant or the stub, renames the local names and adds statements of their
own; the last students copy an earlier one's notebook, renamed again.
``benchmarks/bench_insight.py`` writes its class with :func:`synthetic_class`.
Nothing is asserted: these are figures to report.
"""

from __future__ import annotations

import copy
import json
import random
import re
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(REPO), str(REPO / "notebooks")]

from autograder.insight.similarity import DEFAULT_THRESHOLD, similar_pairs, solution_cells, solution_name  # noqa: E402

# Local names of the reference answers and the catalogue's variants; a synthetic student renames them.
_RENAMED = (
    "parameters",
    "gradients",
    "grads",
    "cache",
    "layers_dims",
    "fan_in",
    "value",
    "key",
    "squares",
    "cost",
    "theta",
    "gradapprox",
    "numerator",
    "denominator",
    "difference",
    "J_plus",
    "J_minus",
    "A1",
    "A2",
    "A3",
    "Z1",
    "Z2",
    "D1",
    "D2",
    "dA1",
    "dA2",
    "m",
    "L",
    "l",
    "i",
)


def rename(text: str, rng: random.Random) -> str:
    """``text`` with its common local names renamed (consistently), as a learner would name them."""
    suffix = rng.choice(("_", "_v", "_x", "_new", "_tmp", "2", "_a"))
    names = [n for n in _RENAMED if rng.random() < 0.8]
    if not names:
        return text
    pattern = re.compile(r"\b(" + "|".join(map(re.escape, names)) + r")\b")
    return pattern.sub(lambda m: m.group(1) + suffix, text)


def personal_line(text: str, rng: random.Random) -> str:
    """``text`` with a statement of the student's own after its docstring (what makes code individual)."""
    a, b, c = rng.randrange(2, 999), rng.randrange(2, 999), rng.randrange(2, 99)
    line = rng.choice(
        (
            f"    check_{a} = [{a}, {b}] * {c}",
            f"    assert {a} > {c}, ({b}, {a} % {c})",
            f"    scale_{b} = ({a} - {b}) / {c} + 0.{a}",
        )
    )
    match = re.search(r'"""[\s\S]*?"""\n', text)
    at = match.end() if match else len(text)
    return text[:at] + line + "\n" + text[at:] if match else text + "\n" + line + "\n"


def _options(stem: str, stubs: dict[str, str]) -> dict[str, list[str]]:
    """function -> cell sources a synthetic student may write: the reference, catalogue variants (correct and wrong), the stub."""
    from autograder.qa import catalogue
    from autograder.qa.mutants import cell_for
    from autograder.qa.sample_class import REF, cell_source

    options = {}
    for function, stub in stubs.items():
        found = [cell_source(stub, stem, function, REF), stub]
        for variant in catalogue.CATALOGUE:
            if variant.function == function and variant.verdict in (catalogue.CORRECT, catalogue.WRONG):
                try:
                    found.append(cell_for(variant, stub))
                except ValueError:
                    continue
        options[function] = found
    return options


def synthetic_class(course: Path, students: int, copies: int = 10, seed: int = 0) -> list[tuple[str, str]]:
    """Write ``students`` synthetic submissions of every notebook under ``course``; returns the planted (original, copy) pairs.

    Each student picks, per function, the reference, a catalogue variant or the
    stub, renames the local names, and adds one to three statements of their
    own to each function they wrote (what makes real submissions differ: a
    catalogue variant is shared by dozens of a thousand students); the last
    ``copies`` students each copy an earlier one's notebook with the names
    renamed again and a comment added.
    """
    from autograder.course.registry import NOTEBOOK_DIR, STEMS

    if str(NOTEBOOK_DIR) not in sys.path:  # the reference answers import the notebooks' support package
        sys.path.append(str(NOTEBOOK_DIR))
    rng = random.Random(seed)
    course = Path(course)
    names = [f"s{n:04d}" for n in range(students)]
    honest = names[: students - copies]
    planted = [(rng.choice(honest), name) for name in names[students - copies :]]
    copied = dict((b, a) for a, b in planted)
    for stem in STEMS:
        release = (NOTEBOOK_DIR / f"{stem}.ipynb").read_text()
        (course / "release" / stem).mkdir(parents=True, exist_ok=True)
        (course / "release" / stem / f"{stem}.ipynb").write_text(release)
        template = json.loads(release)
        stubs = dict(solution_cells(template))
        options = _options(stem, stubs)
        written = {}
        for name in names:
            cells = {}
            for function in stubs:
                if name in copied:
                    text = written[copied[name]][function]
                    text = rename(text, rng).replace("\n    return", "\n    # done\n    return", 1)
                else:
                    text = rng.choice(options[function])
                    if text != stubs[function]:
                        text = rename(text, rng)
                        for _ in range(rng.choice((1, 2, 2, 3))):
                            text = personal_line(text, rng)
                cells[function] = text
            written[name] = cells
            nb = copy.deepcopy(template)
            for cell in nb["cells"]:
                function = solution_name(cell)
                if function in cells:
                    cell["source"] = cells[function]
            folder = course / "submitted" / name / stem
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{stem}.ipynb").write_text(json.dumps(nb))
    return planted


def benchmark(students: int = 1000, threshold: float = DEFAULT_THRESHOLD, copies: int = 10, folder: Path | None = None) -> dict:
    """Time :func:`similar_pairs` on a synthetic class of ``students`` (every notebook); what it found of the planted copies."""
    import shutil
    import tempfile

    from autograder.course.registry import STEMS

    root = Path(folder or tempfile.mkdtemp(prefix="similarity-bench-"))
    try:
        start = time.perf_counter()
        planted = synthetic_class(root, students, copies)
        written = time.perf_counter() - start
        start = time.perf_counter()
        pairs = similar_pairs(root, list(STEMS), threshold)
        seconds = time.perf_counter() - start
    finally:
        if folder is None:
            shutil.rmtree(root, ignore_errors=True)
    found = {(p.a, p.b) for p in pairs}
    caught = {
        stem: sum((min(a, b), max(a, b)) in {(p.a, p.b) for p in pairs if p.assignment == stem} for a, b in planted) for stem in STEMS
    }
    return {
        "students": students,
        "assignments": len(STEMS),
        "seconds": round(seconds, 2),
        "seconds_writing_class": round(written, 2),
        "pairs": len(pairs),
        "planted": len(planted),
        "planted_found": caught,
        "other_pairs": len(found - {(min(a, b), max(a, b)) for a, b in planted}),
        "top_scores": [(p.assignment, p.a, p.b, p.score) for p in pairs[:5]],
    }


if __name__ == "__main__":  # pragma: no cover
    print(json.dumps(benchmark(int(sys.argv[1]) if len(sys.argv) > 1 else 1000), indent=2))
