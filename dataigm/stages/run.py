"""Run one rank of a build: generate the rank's missing shards and curate them. Knows nothing about
which engine (a plain loop, datatrove's local/Slurm/Ray executors, a shell loop with --shard) runs it.

Writing and curating shard k run on a background thread while the model generates shard k+1. Every
shard is written atomically and marked complete (rows, size, sha256); a shard whose file does not
match its marker is generated again.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from dataigm.core import faults, layout
from dataigm.core.logs import get
from dataigm.core.plan import BuildConfig, BuildPlan, Shard, mark_complete, read_marker
from dataigm.core.schema import image_features
from dataigm.core.storage import Store
from dataigm.stages.curate import Curators, curate_shard, is_curated
from dataigm.stages.imports import resolve_concept

log = get("run")


def is_generated(store: Store, shard: Shard) -> bool:
    """Whether a shard's images are complete."""
    return read_marker(store, shard.images) is not None


@lru_cache(maxsize=4)
def _concept_jobs(url: str, concept: str, fingerprint: str) -> tuple:
    """Every image job of a concept, read once per process and plan (shards slice it)."""
    from dataigm.stages.generate import ImageJob

    rows = Store(url).read_table(layout.jobs_file(concept)).to_pylist()
    return tuple(ImageJob(row, i) for row in rows for i in range(len(row["seeds"])))


def shard_jobs(store: Store, shard: Shard, fingerprint: str) -> list:
    """The image jobs of one shard."""
    return list(_concept_jobs(store.url, shard.concept, fingerprint)[shard.start : shard.stop])


def generate_shard(store: Store, cfg: BuildConfig, fingerprint: str, shard: Shard, loaded,
                   pool: ThreadPoolExecutor, on_batch=lambda n: None):
    """Run the model over a shard now; return the function that then writes it atomically and
    marks it complete (returning its row count), to run off the model's thread."""
    from dataigm.stages.generate import submit_rows
    from dataigm.stages.release import rows_to_table

    started = time.time()
    concept = resolve_concept(store, shard.concept)
    assemble = submit_rows(loaded, shard_jobs(store, shard, fingerprint), cfg.settings, pool, on_batch,
                           model_label=cfg.model_label, batch_prefix=f"{shard.name}/")

    def write() -> int:
        rows = assemble()
        store.write_table(shard.images, rows_to_table(rows, image_features(concept)))
        faults.point("generate:before-marker")
        mark_complete(store, shard.images, len(rows), fingerprint=fingerprint,
                      seconds=round(time.time() - started, 3),
                      versions={lib: version(lib) for lib in ("dataigm", "diffusers", "torch")})
        return len(rows)

    return write


def run_rank(out: str, rank: int = 0, world: int = 1, progress: bool = True) -> dict[str, Any]:
    """Generate and curate the shards of rank `rank` of `world`; skip complete ones."""
    from tqdm.auto import tqdm

    store = Store(out)
    store.remove_temporaries(layout.IMAGES)
    store.remove_temporaries(layout.VERDICTS)
    plan = BuildPlan.read(store)
    cfg = plan.config
    fingerprint = plan.fingerprint
    mine = plan.rank_shards(rank, world)
    todo = [s for s in mine if not is_generated(store, s)]
    curators = Curators(store, cfg.curation)
    stats = {"shards": len(mine), "generated": len(todo), "skipped": len(mine) - len(todo), "curated": 0}
    log.info("rank %d/%d: %d shards, %d to generate, %d complete", rank, world, len(mine), len(todo),
             len(mine) - len(todo))

    def write_then_curate(write, shard: Shard) -> int:
        started = time.time()
        rows = write()
        log.info("rank %d/%d shard %s: %d rows generated in %.1f s", rank, world, shard.name, rows,
                 time.time() - started)
        return curate_shard(store, shard, curators)

    with ThreadPoolExecutor(max_workers=2) as encode_pool, ThreadPoolExecutor(max_workers=1) as curate_pool:
        curating = [curate_pool.submit(curate_shard, store, s, curators) for s in mine
                    if s not in todo and not is_curated(store, s, curators.signature(s.concept))]
        if todo:
            from dataigm.stages.models import load_pipeline

            loaded = load_pipeline(cfg.settings, pinned=cfg.inputs.get("model"))
            total = sum(s.stop - s.start for s in todo)
            with tqdm(total=total, desc=f"generate (rank {rank}/{world})", unit="img",
                      disable=not progress) as bar:
                for shard in todo:
                    write = generate_shard(store, cfg, fingerprint, shard, loaded, encode_pool, bar.update)
                    faults.point("generate:shard-made")
                    curating.append(curate_pool.submit(write_then_curate, write, shard))
        for future in curating:
            future.result()
            stats["curated"] += 1
    return stats


def missing_shards(store: Store, plan: BuildPlan) -> list[Shard]:
    """Shards of the plan that are not generated and curated (under the current policy) yet."""
    curators = Curators(store, plan.config.curation)
    return [s for s in plan.shards()
            if not (is_generated(store, s) and is_curated(store, s, curators.signature(s.concept)))]
