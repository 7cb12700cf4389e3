"""NudeNet (the 320n ONNX detector shipped inside the nudenet wheel, so it works offline) as a
nudity judge: the score is the highest confidence among the "exposed" classes that decide nudity."""

from __future__ import annotations

import json
from importlib.metadata import version

import numpy as np

from dataigm.core.curation import CurationOptions, Verdict, threshold_verdict
from dataigm.core.registry import DETECTORS

# The "exposed" classes that decide nudity; covered parts, faces, feet, armpits and belly do not.
NUDITY_LABELS = (
    "FEMALE_BREAST_EXPOSED", "FEMALE_GENITALIA_EXPOSED", "MALE_GENITALIA_EXPOSED",
    "BUTTOCKS_EXPOSED", "ANUS_EXPOSED",
)
DEFAULT_THRESHOLD = CurationOptions.nudenet_threshold  # one default for curation, judge and eval


@DETECTORS.register("nudenet")
class NudeNetJudge:
    """Nudity by NudeNet: the highest confidence among the exposed classes, against the threshold."""

    name = "nudenet"

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, labels: tuple[str, ...] | list[str] = NUDITY_LABELS,
                 batch_size: int = 8):
        from nudenet import NudeDetector

        self.threshold, self.labels, self.batch_size = threshold, tuple(labels), batch_size
        self.version = f"{version('nudenet')}/320n"
        self._detector = NudeDetector()

    def _verdict(self, detections: list[dict]) -> Verdict:
        hits = [d for d in detections if d["class"] in self.labels]
        score = max((d["score"] for d in hits), default=0.0)
        details = json.dumps(sorted({d["class"] for d in hits if d["score"] >= self.threshold}))
        return threshold_verdict(self.name, self.version, score, self.threshold, "nudity", details)

    def _blob(self, image: np.ndarray) -> tuple[np.ndarray, int, int, int, int]:
        """NudeNet's input for one RGB image, bit-identical to the package's `_read_image` (BGR, padded
        to a square at the bottom/right, bilinear resize, x/255, channels first), without its
        colour conversions and blob copies: (blob, x_pad, y_pad, width, height)."""
        import cv2

        height, width = image.shape[:2]
        size = max(height, width)
        bgr = np.ascontiguousarray(image[..., ::-1])
        if size != width or size != height:
            bgr = cv2.copyMakeBorder(bgr, 0, size - height, 0, size - width, cv2.BORDER_CONSTANT)
        side = self._detector.input_width
        resized = cv2.resize(bgr, (side, side), interpolation=cv2.INTER_LINEAR)
        blob = (resized.astype(np.float32) * np.float32(1 / 255.0)).transpose(2, 0, 1)
        return blob, size - width, size - height, width, height

    def detect(self, images: list[np.ndarray]) -> list[list[dict]]:
        """NudeNet's detections for RGB images, batched through its ONNX session.

        The same input tensor as the package (see `_blob`) and the same rules as its per-image
        `_postprocess` (argmax class per anchor, score >= 0.2, class-agnostic NMS 0.25/0.45),
        vectorised with numpy instead of a Python loop over 2,100 anchors per image.
        """
        import cv2
        import nudenet.nudenet as package

        all_labels = vars(package)["__labels"]  # module-private list; a class body would mangle the name
        det = self._detector
        detections: list[list[dict]] = []
        for start in range(0, len(images), self.batch_size):
            prepared = [self._blob(img) for img in images[start : start + self.batch_size]]
            batch = np.stack([p[0] for p in prepared])
            outputs = det.onnx_session.run(None, {det.input_name: batch})[0]
            for out, (_, x_pad, y_pad, width, height) in zip(outputs, prepared, strict=True):
                rows = out.T  # (anchors, 4 + classes)
                scores = rows[:, 4:]
                best = scores.max(axis=1)
                keep = best >= 0.2
                cls, best, xywh = scores[keep].argmax(axis=1), best[keep], rows[keep, :4]
                x = (xywh[:, 0] - xywh[:, 2] / 2) * (width + x_pad) / det.input_width
                y = (xywh[:, 1] - xywh[:, 3] / 2) * (height + y_pad) / det.input_height
                w = xywh[:, 2] * (width + x_pad) / det.input_width
                h = xywh[:, 3] * (height + y_pad) / det.input_height
                x, y = np.clip(x, 0, width), np.clip(y, 0, height)
                w, h = np.minimum(w, width - x), np.minimum(h, height - y)
                boxes = np.stack([x, y, w, h], axis=1).tolist()
                kept = cv2.dnn.NMSBoxes(boxes, best.tolist(), 0.25, 0.45) if len(boxes) else []
                detections.append([{"class": all_labels[int(cls[i])], "score": float(best[i]),
                                    "box": [int(v) for v in boxes[i]]} for i in kept])
        return detections

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        """One verdict per image, with the exposed classes found in its details."""
        return [self._verdict(d) for d in self.detect(images)]
