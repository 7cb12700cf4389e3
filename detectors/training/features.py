"""CLIP features cached by image sha256, per backbone revision and dtype, in safetensors files:
retraining a head or re-judging with another threshold never re-encodes an image."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
from PIL import Image


class FeatureCache:
    """CLIP features of images keyed by their sha256, one file per backbone revision and precision."""

    def __init__(self, backbone: str, revision: str, dtype: str = "fp32"):
        key = hashlib.sha256(f"{backbone}@{revision}/{dtype}".encode()).hexdigest()[:16]
        root = Path(os.environ.get("DATAIGM_CACHE", Path.home() / ".cache" / "dataigm"))
        self.path = root / "features" / f"{key}.safetensors"

    def features(self, encoder, images: list[Image.Image], shas: list[str]) -> tuple[np.ndarray, int]:
        """Features for every image (computing only the missing ones); returns (features, computed)."""
        from safetensors import SafetensorError
        from safetensors.numpy import load_file, save_file

        try:
            cached: dict[str, np.ndarray] = load_file(self.path) if self.path.exists() else {}
        except SafetensorError:  # a damaged cache file is rebuilt, never trusted
            cached = {}
        unique = {s: i for i, s in enumerate(shas) if s not in cached}
        if unique:
            new = encoder.embed([images[i] for i in unique.values()])
            cached.update(dict(zip(unique, new, strict=True)))
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(f".tmp-{os.getpid()}")
            save_file({k: np.ascontiguousarray(v) for k, v in cached.items()}, tmp)
            tmp.replace(self.path)
        return np.stack([cached[s] for s in shas]).astype(np.float32), len(unique)
