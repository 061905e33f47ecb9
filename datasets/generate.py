"""Make the workbook's datasets: ``datasets/<name>.h5`` and a card ``datasets/<name>.md`` each.

Usage (from the repository root)::

    python datasets/generate.py          # write every .h5 file and card
    python datasets/generate.py --check  # regenerate in memory; exit 1 unless files and cards match

Everything is deterministic: each dataset has a literal seed and draws only from
``np.random.default_rng(seed)``. The generator functions take the seed as an
argument, so tests can draw the same kind of data with other seeds.

Each file holds ``X_train`` (2, m_train) float64, ``Y_train`` (1, m_train) uint8,
``X_test`` (2, m_test) float64 and ``Y_test`` (1, m_test) uint8. Examples are
columns. A dataset may add optional arrays (``OPTIONAL_KEYS``, stored after the
four above); ``moons_noisy`` adds ``flipped_train`` (1, m_train) uint8 and
``flipped_test`` (1, m_test) uint8, 1 where the label was inverted, so that
plots can mark those points. ``circles`` has none.

Content hash (what the cards list): for each array ``a``,
``sha256(np.ascontiguousarray(a).tobytes())`` in hex, with ``a`` in the dtype and
shape listed beside it (C order, the machine's native byte order, which is
little-endian on every platform the workbook supports). Hashing the arrays rather
than the files keeps the hash independent of HDF5 library versions.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np

HERE = Path(__file__).resolve().parent
KEYS = ("X_train", "Y_train", "X_test", "Y_test")  # in every file
# Arrays a dataset may add, in the order they are stored, with what the card says of them.
OPTIONAL_KEYS = {
    "flipped_train": "1 where the training label was inverted after the draw, 0 elsewhere",
    "flipped_test": "1 where the test label was inverted after the draw, 0 elsewhere (`dlwork.data.load_flipped` loads both as booleans)",
}

Arrays = dict[str, np.ndarray]


# --------------------------------------------------------------------------- generators


def _split(X: np.ndarray, Y: np.ndarray, m_train: int) -> Arrays:
    return {"X_train": X[:, :m_train], "Y_train": Y[:, :m_train], "X_test": X[:, m_train:], "Y_test": Y[:, m_train:]}


def _finish(X: np.ndarray, Y: np.ndarray, m_train: int) -> Arrays:
    arrays = _split(np.ascontiguousarray(X, dtype=np.float64), np.ascontiguousarray(Y, dtype=np.uint8), m_train)
    return {key: np.ascontiguousarray(value) for key, value in arrays.items()}


def make_circles(
    seed: int,
    m_train: int = 300,
    m_test: int = 100,
    inner_radius: float = 0.5,
    outer_radius: float = 1.0,
    noise: float = 0.1,
) -> Arrays:
    """Two noisy concentric rings: label 1 on the inner ring, label 0 on the outer one.

    Each split is balanced (half of it per ring; ``m_train`` and ``m_test`` must be
    even). A point is ``radius * (cos t, sin t)`` with ``t ~ U[0, 2 pi)``, plus
    independent ``N(0, noise^2)`` noise on each coordinate. Draw order from
    ``default_rng(seed)``: angles (m_train + m_test), noise (2, m_train + m_test),
    then one permutation per split.
    """
    if m_train % 2 or m_test % 2:
        raise ValueError("m_train and m_test must be even (balanced classes)")
    rng = np.random.default_rng(seed)
    m = m_train + m_test

    def labels(n: int) -> np.ndarray:
        return np.repeat([1, 0], n // 2)

    Y = np.concatenate([labels(m_train), labels(m_test)])[None, :]
    radius = np.where(Y[0] == 1, inner_radius, outer_radius)
    angle = rng.uniform(0.0, 2 * np.pi, m)
    X = radius * np.vstack([np.cos(angle), np.sin(angle)]) + noise * rng.standard_normal((2, m))
    order = np.concatenate([rng.permutation(m_train), m_train + rng.permutation(m_test)])
    return _finish(X[:, order], Y[:, order], m_train)


def make_moons_noisy(
    seed: int,
    m_train: int = 60,
    m_test: int = 500,
    noise: float = 0.2,
    separation: float = 1.3,
    flipped: int = 6,
    flipped_test: int = 50,
    scale: float = 2.0,
) -> Arrays:
    """Two half-moons with Gaussian jitter and a few flipped labels in each split.

    Label 0: ``(cos t, sin t)``; label 1: ``(1 - cos t, 0.5 - separation - sin t)``
    (``separation = 0`` gives the classic interlocking moons; larger values pull the
    lower moon down), ``t ~ U[0, pi]``, plus independent ``N(0, noise^2)`` on each
    coordinate. The points are then centred on the middle of the two moons,
    ``(0.5, 0.25 - separation / 2)``, and multiplied by ``scale``. Each split is
    balanced before the flips (``m_train`` and ``m_test`` even). Exactly ``flipped``
    training labels and ``flipped_test`` test labels (distinct examples, chosen
    uniformly) are inverted: label noise that no classifier can predict.

    Draw order from ``default_rng(seed)``: ``t`` (m_train + m_test), the jitter
    (2, m_train + m_test), one permutation per split, the flipped training indices,
    then the flipped test indices.

    Besides the four arrays of every dataset it returns ``flipped_train`` and
    ``flipped_test`` (uint8, shaped like ``Y_train`` and ``Y_test``): 1 for the
    inverted labels. They are computed from the indices already drawn, so they
    change neither the other arrays nor the draw order.
    """
    if m_train % 2 or m_test % 2:
        raise ValueError("m_train and m_test must be even (balanced classes)")
    if not (0 <= flipped <= m_train and 0 <= flipped_test <= m_test):
        raise ValueError("flipped must be in [0, m_train] and flipped_test in [0, m_test]")
    rng = np.random.default_rng(seed)
    m = m_train + m_test

    def labels(n: int) -> np.ndarray:
        return np.repeat([0, 1], n // 2)

    Y = np.concatenate([labels(m_train), labels(m_test)])[None, :]
    t = rng.uniform(0.0, np.pi, m)
    upper = np.vstack([np.cos(t), np.sin(t)])
    lower = np.vstack([1.0 - np.cos(t), 0.5 - separation - np.sin(t)])
    X = np.where(Y == 0, upper, lower) + noise * rng.standard_normal((2, m))
    X = scale * (X - np.array([[0.5], [0.25 - separation / 2]]))
    order = np.concatenate([rng.permutation(m_train), m_train + rng.permutation(m_test)])
    X, Y = X[:, order], Y[:, order].copy()
    flip_train = rng.choice(m_train, size=flipped, replace=False)
    flip_test = m_train + rng.choice(m_test, size=flipped_test, replace=False)
    for flip in (flip_train, flip_test):
        Y[0, flip] = 1 - Y[0, flip]
    marks = np.zeros((1, m), dtype=np.uint8)
    marks[0, np.concatenate([flip_train, flip_test])] = 1
    arrays = _finish(X, Y, m_train)
    arrays["flipped_train"] = np.ascontiguousarray(marks[:, :m_train])
    arrays["flipped_test"] = np.ascontiguousarray(marks[:, m_train:])
    return arrays


# --------------------------------------------------------------------------- registry


@dataclass(frozen=True)
class Spec:
    """One shipped dataset: its generator, its seed and parameters, and its story."""

    name: str
    make: Callable[..., Arrays]
    seed: int
    params: dict = field(default_factory=dict)
    depicts: str = ""
    notes: str = ""

    def arrays(self) -> Arrays:
        return self.make(self.seed, **self.params)


SPECS: tuple[Spec, ...] = (
    Spec(
        name="circles",
        make=make_circles,
        seed=1,
        params={"m_train": 300, "m_test": 100, "inner_radius": 0.5, "outer_radius": 1.0, "noise": 0.1},
        depicts=(
            "Two noisy concentric rings in the plane: label 1 on the inner ring (radius 0.5), "
            "label 0 on the outer ring (radius 1.0), each point jittered by Gaussian noise. "
            "No straight line separates the classes; a small ReLU network does. "
            "Used by notebook 01 (initialization)."
        ),
    ),
    Spec(
        name="moons_noisy",
        make=make_moons_noisy,
        seed=0,
        params={
            "m_train": 60,
            "m_test": 500,
            "noise": 0.2,
            "separation": 1.3,
            "flipped": 6,
            "flipped_test": 50,
            "scale": 2.0,
        },
        depicts=(
            "Two half-moons in the plane, label 0 on the upper one and label 1 on the lower one, "
            "pulled apart vertically by `separation`, with Gaussian jitter on both coordinates; "
            "then a few labels are flipped in each split (label noise). The training set is small "
            "and the test set large, so that an unregularized network overfits visibly and test "
            "accuracy is measured precisely. Used by notebook 02 (regularization)."
        ),
        notes=(
            "Designed for notebook 02's 2-20-3-1 ReLU network (He initialization, batch gradient "
            "descent, the hyperparameters in the notebook): without regularization it memorizes some "
            "flipped training labels (train accuracy above the 90% the clean rule allows, test "
            "accuracy below it), while L2 and dropout ignore them. With the moons pulled apart "
            "(`separation`), a nearly straight boundary is close to the best rule; that is what made "
            "dropout help reliably in this small network. `tests/test_regularization_outcomes.py` "
            "checks the outcomes on this and other seeds of the generator."
        ),
    ),
)


# --------------------------------------------------------------------------- hashes, files, cards


def array_sha256(a: np.ndarray) -> str:
    """SHA-256 (hex) of ``np.ascontiguousarray(a).tobytes()``: the contents in C order."""
    return hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest()


def keys_of(arrays: Arrays) -> tuple[str, ...]:
    """The keys of ``arrays`` in storage order: ``KEYS``, then the optional ones present.

    Raises ``ValueError`` when a required array is missing or a key is unknown, so a
    typo in a generator cannot slip an array past the files and cards.
    """
    missing = [key for key in KEYS if key not in arrays]
    unknown = [key for key in arrays if key not in KEYS and key not in OPTIONAL_KEYS]
    if missing or unknown:
        raise ValueError(f"arrays lack {missing} or have unknown keys {unknown}")
    return KEYS + tuple(key for key in OPTIONAL_KEYS if key in arrays)


def write_h5(path: Path, arrays: Arrays) -> None:
    # track_times=False keeps the file free of creation times, so rewriting
    # unchanged data gives an unchanged file.
    with h5py.File(path, "w", track_order=True) as f:
        for key in keys_of(arrays):
            f.create_dataset(key, data=arrays[key], track_times=False)


def read_h5(path: Path) -> Arrays:
    """Every array in the file, whatever its name (``check`` compares the names too)."""
    with h5py.File(path, "r") as f:
        return {key: np.asarray(f[key][...]) for key in f}


def card_text(spec: Spec, arrays: Arrays) -> str:
    """The markdown card of a dataset (fully determined by the spec and the arrays)."""
    y_train, y_test = arrays["Y_train"].ravel(), arrays["Y_test"].ravel()
    params = ", ".join(f"`{k}={v!r}`" for k, v in spec.params.items()) or "(defaults)"
    lines = [
        f"# Dataset `{spec.name}`",
        "",
        f"File: `datasets/{spec.name}.h5`, made by `python datasets/generate.py` "
        f'(function `{spec.make.__name__}`); load it with `dlwork.data.load_dataset("{spec.name}")`, '
        "which returns float64 arrays.",
        "",
        "## What it depicts",
        "",
        spec.depicts,
        "",
        "## Generation",
        "",
        f"- Seed: `{spec.seed}` (`np.random.default_rng({spec.seed})`, no other randomness).",
        f"- Parameters: {params}.",
        f"- Class balance: train {int(np.sum(y_train == 1))} of {y_train.size} labelled 1, "
        f"test {int(np.sum(y_test == 1))} of {y_test.size} labelled 1.",
        "",
        *(["## Notes", "", spec.notes, ""] if spec.notes else []),
        "## Arrays",
        "",
        "Examples are columns. `sha256` is the SHA-256 (hex) of "
        "`np.ascontiguousarray(a).tobytes()` for the array `a` as stored, i.e. in the dtype "
        "and shape given in its row (C order, little-endian). It hashes the contents, not "
        "the HDF5 file. `python datasets/generate.py --check` recomputes it.",
        "",
        *[f"- `{key}`: {OPTIONAL_KEYS[key]}." for key in keys_of(arrays) if key in OPTIONAL_KEYS],
        *([""] if set(arrays) - set(KEYS) else []),
        "| array | shape | dtype | sha256 |",
        "| --- | --- | --- | --- |",
    ]
    for key in keys_of(arrays):
        a = arrays[key]
        lines.append(f"| `{key}` | `{a.shape}` | `{a.dtype}` | `{array_sha256(a)}` |")
    return "\n".join(lines) + "\n"


def card_hashes(text: str) -> dict[str, tuple[str, str, str]]:
    """Parse a card's array table: key -> (shape, dtype, sha256) as written."""
    table = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and (cells[0] in KEYS or cells[0] in OPTIONAL_KEYS):
            table[cells[0]] = (cells[1], cells[2], cells[3])
    return table


