"""CLIP towers shared by the CLIP judges: image embeddings from a vision tower, text embeddings
for zero-shot checks, loaded through transformers' `from_pretrained` at a pinned revision.

dtype "bf16" runs the towers in bfloat16 (about 3x faster where the device computes it natively, much
slower where it is emulated); "auto" picks it only where it is native (dataigm.core.precision). Scores
stay within BF16_TOLERANCE of fp32 (checked in the tests and the judges benchmark).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from dataigm.core.errors import DataIGMError
from dataigm.core.hub_access import require_model
from dataigm.core.registry import EMBEDDERS

BF16_TOLERANCE = 0.02  # max |score_bf16 - score_fp32| on a probability scale


def _torch_dtype(dtype: str, device: str) -> tuple[str, Any]:
    """(the precision used, its torch dtype) for a requested precision on `device` ("auto" resolved)."""
    import torch

    from dataigm.core.precision import chosen_precision

    used = chosen_precision(dtype, device)
    return used, torch.float32 if used == "fp32" else torch.bfloat16


def pinned_revision(model_id: str, revision: str | None, config: Any) -> str:
    """The revision to record: a local folder's content digest, else the Hub commit it resolved to."""
    if Path(model_id).is_dir():
        from dataigm.core.fingerprint import folder_digest

        return f"local:{folder_digest(Path(model_id))}"
    return getattr(config, "_commit_hash", None) or revision or "main"


def load_failed(model_id: str, exc: Exception, flag: str = "--clip") -> DataIGMError:
    """The one-line error for a CLIP model that cannot load, naming the flag that takes a local folder."""
    return DataIGMError(f"cannot load CLIP model {model_id!r}: {str(exc).splitlines()[0]} (pass {flag} PATH to a "
                        "local CLIP folder; offline, only cached models load)")


def _vision_tower(cls: Any, backbone: str, revision: str | None, cached_only: bool) -> Any:
    """The vision tower of a full CLIP checkpoint. transformers reports the text weights it leaves
    out as a table of UNEXPECTED keys on every load; that report is silenced and only a vision
    weight the checkpoint lacks (left random) is an error."""
    from transformers.utils import logging as hf_logging

    verbosity, bars = hf_logging.get_verbosity(), hf_logging.is_progress_bar_enabled()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        model, info = cls.from_pretrained(backbone, revision=revision, output_loading_info=True,
                                          local_files_only=cached_only)
    finally:
        hf_logging.set_verbosity(verbosity)
        if bars:
            hf_logging.enable_progress_bar()
    missing = sorted(info.get("missing_keys") or ())
    if missing:
        raise ValueError(f"not a CLIP vision checkpoint: {len(missing)} vision weights missing (e.g. {missing[0]})")
    return model.eval()


class ClipEncoder:
    """L2-normalised image embeddings from a CLIP vision tower."""

    def __init__(self, backbone: str, revision: str | None = None, device: str | None = None,
                 batch_size: int = 32, dtype: str = "auto", preprocessing: dict[str, Any] | None = None):
        cached_only = require_model(backbone, revision, "--backbone")
        import torch
        from transformers import CLIPImageProcessor, CLIPVisionModelWithProjection

        try:
            self.model = _vision_tower(CLIPVisionModelWithProjection, backbone, revision, cached_only)
            # A judge artifact brings the preprocessing it was trained with; never the backbone's current one.
            self.processor = (CLIPImageProcessor(**preprocessing) if preprocessing is not None
                              else CLIPImageProcessor.from_pretrained(backbone, revision=revision,
                                                                      local_files_only=cached_only))
        except (OSError, ValueError, RuntimeError) as exc:  # missing files, or weights that do not fit
            raise load_failed(backbone, exc, "--backbone") from None
        self.backbone = backbone
        self.revision = pinned_revision(backbone, revision, self.model.config)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype, torch_dtype = _torch_dtype(dtype, self.device)  # the precision used ("auto" resolved)
        self.model.to(self.device, dtype=torch_dtype)
        self.batch_size = batch_size

    @property
    def dim(self) -> int:
        """The embedding size."""
        return int(self.model.config.projection_dim)

    def preprocessing(self) -> dict[str, Any]:
        """The image processor's settings (stored in a judge's config)."""
        config = json.loads(self.processor.to_json_string())
        return {k: v for k, v in config.items() if k not in ("image_processor_type", "processor_class")}

    def embed(self, images: list[Image.Image]) -> np.ndarray:
        """L2-normalised embeddings of PIL images, in batches."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = [im.convert("RGB") for im in images[i : i + self.batch_size]]
                pixels = self.processor(images=batch, return_tensors="pt")["pixel_values"]
                emb = self.model(pixel_values=pixels.to(self.device, dtype=self.model.dtype)).image_embeds
                out.append(torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, self.dim), np.float32)


@EMBEDDERS.register("clip")
class ClipTextImage:
    """A full CLIP model: image and text embeddings in one space, and its logit scale (the building
    block of zero-shot checks, and of CLIP score and CMMD in evaluation)."""

    def __init__(self, model_id: str, revision: str | None = None, device: str | None = None,
                 dtype: str = "fp32", batch_size: int = 32):
        cached_only = require_model(model_id, revision, "--clip")
        import torch
        from transformers import CLIPModel, CLIPProcessor

        try:
            self.model = CLIPModel.from_pretrained(model_id, revision=revision, local_files_only=cached_only).eval()
            self.processor = CLIPProcessor.from_pretrained(model_id, revision=revision, local_files_only=cached_only)
        except (OSError, ValueError, RuntimeError) as exc:
            raise load_failed(model_id, exc) from None
        self.model_id, self.batch_size = model_id, batch_size
        self.revision = pinned_revision(model_id, revision, self.model.config)
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype, torch_dtype = _torch_dtype(dtype, self.device)  # the precision used ("auto" resolved)
        self.model.to(self.device, dtype=torch_dtype)

    @property
    def logit_scale(self) -> float:
        """CLIP's learned temperature (exp of its logit scale)."""
        return float(self.model.logit_scale.exp().item())

    def text_embeddings(self, texts: list[str]) -> np.ndarray:
        """L2-normalised text embeddings."""
        import torch

        with torch.inference_mode():
            tokens = self.processor.tokenizer(texts, padding=True, truncation=True, return_tensors="pt")
            emb = self.model.get_text_features(**{k: v.to(self.device) for k, v in tokens.items()})
            emb = emb.pooler_output if hasattr(emb, "pooler_output") else emb
            return torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy()

    def image_embeddings(self, images: list[Image.Image]) -> np.ndarray:
        """L2-normalised image embeddings, in batches."""
        import torch

        out = []
        with torch.inference_mode():
            for i in range(0, len(images), self.batch_size):
                batch = [im.convert("RGB") for im in images[i : i + self.batch_size]]
                pixels = self.processor.image_processor(images=batch, return_tensors="pt")["pixel_values"]
                emb = self.model.get_image_features(pixel_values=pixels.to(self.device, dtype=self.model.dtype))
                emb = emb.pooler_output if hasattr(emb, "pooler_output") else emb
                out.append(torch.nn.functional.normalize(emb.float(), dim=-1).cpu().numpy())
        dim = int(self.model.config.projection_dim)
        return np.concatenate(out) if out else np.zeros((0, dim), np.float32)
