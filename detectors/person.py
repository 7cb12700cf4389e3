"""Person presence with an ultralytics YOLO detector: keeps nudity retain images honest (the scene
without the concept words must still show a person).

Weights: an architecture shipped with ultralytics by name (random init; tests), a `.safetensors`
state dict of such an architecture (`arch`), or an ultralytics `.pt` checkpoint, which is a pickle:
it is opened only through ultralytics' restricted `weights_only` loader, and only its weights are
kept (the network is rebuilt from the shipped architecture).
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import numpy as np

from dataigm.core.curation import Verdict, threshold_verdict
from dataigm.core.errors import DataIGMError
from dataigm.core.registry import DETECTORS

PERSON_CLASS = 0  # COCO "person"


WEIGHTS_FILES = (".safetensors", ".pt")  # person-check weights files (besides a shipped .yaml name)


def _weights_file(weights: str) -> Path | None:
    """The local weights file `weights` names (None: a shipped architecture's .yaml name)."""
    if weights.endswith(".yaml"):
        return None
    path = Path(weights)
    if not path.is_file():
        raise DataIGMError(f"person-check weights {weights!r}: no such file (give a local .safetensors or .pt)")
    if path.suffix not in WEIGHTS_FILES:
        raise DataIGMError(f"person-check weights {weights!r}: use a shipped .yaml name, .safetensors or .pt")
    return path


def _detector_weights(weights: str, arch: str):
    """An ultralytics YOLO detector of architecture `arch` with `weights` loaded safely."""
    from ultralytics import YOLO

    from detectors.yolo_arch import shipped_architecture

    path = _weights_file(weights)
    if path is None:  # a shipped architecture by name
        shipped_architecture(weights)
        return YOLO(weights, task="detect")
    shipped_architecture(arch)
    model = YOLO(arch, task="detect")
    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        state = load_file(path)
    else:  # .pt
        from ultralytics.nn.tasks import torch_safe_load

        try:
            ckpt, _ = torch_safe_load(str(path), safe_only=True)
        except Exception as exc:  # the restricted unpickler refuses anything unexpected
            raise DataIGMError(f"{weights}: refused by the restricted (weights_only) loader: {exc}") from None
        net = ckpt.get("ema") or ckpt.get("model")
        if net is None:
            raise DataIGMError(f"{weights}: not an ultralytics checkpoint (no model)")
        state = net.float().state_dict()
    try:
        model.model.load_state_dict(state)
    except RuntimeError as exc:
        raise DataIGMError(f"{weights} does not fit {arch}: {str(exc).splitlines()[0]}") from None
    return model


@DETECTORS.register("yolo-person")
class PersonPresence:
    """Whether an image shows a person (a YOLO detector's best person confidence)."""

    name = "yolo-person"

    def __init__(self, weights: str = "yolov8n.pt", conf: float = 0.25, class_id: int = PERSON_CLASS,
                 arch: str = "yolov8n.yaml", iou: float = 0.7):
        self.threshold, self.class_id, self.weights, self.iou = conf, class_id, weights, iou
        self.model = _detector_weights(weights, arch)
        self.version = f"ultralytics {version('ultralytics')}/{Path(weights).name}"

    @staticmethod
    def check_options(weights: str = "yolov8n.pt", arch: str = "yolov8n.yaml", **_: object) -> None:
        """Before any work (`JudgeSpec.check`): the weights file exists, and the architecture it
        names or fills is shipped with ultralytics; no weights are read."""
        from detectors.yolo_arch import shipped_architecture

        shipped_architecture(arch if _weights_file(weights) is not None else weights)

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        # ultralytics expects BGR arrays, as OpenCV reads them.
        """One verdict per image, with the number of person boxes in its details."""
        if not images:
            return []
        results = self.model.predict([im[..., ::-1] for im in images], conf=min(self.threshold, 0.999),
                                     classes=[self.class_id], iou=self.iou, verbose=False, device="cpu")
        out = []
        for r in results:
            confs = r.boxes.conf.tolist() if r.boxes is not None else []
            best = max(confs, default=0.0)
            out.append(threshold_verdict(self.name, self.version, best, self.threshold, "person",
                                         json.dumps({"class_id": self.class_id, "boxes": len(confs)})))
        return out
