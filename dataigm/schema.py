"""Row schemas of DataIGM configs, as `datasets.Features` (embedded in every parquet shard)."""

from __future__ import annotations

from datasets import ClassLabel, Features, Image, List, Value

from dataigm.taxonomy import Concept

# Bump when a column is added, removed or changes meaning; `dataigm.load` checks it.
SCHEMA_VERSION = 1

_S, _I64, _I32, _F32 = Value("string"), Value("int64"), Value("int32"), Value("float32")

VERDICT = {
    "name": _S, "version": _S, "score": _F32, "threshold": _F32, "decision": Value("bool"),
    "details": _S,
}

_PROMPT_COLUMNS = {
    "id": _S, "category": _S, "concept": _S, "subclass": _S, "role": _S, "kind": _S,
    "pair_id": _S, "split": _S, "prompt": _S,
}


def prompt_features(label_names: tuple[str, str] | None) -> Features:
    """Prompt-only configs (`<concept>-prompts`, imported prompt sets)."""
    label = ClassLabel(names=list(label_names)) if label_names else Value("int64")
    return Features({
        **_PROMPT_COLUMNS,
        "label": label,
        "seeds": List(_I64),
        "source": _S, "source_id": _S,
        "guidance_scale": _F32, "height": _I32, "width": _I32, "negative_prompt": _S,
        "duplicate_of": _S,
    })


def image_features(concept: Concept) -> Features:
    """Image configs (one per concept): prompt, image, label and every generation setting."""
    return Features({
        **_PROMPT_COLUMNS,
        "negative_prompt": _S,
        "image": Image(),
        "label": ClassLabel(names=list(concept.label_names)),
        "seed": _I64, "image_index": _I32,
        "model_id": _S, "model_revision": _S, "pipeline": _S, "scheduler": _S,
        "scheduler_config": _S, "num_inference_steps": _I32, "guidance_scale": _F32,
        "height": _I32, "width": _I32, "dtype": _S, "device": _S, "accelerations": List(_S),
        "safety_checker": _S, "library_versions": _S,
        "source": _S, "source_id": _S,
        "verdicts": List(VERDICT),
        "status": _S, "reason": _S,
        "sha256": _S,
    })


IMAGE_ROW_GENERATED = (
    "id", "category", "concept", "subclass", "role", "kind", "pair_id", "split", "prompt",
    "negative_prompt", "image", "label", "seed", "image_index", "model_id", "model_revision",
    "pipeline", "scheduler", "scheduler_config", "num_inference_steps", "guidance_scale",
    "height", "width", "dtype", "device", "accelerations", "safety_checker", "library_versions",
    "source", "source_id", "sha256",
)
