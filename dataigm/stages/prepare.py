"""Prepare: prompts, image jobs and the build plan, written once before any image is made.

Everything that decides the rows is pinned here: the model's revision (a Hub commit, or the content
digest of a local folder), the taxonomy and recipe bytes, the dataigm version, every seed and the
rank -> shard layout. A rerun with other settings is refused and names what changed.
"""

from __future__ import annotations

import dataclasses
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pyarrow as pa

from dataigm.core import faults, layout
from dataigm.core.errors import DataIGMError
from dataigm.core.ids import SPLITS, config_hash
from dataigm.core.layout import PLAN
from dataigm.core.logs import get
from dataigm.core.plan import BuildConfig, BuildPlan
from dataigm.core.precision import chosen_precision
from dataigm.core.registry import builder_for
from dataigm.core.schema import concept_ids, prompt_features
from dataigm.core.storage import Store
from dataigm.core.taxonomy import Concept, load_taxonomy
from dataigm.stages.imports import imported_concept, imported_rows

log = get("prepare")
# Flags named when a resume is refused because one of these changed.
FLAG_OF = {"batch_size": "--batch-size", "base_seed": "--seed", "steps": "--steps", "guidance": "--guidance",
           "scheduler": "--scheduler", "height": "--height", "width": "--width", "dtype": "--dtype",
           "negative_prompt": "--negative-prompt", "model": "--model", "revision": "--revision",
           "device": "--device", "cpu_threads": "(cpu threads)", "compile": "--compile",
           "safety_checker": "--safety-checker", "images_per_prompt": "--images-per-prompt",
           "prompt_count": "--count", "image_limit": "--image-limit", "shard_size": "--shard-size"}


def select_for_images(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The prompt rows that get images: `limit` pairs per subclass (forget/retain/unrelated) and per
    robustness kind. Groups alternate which split they draw from first, so even `limit` 1 gives
    both a train and a test split."""
    if limit is None:
        return rows
    groups: dict[tuple[str | None, str | None], list[tuple[str, str]]] = {}
    for row in rows:
        key = (None, row["kind"]) if row["role"] == "robustness" else (row["subclass"], None)
        pairs = groups.setdefault(key, [])
        if (row["pair_id"], row["split"]) not in pairs:
            pairs.append((row["pair_id"], row["split"]))
    chosen: set[tuple[tuple[str | None, str | None], str]] = set()
    for k, (key, pairs) in enumerate(groups.items()):
        preferred = SPLITS[k % len(SPLITS)]
        ordered = [p for p, s in pairs if s == preferred] + [p for p, s in pairs if s != preferred]
        chosen.update((key, p) for p in ordered[:limit])
    return [r for r in rows if (((None, r["kind"]) if r["role"] == "robustness" else (r["subclass"], None)),
                                r["pair_id"]) in chosen]


def prompt_rows(concept: Concept, cfg: BuildConfig) -> list[dict[str, Any]]:
    """A concept's prompt rows from its builder (seeds from the build's base seed), with its ids."""
    rows = builder_for(concept).prompt_rows(concept, cfg.settings.base_seed, cfg.prompt_count, cfg.images_per_prompt)
    ids = concept_ids(concept)
    for row in rows:
        row.setdefault("concept_ids", ids)
    return rows


def prompt_stats_info(concept: Concept, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The diversity measures of a concept's prompt rows, per role (the manifest entry of its prompt
    config carries them; the dataset card shows them)."""
    from dataigm.core import prompt_stats

    builder = builder_for(concept)
    stats = prompt_stats.concept_stats(rows, concept.name, concept.shape, builder.concept_phrases(concept))
    keep = ("count", "sample", "trigram_ratio", "vocabulary", "top_4gram", "top_4gram_share")
    return {role: {k: v for k, v in s.as_json().items() if k in keep} for role, s in stats.roles.items()}


def prompt_table(rows: list[dict[str, Any]], label_names: tuple[str, str] | None) -> pa.Table:
    """Prompt rows as a table of the prompt-config schema."""
    features = prompt_features(label_names)
    return pa.Table.from_pylist([{k: r.get(k) for k in features} for r in rows], schema=features.arrow_schema)


