"""A trained judge artifact as a curation detector: the folder's config says which kind of judge it
is (clip_head, yolo_cls), and the registry entry of that kind loads it."""

from __future__ import annotations

from pathlib import Path

from dataigm.core.errors import DataIGMError
from dataigm.core.registry import ARTIFACT_DETECTOR, DETECTORS
from detectors.artifact import ArtifactJudge, read_artifact_config


@DETECTORS.register(ARTIFACT_DETECTOR)
def artifact_judge(artifact: str, concept: str | None = None, dtype: str = "auto") -> ArtifactJudge:
    """The judge stored in `artifact`; with `concept`, its verdicts are about that concept."""
    config = read_artifact_config(Path(artifact))
    judge_class = DETECTORS.get(config["kind"].replace("_", "-"))
    if not (isinstance(judge_class, type) and issubclass(judge_class, ArtifactJudge)):
        raise DataIGMError(f"{artifact}: kind {config['kind']!r} is not a trained judge kind")
    return judge_class.load(Path(artifact), dtype=dtype).for_concept(concept)
