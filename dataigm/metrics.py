"""Judge evaluation: the metrics published next to every judge."""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |accuracy - confidence| over equal-width confidence bins."""
    edges = np.linspace(0, 1, bins + 1)
    ece = 0.0
    for lo, hi in itertools.pairwise(edges):
        mask = (confidence > lo) & (confidence <= hi) if lo > 0 else (confidence >= lo) & (confidence <= hi)
        if mask.any():
            ece += mask.mean() * abs(correct[mask].mean() - confidence[mask].mean())
    return float(ece)


def best_threshold(y: np.ndarray, score: np.ndarray) -> float:
    """The score threshold with the best F1 on (validation) data; 0.5 when undecidable."""
    if len(np.unique(y)) < 2:
        return 0.5
    candidates = np.unique(np.concatenate([score, [0.5]]))
    f1s = [precision_recall_fscore_support(y, score >= t, average="binary", zero_division=0)[2]
           for t in candidates]
    return float(candidates[int(np.argmax(f1s))])


def binary_report(y: np.ndarray, score: np.ndarray, threshold: float) -> dict[str, Any]:
    y = np.asarray(y, dtype=int)
    pred = (np.asarray(score) >= threshold).astype(int)
    p, r, f1, _ = precision_recall_fscore_support(y, pred, average="binary", zero_division=0)
    prob_of_pred = np.where(pred == 1, score, 1 - score)
    return {
        "n": len(y), "accuracy": float(accuracy_score(y, pred)), "precision": float(p),
        "recall": float(r), "f1": float(f1),
        "auroc": float(roc_auc_score(y, score)) if len(np.unique(y)) == 2 else None,
        "ece": expected_calibration_error(prob_of_pred, pred == y),
        "confusion_matrix": confusion_matrix(y, pred, labels=[0, 1]).tolist(),
        "threshold": float(threshold),
    }


def multiclass_report(y: np.ndarray, probs: np.ndarray, labels: list[str]) -> dict[str, Any]:
    y = np.asarray(y, dtype=int)
    pred = probs.argmax(axis=1)
    p, r, f1, _ = precision_recall_fscore_support(y, pred, average="macro", zero_division=0,
                                                  labels=list(range(len(labels))))
    present = np.unique(y)
    auroc = None
    if len(present) == len(labels):
        auroc = float(roc_auc_score(y, probs, multi_class="ovr", labels=list(range(len(labels)))))
    return {
        "n": len(y), "accuracy": float(accuracy_score(y, pred)), "precision_macro": float(p),
        "recall_macro": float(r), "f1_macro": float(f1), "auroc_ovr": auroc,
        "ece": expected_calibration_error(probs.max(axis=1), pred == y),
        "labels": labels,
        "confusion_matrix": confusion_matrix(y, pred, labels=list(range(len(labels)))).tolist(),
    }


def breakdown(groups: list[str], y: np.ndarray, pred: np.ndarray) -> dict[str, dict[str, float]]:
    """Accuracy and count per group (subclass, image source)."""
    out = {}
    groups_arr = np.asarray(groups)
    for g in sorted(set(groups)):
        m = groups_arr == g
        out[g] = {"n": int(m.sum()), "accuracy": float((y[m] == pred[m]).mean())}
    return out
