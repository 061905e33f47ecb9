"""Load the workbook's datasets from the HDF5 files under ``datasets/``.

Nothing is downloaded or generated here: the files are made once by
``datasets/generate.py`` and shipped with the workbook.
"""

from __future__ import annotations

import os
from pathlib import Path

import h5py
import numpy as np


def dataset_dir() -> Path:
    """The folder holding the ``.h5`` files.

    ``$DLWORK_DATA`` wins when set; otherwise ``datasets/`` next to this package
    (as in a released assignment) or one level up (as in the repository).
    """
    if os.environ.get("DLWORK_DATA"):
        return Path(os.environ["DLWORK_DATA"])
    here = Path(__file__).resolve().parent
    for candidate in (here.parent / "datasets", here.parent.parent / "datasets"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"no datasets/ folder next to {here.parent} or {here.parent.parent}")


def datasets() -> tuple[str, ...]:
    """The names of the datasets at hand (the ``.h5`` files in :func:`dataset_dir`)."""
    return tuple(sorted(path.stem for path in dataset_dir().glob("*.h5")))


def load_dataset(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Load one dataset.

    Args:
        name: One of :func:`datasets`.

    Returns:
        ``(X_train, Y_train, X_test, Y_test)``: ``X`` of shape ``(2, m)`` (float64),
        ``Y`` of shape ``(1, m)`` with 0.0/1.0 labels (float64).
    """
    if name not in datasets():
        raise ValueError(f"unknown dataset {name!r}; choose one of {datasets()}")
    with h5py.File(dataset_dir() / f"{name}.h5", "r") as f:
        arrays = [np.asarray(f[key][...]) for key in ("X_train", "Y_train", "X_test", "Y_test")]
    X_train, Y_train, X_test, Y_test = arrays
    return (
        X_train.astype(np.float64),
        Y_train.astype(np.float64),
        X_test.astype(np.float64),
        Y_test.astype(np.float64),
    )


def load_flipped(name: str) -> tuple[np.ndarray, np.ndarray]:
    """Which labels of a dataset were flipped on purpose, for marking them in plots.

    Only a dataset made with label noise records this (``moons_noisy``); its file
    holds ``flipped_train`` and ``flipped_test`` next to the arrays
    :func:`load_dataset` returns.

    Returns:
        ``(flipped_train, flipped_test)``: boolean arrays shaped like ``Y_train`` and
        ``Y_test``, True where the stored label is the inverse of the drawn one.

    Raises:
        ValueError: for an unknown dataset, or one that records no flipped labels.
    """
    if name not in datasets():
        raise ValueError(f"unknown dataset {name!r}; choose one of {datasets()}")
    with h5py.File(dataset_dir() / f"{name}.h5", "r") as f:
        if "flipped_train" not in f or "flipped_test" not in f:
            raise ValueError(f"dataset {name!r} records no flipped labels (its file has {sorted(f)})")
        return np.asarray(f["flipped_train"][...]).astype(bool), np.asarray(f["flipped_test"][...]).astype(bool)
