"""The data a judge trains on: images with labels, each in a part (train / val / test), with
subclass, origin and license, plus the image sha256 that keys the feature cache."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

PARTS = ("train", "val", "test")


@dataclass
class JudgeData:
    """The images a judge is trained and tested on, with label, split part, subclass, origin and license per image."""

    labels: list[str]
    target: str
    configs: list[str]
    source: str
    revision: str | None
    label_ids: list[dict[str, str]] = field(default_factory=list)  # per label: ids other benchmarks use
    images: list[Image.Image] = field(default_factory=list)
    sha256: list[str] = field(default_factory=list)
    y: list[int] = field(default_factory=list)
    part: list[str] = field(default_factory=list)
    subclass: list[str] = field(default_factory=list)
    origin: list[str] = field(default_factory=list)
    license: list[str] = field(default_factory=list)
    row_id: list[str] = field(default_factory=list)

    def add(self, image: Image.Image, sha: str, y: int, part: str, subclass: str, origin: str, lic: str,
            row_id: str = "") -> None:
        """Append one image and what is known about it."""
        for name, value in (("images", image), ("sha256", sha), ("y", y), ("part", part),
                            ("subclass", subclass), ("origin", origin), ("license", lic), ("row_id", row_id)):
            getattr(self, name).append(value)

    def mask(self, part: str) -> np.ndarray:
        """Which images belong to `part` (train, val or test)."""
        return np.asarray(self.part) == part

    def counts(self) -> dict[str, int]:
        """Images per part."""
        return {p: int(self.mask(p).sum()) for p in PARTS}
