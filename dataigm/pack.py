"""Pack: merge generated shards and their verdicts into the release folder, once all ranks are
complete, and write the dataset card and the release manifest."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pyarrow as pa

from dataigm.curate import decide
from dataigm.errors import DataIGMError
from dataigm.imports import resolve_concept
from dataigm.plan import BuildConfig, all_shards, load_plan
from dataigm.schema import SCHEMA_VERSION, image_features
from dataigm.stages import missing_shards, shard_paths
from dataigm.storage import Store

MANIFEST = "dataigm.json"


def concept_table(store: Store, concept: str, plan: dict[str, Any]) -> tuple[pa.Table, Counter]:
    """All image rows of a concept with curation verdicts, status and reason filled in."""
    c = resolve_concept(store, concept)
    features = image_features(c)
    tables, drops = [], Counter()
    for shard in (s for s in all_shards(plan) if s.concept == concept):
        paths = shard_paths(shard)
        rows = store.read_table(paths["images"]).to_pylist()
        judged = store.read_table(paths["verdicts"]).to_pydict()
        verdicts = dict(zip(judged["id"], judged["verdicts"], strict=True))
        for row in rows:
            row["verdicts"] = row["verdicts"] + verdicts[row["id"]]
            row["status"], row["reason"] = decide(c, row["role"], row["verdicts"])
            if row["status"] != "ok":
                drops.update(reason.split(" (")[0] for reason in row["reason"].split("; "))
        tables.append(pa.Table.from_pylist(rows, schema=features.arrow_schema))
    return pa.concat_tables(tables) if tables else features.arrow_schema.empty_table(), drops


def pack(out: str, progress: bool = True) -> dict[str, Any]:
    """Write every planned concept's image config, README.md and dataigm.json."""
    from tqdm.auto import tqdm

    from dataigm.curate import detector_signature
    from dataigm.release import write_config
    from dataigm.stages import Curators

    store = Store(out)
    plan = load_plan(store)
    missing = missing_shards(store, plan)
    if missing:
        names = ", ".join(s.name for s in missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise DataIGMError(f"cannot pack {out}: {len(missing)} shard(s) not complete: {names}")
    curators = Curators(store)
    configs: dict[str, Any] = {}
    for concept in tqdm(plan["concepts"], desc="pack", unit="config", disable=not progress):
        c = resolve_concept(store, concept)
        table, drops = concept_table(store, concept, plan)
        counts = write_config(store, concept, table, image_features(c))
        status = Counter(table.column("status").to_pylist())
        configs[concept] = {"kind": "images", "category": c.category, "splits": counts,
                            "status": dict(status), "drop_reasons": dict(drops), "nsfw": c.nsfw,
                            "detectors": detector_signature(curators(concept))}
        if c.category == "imported":
            continue
        configs.update(prompt_config_info(store, c.prompt_config, c.category, c.nsfw))
    return update_release(store, configs, plan)


def update_release(store: Store, configs: dict[str, Any], plan: dict[str, Any] | None = None) -> dict[str, Any]:
    """Merge `configs` into the folder's manifest (dataigm.json) and rewrite README.md from it."""
    from dataigm.card import write_card

    manifest = store.read_json(MANIFEST) if store.exists(MANIFEST) else {
        "schema_version": SCHEMA_VERSION, "fingerprint": None, "build": None, "configs": {}}
    if plan is not None:
        manifest["fingerprint"] = plan["fingerprint"]
        manifest["build"] = BuildConfig.from_json(plan["config"]).to_json()
    manifest["configs"].update(configs)
    for name, info in _imported_prompt_configs(store).items():
        manifest["configs"].setdefault(name, info)
    store.write_json(MANIFEST, manifest)
    write_card(store, manifest)
    return manifest


def prompt_config_info(store: Store, config: str, category: str, nsfw: bool) -> dict[str, Any]:
    return {config: {"kind": "prompts", "category": category, "nsfw": nsfw,
                     "splits": _split_counts(store, config)}}


def _split_counts(store: Store, config: str) -> dict[str, int]:
    import pyarrow.parquet as pq

    counts: dict[str, int] = {}
    for rel in store.glob(f"{config}/*.parquet"):
        split = rel.rsplit("/", 1)[1].split("-", 1)[0]
        with store.fs.open(store.path(rel), "rb") as f:
            counts[split] = counts.get(split, 0) + pq.ParquetFile(f).metadata.num_rows
    return counts


def _imported_prompt_configs(store: Store) -> dict[str, Any]:
    """Prompt configs written by `dataigm prompts import` into this folder."""
    found = {}
    for rel in store.glob("_build/imports/*.json"):
        info = json.loads(store.read_bytes(rel))
        found[info["config"]] = {"kind": "prompts", "category": "imported", "nsfw": info["nsfw"],
                                 "splits": _split_counts(store, info["config"]),
                                 "source": info["source"]}
    return found
