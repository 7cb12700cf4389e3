"""ultralytics YOLO classification judge, trained from a DataIGM config exported as an ImageFolder.

Same artifact format as the CLIP-head judge. The network is always built from an architecture
shipped with ultralytics (see yolo_arch): the stored architecture is compared with it, never parsed.
"""

from __future__ import annotations

import tempfile
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

KIND = "yolo_cls"


def export_image_folder(data, root: Path) -> Path:
    """Judge data -> root/{train,val,test}/<label>/<sha256>.png (what ultralytics reads)."""
    for part in ("train", "val", "test"):
        for label in data.labels:
            (root / part / label).mkdir(parents=True, exist_ok=True)
    for image, sha, y, part in zip(data.images, data.sha256, data.y, data.part, strict=True):
        image.convert("RGB").save(root / part / data.labels[y] / f"{sha}.png")
    return root


def _probs(model, images: list[Image.Image], imgsz: int, names: list[str], labels: list[str]) -> np.ndarray:
    """Class probabilities in `labels` order."""
    import torch
    from ultralytics.data.augment import classify_transforms

    transform = classify_transforms(imgsz)
    order = [names.index(label) for label in labels]
    out = []
    with torch.inference_mode():
        for i in range(0, len(images), 64):
            batch = torch.stack([transform(im.convert("RGB")) for im in images[i : i + 64]])
            result = model(batch)
            probs = result[0] if isinstance(result, tuple) else result.softmax(1)
            out.append(probs[:, order].float().numpy())
    return np.concatenate(out) if out else np.zeros((0, len(labels)), np.float32)


def _presence(probs: np.ndarray) -> np.ndarray:
    return probs[:, 1] if probs.shape[1] == 2 else 1.0 - probs[:, 0]


@DETECTORS.register("yolo-cls")
@dataclass
class YoloClsJudge(ArtifactJudge):
    """A trained judge: an ultralytics YOLO classifier built from a shipped architecture."""

    model: Any
    config: dict[str, Any]

    @property
    def module(self):
        """The classification network."""
        return self.model

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(presence scores, class probabilities) of PIL images."""
        c = self.config
        probs = _probs(self.model, images, c["imgsz"], c["names"], c["labels"])
        return _presence(probs), probs

    @classmethod
    def load(cls, folder: Path, device: str | None = None, dtype: str = "auto") -> YoloClsJudge:
        """A saved judge, rebuilt from the shipped architecture its config names (never from the stored yaml)."""
        from ultralytics.nn.tasks import ClassificationModel

        from detectors.yolo_arch import same_architecture

        config = read_artifact_config(folder, KIND)
        if not isinstance(config.get("yaml"), dict) or not isinstance(config.get("arch"), str):
            raise DataIGMError(f"{folder}: a yolo_cls config needs 'arch' (a shipped yaml name) and 'yaml'")
        shipped = same_architecture(config["yaml"], config["arch"])
        names = config.get("names")
        if not isinstance(names, list) or sorted(names) != sorted(config["labels"]):
            raise DataIGMError(f"{folder}: 'names' must list the judge's labels")
        model = ClassificationModel(cfg=shipped, nc=len(names), verbose=False)
        try:
            model.load_state_dict(load_state(folder))
        except RuntimeError as exc:
            raise DataIGMError(f"{folder}: weights do not fit {config['arch']} ({str(exc).splitlines()[0]})") from None
        model.names = dict(enumerate(names))
        return cls(model.float().eval(), config)

    @classmethod
    def train(cls, data, out: Path, arch: str, imgsz: int, epochs: int, seed: int, nsfw: bool) -> dict[str, Any]:
        """Train on `data` exported as an ImageFolder, pick the threshold on validation, save the artifact; returns its
        config."""
        import torch
        from ultralytics import YOLO

        from detectors.training.metrics import best_threshold, judge_report, predictions_table
        from detectors.yolo_arch import shipped_architecture

        shipped_architecture(arch)
        if not data.mask("val").any():
            raise DataIGMError("the YOLO judge needs validation rows; the data has none")
        # the exported training images and the trainer's runs: removed when training ends, however it ends
        with tempfile.TemporaryDirectory(prefix="dataigm-yolo-") as tmp:
            work = Path(tmp)
            folder = export_image_folder(data, work / "data")
            yolo = YOLO(arch, task="classify")
            yolo.train(data=str(folder), epochs=epochs, imgsz=imgsz, batch=16, workers=0, plots=False,
                       pretrained=False, device="0" if torch.cuda.is_available() else "cpu",
                       project=str(work / "runs"), name="train", exist_ok=True, seed=seed, deterministic=True,
                       verbose=False, amp=False, val=True)
            model = yolo.model.float().eval()
        names = [model.names[i] for i in range(len(model.names))]
        probs = _probs(model, data.images, imgsz, names, data.labels)
        score = _presence(probs)
        y = np.asarray(data.y)
        threshold = best_threshold((y[data.mask("val")] > 0).astype(int), score[data.mask("val")])
        report_probs = probs if len(data.labels) > 2 else score
        config = {
            "kind": KIND, "version": "1", "task": "binary" if len(data.labels) == 2 else "multiclass",
            "target": data.target, "labels": data.labels, "label_ids": data.label_ids, "names": names,
            "threshold": threshold, "nsfw": nsfw, "arch": arch, "yaml": shipped_architecture(arch), "imgsz": imgsz,
            "preprocessing": {"transform": "ultralytics.data.augment.classify_transforms", "size": imgsz},
            "training_data": {"source": data.source, "revision": data.revision, "configs": data.configs,
                              "sources": sorted(set(data.origin)), "licenses": sorted(set(data.license))},
            "metrics": {"test": judge_report(data, "test", score, report_probs, threshold),
                        "counts": data.counts(), "epochs": epochs},
            "created_with": {lib: version(lib) for lib in ("dataigm", "torch", "ultralytics")},
        }
        judge = cls(model, config)
        judge.save(out)
        import pyarrow.parquet as pq

        from dataigm.core.storage import atomic_output

        with atomic_output(out / JUDGE_PREDICTIONS) as tmp:
            pq.write_table(predictions_table(data, "test", score, report_probs), tmp)
        return judge.config
