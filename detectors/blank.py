"""Blank-image check: flags uniform images (the black images a safety checker leaves, dead VAEs)."""

from __future__ import annotations

import numpy as np

from detectors.base import Verdict


class BlankImageDetector:
    name = "blank_image"
    version = "1"

    def __init__(self, threshold: float = 2.0):
        self.threshold = threshold  # pixel standard deviation on the 0-255 scale

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        out = []
        for img in images:
            std = float(img.astype(np.float32).std())
            out.append(Verdict(self.name, self.version, std, self.threshold, std < self.threshold,
                               f"mean={float(img.mean()):.1f}"))
        return out
