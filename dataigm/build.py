"""`dataigm build`: prepare the plan, run every rank on the chosen engine, pack once."""

from __future__ import annotations

import time
from typing import Any

from dataigm.core.layout import PLAN
from dataigm.core.plan import BuildConfig, parse_shard
from dataigm.core.storage import Store
from dataigm.engines import EngineOptions, run_engine


def build(cfg: BuildConfig, progress: bool = True, engine: EngineOptions | None = None,
          shard: str | None = None, wait: bool = False) -> dict[str, Any]:
    """Build (or resume) the release folder `cfg.out`.

    inline (default): every shard in this process, then pack. local/ray: datatrove executors, then
    pack. slurm: submits a job array and a dependent pack job. shard="i/N": only rank i of N.
    Every option is checked (`check_build`) before the folder is claimed; `wait`: wait for another
    command writing it instead of stopping.
    """
    from dataigm.core.folders import writing_folder

    engine = engine or EngineOptions()
    check_build(cfg, engine, shard)
    with writing_folder(cfg.out, "release", "dataigm build", wait=wait, shared=shard is not None):
        return _build(cfg, progress, engine, shard)


def check_build(cfg: BuildConfig, engine: EngineOptions, shard: str | None = None) -> None:
    """Everything about a build that can be checked before anything is written: the extras it
    needs, the generation settings, the engine, and that the models and weights it names can be
    had from here (a bad --clip or --person-check would otherwise stop it after generation)."""
    from dataigm.core.extras import require
    from dataigm.stages.curate import check_curation
    from dataigm.stages.imports import imported_concept
    from dataigm.stages.models import check_model
    from dataigm.stages.prepare import requested_concepts

    require("build", "dataigm build")
    require("judges", "dataigm build (curation)")
    engine.check()
    if shard:
        parse_shard(shard)
    cfg.settings.check(cuda_available=None if engine.engine == "inline" else True)
    store = Store(cfg.out)
    if cfg.settings.model and not store.exists(PLAN):  # a resume loads what its plan pinned, and checks it
        check_model(cfg.settings)
    concepts, imported = requested_concepts(cfg, store)
    check_curation([*concepts, *(imported_concept(store, n) for n in imported)], cfg.curation,
                   {v for v in (cfg.curation.clip, cfg.curation.person_check) if v})


def _build(cfg: BuildConfig, progress: bool = True, engine: EngineOptions | None = None,
           shard: str | None = None) -> dict[str, Any]:
    """The work of `build`, with the folder held (its options checked)."""
    from dataigm.stages.prepare import prepare
    from dataigm.stages.release import complete_interrupted_pack
    from dataigm.stages.run import run_rank

    engine = engine or EngineOptions()
    rank_world = parse_shard(shard) if shard else None
    started = time.time()
    store = Store(cfg.out)
    complete_interrupted_pack(store)
    prepare(cfg, tasks=rank_world[1] if rank_world else engine.tasks)
    if rank_world:
        stats = run_rank(cfg.out, *rank_world, progress=progress)
        return {"seconds": round(time.time() - started, 1), **stats, "packed": False, "configs": {}}
    if engine.engine == "inline":
        from dataigm.stages.pack import pack

        stats = run_rank(cfg.out, 0, 1, progress=progress)
        manifest = pack(cfg.out, progress=progress)
        return {"seconds": round(time.time() - started, 1), **stats, "packed": True,
                "configs": manifest["configs"]}
    from dataigm.core import manifest
    from dataigm.stages.pack import pack_after_ranks

    result = run_engine(cfg.out, engine, run_rank, pack_after_ranks)
    configs = manifest.read(store)["configs"] if result["packed"] else {}
    return {"seconds": round(time.time() - started, 1), **result, "configs": configs}
