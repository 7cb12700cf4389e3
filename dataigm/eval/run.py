"""`dataigm eval run`: plan the run, generate the method's images on the build's engines when a
model is given (one more kind of job on the same plan, shard and marker machinery), then score
and summarise (the engines' finishing step).

Outputs in the run folder: per_image.parquet, summary.json (schema 2), manifest.json.
"""

from __future__ import annotations

import time
from typing import Any

from dataigm.core.logs import get
from dataigm.engines import EngineOptions
from dataigm.eval.plan import EvalOptions, prepare, read_plan, read_units

log = get("eval")


def summarise(out: str, progress: bool = False) -> dict[str, Any]:
    """Score every unit of the run planned in `out` and write its outputs; returns the summary."""
    from dataigm.eval.scoring import score
    from dataigm.eval.summary import Summary, write_outputs

    started = time.time()
    plan = read_plan(out)
    units = read_units(out)
    scorer = score(out, plan, units, progress)
    summary_ = Summary(plan, units, scorer)
    summary = summary_.build(time.time() - started)
    write_outputs(out, plan, summary, summary_.per_image(), scorer.judges)
    log.info("evaluated %s on %d units in %.1f s", plan["config"]["method"], len(units), time.time() - started)
    return summary


def evaluate(opts: EvalOptions, engine: EngineOptions | None = None, shard: str | None = None,
             progress: bool = True) -> dict[str, Any] | None:
    """Plan, generate (with --model) on the chosen engine, and summarise. Returns the summary
    (None when only one --shard ran or Slurm jobs were submitted)."""
    from dataigm.core import layout
    from dataigm.core.storage import Store
    from dataigm.eval.generate import run_eval_rank

    plan = prepare(opts)
    generate = plan["config"]["mode"] == "model"
    engine = engine or EngineOptions()
    if generate and shard:
        from dataigm.core.plan import parse_shard

        run_eval_rank(opts.out, *parse_shard(shard), progress=progress)
        return None
    if generate and engine.engine != "inline":
        from dataigm.engines import run_engine

        result = run_engine(opts.out, engine, run_eval_rank, summarise, finish="summarise")
        return Store(opts.out).read_json(layout.RUN_SUMMARY) if result["packed"] else None
    if generate:
        run_eval_rank(opts.out, 0, 1, progress=progress)
    return summarise(opts.out, progress)