def check(directory: Path = HERE) -> list[str]:
    """Compare every file and card with a fresh in-memory generation; return the problems."""
    problems = []
    for spec in SPECS:
        fresh = spec.arrays()
        h5_path, card_path = directory / f"{spec.name}.h5", directory / f"{spec.name}.md"
        if not h5_path.exists():
            problems.append(f"{h5_path.name}: missing")
        else:
            stored = read_h5(h5_path)
            if set(stored) != set(fresh):
                problems.append(f"{h5_path.name}: holds {sorted(stored)}, the generator makes {sorted(fresh)}")
            for key in keys_of(fresh):
                if key not in stored:
                    continue
                a, b = fresh[key], stored[key]
                if a.dtype != b.dtype or a.shape != b.shape or not np.array_equal(a, b):
                    problems.append(f"{h5_path.name}:{key}: stored {b.dtype}{b.shape} differs from regenerated {a.dtype}{a.shape}")
        if not card_path.exists():
            problems.append(f"{card_path.name}: missing")
            continue
        text = card_path.read_text()
        table = card_hashes(text)
        if set(table) != set(fresh):
            problems.append(f"{card_path.name}: lists {sorted(table)}, the generator makes {sorted(fresh)}")
        for key in keys_of(fresh):
            a = fresh[key]
            want = (str(a.shape), str(a.dtype), array_sha256(a))
            if table.get(key) != want:
                problems.append(f"{card_path.name}:{key}: card says {table.get(key)}, regenerated {want}")
        if text != card_text(spec, fresh):
            problems.append(f"{card_path.name}: text differs from what the generator writes (rerun it)")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify instead of writing")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        for problem in problems:
            print("MISMATCH", problem, file=sys.stderr)
        print(f"checked {len(SPECS)} datasets: {'OK' if not problems else f'{len(problems)} problems'}")
        return 1 if problems else 0
    for spec in SPECS:
        arrays = spec.arrays()
        write_h5(HERE / f"{spec.name}.h5", arrays)
        (HERE / f"{spec.name}.md").write_text(card_text(spec, arrays))
        print(f"wrote {spec.name}.h5 and {spec.name}.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
