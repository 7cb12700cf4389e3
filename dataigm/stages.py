"""The build stages. Each works on the plan and one shard, and knows nothing about which engine
(a plain loop, datatrove's local/Slurm/Ray executors, a shell loop with --shard) runs it."""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any

import pyarrow as pa

from dataigm.errors import DataIGMError
from dataigm.imports import imported_concept, imported_rows, resolve_concept
from dataigm.plan import PLAN, BuildConfig, Shard, all_shards, load_plan
from dataigm.storage import Store
from dataigm.taxonomy import Concept, load_taxonomy

# -- prepare: prompts, image jobs, plan ---------------------------------------------------------


def select_for_images(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The prompt rows that get images: the first `limit` pairs per subclass and kind."""
    if limit is None:
        return rows
    seen: dict[tuple[str, str, str | None], set[str]] = {}
    keep = []
    for row in rows:
        pairs = seen.setdefault((row["role"] == "robustness", row["subclass"], row["kind"]), set())
        if row["pair_id"] in pairs or len(pairs) < limit:
            pairs.add(row["pair_id"])
            keep.append(row)
    return keep


def prompt_rows(concept: Concept, cfg: BuildConfig) -> list[dict[str, Any]]:
    from builders.prompts import PromptBuilder
    from builders.recipe import recipe_for

    recipe = recipe_for(concept)
    sizes = recipe.sizes
    if cfg.prompt_count is not None:
        sizes = type(sizes)(cfg.prompt_count, min(sizes.unrelated, cfg.prompt_count),
                            min(sizes.robustness, cfg.prompt_count))
    builder = PromptBuilder(concept, recipe, cfg.settings.base_seed, sizes, cfg.images_per_prompt)
    return builder.rows()


def write_prompt_config(store: Store, config: str, rows: list[dict[str, Any]],
                        label_names: tuple[str, str] | None) -> dict[str, int]:
    from dataigm.release import rows_to_table, write_config
    from dataigm.schema import prompt_features

    features = prompt_features(label_names)
    full = [{k: r.get(k) for k in features} for r in rows]
    return write_config(store, config, rows_to_table(full, features), features)


def prepare(cfg: BuildConfig) -> dict[str, Any]:
    """Write the prompt configs, the image jobs and the plan (idempotent; checks settings)."""
    store = Store(cfg.out)
    taxonomy = load_taxonomy()
    imported = [n for n in cfg.concepts if imported_concept(store, n) is not None]
    rest = [n for n in cfg.concepts if n not in imported]
    concepts = taxonomy.resolve(rest) if rest or not cfg.concepts else []
    fingerprint = cfg.fingerprint()
    plan = {"config": cfg.to_json(), "concepts": [], "jobs": {}, "fingerprint": fingerprint}
    if store.exists(PLAN):
        old = store.read_json(PLAN)
        if old["fingerprint"] != fingerprint:
            raise DataIGMError(
                f"{cfg.out} holds a build with other settings (fingerprint {old['fingerprint']} "
                f"vs {fingerprint}); choose another --out or delete that folder")
        plan["concepts"], plan["jobs"] = old["concepts"], old["jobs"]
    if cfg.preset == "smoke" and not cfg.settings.model:
        cfg.settings = dataclasses.replace(cfg.settings, model=build_tiny_pipeline_at(store))
        plan["config"] = cfg.to_json()
    for name in [c.name for c in concepts] + imported:
        if name in plan["jobs"] and store.exists(f"_build/jobs/{name}.parquet"):
            continue
        if name in imported:
            rows = imported_rows(store, name)
        else:
            concept = taxonomy.concept(name)
            rows = prompt_rows(concept, cfg)
            write_prompt_config(store, concept.prompt_config, rows, concept.label_names)
        jobs = select_for_images(rows, cfg.image_limit)
        store.write_table(f"_build/jobs/{name}.parquet", pa.Table.from_pylist(jobs))
        plan["jobs"][name] = sum(len(r["seeds"]) for r in jobs)
    order = list(taxonomy.concepts)
    wanted = set(plan["concepts"]) | {c.name for c in concepts} | set(imported)
    plan["concepts"] = sorted(wanted, key=lambda n: (order.index(n) if n in order else len(order), n))
    store.write_json(PLAN, plan)
    return plan


def build_tiny_pipeline_at(store: Store) -> str:
    """The smoke preset's tiny model, built in code inside the output folder (local only)."""
    from pathlib import Path

    from dataigm.tiny_model import build_tiny_pipeline

    if not store.local:
        raise DataIGMError("--preset smoke builds its tiny model on local disk; use a local --out")
    return str(build_tiny_pipeline(Path(store.path("_build", "tiny-model"))))


# -- generate and curate one shard --------------------------------------------------------------


def shard_paths(shard: Shard) -> dict[str, str]:
    base = f"{shard.concept}/{shard.index:05d}"
    return {"images": f"_build/images/{base}.parquet", "images_done": f"_build/images/{base}.done.json",
            "verdicts": f"_build/verdicts/{base}.parquet",
            "verdicts_done": f"_build/verdicts/{base}.done.json"}


def is_generated(store: Store, shard: Shard, fingerprint: str) -> bool:
    marker = shard_paths(shard)["images_done"]
    if not store.exists(marker):
        return False
    done = store.read_json(marker)
    if done["fingerprint"] != fingerprint:
        raise DataIGMError(f"shard {shard.name} in {store.url} was built with other settings")
    return True


def is_curated(store: Store, shard: Shard, signature: list[dict[str, Any]]) -> bool:
    marker = shard_paths(shard)["verdicts_done"]
    return store.exists(marker) and store.read_json(marker)["detectors"] == signature


@lru_cache(maxsize=4)
def _concept_jobs(url: str, concept: str, fingerprint: str) -> tuple:
    """Every image job of a concept, read once per process and plan (shards slice it)."""
    from dataigm.generate import ImageJob

    rows = Store(url).read_table(f"_build/jobs/{concept}.parquet").to_pylist()
    return tuple(ImageJob(row, i) for row in rows for i in range(len(row["seeds"])))


def shard_jobs(store: Store, shard: Shard, fingerprint: str) -> list:
    return list(_concept_jobs(store.url, shard.concept, fingerprint)[shard.start : shard.stop])


def generate_shard(store: Store, cfg: BuildConfig, shard: Shard, loaded, pool: ThreadPoolExecutor,
                   on_batch=lambda n: None):
    """Run the model over a shard now; return the function that then writes it atomically and
    marks it complete (returning its row count), to run off the model's thread."""
    from importlib.metadata import version

    from dataigm.generate import submit_rows
    from dataigm.release import rows_to_table
    from dataigm.schema import image_features

    started = time.time()
    concept = resolve_concept(store, shard.concept)
    assemble = submit_rows(loaded, shard_jobs(store, shard, cfg.fingerprint()), cfg.settings, pool, on_batch,
                           model_label=cfg.model_label)

    def write() -> int:
        rows = assemble()
        paths = shard_paths(shard)
        store.write_table(paths["images"], rows_to_table(rows, image_features(concept)))
        store.write_json(paths["images_done"], {
            "rows": len(rows), "fingerprint": cfg.fingerprint(), "seconds": round(time.time() - started, 3),
            "versions": {lib: version(lib) for lib in ("dataigm", "diffusers", "torch")}})
        return len(rows)

    return write


def curate_shard(store: Store, shard: Shard, detectors: list) -> int:
    """Run every detector over a generated shard; write its verdicts (keyed by row id)."""
    import io

    import numpy as np
    from PIL import Image

    from dataigm.curate import detector_signature

    table = store.read_table(shard_paths(shard)["images"])
    images = [np.asarray(Image.open(io.BytesIO(img["bytes"])).convert("RGB"))
              for img in table.column("image").to_pylist()]
    per_detector = [d.judge(images) for d in detectors]
    verdicts = [[v.as_row() for v in row] for row in zip(*per_detector, strict=True)] if images else []
    out = pa.Table.from_pydict({"id": table.column("id").to_pylist(), "verdicts": verdicts})
    paths = shard_paths(shard)
    store.write_table(paths["verdicts"], out)
    store.write_json(paths["verdicts_done"], {"rows": out.num_rows,
                                              "detectors": detector_signature(detectors)})
    return out.num_rows


class Curators:
    """Detectors per concept, loaded once per process."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.person_check = load_plan(store)["config"].get("person_check")
        self._cache: dict[str, list] = {}

    def __call__(self, concept: str) -> list:
        if concept not in self._cache:
            from dataigm.curate import detectors_for

            self._cache[concept] = detectors_for(resolve_concept(self.store, concept),
                                                 person_weights=self.person_check)
        return self._cache[concept]


def run_rank(out: str, rank: int = 0, world: int = 1, progress: bool = True) -> dict[str, int]:
    """Generate and curate the shards of rank `rank` of `world`; skip complete ones.

    Curation of shard k runs on a background thread while the model generates shard k+1.
    """
    from tqdm.auto import tqdm

    from dataigm.curate import detector_signature

    store = Store(out)
    plan = load_plan(store)
    cfg = BuildConfig.from_json(plan["config"])
    fingerprint = plan["fingerprint"]
    mine = [s for i, s in enumerate(all_shards(plan)) if i % world == rank]
    todo = [s for s in mine if not is_generated(store, s, fingerprint)]
    curators = Curators(store)
    stats = {"shards": len(mine), "generated": len(todo), "skipped": len(mine) - len(todo), "curated": 0}
    with ThreadPoolExecutor(max_workers=2) as encode_pool, ThreadPoolExecutor(max_workers=1) as curate_pool:
        curating = []
        for shard in mine:
            if shard not in todo and not is_curated(store, shard, detector_signature(curators(shard.concept))):
                curating.append(curate_pool.submit(curate_shard, store, shard, curators(shard.concept)))
        if todo:
            from dataigm.models import load_pipeline

            loaded = load_pipeline(cfg.settings)
            total = sum(s.stop - s.start for s in todo)
            with tqdm(total=total, desc=f"generate (rank {rank}/{world})", unit="img",
                      disable=not progress) as bar:
                for shard in todo:  # writing and curating shard k overlap the model on shard k+1
                    write = generate_shard(store, cfg, shard, loaded, encode_pool, bar.update)
                    curating.append(curate_pool.submit(_write_then_curate, write, store, shard,
                                                       curators(shard.concept)))
        for future in curating:
            future.result()
            stats["curated"] += 1
    return stats


def _write_then_curate(write, store: Store, shard: Shard, detectors: list) -> int:
    write()
    return curate_shard(store, shard, detectors)


def missing_shards(store: Store, plan: dict[str, Any]) -> list[Shard]:
    """Shards of the plan that are not generated and curated yet."""
    from dataigm.curate import detector_signature

    curators = Curators(store)
    return [s for s in all_shards(plan)
            if not (is_generated(store, s, plan["fingerprint"])
                    and is_curated(store, s, detector_signature(curators(s.concept))))]

