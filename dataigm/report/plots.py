"""Plots of a report, drawn with matplotlib (Agg) to SVG: inline in the page, and written as files
that the dataset and model cards reuse."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 8, "svg.hashsalt": "dataigm", "svg.fonttype": "path"})
    return plt


class Figure:
    """A finished plot: its SVG text, saved under `name` when a folder is given."""

    def __init__(self, name: str, title: str, fig):
        plt = _pyplot()
        buf = io.StringIO()
        fig.tight_layout()
        fig.savefig(buf, format="svg", metadata={"Date": None})
        plt.close(fig)
        self.name, self.title, self.svg = name, title, buf.getvalue()

    def save(self, folder: Path | None) -> Path | None:
        """Write the SVG into `folder` atomically (nothing when None); returns its path. The name
        may come from data (a method or config name): it becomes one safe file name, never a path."""
        from dataigm.core.storage import write_file
        from dataigm.core.text import safe_file_name

        if folder is None:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{safe_file_name(self.name)}.svg"
        write_file(path, self.svg)
        return path


def bars(name: str, title: str, labels: Sequence[str], values: Sequence[float], xlabel: str) -> Figure:
    """A horizontal bar chart."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 0.25 * len(labels) + 1.2))
    ax.barh(range(len(values)), values, color="#4c72b0")
    ax.set_yticks(range(len(labels)), labels)
    ax.invert_yaxis()
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    return Figure(name, title, fig)


def histograms(name: str, title: str, groups: dict[str, tuple[np.ndarray, float | None]]) -> Figure:
    """One panel per group: score histogram with its threshold drawn."""
    plt = _pyplot()
    n = max(len(groups), 1)
    fig, axes = plt.subplots(1, n, figsize=(3.2 * n, 2.4), squeeze=False)
    for ax, (label, (scores, threshold)) in zip(axes.flat, groups.items(), strict=False):
        ax.hist(scores, bins=30, color="#55a868")
        if threshold is not None:
            ax.axvline(threshold, color="#c44e52", linestyle="--", label=f"threshold {threshold:g}")
            ax.legend(fontsize=7)
        ax.set_title(label, fontsize=8)
        ax.set_xlabel("score")
    fig.suptitle(title, fontsize=9)
    return Figure(name, title, fig)


def curves(name: str, y: np.ndarray, score: np.ndarray, threshold: float) -> Figure:
    """ROC and precision-recall curves with the chosen threshold marked, and a reliability diagram."""
    from sklearn.metrics import precision_recall_curve, roc_curve

    plt = _pyplot()
    fig, (roc, pr, rel) = plt.subplots(1, 3, figsize=(9.6, 3))
    if len(np.unique(y)) == 2:
        fpr, tpr, th = roc_curve(y, score)
        roc.plot(fpr, tpr, color="#4c72b0")
        k = int(np.argmin(np.abs(th - threshold)))
        roc.plot(fpr[k], tpr[k], "o", color="#c44e52", label=f"threshold {threshold:.3g}")
        precision, recall, th = precision_recall_curve(y, score)
        pr.plot(recall, precision, color="#4c72b0")
        k = int(np.argmin(np.abs(th - threshold))) if len(th) else 0
        pr.plot(recall[k], precision[k], "o", color="#c44e52", label=f"threshold {threshold:.3g}")
        roc.legend(fontsize=7)
        pr.legend(fontsize=7)
    roc.plot([0, 1], [0, 1], ":", color="grey")
    roc.set(title="ROC", xlabel="false positive rate", ylabel="true positive rate")
    pr.set(title="precision-recall", xlabel="recall", ylabel="precision")
    edges = np.linspace(0, 1, 11)
    which = np.clip(np.digitize(score, edges) - 1, 0, 9)
    centers, observed = [], []
    for b in range(10):
        mask = which == b
        if mask.any():
            centers.append(score[mask].mean())
            observed.append(y[mask].mean())
    rel.plot([0, 1], [0, 1], ":", color="grey")
    rel.plot(centers, observed, "o-", color="#4c72b0")
    rel.set(title="reliability", xlabel="mean predicted presence", ylabel="observed frequency")
    return Figure(name, "ROC, precision-recall and reliability", fig)


def matrix(name: str, title: str, values: np.ndarray, rows: Sequence[str], cols: Sequence[str],
           fmt: str = "{:.0f}", axes: tuple[str, str] = ("", ""), by_column: bool = False) -> Figure:
    """A heatmap (confusion matrix, subclass x metric) with the numbers written in the cells;
    `axes`: the (rows, columns) axis labels; `by_column`: shade each column on its own range
    (metrics with different scales side by side)."""
    import textwrap

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(max(3, 0.55 * len(cols) + 2), max(2.2, 0.35 * len(rows) + 1.2)))
    ax.imshow(_column_scaled(values) if by_column else np.nan_to_num(values.astype(float)), cmap="Blues",
              aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=35, ha="right")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_ylabel(axes[0])
    ax.set_xlabel(axes[1])
    shade = _column_scaled(values) if by_column else values / (np.nanmax(np.abs(values)) or 1)
    for (i, j), v in np.ndenumerate(values):
        if np.isfinite(v):  # white numbers on the dark cells
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=7,
                    color="white" if shade[i, j] > 0.6 else "black")
    width_chars = int(fig.get_size_inches()[0] * 9)
    ax.set_title("\n".join(textwrap.wrap(title, width_chars)), fontsize=9)
    return Figure(name, title, fig)


def _column_scaled(values: np.ndarray) -> np.ndarray:
    """Each column mapped to 0..1 over its own finite range (0 where a column is constant or empty)."""
    values = values.astype(float)
    out = np.zeros_like(values)
    for j in range(values.shape[1]):
        col = values[:, j]
        finite = np.isfinite(col)
        if finite.any() and np.ptp(col[finite]) > 0:
            out[finite, j] = (col[finite] - col[finite].min()) / np.ptp(col[finite])
    return out
