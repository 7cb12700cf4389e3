"""Image generation for a list of jobs: one seed and one torch.Generator per image, batched,
with PNG encoding and hashing overlapped with the model on a thread pool."""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from importlib.metadata import version
from itertools import groupby
from typing import Any

import numpy as np
from PIL import Image

from dataigm.core.errors import DataIGMError
from dataigm.core.settings import GenerationSettings
from dataigm.stages.models import LoadedPipeline

PNG_COMPRESS_LEVEL = 1  # ~4x faster than the default level for ~11 % larger files
VERSIONED_LIBRARIES = ("dataigm", "diffusers", "torch", "transformers", "datasets")


@dataclass(frozen=True)
class ImageJob:
    """One image to make: a prompt row and which of its seeds."""

    row: dict[str, Any]
    image_index: int

    @property
    def seed(self) -> int:
        """The seed of this image."""
        return int(self.row["seeds"][self.image_index])

    def knobs(self, settings: GenerationSettings) -> tuple[float, int, int, str]:
        """Per-row overrides (imported prompt sets carry their own guidance/size)."""
        r = self.row
        return (
            float(r["guidance_scale"]) if r.get("guidance_scale") is not None else settings.guidance,
            int(r["height"]) if r.get("height") else settings.height,
            int(r["width"]) if r.get("width") else settings.width,
            r.get("negative_prompt") or settings.negative_prompt,
        )


def library_versions() -> str:
    """The versions of the libraries that decide pixels, as JSON (recorded per row)."""
    return json.dumps({lib: version(lib) for lib in VERSIONED_LIBRARIES}, sort_keys=True)


def encode_png(pixels: np.ndarray) -> tuple[bytes, str]:
    """PNG bytes of an image (fast compression) and their sha256."""
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG", compress_level=PNG_COMPRESS_LEVEL)
    data = buf.getvalue()
    return data, hashlib.sha256(data).hexdigest()


def _batches(jobs: list[ImageJob], settings: GenerationSettings) -> Iterator[list[ImageJob]]:
    """Consecutive jobs that share guidance/size/negative prompt, in chunks of batch_size."""
    for _, group in groupby(jobs, key=lambda j: j.knobs(settings)):
        group = list(group)
        for i in range(0, len(group), settings.batch_size):
            yield group[i : i + settings.batch_size]


def run_model(loaded: LoadedPipeline, batch: list[ImageJob],
              settings: GenerationSettings) -> tuple[np.ndarray, list[bool]]:
    """Pixels (N, H, W, 3) uint8 for a batch, and whether the safety checker flagged each."""
    import torch

    guidance, height, width, negative = batch[0].knobs(settings)
    # CPU generators: the initial noise of a seed is the same on every device and batch size.
    generators = [torch.Generator("cpu").manual_seed(job.seed) for job in batch]
    kwargs: dict[str, Any] = {}
    if negative and guidance > 1:
        kwargs["negative_prompt"] = [negative] * len(batch)
    with torch.inference_mode():
        out = loaded.pipe(
            prompt=[job.row["prompt"] for job in batch], num_inference_steps=settings.steps,
            guidance_scale=guidance, height=height, width=width, generator=generators,
            output_type="np", **kwargs)
    pixels = (np.asarray(out.images) * 255).round().clip(0, 255).astype(np.uint8)
    flagged = getattr(out, "nsfw_content_detected", None) or [False] * len(batch)
    return pixels, [bool(f) for f in flagged]


def generate_rows(loaded: LoadedPipeline, jobs: list[ImageJob], settings: GenerationSettings,
                  pool: ThreadPoolExecutor, on_batch: Callable[[int], None] = lambda n: None,
                  model_label: str | None = None) -> list[dict[str, Any]]:
    """Image rows (storage format of `image_features`) for `jobs`, in job order."""
    return submit_rows(loaded, jobs, settings, pool, on_batch, model_label)()


