"""What trained judges share: the artifact folder (model.safetensors + config.json + README.md,
no pickle) and turning presence scores into verdicts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from detectors.base import Verdict

ARTIFACT_FORMAT = 1


def read_artifact_config(folder: Path, kind: str) -> dict[str, Any]:
    from dataigm.errors import DataIGMError

    path = Path(folder) / "config.json"
    if not path.exists() or not (Path(folder) / "model.safetensors").exists():
        raise DataIGMError(f"{folder} is not a dataigm judge artifact (needs config.json and model.safetensors)")
    config = json.loads(path.read_text())
    if config.get("kind") != kind:
        raise DataIGMError(f"{folder} holds a {config.get('kind')!r} judge, not {kind!r}")
    if config.get("format_version", 0) > ARTIFACT_FORMAT:
        raise DataIGMError(f"{folder} was written by a newer dataigm (format {config['format_version']})")
    return config


class ArtifactJudge:
    """A trained judge: `config` (labels, threshold, ...) plus the torch module saved as weights."""

    config: dict[str, Any]

    @property
    def module(self) -> torch.nn.Module:
        raise NotImplementedError

    @property
    def name(self) -> str:
        return f"{self.config['kind']}:{self.config['target']}"

    @property
    def version(self) -> str:
        return self.config.get("version", "0")

    @property
    def threshold(self) -> float:
        return float(self.config["threshold"])

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        """(presence scores, class probabilities) for PIL images."""
        raise NotImplementedError

    def judge(self, images: list[np.ndarray]) -> list[Verdict]:
        scores, _ = self.scores([Image.fromarray(im) for im in images])
        return [Verdict(self.name, self.version, float(s), self.threshold, bool(s >= self.threshold))
                for s in scores]

    def save(self, folder: Path) -> None:
        from safetensors.torch import save_file

        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().contiguous() for k, v in self.module.state_dict().items()}
        meta = {"format": "pt", "dataigm_artifact": str(ARTIFACT_FORMAT)}
        save_file(state, folder / "model.safetensors", metadata=meta)
        (folder / "config.json").write_text(json.dumps(self.config, indent=2, sort_keys=True, default=str))
