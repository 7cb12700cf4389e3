"""Pack: once every rank is complete, merge generated shards and their verdicts into the release
folder (image and prompt configs), decide each row's status, and write the dataset card and the
release manifest, all in one recoverable transaction.

Streaming in two passes per concept: the first reads only ids, roles and verdicts to decide every
row's status and its pair's status; the second copies images shard by shard into the config writer.
Peak memory is one shard plus one row group, whatever the config's size.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import pyarrow as pa

from dataigm.core import faults, layout, manifest
from dataigm.core.curation import decide, pair_statuses
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.core.plan import BuildPlan
from dataigm.core.schema import SCHEMA_VERSION, image_features, prompt_features
from dataigm.core.storage import Store
from dataigm.core.taxonomy import IMPORTED, Concept
from dataigm.stages.curate import Curators
from dataigm.stages.imports import SUBCLASS_ORDER, import_info, resolve_concept
from dataigm.stages.release import ReleaseTransaction, complete_interrupted_pack

log = get("pack")


def _decisions(store: Store, concept: Concept, shards: list, curators: Curators) -> tuple[dict[str, tuple], Counter]:
    """Pass 1: row id -> (verdicts, status, reason, codes, pair status), and drop codes counted."""
    policy = curators.policy(concept.name)
    meta: list[dict[str, Any]] = []
    for shard in shards:
        rows = store.read_table(shard.images, columns=["id", "role", "pair_id", "image_index", "verdicts"]).to_pylist()
        judged = store.read_table(shard.verdicts).to_pydict()
        extra = dict(zip(judged["id"], judged["verdicts"], strict=True))
        for row in rows:
            if row["id"] not in extra:
                raise DataIGMError(f"{store.path(shard.verdicts)}: no verdicts for row {row['id']}; rerun the build")
            row["verdicts"] = row["verdicts"] + extra[row["id"]]
            d = decide(policy, row["role"], row["verdicts"])
            row.update(status=d.status, reason=d.reason, codes=list(d.codes))
            meta.append(row)
    pairs = pair_statuses(meta)
    drops = Counter(code for row in meta for code in row["codes"])
    return {r["id"]: (r["verdicts"], r["status"], r["reason"], r["codes"], pairs[r["id"]]) for r in meta}, drops


def pack_concept(txn: ReleaseTransaction, store: Store, concept: Concept, plan: BuildPlan,
                 curators: Curators) -> dict[str, Any]:
    """Stage a concept's image config: every row with its verdicts, status and pair status (two
    streamed passes over its shards); returns its manifest entry."""
    shards = [s for s in plan.shards() if s.concept == concept.name]
    decisions, drops = _decisions(store, concept, shards, curators)
    features = image_features(concept)
    writer = txn.config(concept.name, features)
    status: Counter = Counter()
    pair: Counter = Counter()
    for shard in shards:  # pass 2: images, one shard at a time
        table = store.read_table(shard.images)
        ids = table.column("id").to_pylist()
        verdicts, statuses, reasons, codes, pairs = zip(*(decisions[i] for i in ids), strict=True) if ids else ((),) * 5
        status.update(statuses)
        pair.update(pairs)
        for name, values in (("verdicts", verdicts), ("status", statuses), ("reason", reasons),
                             ("reason_codes", codes), ("pair_status", pairs)):
            table = table.set_column(table.schema.get_field_index(name), name,
                                     pa.array(list(values), type=features.arrow_schema.field(name).type))
        writer.write(table)
    counts = writer.close()
    return {"kind": "images", "category": concept.category, "splits": counts, "status": dict(status),
            "pairs": dict(pair), "drop_reasons": dict(drops), "nsfw": concept.nsfw,
            "policy": curators.signature(concept.name), "checks": curators.describe(concept.name)}


def stage_prompt_config(txn: ReleaseTransaction, store: Store, concept: Concept, source_rel: str,
                        label_names: tuple[str, str] | None) -> dict[str, Any]:
    """Stage a concept's prompt-only config from its prompt table; returns its manifest entry."""
    from dataigm.stages.prepare import prompt_stats_info

    writer = txn.config(concept.prompt_config, prompt_features(label_names))
    table = store.read_table(source_rel)
    writer.write(table)
    entry = {"kind": "prompts", "category": concept.category, "nsfw": concept.nsfw, "splits": writer.close()}
    if concept.category != IMPORTED:
        entry["prompt_stats"] = prompt_stats_info(concept, table.select(["role", "prompt"]).to_pylist())
    return entry


