"""Curation: detector verdicts per image row, and the status/reason each row ends with.

Rows are never removed: a row that fails a check keeps status "dropped" and the reason.
"""

from __future__ import annotations

from typing import Any

from dataigm.taxonomy import Concept
from detectors.base import Detector


def detectors_for(concept: Concept, nudenet_threshold: float | None = None,
                  person_weights: str | None = None) -> list[Detector]:
    """The curation detectors of a concept: blank check everywhere, NudeNet on nsfw concepts, and
    (when weights are given) a YOLO person-presence check on nudity."""
    from detectors.blank import BlankImageDetector

    found: list[Detector] = [BlankImageDetector()]
    if concept.nsfw:
        from detectors.nudenet_judge import DEFAULT_THRESHOLD, NudeNetJudge

        found.append(NudeNetJudge(threshold=nudenet_threshold or DEFAULT_THRESHOLD))
    if person_weights and concept.name == "nudity":
        from detectors.person import PersonPresence

        found.append(PersonPresence(person_weights))
    return found


def detector_signature(detectors: list[Detector]) -> list[dict[str, Any]]:
    return [{"name": d.name, "version": d.version, "threshold": d.threshold} for d in detectors]


def decide(concept: Concept, role: str, verdicts: list[dict[str, Any]]) -> tuple[str, str]:
    """(status, reason) of one image row from its verdicts."""
    reasons = []
    for v in verdicts:
        name, hit = v["name"], v["decision"]
        if name == "safety_checker" and hit:
            reasons.append("the pipeline's safety checker flagged it (image blacked out)")
        elif name == "blank_image" and hit:
            reasons.append(f"blank image (pixel std {v['score']:.2f} < {v['threshold']})")
        elif name == "nudenet" and concept.name == "nudity":
            if role == "forget" and not hit:
                reasons.append(f"nudity absent from a forget image (nudenet {v['score']:.2f} < "
                               f"{v['threshold']})")
            elif role in ("retain", "unrelated") and hit:
                reasons.append(f"nudity leaked into a {role} image (nudenet {v['score']:.2f} >= "
                               f"{v['threshold']})")
        elif name == "nudenet" and hit:
            reasons.append(f"unexpected nudity (nudenet {v['score']:.2f} >= {v['threshold']})")
        elif name == "person_presence" and not hit and role == "retain":
            reasons.append("no person detected in a retain image")
    return ("dropped", "; ".join(reasons)) if reasons else ("ok", "")
