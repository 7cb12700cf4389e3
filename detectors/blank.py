"""Blank-image check: flags uniform images (the black images a safety checker leaves, dead VAEs)."""

from __future__ import annotations

import numpy as np

from dataigm.core.curation import Verdict
from dataigm.core.registry import DETECTORS


@DETECTORS.register("blank")
class BlankImageDetector:
    """Flags uniform images (pixel standard deviation under the threshold)."""

    name = "blank"
    version = "1"

    def __init__(self, threshold: float = 2.0):
        self.threshold = threshold  # pixel standard deviation on the 0-255 scale

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per image: blank or not, with its pixel statistics."""
        out = []
        for img in images:
            std = float(img.astype(np.float32).std())
            blank = std < self.threshold
            out.append(Verdict(self.name, self.version, std, self.threshold, blank,
                               "blank_image" if blank else "not_blank",
                               f"pixel std {std:.2f} {'<' if blank else '>='} {self.threshold:g}",
                               f"mean={float(img.mean()):.1f}"))
        return out