def submit_rows(loaded: LoadedPipeline, jobs: list[ImageJob], settings: GenerationSettings,
                pool: ThreadPoolExecutor, on_batch: Callable[[int], None] = lambda n: None,
                model_label: str | None = None, batch_prefix: str = "",
                batches: list[list[ImageJob]] | None = None) -> Callable[[], list[dict[str, Any]]]:
    """Run the model over `jobs` now (PNG encoding and hashing go to `pool` meanwhile) and return
    a function that assembles the rows once encoding is done, so a caller can hand that (and
    writing) to another thread while the model starts on the next shard.

    Each row records its batch (`batch_prefix` + batch number) and position in it: on CPU, which
    images share a batch changes a few pixels by a level, so `verify` regenerates whole batches.
    `batches` replaces the default batching (consecutive jobs with the same knobs, batch_size each)."""
    pending: list[tuple[ImageJob, bool, Future, str, int]] = []
    for k, batch in enumerate(batches if batches is not None else _batches(jobs, settings)):
        pixels, flagged = run_model(loaded, batch, settings)
        for position, (job, img, flag) in enumerate(zip(batch, pixels, flagged, strict=True)):
            pending.append((job, flag, pool.submit(encode_png, img), f"{batch_prefix}{k:04d}", position))
        on_batch(len(batch))
    return lambda: _assemble(loaded, pending, settings, model_label)


def _assemble(loaded: LoadedPipeline, pending: list[tuple[ImageJob, bool, Future, str, int]],
              settings: GenerationSettings, model_label: str | None) -> list[dict[str, Any]]:
    versions = library_versions()
    rows = []
    for job, flag, future, batch_id, position in pending:
        png, digest = future.result()
        guidance, height, width, negative = job.knobs(settings)
        r = job.row
        verdicts = []
        if loaded.safety_checker == "on":
            verdicts.append({"check": "safety_checker", "name": "safety_checker",
                             "version": f"diffusers {version('diffusers')}", "score": float(flag),
                             "threshold": 0.5, "decision": flag, "code": "flagged" if flag else "not_flagged",
                             "message": "the pipeline's safety checker " + (
                                 "flagged it (image blacked out)" if flag else "passed it"), "details": ""})
        rows.append({
            **{k: r.get(k) for k in ("category", "concept", "subclass", "role", "kind", "pair_id",
                                     "split", "prompt", "label", "source", "source_id", "attack")},
            "concept_ids": r.get("concept_ids") or [], "flags": r.get("flags") or [],
            "batch_size": settings.batch_size,
            "batch_id": batch_id, "batch_position": position,
            "id": r.get("image_id") or f"{r['id']}-{job.image_index}", "negative_prompt": negative,
            "image": {"bytes": png, "path": None}, "seed": job.seed,
            "image_index": job.image_index, "model_id": model_label or loaded.model_id,
            "model_revision": loaded.revision, "pipeline": loaded.pipeline_class,
            "scheduler": loaded.scheduler, "scheduler_config": loaded.scheduler_config,
            "num_inference_steps": settings.steps, "guidance_scale": guidance, "height": height,
            "width": width, "dtype": loaded.dtype, "device": loaded.device,
            "accelerations": loaded.accelerations, "safety_checker": loaded.safety_checker,
            "library_versions": versions, "verdicts": verdicts, "status": None, "reason": None,
            "reason_codes": [], "pair_status": None, "sha256": digest,
        })
    return rows


UNIFORM = ("num_inference_steps", "scheduler", "scheduler_config", "dtype")


def release_settings(rows: list[dict[str, Any]], manifest: dict[str, Any] | None) -> dict[str, Any]:
    """The generation settings the release used for these rows (one value per setting)."""
    found = {}
    for key in (*UNIFORM, "batch_size", "model_id", "model_revision"):
        values = {r.get(key) for r in rows}
        if len(values) > 1 and key in UNIFORM:
            raise DataIGMError(f"the evaluated rows were generated with several {key} values "
                               f"({sorted(map(str, values))}); evaluate one setting at a time")
        found[key] = next(iter(values))
    build = (manifest or {}).get("build") or {}
    found["cpu_threads"] = (build.get("settings") or {}).get("cpu_threads", 0)
    found["base_model"] = (build.get("settings") or {}).get("model")
    return found
