"""`dataigm build`: prepare the plan, run every rank on the chosen engine, pack once."""

from __future__ import annotations

import time
from typing import Any

from dataigm.core.plan import BuildConfig, parse_shard
from dataigm.core.storage import Store
from dataigm.engines import EngineOptions, run_engine


def build(cfg: BuildConfig, progress: bool = True, engine: EngineOptions | None = None,
          shard: str | None = None) -> dict[str, Any]:
    """Build (or resume) the release folder `cfg.out`.

    inline (default): every shard in this process, then pack. local/ray: datatrove executors, then
    pack. slurm: submits a job array and a dependent pack job. shard="i/N": only rank i of N.
    """
    from dataigm.core.folders import writing_folder

    with writing_folder(cfg.out, "release", "dataigm build", shared=shard is not None):
        return _build(cfg, progress, engine, shard)


def _build(cfg: BuildConfig, progress: bool = True, engine: EngineOptions | None = None,
           shard: str | None = None) -> dict[str, Any]:
    """The work of `build`, with the folder held."""
    from dataigm.core.extras import require
    from dataigm.stages.prepare import prepare
    from dataigm.stages.release import complete_interrupted_pack
    from dataigm.stages.run import run_rank

    require("build", "dataigm build")
    require("judges", "dataigm build (curation)")
    engine = engine or EngineOptions()
    if engine.engine != "inline":
        require("cluster", f"--engine {engine.engine}")  # before prepare: nothing made that cannot run
    rank_world = parse_shard(shard) if shard else None
    started = time.time()
    cfg.settings.check(cuda_available=None if engine.engine == "inline" else True)
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
