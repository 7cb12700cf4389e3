"""Person-presence check with an ultralytics YOLO detector: keeps nudity retain images honest
(the scene without the concept words must still show a person).

Weights by name or path: an architecture yaml (random init; tests), a `.safetensors` state dict
next to `--person-arch`, or an ultralytics `.pt` checkpoint. `.pt` files are pickles: use only
checkpoints you trust (ultralytics' own releases); prefer safetensors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from detectors.base import Verdict

PERSON_CLASS = 0  # COCO "person"


class PersonPresence:
    name = "person_presence"

    def __init__(self, weights: str = "yolov8n.pt", conf: float = 0.25, class_id: int = PERSON_CLASS,
                 arch: str = "yolov8n.yaml"):
        from ultralytics import YOLO

        self.threshold, self.class_id, self.weights = conf, class_id, weights
        if weights.endswith(".safetensors"):
            from safetensors.torch import load_file

            self.model = YOLO(arch, task="detect")
            self.model.model.load_state_dict(load_file(weights))
        else:
            self.model = YOLO(weights, task="detect")
        from importlib.metadata import version as v

        self.version = f"ultralytics {v('ultralytics')}/{Path(weights).name}"

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        # ultralytics expects BGR arrays, as OpenCV reads them.
        results = self.model.predict([im[..., ::-1] for im in images], conf=min(self.threshold, 0.999),
                                     classes=[self.class_id], verbose=False, device="cpu") if images else []
        out = []
        for r in results:
            confs = r.boxes.conf.tolist() if r.boxes is not None else []
            best = max(confs, default=0.0)
            out.append(Verdict(self.name, self.version, float(best), self.threshold, best >= self.threshold,
                               json.dumps({"class_id": self.class_id, "boxes": len(confs)})))
        return out
