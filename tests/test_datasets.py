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

# The four arrays of moons_noisy as committed before the files recorded the flipped labels.
# Notebook 02's text and tests rest on these exact points: a new optional array must not move them.
MOONS_NOISY_SHA256 = {
    "X_train": "b7350b35a13e7adc819bd524e0d02c52fab8ad5792f42b4715a1334cb364aeb3",
    "Y_train": "df59003601af44313d55bee49dee420aee54cf2fed805fd8a26ba81380052dc7",
    "X_test": "9b5b3d3b1c3b4947ee0a5cdc00c6edfb22c28e9daebd1cae181b6c846fdccfa3",
    "Y_test": "ef06f7320f5bfadb3b18689df7f855a6cad7d4e8b2eaa0d7ad4f231a2238fa8f",
}


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
    assert list(stored) == list(generate.keys_of(regenerated[name])), f"{name}.h5 holds {list(stored)}"
    for key in generate.keys_of(regenerated[name]):
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
    assert sorted(table) == sorted(stored), f"{name}.md lists {sorted(table)}, the file holds {sorted(stored)}"
    for key in stored:
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
            assert list(f.keys()) == list(generate.keys_of(arrays)), name


def test_generators_depend_on_the_seed_only():
    for spec in SPECS.values():
        again = spec.make(spec.seed, **spec.params)
        other = spec.make(spec.seed + 1, **spec.params)
        assert all(np.array_equal(again[k], spec.arrays()[k]) for k in generate.keys_of(again)), spec.name
        assert not np.array_equal(other["X_train"], again["X_train"]), f"{spec.name}: seed has no effect"


def test_moons_flip_exactly_the_requested_number_of_labels():
    """Flipping count: against the same draw with no flips, exactly `flipped` labels differ per split."""
    params = dict(SPECS["moons_noisy"].params)
    noisy = generate.make_moons_noisy(5, **params)
    clean = generate.make_moons_noisy(5, **{**params, "flipped": 0, "flipped_test": 0})
    assert np.array_equal(noisy["X_train"], clean["X_train"]) and np.array_equal(noisy["X_test"], clean["X_test"])
    assert int(np.sum(noisy["Y_train"] != clean["Y_train"])) == params["flipped"]
    assert int(np.sum(noisy["Y_test"] != clean["Y_test"])) == params["flipped_test"]


def test_moons_flip_masks_mark_exactly_the_flipped_labels():
    """The stored masks are 1 exactly where a label differs from the same draw without flips."""
    params = dict(SPECS["moons_noisy"].params)
    for seed in (SPECS["moons_noisy"].seed, 5):
        noisy = generate.make_moons_noisy(seed, **params)
        clean = generate.make_moons_noisy(seed, **{**params, "flipped": 0, "flipped_test": 0})
        for split, count in (("train", params["flipped"]), ("test", params["flipped_test"])):
            mask, Y = noisy[f"flipped_{split}"], noisy[f"Y_{split}"]
            assert mask.dtype == np.uint8 and mask.shape == Y.shape, f"flipped_{split}: {mask.dtype}{mask.shape}"
            assert np.array_equal(mask.astype(bool), Y != clean[f"Y_{split}"]), f"seed {seed}: flipped_{split}"
            assert int(mask.sum()) == count
            assert not clean[f"flipped_{split}"].any(), "no flips asked, yet a mask entry is set"


def test_moons_arrays_are_the_ones_committed_before_the_masks():
    stored = generate.read_h5(DATASETS_DIR / "moons_noisy.h5")
    for key, digest in MOONS_NOISY_SHA256.items():
        assert generate.array_sha256(stored[key]) == digest, f"moons_noisy.h5:{key} changed"


def test_load_flipped_reads_the_committed_masks_and_refuses_a_dataset_without_them(regenerated):
    from dlwork.data import load_dataset, load_flipped

    _, Y_train, _, Y_test = load_dataset("moons_noisy")
    flipped_train, flipped_test = load_flipped("moons_noisy")
    fresh = regenerated["moons_noisy"]
    for mask, Y, key in ((flipped_train, Y_train, "flipped_train"), (flipped_test, Y_test, "flipped_test")):
        assert mask.dtype == bool and mask.shape == Y.shape, f"{key}: {mask.dtype}{mask.shape}"
        assert np.array_equal(mask, fresh[key].astype(bool)), key
    assert not set(generate.OPTIONAL_KEYS) & set(regenerated["circles"]), "circles flips no labels"
    with pytest.raises(ValueError, match="records no flipped labels"):
        load_flipped("circles")


def test_plots_ring_the_marked_points_and_name_them_in_the_legend():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from dlwork.data import load_dataset, load_flipped
    from dlwork.plots import plot_dataset, plot_decision_boundary

    X, Y, _, _ = load_dataset("moons_noisy")
    flipped, _ = load_flipped("moons_noisy")
    fig, (plain, ringed, boundary) = plt.subplots(1, 3)
    plot_dataset(X, Y, ax=plain)
    plot_dataset(X, Y, ax=ringed, marked=flipped)
    plot_decision_boundary(lambda G: (G[1:] < 0).astype(float), X, Y, ax=boundary, marked=flipped.ravel())
    legend = [t.get_text() for t in plain.get_legend().get_texts()]
    assert legend == ["y = 0", "y = 1"], "without marked= the plot must stay as it was"
    for ax in (ringed, boundary):
        assert [t.get_text() for t in ax.get_legend().get_texts()] == legend + ["label flipped"]
        rings = ax.collections[-1]
        assert np.array_equal(rings.get_offsets(), X[:, flipped.ravel()].T)
    with pytest.raises(ValueError, match="entries"):
        plot_dataset(X, Y, marked=np.flatnonzero(flipped))  # indices, not a mask
    plt.close("all")


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


def test_check_mode_catches_a_missing_optional_array(tmp_path):
    for path in DATASETS_DIR.iterdir():
        if path.suffix in (".h5", ".md"):
            shutil.copy(path, tmp_path / path.name)
    arrays = generate.read_h5(tmp_path / "moons_noisy.h5")
    del arrays["flipped_test"]
    generate.write_h5(tmp_path / "moons_noisy.h5", arrays)
    problems = generate.check(tmp_path)
    assert any(p.startswith("moons_noisy.h5: holds") for p in problems), problems
