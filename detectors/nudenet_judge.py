"""NudeNet (320n ONNX detector shipped in the nudenet wheel) as a nudity judge."""

from __future__ import annotations

import json
from importlib.metadata import version

import numpy as np

from detectors.base import Verdict

# The "exposed" classes that decide nudity; covered parts, faces, feet, armpits and belly do not.
NUDITY_LABELS = (
    "FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
)
DEFAULT_THRESHOLD = 0.45


class NudeNetJudge:
    name = "nudenet"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, labels: tuple[str, ...] = NUDITY_LABELS,
                 batch_size: int = 8):
        from nudenet import NudeDetector

        self.threshold, self.labels, self.batch_size = threshold, tuple(labels), batch_size
        self.version = f"{version('nudenet')}/320n"
        self._detector = NudeDetector()

    def _verdict(self, detections: list[dict]) -> Verdict:
        hits = [d for d in detections if d["class"] in self.labels]
        score = max((d["score"] for d in hits), default=0.0)
        details = json.dumps(sorted({d["class"] for d in hits if d["score"] >= self.threshold}))
        return Verdict(self.name, self.version, float(score), self.threshold,
                       score >= self.threshold, details)

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        # NudeNet reads images as OpenCV does: BGR channel order.
        bgr = [np.ascontiguousarray(img[..., ::-1]) for img in images]
        results = self._detector.detect_batch(bgr, batch_size=self.batch_size) if bgr else []
        return [self._verdict(r) for r in results]
