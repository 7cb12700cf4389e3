"""What trained judges share: the artifact folder (model.safetensors + config.json + README.md,
optional predictions.parquet; never a pickle) and turning scores into verdicts.

A judge trained for a category (labels: the no-concept class, then one per concept) can curate one
concept of it: `for_concept` makes its verdicts say whether that concept is the predicted class.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dataigm.core.curation import Verdict, threshold_verdict
from dataigm.core.errors import DataIGMError
from dataigm.core.layout import JUDGE_CONFIG, JUDGE_WEIGHTS

ARTIFACT_FORMAT = 2
REQUIRED_KEYS = ("kind", "target", "labels", "threshold", "version")


def read_artifact_config(folder: Path, kind: str | None = None) -> dict[str, Any]:
    """A judge artifact's config, checked (required keys, labels, format version, and `kind` when given)."""
    path = Path(folder) / JUDGE_CONFIG
    if not path.exists() or not (Path(folder) / JUDGE_WEIGHTS).exists():
        raise DataIGMError(f"{folder} is not a dataigm judge artifact (needs {JUDGE_CONFIG} and {JUDGE_WEIGHTS})")
    try:
        config = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataIGMError(f"{path}: corrupt judge config ({exc})") from None
    if not isinstance(config, dict) or any(k not in config for k in REQUIRED_KEYS):
        raise DataIGMError(f"{path}: not a judge config (needs {', '.join(REQUIRED_KEYS)})")
    if kind is not None and config["kind"] != kind:
        raise DataIGMError(f"{folder} holds a {config['kind']!r} judge, not {kind!r}")
    if config.get("format_version", 0) > ARTIFACT_FORMAT:
        raise DataIGMError(f"{folder} was written by a newer dataigm (format {config['format_version']})")
    labels = config["labels"]
    if not isinstance(labels, list) or len(labels) < 2 or not all(isinstance(x, str) for x in labels):
        raise DataIGMError(f"{path}: 'labels' must list at least two label names")
    return config


def load_state(folder: Path) -> dict[str, Any]:
    """A judge's weights from its safetensors file (never a pickle)."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(Path(folder) / JUDGE_WEIGHTS)
    except (SafetensorError, OSError) as exc:
        raise DataIGMError(f"{folder}/{JUDGE_WEIGHTS}: unreadable ({exc})") from None


class ArtifactJudge:
    """A trained judge: `config` (labels, threshold, ...) plus the torch module saved as weights."""

    config: dict[str, Any]
    concept: str | None = None  # set by for_concept: verdicts about one concept of a category judge

    @property
    def module(self):
        """The trainable torch module whose weights the artifact stores."""
        raise NotImplementedError

    @property
    def name(self) -> str:
        """`<kind>:<target>`, as verdicts name the judge."""
        return f"{self.config['kind']}:{self.config['target']}"

    @property
    def version(self) -> str:
        """The artifact's version and weights digest."""
        return f"{self.config.get('version', '0')}/{self.config.get('digest', 'unsaved')}"

    @property
    def threshold(self) -> float:
        """The presence threshold picked on validation."""
        return float(self.config["threshold"])

    @property
    def rule(self) -> str:
        """How a decision is made, in words (recorded with every evaluation)."""
        if self.concept is None:
            return f"presence score >= {self.threshold:g}"
        return f"{self.concept} is the most probable of the {len(self.config['labels'])} labels"

    def for_concept(self, concept: str | None) -> ArtifactJudge:
        """Judge one concept of a category judge (its target, or None: presence of any concept)."""
        labels = self.config["labels"]
        if concept is not None and concept != self.config["target"] and concept not in labels:
            raise DataIGMError(f"judge {self.name} does not know the concept {concept!r} (labels: {labels})")
        self.concept = None if concept == self.config["target"] else concept
        return self

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(presence scores, class probabilities) for PIL images."""
        raise NotImplementedError

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per image: presence against the threshold, or (one concept of a category judge)
        whether that concept is the predicted class."""
        scores, probs = self.scores([Image.fromarray(im) for im in images])
        if self.concept is None:
            return [threshold_verdict(self.name, self.version, float(s), self.threshold, "concept") for s in scores]
        k = self.config["labels"].index(self.concept)
        out = []
        for p in probs:  # one concept of a category judge: present when it is the predicted class
            present = int(np.argmax(p)) == k
            # the bar P(concept) had to reach: the largest probability of any other label
            bar = float(np.max(np.delete(p, k))) if len(p) > 1 else 0.0
            out.append(Verdict(self.name, self.version, float(p[k]), bar, present,
                               f"concept_{'present' if present else 'absent'}",
                               f"{self.name} predicts {self.config['labels'][int(np.argmax(p))]} "
                               f"(P({self.concept}) = {p[k]:.3f})", self.concept))
        return out

    def save(self, folder: Path) -> None:
        """Weights to safetensors, then config.json with the weights' sha256 (the judge's digest)."""
        import hashlib

        from safetensors.torch import save

        from dataigm.core.storage import write_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
        meta = {"format": "pt", "dataigm_artifact": str(ARTIFACT_FORMAT)}
        weights = save(state, metadata=meta)
        write_file(folder / JUDGE_WEIGHTS, weights)
        self.config["digest"] = hashlib.sha256(weights).hexdigest()[:16]
        self.config["format_version"] = ARTIFACT_FORMAT
        write_file(folder / JUDGE_CONFIG, json.dumps(self.config, indent=2, sort_keys=True, default=str))
