"""The committed datasets are exactly what ``datasets/generate.py`` makes, and their cards say so.

The generator is loaded from its file (``datasets/`` is not a package). Every
comparison of arrays is exact: same dtype, same shape, same bits.
"""

import hashlib
import importlib.util
import shutil
import subprocess
import sys

import h5py
import numpy as np
import pytest

from autograder.course.registry import REPO

DATASETS_DIR = REPO / "datasets"


def _load_generator():
    spec = importlib.util.spec_from_file_location("dataset_generator", DATASETS_DIR / "generate.py")
    module = importlib.util.module_from_spec(spec)
    # dataclasses look the module up in sys.modules while the class body runs
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


generate = _load_generator()
SPECS = {spec.name: spec for spec in generate.SPECS}


@pytest.fixture(scope="module")
def regenerated():
    """name -> arrays generated in memory, once per test module."""
    return {name: spec.arrays() for name, spec in SPECS.items()}


def test_every_dataset_the_workbook_loads_has_a_generator():
    from dlwork.data import datasets

    assert set(datasets()) == set(SPECS), f"dlwork.data.datasets() {datasets()} vs generator {sorted(SPECS)}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_committed_file_equals_regeneration(name, regenerated):
    stored = generate.read_h5(DATASETS_DIR / f"{name}.h5")
    for key in generate.KEYS:
        fresh, kept = regenerated[name][key], stored[key]
        assert (kept.dtype, kept.shape) == (fresh.dtype, fresh.shape), (
            f"{name}.h5:{key} is {kept.dtype}{kept.shape}, the generator makes {fresh.dtype}{fresh.shape}; "
            "rerun `python datasets/generate.py`"
        )
        assert np.array_equal(kept, fresh), (
            f"{name}.h5:{key} differs from a fresh generation: the file or the generator changed; "
            "rerun `python datasets/generate.py` and commit both"
        )


@pytest.mark.parametrize("name", sorted(SPECS))
def test_card_hashes_match_the_committed_arrays(name):
    """The card's table gives shape, dtype and the SHA-256 of the array contents as stored."""
    stored = generate.read_h5(DATASETS_DIR / f"{name}.h5")
    table = generate.card_hashes((DATASETS_DIR / f"{name}.md").read_text())
    assert sorted(table) == sorted(generate.KEYS), f"{name}.md lists {sorted(table)}"
    for key in generate.KEYS:
        a = stored[key]
        expected = (str(a.shape), str(a.dtype), hashlib.sha256(np.ascontiguousarray(a).tobytes()).hexdigest())
        assert table[key] == expected, f"{name}.md row {key}: card {table[key]}, file {expected}"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_card_text_is_what_the_generator_writes(name, regenerated):
    text = (DATASETS_DIR / f"{name}.md").read_text()
    assert text == generate.card_text(SPECS[name], regenerated[name]), (
        f"{name}.md was edited by hand or is stale; rerun `python datasets/generate.py`"
    )
    assert f"Seed: `{SPECS[name].seed}`" in text


@pytest.mark.parametrize("name", sorted(SPECS))
def test_shapes_dtypes_and_labels(name):
    stored = generate.read_h5(DATASETS_DIR / f"{name}.h5")
    params = SPECS[name].params
    for split, m in (("train", params["m_train"]), ("test", params["m_test"])):
        X, Y = stored[f"X_{split}"], stored[f"Y_{split}"]
        assert X.dtype == np.float64 and X.shape == (2, m), f"X_{split}: {X.dtype}{X.shape}"
        assert Y.dtype == np.uint8 and Y.shape == (1, m), f"Y_{split}: {Y.dtype}{Y.shape}"
        assert np.all(np.isfinite(X)), f"X_{split} has non-finite values"
        assert set(np.unique(Y).tolist()) == {0, 1}, f"Y_{split} holds {np.unique(Y)}; both 0 and 1 expected"


def test_files_carry_no_timestamps_so_rewriting_is_byte_identical(tmp_path, regenerated):
    for name, arrays in regenerated.items():
        first, second = tmp_path / f"{name}-1.h5", tmp_path / f"{name}-2.h5"
        generate.write_h5(first, arrays)
        generate.write_h5(second, arrays)
        assert first.read_bytes() == second.read_bytes(), f"{name}: two writes of the same arrays differ"
        with h5py.File(first, "r") as f:
            assert set(f.keys()) == set(generate.KEYS)


def test_generators_depend_on_the_seed_only():
    for spec in SPECS.values():
        again = spec.make(spec.seed, **spec.params)
        other = spec.make(spec.seed + 1, **spec.params)
        assert all(np.array_equal(again[k], spec.arrays()[k]) for k in generate.KEYS), spec.name
        assert not np.array_equal(other["X_train"], again["X_train"]), f"{spec.name}: seed has no effect"


def test_moons_flip_exactly_the_requested_number_of_labels():
    """Flipping count: against the same draw with no flips, exactly `flipped` labels differ per split."""
    params = dict(SPECS["moons_noisy"].params)
    noisy = generate.make_moons_noisy(5, **params)
    clean = generate.make_moons_noisy(5, **{**params, "flipped": 0, "flipped_test": 0})
    assert np.array_equal(noisy["X_train"], clean["X_train"]) and np.array_equal(noisy["X_test"], clean["X_test"])
    assert int(np.sum(noisy["Y_train"] != clean["Y_train"])) == params["flipped"]
    assert int(np.sum(noisy["Y_test"] != clean["Y_test"])) == params["flipped_test"]


def test_load_dataset_returns_the_file_contents_as_float64():
    from dlwork.data import load_dataset

    for name in SPECS:
        stored = generate.read_h5(DATASETS_DIR / f"{name}.h5")
        loaded = dict(zip(generate.KEYS, load_dataset(name)))
        for key in generate.KEYS:
            assert loaded[key].dtype == np.float64
            assert np.array_equal(loaded[key], stored[key].astype(np.float64)), f"{name}:{key}"


def test_check_mode_passes_on_the_committed_files():
    done = subprocess.run([sys.executable, str(DATASETS_DIR / "generate.py"), "--check"], capture_output=True, text=True, cwd=REPO)
    assert done.returncode == 0, f"`generate.py --check` failed:\n{done.stdout}\n{done.stderr}"


def test_check_mode_catches_a_changed_array_and_a_changed_card(tmp_path):
    for path in DATASETS_DIR.iterdir():
        if path.suffix in (".h5", ".md"):
            shutil.copy(path, tmp_path / path.name)
    assert generate.check(tmp_path) == []

    name = sorted(SPECS)[0]
    arrays = generate.read_h5(tmp_path / f"{name}.h5")
    arrays["X_test"] = arrays["X_test"].copy()
    arrays["X_test"][0, 0] += 1e-12
    generate.write_h5(tmp_path / f"{name}.h5", arrays)
    problems = generate.check(tmp_path)
    assert any(f"{name}.h5:X_test" in p for p in problems), problems

    card = tmp_path / f"{name}.md"
    digest = generate.array_sha256(generate.read_h5(DATASETS_DIR / f"{name}.h5")["Y_train"])
    card.write_text(card.read_text().replace(digest, "0" * 64))
    problems = generate.check(tmp_path)
    assert any(f"{name}.md:Y_train" in p for p in problems), problems