def _inputs(concepts: list[Concept]) -> dict[str, str]:
    """Digests of the code and data that decide rows (taxonomy, each recipe used, dataigm)."""
    digests = {"dataigm": version("dataigm"), "taxonomy": load_taxonomy().digest}
    for c in concepts:
        builder = builder_for(c)
        key = f"recipe:{builder.category}"
        if builder.recipe_dir is not None and key not in digests:
            digests[key] = builder.digest()
    return digests


def _changed(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Flags (or inputs) whose values differ between two plan configs."""
    out = []
    for key in sorted(set(old["settings"]) | set(new["settings"])):
        if old["settings"].get(key) != new["settings"].get(key):
            out.append(f"{FLAG_OF.get(key, key)} {old['settings'].get(key)!r} -> {new['settings'].get(key)!r}")
    for key in ("images_per_prompt", "prompt_count", "image_limit", "shard_size", "model_label"):
        if old.get(key) != new.get(key):
            out.append(f"{FLAG_OF.get(key, key)} {old.get(key)!r} -> {new.get(key)!r}")
    for key in sorted(set(old.get("inputs", {})) | set(new.get("inputs", {}))):
        if key == "model" or key.startswith(IMPORTED_INPUT):
            continue
        if old.get("inputs", {}).get(key) != new.get("inputs", {}).get(key):
            out.append(f"{key} changed ({old['inputs'].get(key)} -> {new['inputs'].get(key)})")
    return out


def resolve(cfg: BuildConfig, store: Store, old: BuildPlan | None, concepts: list[Concept]) -> BuildConfig:
    """A new config with everything that decides rows pinned: the model (the smoke preset's tiny
    models built; on a resume, what the plan pinned) and its revision, the input digests, and the
    curation precision the hardware computes natively. `cfg` itself is never changed."""
    settings, curation, inputs = cfg.settings, cfg.curation, {}
    taxonomy = load_taxonomy()
    if old is not None:  # a resume: the model stays pinned to what the plan resolved
        inputs = dict(old.config.inputs)
        settings = dataclasses.replace(settings, model=settings.model or old.config.settings.model)
        if cfg.preset == "smoke" and curation.clip is None:
            curation = dataclasses.replace(curation, clip=old.config.curation.clip)
    previous = [taxonomy.concept(n) for n in (old.concepts if old else ()) if n in taxonomy.concepts]
    inputs.update(_inputs(concepts + previous))
    if cfg.preset == "smoke" and (not settings.model or curation.clip is None):
        tiny_model, tiny_clip = build_tiny_models_at(store)
        settings = dataclasses.replace(settings, model=settings.model or tiny_model)
        curation = dataclasses.replace(curation, clip=curation.clip or tiny_clip)
    if "model" not in inputs:
        from dataigm.stages.models import read_model_index

        inputs["model"] = read_model_index(settings)[1]
    curation = dataclasses.replace(curation, clip_dtype=chosen_precision(curation.clip_dtype))
    return dataclasses.replace(cfg, settings=settings, curation=curation, inputs=inputs)


IMPORTED_INPUT = "prompts:"  # inputs key prefix: the digest of an imported prompt set's rows


def _settled(cfg: BuildConfig) -> str:
    """The fingerprint of what a resume must keep: everything but the imported prompt sets, whose
    changes rebuild that set's images (see `prepare`)."""
    return dataclasses.replace(cfg, inputs={k: v for k, v in cfg.inputs.items()
                                            if not k.startswith(IMPORTED_INPUT)}).fingerprint()


def _same_jobs(store: Store, name: str, chosen: list[dict[str, Any]]) -> bool:
    """Whether a concept's stored image jobs are exactly `chosen` (prompts, seeds, settings)."""
    return store.read_table(layout.jobs_file(name)).equals(pa.Table.from_pylist(chosen))


def _discard_images(store: Store, name: str) -> None:
    """Forget the generated images and verdicts of a concept whose prompt rows changed."""
    for folder in layout.concept_work(name):
        store.remove(folder)


def requested_concepts(cfg: BuildConfig, store: Store) -> tuple[list[Concept], list[str]]:
    """What a build of `cfg` asks for: the taxonomy's concepts (its names, categories, or all of
    them) and the names of this folder's imported prompt sets."""
    imported = [n for n in cfg.concepts if imported_concept(store, n) is not None]
    rest = [n for n in cfg.concepts if n not in imported]
    return (load_taxonomy().resolve(rest) if rest or not cfg.concepts else []), imported


def prepare(cfg: BuildConfig, tasks: int = 1) -> BuildPlan:
    """Resolve `cfg`, write the prompt rows, the image jobs and the plan (once), and return the
    plan (idempotent; a resume with settings that change rows is refused and names the flags).

    The fingerprint covers the rows of every imported prompt set (`prompts:<name>` inputs): a set
    re-imported with other rows since its images were made gets its images made again (that set
    only, said in one line); the images of the old rows are discarded, never kept beside the new."""
    store = Store(cfg.out)
    taxonomy = load_taxonomy()
    concepts, imported = requested_concepts(cfg, store)
    with store.lock(PLAN):
        old = BuildPlan.read(store) if store.exists(PLAN) else None
        imported += [n for n in (old.concepts if old else ()) if n not in imported and n not in taxonomy.concepts
                     and imported_concept(store, n) is not None]
        import_rows = {name: imported_rows(store, name) for name in imported}
        resolved = resolve(cfg, store, old, concepts)
        resolved = dataclasses.replace(resolved, inputs={
            **{k: v for k, v in resolved.inputs.items() if not k.startswith(IMPORTED_INPUT)},
            **{f"{IMPORTED_INPUT}{name}": config_hash({"rows": rows}) for name, rows in import_rows.items()}})
        fingerprint = resolved.fingerprint()
        jobs: dict[str, int] = {}
        if old is not None:
            if _settled(old.config) != _settled(resolved):
                changes = _changed(old.config.to_json(), resolved.to_json()) or ["made by another dataigm version"]
                raise DataIGMError(f"{cfg.out} holds a build with other settings ({'; '.join(changes)}); rerun with "
                                   "the same flags, or choose another --out")
            if resolved.curation != old.config.curation:
                log.warning("%s: kept the build's curation options (a resume does not change them); "
                            "re-curate with `dataigm curate %s` instead", cfg.out, cfg.out)
            resolved = dataclasses.replace(resolved, curation=old.config.curation)
            jobs = dict(old.jobs)
        for name in [c.name for c in concepts] + imported:
            if name in imported:
                rows = import_rows[name]
                chosen = select_for_images(rows, resolved.image_limit)
                if name in jobs and store.exists(layout.jobs_file(name)):
                    if _same_jobs(store, name, chosen):
                        continue
                    log.warning("%s: the prompt set %s was imported again with other rows since its images were "
                                "made; its images are made again", cfg.out, name)
                    _discard_images(store, name)
            else:
                if name in jobs and store.exists(layout.jobs_file(name)):
                    continue
                concept = taxonomy.concept(name)
                rows = prompt_rows(concept, resolved)
                store.write_table(layout.prompts_file(name), prompt_table(rows, concept.label_names))
                chosen = select_for_images(rows, resolved.image_limit)
            store.write_table(layout.jobs_file(name), pa.Table.from_pylist(chosen))
            jobs[name] = sum(len(r["seeds"]) for r in chosen)
            log.debug("prepared %s: %d prompts, %d images", name, len(rows), jobs[name])
        order = list(taxonomy.concepts)
        wanted = set(old.concepts if old else ()) | {c.name for c in concepts} | set(imported)
        ordered = tuple(sorted(wanted, key=lambda n: (order.index(n) if n in order else len(order), n)))
        plan = BuildPlan(resolved, ordered, jobs, fingerprint, last_tasks=tasks)
        faults.point("prepare:before-plan")
        store.write_json(PLAN, plan.to_json())
    return plan


def build_tiny_models_at(store: Store) -> tuple[str, str]:
    """The smoke preset's tiny random SD pipeline and CLIP, built in code inside the output folder
    (local only; concurrent ranks each build into a temporary name and the first rename wins)."""
    from dataigm.stages.tiny_models import build_tiny_clip, build_tiny_pipeline

    if not store.local:
        raise DataIGMError("--preset smoke builds its tiny models on local disk; use a local --out")
    sd = build_tiny_pipeline(Path(store.path(layout.TINY_MODEL)))
    clip = build_tiny_clip(Path(store.path(layout.TINY_CLIP)))
    return str(sd), str(clip)
