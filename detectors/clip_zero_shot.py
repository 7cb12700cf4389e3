"""CLIP zero-shot concept presence: how much more an image matches the concept's texts than the
texts of what should be there instead (retain scenes, unrelated entities).

score = the softmax probability mass of the positive texts among all texts, with CLIP's own logit
scale; present when score >= threshold. Model id or path, revision (commit or content digest),
texts and threshold are recorded in every verdict.
"""

from __future__ import annotations

import json

import numpy as np
from PIL import Image

from dataigm.core.curation import Verdict, threshold_verdict
from dataigm.core.errors import DataIGMError
from dataigm.core.hub_access import require_model
from dataigm.core.registry import DETECTORS


@DETECTORS.register("clip-zero-shot")
class ClipZeroShot:
    """Concept presence by CLIP zero-shot: the probability mass of the positive texts against the negative ones."""

    name = "clip-zero-shot"

    def __init__(self, model: str, positive: list[str], negative: list[str], threshold: float = 0.5,
                 revision: str | None = None, dtype: str = "auto"):
        from detectors.clip import ClipTextImage

        if not positive or not negative:
            raise DataIGMError("clip-zero-shot needs positive and negative texts")
        self.clip = ClipTextImage(model, revision, dtype=dtype)
        self.threshold, self.positive, self.negative = float(threshold), list(positive), list(negative)
        # A local folder is named by its content digest only: the same weights give the same rows anywhere.
        revision = self.clip.revision
        self.version = revision if revision.startswith("local:") else f"{model}@{revision}"
        self._texts = self.clip.text_embeddings(self.positive + self.negative)

    @staticmethod
    def check_options(model: str, revision: str | None = None, **_: object) -> None:
        """Before any work (`JudgeSpec.check`): the CLIP model can be had from here (a local folder,
        or a Hub id cached or reachable); nothing is loaded."""
        require_model(model, revision, "--clip")

    def scores(self, images: list[Image.Image]) -> np.ndarray:
        """The presence score of each PIL image."""
        logits = self.clip.logit_scale * self.clip.image_embeddings(images) @ self._texts.T
        logits -= logits.max(axis=1, keepdims=True)
        probs = np.exp(logits)
        probs /= probs.sum(axis=1, keepdims=True)
        return probs[:, : len(self.positive)].sum(axis=1)

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per image, with the texts in its details."""
        details = json.dumps({"positive": self.positive, "negative": self.negative})
        return [threshold_verdict(self.name, self.version, float(s), self.threshold, "concept", details)
                for s in self.scores([Image.fromarray(im) for im in images])]
