"""Generating an unlearned model's image for every evaluated row: the build's generation stage with
each row's own seed, guidance, size, negative prompt and (from the release) scheduler config,
steps, dtype and batch size; one generator per image; shards written atomically, marked complete
and skipped on a rerun; ranks run on the same engines as a build.

The original model's images are never regenerated: they are the release's own rows.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pyarrow as pa

from dataigm.core import faults, layout
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.core.plan import Shard, mark_complete, rank_shards, read_marker, shards_of
from dataigm.core.settings import GenerationSettings
from dataigm.core.storage import Store
from dataigm.eval.plan import read_plan

log = get("eval")


def method_settings(spec: dict[str, Any]) -> GenerationSettings:
    """The settings generation loads the method's pipeline with: the checkpoint itself when it
    is a pipeline, else the base pipeline it applies to, with the release's settings."""
    g = spec["generation"]
    pipeline = spec["model_type"] == "pipeline"
    return GenerationSettings(model=spec["model"] if pipeline else spec["base_model"],
                              revision=spec.get("model_revision") if pipeline else spec.get("base_revision"),
                              steps=int(g["num_inference_steps"]), dtype=g["dtype"], device=g["device"],
                              batch_size=int(g["batch_size"]), cpu_threads=int(g["cpu_threads"]))


def check_method(spec: dict[str, Any]) -> None:
    """Before any work: the pipeline generation loads can be had from here and its settings fit
    this machine (`--device cuda` without one), so a run never stops after writing its plan."""
    from dataigm.stages.models import check_model

    settings = method_settings(spec)
    settings.check()
    check_model(settings)


def load_method(spec: dict[str, Any]):
    """The base pipeline with the method's checkpoint applied and the release's scheduler config."""
    from dataigm.eval.checkpoints import apply_checkpoint
    from dataigm.stages.models import load_pipeline, use_scheduler

    g = spec["generation"]
    pipeline = spec["model_type"] == "pipeline"
    settings = method_settings(spec)
    pinned = None if pipeline else spec.get("base_pinned")
    loaded = load_pipeline(settings, pinned=pinned)
    changes = {}
    if not pipeline:
        changes = apply_checkpoint(loaded.pipe, spec["model"], spec["model_type"])
    use_scheduler(loaded, g.get("scheduler"), g.get("scheduler_config"))
    loaded.model_id = spec["method"]
    loaded.revision = spec["model_digest"]
    return loaded, settings, changes


def run_eval_rank(out: str, rank: int = 0, world: int = 1, progress: bool = True) -> dict[str, Any]:
    """Generate the method's images of rank `rank` of `world` (complete shards are skipped)."""
    from tqdm.auto import tqdm

    from dataigm.stages.generate import ImageJob, submit_rows

    store = Store(out)
    store.remove_temporaries(layout.IMAGES)
    plan = read_plan(out)
    spec = plan["config"]
    mine = rank_shards(plan, rank, world)
    todo = [s for s in mine if read_marker(store, s.images) is None]
    stats = {"shards": len(mine), "generated": len(todo), "skipped": len(mine) - len(todo)}
    if not todo:
        return stats
    loaded, settings, _ = load_method(spec)
    jobs = store.read_table(layout.jobs_file(spec["config"])).to_pylist()
    total = sum(s.stop - s.start for s in todo)
    with ThreadPoolExecutor(max_workers=2) as pool, tqdm(total=total, unit="img", desc=f"generate {spec['method']}",
                                                         disable=not progress) as bar:
        for shard in todo:
            started = time.time()
            batch = [ImageJob(row, 0) for row in jobs[shard.start : shard.stop]]
            rows = submit_rows(loaded, batch, settings, pool, bar.update)()
            store.write_table(shard.images, pa.Table.from_pylist(rows))
            faults.point("eval:before-marker")
            mark_complete(store, shard.images, len(rows), fingerprint=plan["fingerprint"])
            log.info("rank %d/%d eval shard %s: %d images in %.1f s", rank, world, shard.name, len(rows),
                     time.time() - started)
    return stats


def generated_shards(store: Store, plan: dict[str, Any]) -> list[Shard]:
    """The generation shards of a run, every one complete (else one line naming the missing)."""
    shards = shards_of(plan["concepts"][0], plan["jobs"][plan["concepts"][0]], plan["config"]["shard_size"])
    missing = [s.name for s in shards if read_marker(store, s.images) is None]
    if missing:
        raise DataIGMError(f"{store.url}: {len(missing)} generation shard(s) not complete ({', '.join(missing[:5])}); "
                           "rerun the same command (or the missing --shard ranks)")
    return shards