def pack(out: str, progress: bool = True) -> dict[str, Any]:
    """Write every planned concept's image and prompt configs, the dataset card and the manifest."""
    from dataigm.core.folders import writing_folder

    with writing_folder(out, "release", "dataigm pack", flag="", create=False):
        return _pack(out, progress)


def _pack(out: str, progress: bool = True) -> dict[str, Any]:
    """The work of `pack`, with the folder held."""
    from tqdm.auto import tqdm

    from dataigm.stages.run import missing_shards

    store = Store(out)
    complete_interrupted_pack(store)
    plan = BuildPlan.read(store)
    missing = missing_shards(store, plan)
    if missing:
        names = ", ".join(s.name for s in missing[:20]) + (" ..." if len(missing) > 20 else "")
        raise DataIGMError(f"cannot pack {out}: {len(missing)} shard(s) not complete: {names}")
    curators = Curators(store, plan.config.curation)
    txn = ReleaseTransaction(store)
    configs: dict[str, Any] = {}
    for name in tqdm(plan.concepts, desc="pack", unit="config", disable=not progress):
        concept = resolve_concept(store, name)
        configs[name] = pack_concept(txn, store, concept, plan, curators)
        if concept.category == IMPORTED:
            info = import_info(store, name)
            configs[concept.prompt_config] = stage_prompt_config(txn, store, concept, layout.import_rows(name), None)
            configs[concept.prompt_config]["source"] = info["source"]
            if info.get(SUBCLASS_ORDER):
                configs[concept.prompt_config][SUBCLASS_ORDER] = info[SUBCLASS_ORDER]
            for config in (name, concept.prompt_config):  # verify/publish rebuild the set's concept from these
                configs[config]["attacks"] = info.get("attacks")
        else:
            configs[concept.prompt_config] = stage_prompt_config(txn, store, concept, layout.prompts_file(name),
                                                                 concept.label_names)
        faults.point("pack:config-staged")
        log.info("packed %s: %s", name, configs[name]["splits"])
    return commit_release(txn, store, configs, plan)


def pack_after_ranks(out: str) -> None:
    """What an engine runs once after every rank of a build (a Slurm job takes the folder's lock
    here, waiting for any command writing it; in the process that runs the build it already holds it)."""
    from dataigm.core.folders import folder_lock

    with folder_lock(out, "dataigm pack (after the build's ranks)", wait=True):
        pack(out, progress=False)


def commit_release(txn: ReleaseTransaction, store: Store, configs: dict[str, Any],
                   plan: BuildPlan | None = None) -> dict[str, Any]:
    """Merge `configs` into the manifest, stage it and the README rendered from it, and commit the
    transaction: configs, manifest and card move into place together."""
    from cards.render import render_dataset_card
    from dataigm.core.taxonomy import load_taxonomy

    release = manifest.read(store, missing_ok=True)
    release["schema_version"] = SCHEMA_VERSION
    if plan is not None:
        release["fingerprint"] = plan.fingerprint
        release["build"] = plan.config.to_json()
    release["configs"].update(configs)
    txn.stage_file(layout.MANIFEST, manifest.encode(release))
    txn.stage_file(layout.CARD, render_dataset_card(release, load_taxonomy().as_json()).encode())
    txn.commit()
    return release


def write_configs(out: str, configs: dict[str, tuple[pa.Table, Any, dict[str, Any]]],
                  max_shard_bytes: int | None = None) -> dict[str, Any]:
    """Write whole configs (name -> (table, datasets.Features, manifest info)) into a release folder
    in one transaction: prompt configs, imported prompt sets, hand-made test releases."""
    from dataigm.core.folders import writing_folder

    with writing_folder(out, "prompts", "dataigm prompts", flag=""):
        return _write_configs(out, configs, max_shard_bytes)


def _write_configs(out: str, configs: dict[str, tuple[pa.Table, Any, dict[str, Any]]],
                   max_shard_bytes: int | None = None) -> dict[str, Any]:
    """The work of `write_configs`, with the folder held."""
    store = Store(out)
    txn = ReleaseTransaction(store)
    infos = {}
    for name, (table, features, info) in configs.items():
        writer = txn.config(name, features, **({"max_shard_bytes": max_shard_bytes} if max_shard_bytes else {}))
        writer.write(table)
        infos[name] = {**info, "splits": writer.close()}
    return commit_release(txn, store, infos)
