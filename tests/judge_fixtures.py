"""Builders for judge tests: a tiny random-init CLIP of the real architecture, and a synthetic
release folder whose two classes are visually separable."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image


def build_tiny_clip(path: Path) -> str:
    import torch
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(0)
    model = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=32, intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        image_size=32, patch_size=8, projection_dim=16))
    model.save_pretrained(path)
    CLIPImageProcessor(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}).save_pretrained(path)
    return str(path)


PALETTE = ([250, 40, 40], [40, 250, 40], [250, 250, 40], [250, 40, 250], [40, 250, 250], [250, 250, 250])


def separable_image(label: int, rng: np.random.Generator, size: int = 48, colour: int = 0) -> bytes:
    """Class 1: a bright square (of PALETTE[colour]) on dark noise; class 0: blue stripes on noise."""
    img = rng.integers(0, 60, (size, size, 3), dtype=np.uint8)
    if label:
        x, y = rng.integers(4, size // 2, 2)
        img[y : y + size // 3, x : x + size // 3] = PALETTE[colour]
    else:
        img[::6] = [40, 40, 250]
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return buf.getvalue()


def build_separable_release(out: Path, concept_name: str = "church", n: int = 160, seed: int = 0,
                            colour: int = 0) -> Path:
    """A release folder with one image config of `n` synthetic rows: label 1 (forget) rows show a
    bright square, label 0 (unrelated) rows blue stripes."""
    from dataigm.core.ids import split_of
    from dataigm.core.schema import image_features
    from dataigm.core.taxonomy import load_taxonomy
    from dataigm.stages.pack import write_configs
    from dataigm.stages.release import rows_to_table

    concept = load_taxonomy().concept(concept_name)
    features = image_features(concept)
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        label = i % 2
        png = separable_image(label, rng, colour=colour)
        pair_id = f"{concept_name}-synthetic-{i:05d}"
        row = {k: None for k in features}
        row.update(id=f"{pair_id}-0", category=concept.category, concept=concept_name,
                   subclass=["photo", "painting"][i % 4 // 2], role="forget" if label else "unrelated",
                   pair_id=pair_id, split=split_of(pair_id), prompt="synthetic", label=label,
                   image={"bytes": png, "path": None}, seed=i, image_index=0, verdicts=[], reason_codes=[],
                   concept_ids=[], accelerations=[], status="ok", reason="", pair_status="unpaired",
                   sha256=hashlib.sha256(png).hexdigest())
        rows.append(row)
    write_configs(str(out), {concept_name: (rows_to_table(rows, features), features, {
        "kind": "images", "category": concept.category, "nsfw": concept.nsfw, "status": {"ok": n}})})
    return out
