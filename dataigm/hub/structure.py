"""Whether a release folder is consistent: the README's `configs:`, the manifest, the shards on
disk, their row counts, their embedded schema and the nsfw status the taxonomy gives each config.
`publish` refuses on the first problem; `verify` reports them all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from dataigm.core import layout
from dataigm.core.errors import DataIGMError


def read_release(folder: Path) -> dict[str, Any]:
    """The manifest of a packed release folder (read-only: a pack interrupted mid-commit is refused
    here; the commands complete it first), which must also have its dataset card."""
    from dataigm.core import manifest
    from dataigm.core.storage import Store

    release = manifest.read(Store(str(folder)))
    if not (folder / layout.CARD).exists():
        raise DataIGMError(f"{folder} is not a packed release (no {layout.CARD}); run dataigm build or pack")
    return release


def _concept(name: str, info: dict[str, Any]):
    from dataigm.core.taxonomy import IMPORTED, imported_set, load_taxonomy

    if info.get("category") == IMPORTED:
        return imported_set(name, bool(info.get("nsfw")), info.get("attacks"))
    return load_taxonomy().concepts.get(name)


def expected_features(name: str, info: dict[str, Any]):
    """The datasets.Features a config of this release must carry (None: unknown config)."""
    from dataigm.core.schema import image_features, prompt_features
    from dataigm.core.taxonomy import IMPORTED

    if info.get("kind") == "images":
        concept = _concept(name, info)
        return image_features(concept) if concept else None
    if info.get("kind") == "prompts" and name.endswith("-prompts"):
        concept = _concept(name.removesuffix("-prompts"), info)
        if concept is None:
            return None
        return prompt_features(None if concept.category == IMPORTED else concept.label_names)
    return None


def structure_problems(folder: Path, manifest: dict[str, Any] | None = None) -> list[str]:
    """Every inconsistency between README configs, manifest (read here unless given), shards, row
    counts, schema and nsfw."""
    import pyarrow.parquet as pq
    import yaml
    from datasets import Features
    from huggingface_hub import DatasetCard

    manifest = manifest or read_release(folder)
    problems = []
    try:
        card = DatasetCard.load(folder / layout.CARD).data.to_dict()
    except (ValueError, TypeError, yaml.YAMLError) as exc:
        return [f"{folder}/{layout.CARD}: unreadable card YAML ({str(exc).splitlines()[0]})"]
    listed = {c["config_name"]: c for c in card.get("configs", []) if isinstance(c, dict) and "config_name" in c}
    on_disk = {p.parent.name for p in folder.glob(layout.ALL_SHARDS)}
    if set(listed) != on_disk:
        problems.append(f"README configs and shards differ: only in README {sorted(set(listed) - on_disk)}, "
                        f"only on disk {sorted(on_disk - set(listed))}")
    if set(manifest["configs"]) != on_disk:
        problems.append(f"manifest configs and shards differ: only in the manifest "
                        f"{sorted(set(manifest['configs']) - on_disk)}, only on disk "
                        f"{sorted(on_disk - set(manifest['configs']))}")
    for name in sorted(on_disk & set(listed)):
        for data_file in listed[name].get("data_files", []):
            if not list(folder.glob(data_file["path"])):
                problems.append(f"config {name} lists {data_file['path']} but no shard matches")
        info = manifest["configs"].get(name, {})
        expected = expected_features(name, info)
        if expected is None:
            problems.append(f"config {name}: not a known config of the manifest")
            continue
        concept = _concept(name.removesuffix("-prompts"), info)
        if concept is not None and bool(info.get("nsfw")) != concept.nsfw:
            problems.append(f"config {name}: the manifest says nsfw={info.get('nsfw')}, the taxonomy says "
                            f"{concept.nsfw} (gating follows the taxonomy)")
        counts: dict[str, int] = {}
        for shard in sorted(folder.glob(layout.config_shards(name))):
            try:
                pf = pq.ParquetFile(shard)
            except (OSError, ValueError) as exc:
                problems.append(f"{shard}: unreadable parquet ({str(exc).splitlines()[0]})")
                continue
            meta = pf.schema_arrow.metadata or {}
            if b"huggingface" not in meta:
                problems.append(f"{shard}: no embedded datasets.Features")
            elif Features.from_dict(json.loads(meta[b"huggingface"])["info"]["features"]) != expected:
                problems.append(f"{shard}: its features do not match the schema of config {name}")
            split = layout.split_of(shard.name)
            counts[split] = counts.get(split, 0) + pf.metadata.num_rows
        declared = {k: v for k, v in info.get("splits", {}).items() if v}
        if counts != declared:
            problems.append(f"config {name}: shards hold {counts} rows, the manifest says {declared}")
    return problems
