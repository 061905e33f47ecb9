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


def plot_dataset(
    X: np.ndarray,
    Y: np.ndarray,
    ax=None,
    title: str = "",
    marked: np.ndarray | None = None,
    marked_label: str = "label flipped",
) -> plt.Axes:
    """Scatter 2-D points ``X`` (shape ``(2, m)``) coloured by label ``Y`` (shape ``(1, m)``).

    ``marked`` (booleans, shape ``(1, m)`` or ``(m,)``) picks points to ring in black,
    named ``marked_label`` in the legend: the fill still shows the stored label, the
    ring says that label is special (in the workbook: flipped on purpose).
    """
    ax = _axes(ax)
    labels = np.ravel(Y)
    for label, color in zip((0, 1), CLASS_COLORS):
        chosen = labels == label
        ax.scatter(X[0, chosen], X[1, chosen], s=14, c=color, edgecolors="k", linewidths=0.3, label=f"y = {label}")
    if marked is not None:
        ring = np.ravel(np.asarray(marked, dtype=bool))
        if ring.size != labels.size:
            raise ValueError(f"marked has {ring.size} entries for {labels.size} points; pass a mask shaped like Y")
        ax.scatter(X[0, ring], X[1, ring], s=70, facecolors="none", edgecolors="k", linewidths=1.0, label=marked_label)
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
    marked: np.ndarray | None = None,
) -> plt.Axes:
    """Shade the regions ``predict`` assigns to each class, with the points on top.

    Args:
        predict: Maps inputs of shape ``(2, k)`` to 0/1 predictions of shape ``(1, k)``.
        X: Points to draw, shape ``(2, m)``.
        Y: Their labels, shape ``(1, m)``.
        ax: Axes to draw on (a new figure when ``None``).
        title: Axes title.
        resolution: Grid points per side.
        marked: Optional boolean mask (shape of ``Y`` or flat) of points to ring, as in
            :func:`plot_dataset`.
    """
    ax = _axes(ax)
    pad = 0.1 * (X.max(axis=1) - X.min(axis=1)) + 1e-9
    lo, hi = X.min(axis=1) - pad, X.max(axis=1) + pad
    xx, yy = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    grid = np.vstack([xx.ravel(), yy.ravel()])
    zz = np.reshape(predict(grid), xx.shape)
    ax.contourf(xx, yy, zz, levels=[-0.5, 0.5, 1.5], colors=CLASS_COLORS, alpha=0.25)
    plot_dataset(X, Y, ax=ax, title=title, marked=marked)
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


def plot_layer_spread(
    spreads: Mapping[str, Sequence[float]],
    layers: Sequence[int],
    ax=None,
    predicted: Mapping[str, Sequence[float]] | None = None,
    colors: Mapping[str, str] | None = None,
    marker: str = "o",
    linestyle: str = "-",
    label_suffix: str = "",
    ylabel: str = "standard deviation",
    title: str = "",
) -> plt.Axes:
    """Spread per layer on a log scale (notebook 01's deep ReLU stack).

    Args:
        spreads: label -> measured spread at each of ``layers``. An entry that is
            0 everywhere has no place on a log scale: it is named in a note instead.
        layers: The layer numbers on the horizontal axis.
        ax: Axes to draw on (a new figure when ``None``).
        predicted: label -> predicted spread at each of ``layers``, drawn dashed in
            the entry's colour.
        colors: label -> colour.
        marker, linestyle, label_suffix: How the measured lines look and what their
            legend labels add (to draw two kinds of measurement on one axes).
        ylabel, title: Axis label and title.
    """
    ax = _axes(ax)
    colors = colors or {}
    flat = []
    for label, values in spreads.items():
        values = np.asarray(values, dtype=float)
        if not np.any(values > 0):
            flat.append(label)
            continue
        color = colors.get(label)
        line = ax.plot(layers, values, marker=marker, linestyle=linestyle, color=color, label=label + label_suffix)
        if predicted is not None and label in predicted:
            ax.plot(layers, predicted[label], "--", color=line[0].get_color(), linewidth=1)
    ax.set_yscale("log")
    low, high = (np.log10(limit) for limit in ax.get_ylim())
    if high - low > 8:  # many decades: a labelled tick every few decades, no minor ticks
        step = int(np.ceil((high - low) / 6))
        ax.set_yticks(10.0 ** np.arange(np.floor(low), np.ceil(high) + 1, step))
    else:  # a few decades: ticks at 1, 2 and 5 times a power of ten, written out
        ticks = [m * 10.0**e for e in range(int(np.floor(low)), int(np.ceil(high)) + 1) for m in (1, 2, 5)]
        ticks = [t for t in ticks if low <= np.log10(t) <= high]
        ax.set_yticks(ticks, labels=[f"{t:g}" for t in ticks])
    ax.minorticks_off()
    ax.set_xticks(list(layers))
    ax.set_xlabel("layer l")
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize="medium")
    if flat:
        ax.text(
            0.03,
            0.03,
            f"{', '.join(flat)}: 0 in every layer (no place on a log scale)",
            transform=ax.transAxes,
            fontsize="small",
            va="bottom",
        )
    ax.legend(fontsize="small")
    return ax


