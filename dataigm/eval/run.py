"""`dataigm eval run`: plan the run, generate the method's images on the build's engines when a
model is given (one more kind of job on the same plan, shard and marker machinery), then score
and summarise (the engines' finishing step).

The run folder is checked, locked and marked as every verb's folder is (`core.folders`: kind
"run"); the ranks of one `--shard I/N` run share its lock, as a build's do.
Outputs in the run folder: per_image.parquet, summary.json (schema 2), manifest.json.
"""

from __future__ import annotations

import time
from typing import Any

from dataigm.core import faults
from dataigm.core.logs import get
from dataigm.engines import EngineOptions
from dataigm.eval.plan import EvalOptions, prepare, read_plan, read_units, write_or_resume

log = get("eval")
COMMAND = "dataigm eval run"


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
    faults.point("eval:before-outputs")
    write_outputs(out, plan, summary, summary_.per_image(), scorer.judges)
    log.info("evaluated %s on %d units in %.1f s", plan["config"]["method"], len(units), time.time() - started)
    return summary


def summarise_after_ranks(out: str) -> None:
    """What an engine runs once after every generation rank (a Slurm job takes the run folder's
    lock here, waiting for any command writing it; in the process that runs the evaluation it
    already holds it)."""
    from dataigm.core.folders import folder_lock

    with folder_lock(out, f"{COMMAND} (summary after the ranks)", wait=True):
        summarise(out)


def evaluate(opts: EvalOptions, engine: EngineOptions | None = None, shard: str | None = None,
             progress: bool = True, wait: bool = False) -> dict[str, Any] | None:
    """Plan, generate (with --model) on the chosen engine, and summarise. --out is checked first
    (`core.folders`: a new or empty folder, or a run of ours), every option and input is resolved
    before anything is written, and the writing holds the folder (its lock, `wait`ing for another
    writer when asked; shared by the ranks of one --shard I/N) and marks it as a run. Returns the
    summary (None when only one --shard ran or Slurm jobs were submitted)."""
    from dataigm.core.folders import check_folder_kind, writing_folder

    check_folder_kind(opts.out, "run")
    plan, units, jobs = prepare(opts)
    engine = engine or EngineOptions()
    if plan["config"]["mode"] == "model":  # what generation needs, checked before the plan is written
        from dataigm.eval.generate import check_method

        engine.check()
        check_method(plan["config"])
    with writing_folder(opts.out, "run", COMMAND, wait=wait, shared=shard is not None):
        write_or_resume(opts.out, plan, units, jobs)
        return _generate_and_score(opts.out, plan, engine, shard, progress)


def _generate_and_score(out: str, plan: dict[str, Any], engine: EngineOptions, shard: str | None,
                        progress: bool) -> dict[str, Any] | None:
    """The work of `evaluate` once its plan is written, with the run folder held."""
    from dataigm.core import layout
    from dataigm.core.storage import Store
    from dataigm.eval.generate import run_eval_rank

    generate = plan["config"]["mode"] == "model"
    if generate and shard:
        from dataigm.core.plan import parse_shard

        run_eval_rank(out, *parse_shard(shard), progress=progress)
        return None
    if generate and engine.engine != "inline":
        from dataigm.engines import run_engine

        result = run_engine(out, engine, run_eval_rank, summarise_after_ranks, finish="summarise")
        return Store(out).read_json(layout.RUN_SUMMARY) if result["packed"] else None
    if generate:
        run_eval_rank(out, 0, 1, progress=progress)
    return summarise(out, progress)
