"""What every detector returns: a named, versioned verdict with its score and threshold."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np


@dataclass(frozen=True)
class Verdict:
    name: str
    version: str
    score: float
    threshold: float
    decision: bool  # True: the detector's property is present (nudity found, image blank...)
    details: str = ""

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


class Detector(Protocol):
    name: str
    version: str
    threshold: float

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per RGB uint8 image (H, W, 3), in order."""
        ...
