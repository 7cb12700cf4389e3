"""ultralytics YOLO classification judge, trained from a DataIGM config exported as an ImageFolder.

The artifact has the same format as the CLIP-head judge: model.safetensors (the network's state
dict) + config.json (architecture yaml as data, class names, image size, labels, threshold,
metrics) + README.md; loading rebuilds the network from the yaml and reads safetensors only.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from detectors.artifact import ARTIFACT_FORMAT, ArtifactJudge, read_artifact_config
from detectors.clip_head import presence_score


def export_image_folder(data, root: Path) -> Path:
    """DataIGM rows -> root/{train,val,test}/<label>/<sha256>.png (what ultralytics reads)."""
    for part in ("train", "val", "test"):
        for label in data.labels:
            (root / part / label).mkdir(parents=True, exist_ok=True)
    for image, sha, y, part in zip(data.images, data.sha256, data.y, data.part, strict=True):
        image.convert("RGB").save(root / part / data.labels[y] / f"{sha}.png")
    return root


def _probs(model: torch.nn.Module, images: list[Image.Image], imgsz: int, names: list[str],
           labels: list[str]) -> np.ndarray:
    """Class probabilities in `labels` order."""
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


def train_yolo_judge(data, out: Path, model_spec: str, imgsz: int, epochs: int, seed: int,
                     nsfw: bool) -> dict[str, Any]:
    from ultralytics import YOLO

    from dataigm.errors import DataIGMError
    from dataigm.judges import evaluate, write_judge_card
    from dataigm.metrics import best_threshold

    if not data.mask("val").any():
        raise DataIGMError("the YOLO judge needs validation rows; the data has none")
    work = Path(tempfile.mkdtemp(prefix="dataigm-yolo-"))
    folder = export_image_folder(data, work / "data")
    yolo = YOLO(model_spec, task="classify")
    yolo.train(data=str(folder), epochs=epochs, imgsz=imgsz, batch=16, workers=0, plots=False,
               pretrained=model_spec.endswith(".pt"), device="0" if torch.cuda.is_available() else "cpu",
               project=str(work / "runs"), name="train", exist_ok=True, seed=seed, deterministic=True,
               verbose=False, amp=False, val=True)
    model = yolo.model.float().eval()
    names = [model.names[i] for i in range(len(model.names))]
    probs = _probs(model, data.images, imgsz, names, data.labels)
    score = presence_score(probs if len(data.labels) > 2 else probs[:, 1], data.labels)
    y = np.asarray(data.y)
    threshold = best_threshold((y[data.mask("val")] > 0).astype(int), score[data.mask("val")])
    metrics = {"test": evaluate(data, "test", score, probs if len(data.labels) > 2 else score, threshold),
               "counts": {p: int(data.mask(p).sum()) for p in ("train", "val", "test")}, "epochs": epochs}
    config = {
        "kind": "yolo_cls", "format_version": ARTIFACT_FORMAT, "version": "1",
        "task": "binary" if len(data.labels) == 2 else "multiclass", "target": data.target,
        "labels": data.labels, "names": names, "threshold": threshold, "nsfw": nsfw,
        "arch": model_spec, "yaml": model.yaml, "imgsz": imgsz,
        "preprocessing": {"transform": "ultralytics.data.augment.classify_transforms", "size": imgsz},
        "training_data": {"source": data.source, "revision": data.revision, "configs": data.configs,
                          "sources": sorted(set(data.origin)), "licenses": sorted(set(data.license))},
        "metrics": metrics, "created_with": {lib: version(lib) for lib in ("dataigm", "torch", "ultralytics")},
    }
    judge = YoloClsJudge(model, config)
    judge.save(out)
    write_judge_card(out, config)
    return config


@dataclass
class YoloClsJudge(ArtifactJudge):
    model: torch.nn.Module
    config: dict[str, Any]

    @property
    def module(self) -> torch.nn.Module:
        return self.model

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        c = self.config
        probs = _probs(self.model, images, c["imgsz"], c["names"], c["labels"])
        return presence_score(probs if len(c["labels"]) > 2 else probs[:, 1], c["labels"]), probs

    @classmethod
    def load(cls, folder: Path) -> YoloClsJudge:
        from safetensors.torch import load_file
        from ultralytics.nn.tasks import ClassificationModel

        config = read_artifact_config(folder, "yolo_cls")
        model = ClassificationModel(cfg=dict(config["yaml"]), nc=len(config["names"]), verbose=False)
        model.load_state_dict(load_file(folder / "model.safetensors"))
        model.names = dict(enumerate(config["names"]))
        return cls(model.float().eval(), config)
