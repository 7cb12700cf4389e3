"""`dataigm build`: prepare the plan, run every shard on the chosen engine, pack once."""

from __future__ import annotations

import time
from typing import Any

from dataigm.engines import EngineOptions, run_engine
from dataigm.errors import DataIGMError
from dataigm.plan import PLAN, BuildConfig


def parse_shard(spec: str) -> tuple[int, int]:
    """'3/8' -> (3, 8)."""
    try:
        rank, world = (int(x) for x in spec.split("/"))
    except ValueError:
        raise DataIGMError(f"--shard {spec!r}: expected RANK/TASKS, e.g. 0/8") from None
    if not 0 <= rank < world:
        raise DataIGMError(f"--shard {spec!r}: rank must be in 0..{world - 1}")
    return rank, world


def build(cfg: BuildConfig, progress: bool = True, engine: EngineOptions | None = None,
          shard: str | None = None) -> dict[str, Any]:
    """Build (or resume) the release folder `cfg.out`.

    inline (default): every shard in this process, then pack. local/ray: datatrove executors, then
    pack. slurm: submits a job array and a dependent pack job. shard="i/N": only rank i of N.
    """
    from dataigm.stages import prepare, run_rank
    from dataigm.storage import Store

    started = time.time()
    cfg.settings.check(cuda_available=None if engine is None or engine.engine == "inline" else True)
    plan = prepare(cfg)
    engine = engine or EngineOptions()
    plan["last_tasks"] = parse_shard(shard)[1] if shard else engine.tasks
    Store(cfg.out).write_json(PLAN, plan)
    if shard:
        rank, world = parse_shard(shard)
        stats = run_rank(cfg.out, rank, world, progress=progress)
        return {"seconds": round(time.time() - started, 1), **stats, "packed": False, "configs": {}}
    if engine.engine == "inline":
        from dataigm.pack import pack

        stats = run_rank(cfg.out, 0, 1, progress=progress)
        manifest = pack(cfg.out, progress=progress)
        return {"seconds": round(time.time() - started, 1), **stats, "packed": True,
                "configs": manifest["configs"]}
    result = run_engine(cfg.out, engine)
    configs = Store(cfg.out).read_json("dataigm.json")["configs"] if result["packed"] else {}
    return {"seconds": round(time.time() - started, 1), **result, "configs": configs}
