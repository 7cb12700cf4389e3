"""Row schemas of DataIGM configs, as `datasets.Features` (embedded in every parquet shard)."""

from __future__ import annotations

from datasets import ClassLabel, Features, Image, List, Value

from dataigm.core.taxonomy import Concept

# Bump when a column is added, removed or changes meaning; `dataigm.load` checks it.
# 2: structured verdicts (check, code, message), reason_codes, pair_status, batch_size/_id/_position,
#    concept_ids, attack, flags.
SCHEMA_VERSION = 2

_S, _I64, _I32, _F32 = Value("string"), Value("int64"), Value("int32"), Value("float32")

VERDICT = {
    "check": _S, "name": _S, "version": _S, "score": _F32, "threshold": _F32, "decision": Value("bool"),
    "code": _S, "message": _S, "details": _S,
}
CONCEPT_ID = {"scheme": _S, "id": _S}

_PROMPT_COLUMNS = {
    "id": _S, "category": _S, "concept": _S, "subclass": _S, "role": _S, "kind": _S,
    "pair_id": _S, "split": _S, "prompt": _S,
}
_PROVENANCE = {"source": _S, "source_id": _S, "attack": _S, "concept_ids": List(CONCEPT_ID), "flags": List(_S)}


def prompt_features(label_names: tuple[str, str] | None) -> Features:
    """Prompt-only configs (`<concept>-prompts`, imported prompt sets)."""
    label = ClassLabel(names=list(label_names)) if label_names else Value("int64")
    return Features({
        **_PROMPT_COLUMNS,
        "label": label,
        "seeds": List(Value("uint64")),
        **_PROVENANCE,
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
        "seed": Value("uint64"), "image_index": _I32,
        "model_id": _S, "model_revision": _S, "pipeline": _S, "scheduler": _S,
        "scheduler_config": _S, "num_inference_steps": _I32, "guidance_scale": _F32,
        "height": _I32, "width": _I32, "dtype": _S, "device": _S, "accelerations": List(_S),
        "batch_size": _I32, "batch_id": _S, "batch_position": _I32, "safety_checker": _S, "library_versions": _S,
        **_PROVENANCE,
        "verdicts": List(VERDICT),
        "status": _S, "reason": _S, "reason_codes": List(_S), "pair_status": _S,
        "sha256": _S,
    })


def concept_ids(concept: Concept) -> list[dict[str, str]]:
    """The `concept_ids` column of a concept's rows: the ids other benchmarks give it."""
    return [{"scheme": k, "id": v} for k, v in concept.ids]