def plot_epsilon_sweep(
    epsilons: Sequence[float],
    curves: Mapping[str, Sequence[float]],
    styles: Mapping[str, dict] | None = None,
    guides: Mapping[str, tuple[Sequence[float], Sequence[float]]] | None = None,
    threshold: float | None = None,
    ax=None,
    title: str = "",
) -> plt.Axes:
    """Relative difference of a gradient check against the step epsilon, both axes logarithmic.

    Args:
        epsilons: The steps, shared by every curve (a curve may hold ``None`` where it was not measured).
        curves: Label -> relative differences, one per step.
        styles: Label -> keyword arguments of ``ax.plot`` for that curve (colour, marker, ...; a
            ``label`` there replaces the legend entry, one starting with ``_`` hides it).
        guides: Label -> ``(x, y)`` of a dashed reference line (a slope, an estimate).
        threshold: Drawn as a horizontal line when given.
        title: The axes' title.

    The axes span 1e-12 to 1 on both sides whatever the data, so two sweeps drawn
    with this function can be compared by eye; ticks are labelled 10^-k.
    """
    ax = _axes(ax)
    styles = styles or {}
    for label, values in curves.items():
        kept = [(e, v) for e, v in zip(epsilons, values) if v is not None]
        style = {"label": label, "marker": "o", "lw": 1.5, **styles.get(label, {})}
        ax.plot([e for e, _ in kept], [v for _, v in kept], **style)
    for (label, (x, y)), dash in zip((guides or {}).items(), ("--", ":", "-.")):
        ax.plot(x, y, dash, color="k", lw=1, label=label)
    if threshold is not None:
        ax.axhline(threshold, color="C2", lw=1, label=f"threshold $10^{{{int(np.round(np.log10(threshold)))}}}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(1e-11, 1)
    ax.set_ylim(1e-11, 3)
    ticks = 10.0 ** np.arange(-10, 1, 2)
    ax.set_xticks(ticks)
    ax.set_yticks(ticks)
    ax.minorticks_off()
    ax.set_xlabel(r"step $\varepsilon$ of the centred difference")
    ax.set_ylabel("relative difference")
    ax.set_title(title, fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.02, 1))
    return ax


def plot_mask_average(
    plain: np.ndarray, averaged: np.ndarray, keep_prob: float, ax=None, name: str = "A", n_masks: int | None = None
) -> plt.Axes:
    """Activations averaged over dropout masks against the same activations without dropout (notebook 02).

    Args:
        plain: Activations without dropout, any shape.
        averaged: The mean over masks of the masked activations divided by ``keep_prob``,
            the shape of ``plain``.
        keep_prob: The keep probability; ``keep_prob * averaged`` is the masked-only average.
        ax: Axes to draw on (a new figure when ``None``).
        name: The activations' name in the axis labels (``"A1"``).
        n_masks: How many masks were averaged, for the label.
    """
    ax = _axes(ax)
    x, y = np.ravel(plain), np.ravel(averaged)
    top = max(x.max(), y.max()) * 1.05
    ax.plot([0, top], [0, top], color="grey", lw=1, ls=":", label="y = x")
    ax.scatter(x, keep_prob * y, s=4, alpha=0.4, color="C1", label="masked only")
    ax.scatter(x, y, s=4, alpha=0.4, color="C0", label="masked and / keep_prob")
    ax.set_xlabel(f"{name} without dropout")
    over = f" over {n_masks} masks" if n_masks else " over masks"
    ax.set_ylabel(f"{name} averaged{over}")
    ax.legend(fontsize="small", markerscale=3)
    return ax
