"""CLIP-head judge: a frozen CLIP image encoder plus a small trainable MLP head.

Artifacts are a folder: model.safetensors (head weights only), config.json (backbone id and
revision, preprocessing, labels, threshold, training data, metrics) and README.md. Loading reads
JSON and safetensors: no pickle anywhere.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from detectors.artifact import ArtifactJudge, read_artifact_config

DEFAULT_BACKBONE = "openai/clip-vit-base-patch32"


class ClipEncoder:
    """Image embeddings from a CLIP vision tower (any CLIP id or local folder, at a revision)."""

    def __init__(self, backbone: str = DEFAULT_BACKBONE, revision: str | None = None, device: str | None = None,
                 batch_size: int = 32):
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        from dataigm.errors import DataIGMError

        try:
            self.model = CLIPVisionModelWithProjection.from_pretrained(backbone, revision=revision).eval()
            self.processor = CLIPImageProcessor.from_pretrained(backbone, revision=revision)
        except OSError as exc:
            hint = "pass --backbone PATH to a local CLIP folder; HF_HUB_OFFLINE=1 uses the cache"
            raise DataIGMError(f"cannot load CLIP backbone {backbone!r}: {str(exc).splitlines()[0]} ({hint})") from None
        self.backbone, self.revision = backbone, revision or "main"
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.model.to(self.device)
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        return int(self.model.config.projection_dim)

    def preprocessing(self) -> dict[str, Any]:
        return json.loads(self.processor.to_json_string())

    @torch.inference_mode()
    def embed(self, images: list[Image.Image]) -> np.ndarray:
        out = []
        for i in range(0, len(images), self.batch_size):
            batch = [im.convert("RGB") for im in images[i : i + self.batch_size]]
            pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"].to(self.device)
            emb = self.model(pixel_values=pixels).image_embeds
            out.append(torch.nn.functional.normalize(emb, dim=-1).float().cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


class Head(nn.Module):
    def __init__(self, input_dim: int, n_out: int, hidden: int = 256, dropout: float = 0.1):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(input_dim, hidden), nn.ReLU(), nn.Dropout(dropout),
                                 nn.Linear(hidden, n_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


def train_head(x: np.ndarray, y: np.ndarray, n_classes: int, epochs: int = 300, lr: float = 1e-3,
               hidden: int = 256, seed: int = 0) -> Head:
    """Full-batch training on cached features (seconds); binary heads have one logit."""
    torch.manual_seed(seed)
    n_out = 1 if n_classes == 2 else n_classes
    head = Head(x.shape[1], n_out, hidden)
    xt, yt = torch.from_numpy(x).float(), torch.from_numpy(y)
    opt = torch.optim.AdamW(head.parameters(), lr=lr, weight_decay=1e-4)
    if n_out == 1:
        pos = max(float(yt.sum()), 1.0)
        loss_fn: nn.Module = nn.BCEWithLogitsLoss(pos_weight=torch.tensor((len(yt) - pos) / pos))
        target = yt.float().unsqueeze(1)
    else:
        loss_fn, target = nn.CrossEntropyLoss(), yt.long()
    head.train()
    for _ in range(epochs):
        opt.zero_grad()
        loss = loss_fn(head(xt), target)
        loss.backward()
        opt.step()
    return head.eval()


def head_probs(head: Head, x: np.ndarray) -> np.ndarray:
    """(N,) P(present) for binary heads, (N, K) class probabilities for multi-class ones."""
    with torch.no_grad():
        logits = head(torch.from_numpy(x).float())
    if logits.shape[1] == 1:
        return torch.sigmoid(logits[:, 0]).numpy()
    return torch.softmax(logits, dim=1).numpy()


def presence_score(probs: np.ndarray, labels: list[str]) -> np.ndarray:
    """P(concept present): the binary probability, or 1 - P(none) for a category judge."""
    return probs if probs.ndim == 1 else 1.0 - probs[:, labels.index("none")]


@dataclass
class ClipHeadJudge(ArtifactJudge):
    encoder: ClipEncoder
    head: Head
    config: dict[str, Any]

    @property
    def module(self) -> torch.nn.Module:
        return self.head

    def scores(self, images: list[Image.Image]) -> tuple[np.ndarray, np.ndarray]:
        probs = head_probs(self.head, self.encoder.embed(images))
        return presence_score(probs, self.config["labels"]), probs

    @classmethod
    def load(cls, folder: Path, device: str | None = None) -> ClipHeadJudge:
        from safetensors.torch import load_file

        config = read_artifact_config(folder, "clip_head")
        state = load_file(folder / "model.safetensors")
        h = config["head"]
        head = Head(h["input_dim"], h["n_out"], h["hidden"], h["dropout"])
        head.load_state_dict(state)
        encoder = ClipEncoder(config["backbone"]["id"], config["backbone"].get("revision_requested"), device)
        return cls(encoder, head.eval(), config)

