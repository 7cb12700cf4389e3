"""A trained judge next to reference detectors (e.g. NudeNet for nudity) on the same test images."""

from __future__ import annotations

from typing import Any

import numpy as np

from dataigm.core.registry import DETECTORS
from detectors.training.metrics import binary_report


def compare_on_test(data, trained: dict[str, Any], references: tuple[str, ...]) -> dict[str, Any]:
    """The trained judge's test metrics beside each reference detector's on the same test images."""
    m = data.mask("test")
    images = [np.asarray(im) for im, keep in zip(data.images, m, strict=True) if keep]
    y = (np.asarray(data.y)[m] > 0).astype(int)
    out: dict[str, Any] = {"trained": trained}
    for name in references:
        detector = DETECTORS.get(name)()
        scores = np.array([v.score for v in detector.judge(images)])
        out[name] = {"version": detector.version, "threshold": detector.threshold,
                     **({"labels": list(detector.labels)} if hasattr(detector, "labels") else {}),
                     **binary_report(y, scores, detector.threshold)}
    return out
