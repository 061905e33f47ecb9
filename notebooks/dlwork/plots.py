"""Plots for the notebooks: data, decision boundaries, cost curves, histograms.

Every function draws on a Matplotlib ``Axes`` (a new figure when none is given)
and returns it, so notebooks can lay several plots side by side.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np

CLASS_COLORS = ("#d95f02", "#1b9e77")


def _axes(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    return ax


def plot_dataset(X: np.ndarray, Y: np.ndarray, ax=None, title: str = "") -> plt.Axes:
    """Scatter 2-D points ``X`` (shape ``(2, m)``) coloured by label ``Y`` (shape ``(1, m)``)."""
    ax = _axes(ax)
    labels = np.ravel(Y)
    for label, color in zip((0, 1), CLASS_COLORS):
        chosen = labels == label
        ax.scatter(X[0, chosen], X[1, chosen], s=14, c=color, edgecolors="k", linewidths=0.3, label=f"y = {label}")
    ax.set_title(title)
    ax.set_aspect("equal", adjustable="datalim")
    ax.legend(loc="upper right", fontsize="small")
    return ax


def plot_decision_boundary(
    predict: Callable[[np.ndarray], np.ndarray],
    X: np.ndarray,
    Y: np.ndarray,
    ax=None,
    title: str = "",
    resolution: int = 200,
) -> plt.Axes:
    """Shade the regions ``predict`` assigns to each class, with the points on top.

    Args:
        predict: Maps inputs of shape ``(2, k)`` to 0/1 predictions of shape ``(1, k)``.
        X: Points to draw, shape ``(2, m)``.
        Y: Their labels, shape ``(1, m)``.
        ax: Axes to draw on (a new figure when ``None``).
        title: Axes title.
        resolution: Grid points per side.
    """
    ax = _axes(ax)
    pad = 0.1 * (X.max(axis=1) - X.min(axis=1)) + 1e-9
    lo, hi = X.min(axis=1) - pad, X.max(axis=1) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.vstack([xx.ravel(), yy.ravel()])
    zz = np.reshape(predict(grid), xx.shape)
    ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], colors=CLASS_COLORS, alpha=0.25)
    plot_dataset(X, Y, ax=ax, title=title)
    return ax


def plot_costs(costs: Mapping[str, Sequence[float]], record_every: int, ax=None, log: bool = False) -> plt.Axes:
    """One cost curve per entry of ``costs`` (label -> costs recorded every ``record_every`` steps)."""
    ax = _axes(ax)
    for label, values in costs.items():
        ax.plot(np.arange(len(values)) * record_every, values, label=label)
    ax.set_xlabel("iteration")
    ax.set_ylabel("cost")
    if log:
        ax.set_yscale("log")
    ax.legend(fontsize="small")
    return ax


def plot_histograms(
    arrays: Mapping[str, np.ndarray], bins: int = 50, axes: Sequence[plt.Axes] | None = None, title: str = ""
) -> Sequence[plt.Axes]:
    """A histogram per entry (label -> array of values), side by side on shared axes settings."""
    if axes is None:
        fig, axes = plt.subplots(1, len(arrays), figsize=(3.2 * len(arrays), 2.8), squeeze=False)
        axes = axes[0]
        if title:
            fig.suptitle(title)
    for ax, (label, values) in zip(axes, arrays.items()):
        ax.hist(np.ravel(values), bins=bins, color="#7570b3")
        ax.set_title(label, fontsize="small")
    return axes
