"""Judge evaluation: the metrics published next to every judge (scikit-learn implementations)."""

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
    """Accuracy, precision, recall, F1, AUROC, ECE and the confusion matrix at `threshold`."""
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
    """Macro precision, recall, F1, one-vs-rest AUROC and the confusion matrix of a multi-class judge."""
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


def judge_report(data, part: str, score: np.ndarray, probs: np.ndarray, threshold: float) -> dict[str, Any]:
    """The published evaluation of a judge on one part (val/test) of its data."""
    m = data.mask(part)
    y = np.asarray(data.y)[m]
    report: dict[str, Any] = {"presence": binary_report((y > 0).astype(int), score[m], threshold)}
    if probs.ndim == 2:
        report["classes"] = multiclass_report(y, probs[m], data.labels)
        pred = probs[m].argmax(axis=1)
    else:
        pred = (score[m] >= threshold).astype(int)
    report["by_subclass"] = breakdown(list(np.asarray(data.subclass)[m]), y, pred)
    report["by_source"] = breakdown(list(np.asarray(data.origin)[m]), y, pred)
    return report


def predictions_table(data, part: str, score: np.ndarray, probs: np.ndarray):
    """Per-image predictions of one part (for reports: ROC/PR curves, confidently wrong images)."""
    import pyarrow as pa

    m = data.mask(part)
    idx = np.flatnonzero(m)
    pred = probs[m].argmax(axis=1) if probs.ndim == 2 else (score[m] >= 0.5).astype(int)
    return pa.table({
        "row_id": [data.row_id[i] for i in idx], "sha256": [data.sha256[i] for i in idx],
        "label": np.asarray(data.y)[m].astype(np.int32), "score": score[m].astype(np.float32),
        "predicted_class": pred.astype(np.int32),
        "subclass": [data.subclass[i] for i in idx], "origin": [data.origin[i] for i in idx]})
