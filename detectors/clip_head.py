"""CLIP-head judge: a frozen CLIP image encoder plus a small trainable MLP head.

Artifacts: model.safetensors (head weights only), config.json (backbone id and the revision it
was pinned to, the stored preprocessing, labels, threshold, training data, metrics) and README.md.
Loading reads JSON and safetensors only, and refuses a backbone whose content changed.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dataigm.core.errors import DataIGMError
from dataigm.core.layout import JUDGE_PREDICTIONS
from dataigm.core.registry import DETECTORS
from detectors.artifact import ArtifactJudge, load_state, read_artifact_config

KIND = "clip_head"
HIDDEN = 256


@DETECTORS.register("clip-head")
@dataclass
class ClipHeadJudge(ArtifactJudge):
    """A trained judge: frozen CLIP image features and a small MLP head."""

    encoder: Any
    head: Any
    config: dict[str, Any]

    @property
    def module(self):
        """The head (the only trained weights)."""
        return self.head

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(presence scores, class probabilities) of PIL images."""
        from detectors.training.heads import head_probs, presence_score

        probs = head_probs(self.head, self.encoder.embed(images))
        return presence_score(probs), probs

    @classmethod
    def load(cls, folder: Path, device: str | None = None, dtype: str = "auto") -> ClipHeadJudge:
        """A saved judge, its backbone loaded at the recorded revision and the stored preprocessing."""
        from detectors.clip import ClipEncoder
        from detectors.training.heads import Head

        config = read_artifact_config(folder, KIND)
        try:
            h, backbone = config["head"], config["backbone"]
            head = Head(int(h["input_dim"]), int(h["n_out"]), int(h["hidden"]), float(h["dropout"]))
            head.load_state_dict(load_state(folder))
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise DataIGMError(f"{folder}: judge config and weights do not fit ({str(exc).splitlines()[0]})") from None
        encoder = ClipEncoder(backbone["id"], backbone.get("revision_requested"), device, dtype=dtype,
                              preprocessing=config.get("preprocessing"))
        pinned = backbone.get("revision", "")
        if pinned.startswith("local:") and encoder.revision != pinned:
            raise DataIGMError(f"{folder}: its backbone {backbone['id']} changed since training "
                               f"({pinned} -> {encoder.revision}); retrain the judge or restore the backbone")
        return cls(encoder, head.eval(), config)

    @classmethod
    def train(cls, data, out: Path, backbone: str, revision: str | None, epochs: int, seed: int,
              nsfw: bool, dtype: str = "auto", compare_with: tuple[str, ...] = ()) -> dict[str, Any]:
        """Train a head on `data`, pick the threshold on validation, report on test, save the artifact to `out`; returns
        its config."""
        from detectors.clip import ClipEncoder
        from detectors.training.features import FeatureCache
        from detectors.training.heads import head_probs, presence_score, train_head
        from detectors.training.metrics import best_threshold, judge_report, predictions_table

        started = time.time()
        encoder = ClipEncoder(backbone, revision, dtype=dtype)
        x, computed = FeatureCache(backbone, encoder.revision, encoder.dtype).features(encoder, data.images,
                                                                                       data.sha256)
        feature_s = time.time() - started
        y = np.asarray(data.y)
        train = data.mask("train")
        if len(np.unique(y[train])) < 2:
            raise DataIGMError(f"the train split of {data.target} has a single class; nothing to learn")
        head = train_head(x[train], y[train], len(data.labels), epochs=epochs, seed=seed, hidden=HIDDEN)
        probs = head_probs(head, x)
        score = presence_score(probs)
        val = data.mask("val")
        threshold = best_threshold((y[val] > 0).astype(int), score[val]) if val.any() else 0.5
        config = {
            "kind": KIND, "version": "1", "task": "binary" if len(data.labels) == 2 else "multiclass",
            "target": data.target, "labels": data.labels, "label_ids": data.label_ids, "threshold": threshold,
            "nsfw": nsfw,
            "backbone": {"id": backbone, "revision_requested": revision, "revision": encoder.revision,
                         "dtype": encoder.dtype},
            "preprocessing": encoder.preprocessing(),
            "head": {"input_dim": int(x.shape[1]), "n_out": 1 if len(data.labels) == 2 else len(data.labels),
                     "hidden": HIDDEN, "dropout": 0.1, "epochs": epochs, "seed": seed},
            "training_data": {"source": data.source, "revision": data.revision, "configs": data.configs,
                              "sources": sorted(set(data.origin)), "licenses": sorted(set(data.license))},
            "metrics": {"test": judge_report(data, "test", score, probs, threshold),
                        "validation": judge_report(data, "val", score, probs, threshold) if val.any() else None,
                        "counts": data.counts(), "feature_seconds": round(feature_s, 2),
                        "features_computed": computed, "train_seconds": round(time.time() - started - feature_s, 2)},
            "created_with": {lib: version(lib) for lib in ("dataigm", "torch", "transformers")},
        }
        if compare_with:
            from detectors.training.compare import compare_on_test

            config["metrics"]["comparison"] = compare_on_test(data, config["metrics"]["test"]["presence"], compare_with)
        judge = cls(encoder, head, config)
        judge.save(out)
        import pyarrow.parquet as pq

        from dataigm.core.storage import atomic_output

        with atomic_output(out / JUDGE_PREDICTIONS) as tmp:
            pq.write_table(predictions_table(data, "test", score, probs), tmp)
        return judge.config
